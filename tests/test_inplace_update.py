"""In-place arithmetic where nothing is recorded is computed into the Tensor's memory.

``p -= lr * p.grad`` under ``no_grad`` (an optimizer's step), or ``t += u`` where nothing
requires grad, is what hand-written code does in one pass: the backend's
``Backend.update`` writes the result into ``p``'s own array (NumPy's ``out=``, torch's
``sub_``) instead of computing a new one and copying it in. These tests check that the
memory is the same array, the values, that a backend without the capability (or a case
it declines) still gives the same result the out-of-place way, and that every rule of
in-place writes still holds: dtype promotion refused, overlapping operands buffered, the
version bumped, an output saved for backward kept.
"""
import importlib.util

import numpy as np
import pytest

import xpgrad

# The backends that compute an update into memory: NumPy's, and torch's where it is installed
IN_PLACE = ["cpu", pytest.param("torch", marks=pytest.mark.skipif(
    importlib.util.find_spec("torch") is None, reason="torch is not installed"))]
UPDATES = [("add", "__iadd__", np.add), ("subtract", "__isub__", np.subtract),
           ("multiply", "__imul__", np.multiply), ("divide", "__itruediv__", np.divide)]


def _memory(t):
    return t._data


@pytest.mark.parametrize("name, operator, reference", UPDATES, ids=[u[0] for u in UPDATES])
def test_in_place_arithmetic_without_recording_gives_the_values(backend, name, operator, reference):
    p = backend.make((3, 4), requires_grad=True)
    g = backend.make((3, 4))
    expected = reference(p.detach().numpy(), 0.5 * g.numpy())
    with xpgrad.no_grad():
        out = getattr(p, operator)(0.5 * g)
    assert out is p
    np.testing.assert_allclose(p.detach().numpy(), expected, rtol=1e-15)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None


@pytest.mark.parametrize("backend", IN_PLACE, indirect=True)
def test_an_optimizer_step_writes_into_the_parameters_own_memory(backend):
    """On the backends that can (NumPy's ufuncs with out=, torch's sub_), no new array:
    the parameter's array is the same object, changed where it lies."""
    p = backend.make((5,), requires_grad=True)
    (p * p).sum().backward()
    before, version = _memory(p), p._version
    expected = p.detach().numpy() - 0.1 * p.grad.numpy()
    with xpgrad.no_grad():
        p -= 0.1 * p.grad
    assert _memory(p) is before
    assert p._version > version
    np.testing.assert_allclose(p.detach().numpy(), expected, rtol=1e-15)


@pytest.mark.parametrize("backend", IN_PLACE, indirect=True)
def test_the_update_computes_into_the_memory_instead_of_copying_a_result_in(backend, monkeypatch):
    """The out-of-place way computes a new array and copies it in with Backend.write;
    the update calls neither."""
    p = backend.make((4,), requires_grad=True)
    u = backend.make((4,))
    writes = []
    monkeypatch.setattr(type(p._dev.backend), "write", lambda self, dst, src: writes.append(src))
    with xpgrad.no_grad():
        p -= u
        p.mul_(2.0)
    assert writes == []


def test_the_update_allocates_no_array_on_numpy():
    """Measured: NumPy reports its data buffers to tracemalloc. The out-of-place way
    allocated a result of the parameter's size (800 kB) for p -= u; the update none."""
    import tracemalloc

    p = xpgrad.tensor(np.ones(100_000), requires_grad=True)
    u = xpgrad.tensor(np.full(100_000, 0.5))
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        with xpgrad.no_grad():
            p -= u
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100_000, peak
    assert float(p.sum()) == 50_000.0


@pytest.mark.parametrize("backend", IN_PLACE, indirect=True)
def test_a_scalar_and_a_broadcast_operand_update_in_place(backend):
    t = backend.make([[1.0, 2.0], [3.0, 4.0]])
    before = _memory(t)
    t += 1.0
    t *= backend.make([10.0, 100.0])  # broadcasts to t's shape
    assert _memory(t) is before
    assert t.tolist() == [[20.0, 300.0], [40.0, 500.0]]


def test_an_operand_that_would_change_the_shape_is_refused_on_every_backend(backend):
    t = backend.make([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"in-place \+=: the result has shape \(2, 2\), which can't "
                                           r"be stored in this Tensor of shape \(2,\)"):
        t += backend.make([[1.0, 2.0], [3.0, 4.0]])
    assert t.tolist() == [1.0, 2.0]


def test_promotion_is_still_refused(backend):
    t = backend.make([1.0, 2.0], dtype=xpgrad.float32)
    with pytest.raises(TypeError, match=r"in-place \+=: the result has dtype .*float64"):
        t += backend.make([1.0, 1.0], dtype=xpgrad.float64)
    assert t.tolist() == [1.0, 2.0]
    i = backend.make([1, 2], dtype=xpgrad.int64)
    with pytest.raises(TypeError, match=r"in-place /=: the result has dtype .*float"):
        i /= 2
    assert i.tolist() == [1, 2]


@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.skip(reason="dask makes no views"),
                                  array_api_strict=pytest.mark.skip(reason="array-api-strict makes no views"))
def test_an_overlapping_operand_is_read_before_it_is_written(backend):
    """``a[1:] += a[:-1]``: every backend gives NumPy's buffered result (torch refuses
    partial overlap in its own add_; xpgrad then goes the out-of-place way)."""
    a = backend.make([1.0, 2.0, 3.0, 4.0])
    a[1:] += a[:-1]
    assert a.tolist() == [1.0, 3.0, 5.0, 7.0]
    # memory that is not one dense block, where torch's own overlap check gives up
    x = backend.make(np.arange(1.0, 10.0).reshape(3, 3))
    x -= x[:, :1]
    assert x.tolist() == [[0.0, 1.0, 2.0]] * 3
    y0 = np.arange(12.0).reshape(2, 6)
    y = backend.make(y0)
    y[:, 1:4] += y[:, 0:3]
    y0[:, 1:4] += y0[:, 0:3]
    assert y.tolist() == y0.tolist()
    z0 = np.arange(9.0)
    z = backend.make(z0)
    z[2::2] += z[0:-2:2]
    z0[2::2] += z0[0:-2:2]
    assert z.tolist() == z0.tolist()


def test_a_big_endian_array_takes_its_native_result():
    t = xpgrad.tensor(np.array([1.0, 2.0, 3.0], dtype=">f8"))
    t += 1.0
    t.mul_(xpgrad.tensor([1.0, 2.0, 3.0]))
    assert t.tolist() == [2.0, 6.0, 12.0] and t.dtype == xpgrad.float64


def test_an_update_that_fails_gives_the_errors_of_the_out_of_place_op(backend):
    """What update() cannot do is left to the usual way, whose errors name the op: a
    shape that does not broadcast, an integer too large for the dtype."""
    t, u = backend.make([1.0, 2.0, 3.0]), backend.make([1.0, 2.0, 3.0, 4.0])
    with pytest.raises(Exception) as out_of_place:
        t + u
    with pytest.raises(type(out_of_place.value), match=r"op 'add' \(plugin 'xpgrad.ops.elementwise'\) failed"):
        t += u
    assert t.tolist() == [1.0, 2.0, 3.0]
    i = backend.make([1, 2], dtype=xpgrad.int64)
    try:
        expected = (i + 2**70).tolist()
    except Exception as exc:  # the library refuses the Python int: so does the update
        with pytest.raises(type(exc), match="op 'add'"):
            i += 2**70
    else:  # it wraps, as NumPy does: so does the update
        i += 2**70
        assert i.tolist() == expected


def test_an_output_saved_for_backward_is_kept(backend):
    """exp saves its output; writing into it under no_grad gives the node a copy first,
    so the gradient is still exp(x) at the old values."""
    x = backend.make([0.5, -1.0], requires_grad=True)
    y = x.exp()
    expected = np.exp(x.detach().numpy())
    with xpgrad.no_grad():
        y += 1.0
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-15)
    np.testing.assert_allclose(y.detach().numpy(), expected + 1.0, rtol=1e-15)


def test_a_write_that_is_recorded_still_goes_the_recorded_way(backend):
    """With grad mode on and a Tensor that requires grad, the write is recorded: the
    gradient flows through it."""
    x = backend.make([1.0, 2.0], requires_grad=True)
    y = x * 1.0
    y *= x  # y = x * x, recorded
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]
    assert y.grad_fn is not None
