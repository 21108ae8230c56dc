"""The dask backend: lazy forward and backward, chunked arrays, a distributed cluster.

On ``"dask"`` every op builds a dask graph; nothing is computed until someone asks
(``.compute()``, ``Tensor.tolist()``, printing). These tests check that the graph stays
lazy through forward and backward, that gradients on chunked arrays match NumPy's, that
a ``dask.distributed`` cluster computes them, and that every case of the op-gradient
tests has on dask the first and second derivatives it has on NumPy (where the finite-
difference proof runs; on dask it is marked slow, see conftest.py).
"""
import operator
import subprocess
import sys

import numpy as np
import pytest

import xpgrad

from helpers import values

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
import test_op_gradients as T  # noqa: E402  (the op-gradient tables, reused)
from dask.callbacks import Callback  # noqa: E402

F64 = xpgrad.float64


@pytest.fixture
def no_compute():
    """Fails the test if anything computes a dask graph inside ``with no_compute():``."""
    started = []

    class Forbid(Callback):
        def _start(self, dsk):
            started.append(len(dsk))

    def guard():
        return Forbid()

    yield guard, started


def is_dask(t):
    return isinstance(t._data, da.Array)


# ---------------------------------------------------------------------- laziness


def test_forward_and_backward_stay_lazy(no_compute):
    guard, started = no_compute
    x_np = np.linspace(-2.0, 2.0, 1000)
    with guard():
        x = xpgrad.tensor(da.from_array(x_np, chunks=100), requires_grad=True)
        w = xpgrad.tensor(da.from_array(np.cos(x_np), chunks=100))
        loss = ((x * w).tanh() + x.exp() / 3 - xpgrad.sin(x) ** 2).mean()
        assert is_dask(loss) and loss.device == "dask"
        loss.backward()
        assert is_dask(x.grad)
        assert x.grad._data.numblocks == (10,)  # chunked as x is
    assert started == [], f"something computed a dask graph during forward or backward: {started}"
    # the same gradient by hand, in NumPy
    w_np = np.cos(x_np)
    t = x_np * w_np
    expected = ((1 - np.tanh(t) ** 2) * w_np + np.exp(x_np) / 3 - 2 * np.sin(x_np) * np.cos(x_np)) / 1000
    np.testing.assert_allclose(x.grad._data.compute(), expected, rtol=1e-12, atol=1e-15)


def test_chunked_gradient_matches_numpy(no_compute):
    guard, started = no_compute
    rng = np.random.default_rng(0)
    a_np, b_np = rng.standard_normal(1000), rng.standard_normal((10, 100))

    def f(a, b):
        m = a.reshape(10, 100) * b
        return (m.sum(dim=1) ** 2).sum() + xpgrad.linalg.vector_norm(a) + a[[0, 0, 999]].sum()

    grads = {}
    for device, wrap in (("cpu", lambda v: v), ("dask", lambda v: da.from_array(v, chunks=100))):
        a = xpgrad.tensor(wrap(a_np), device=device, requires_grad=True)
        b = xpgrad.tensor(wrap(b_np), device=device, requires_grad=True)
        with guard():
            f(a, b).backward()
        grads[device] = (a.grad, b.grad)
    assert started == []
    for got, expected in zip(grads["dask"], grads["cpu"]):
        assert is_dask(got)
        np.testing.assert_allclose(got._data.compute(), expected.numpy(), rtol=1e-10)


def test_higher_order_stays_lazy(no_compute):
    guard, started = no_compute
    x = xpgrad.tensor(da.from_array(np.array([0.5, 1.0, 2.0]), chunks=2), requires_grad=True)
    with guard():
        (g,) = xpgrad.autograd.grad((x ** 3).sum(), x, create_graph=True)
        g.sum().backward()
    assert started == []
    assert is_dask(g) and is_dask(x.grad)
    assert values(x.grad).tolist() == [3.0, 6.0, 12.0]  # d2/dx2 x^3 = 6x


def test_in_place_rebinds_the_dask_array(no_compute):
    guard, started = no_compute
    w = xpgrad.tensor(da.from_array(np.ones(4), chunks=2), requires_grad=True)
    with guard():
        (w * 2).sum().backward()
        (w * 3).sum().backward()  # accumulates into .grad
        g = w.grad
        with xpgrad.no_grad():
            w -= 0.1 * w.grad  # an optimizer step, through the same Tensor
        w.data.mul_(2)  # .data holds the same dask array object: w sees it
    assert started == []
    assert g is w.grad and is_dask(w) and is_dask(w.grad)
    assert values(w.grad).tolist() == [5.0] * 4
    assert values(w) == pytest.approx([1.0] * 4)  # (1 - 0.5) * 2


def test_random_and_creation_on_dask():
    xpgrad.manual_seed(0)
    a = xpgrad.randn(3, 4, device="dask", dtype=F64)
    xpgrad.manual_seed(0)
    b = xpgrad.randn(3, 4, device="dask", dtype=F64)
    assert is_dask(a) and a.tolist() == b.tolist()
    assert xpgrad.eye(2, 3, device="dask").tolist() == np.eye(2, 3).tolist()
    assert xpgrad.zeros(2, device="dask").device == "dask"


def test_numpy_and_printing_compute():
    x = xpgrad.tensor(da.from_array(np.arange(6.0), chunks=2))
    assert isinstance(x.numpy(), np.ndarray) and x.numpy().tolist() == list(range(6))
    assert "device='dask'" in repr(x) and "5." in repr(x)
    assert x.sum().item() == 15.0


def test_boolean_mask_is_a_clear_error():
    x = xpgrad.tensor([1.0, 2.0, 3.0], device="dask", requires_grad=True)
    with pytest.raises(NotImplementedError, match="boolean-mask indexing is not supported on the 'dask'"):
        x[x.detach() > 1.5]
    # the lazy spelling works
    y = xpgrad.xp.where(x.detach() > 1.5, x, 0.0).sum()
    y.backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0]


def test_inverse_needs_no_scipy():
    m = np.array([[4.0, 1.0], [2.0, 3.0]])
    x = xpgrad.tensor(da.from_array(np.stack([m, m.T]), chunks=(1, 1, 1)), requires_grad=True)
    inv = xpgrad.linalg.inv(x)
    assert is_dask(inv)
    np.testing.assert_allclose(inv.numpy() if not inv.requires_grad else inv.detach().numpy(),
                               np.linalg.inv(np.stack([m, m.T])))
    inv.sum().backward()
    inv_t = np.linalg.inv(np.stack([m, m.T])).swapaxes(-1, -2)
    np.testing.assert_allclose(x.grad.numpy(), -inv_t @ np.ones((2, 2, 2)) @ inv_t)


def test_libraries_are_imported_only_when_asked_for():
    code = (
        "import sys, xpgrad\n"
        "t = xpgrad.tensor([1.0, 2.0], requires_grad=True)\n"
        "(t * xpgrad.randn(2)).sum().backward()\n"
        "xpgrad.manual_seed(0); xpgrad.tensor([xpgrad.tensor(1.0).item()])\n"
        "xpgrad.device('array_api_strict')\n"
        "print(sorted(m for m in ('dask', 'torch', 'jax', 'cupy') if m in sys.modules))\n"
        "xpgrad.device('dask')\n"
        "print('dask.array' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[]", "True"]


# ---------------------------------------------------------------------- a cluster


@pytest.mark.parametrize("processes", [False, True], ids=["threads", "processes"])
def test_gradient_on_a_distributed_cluster(processes):
    # Two workers on this machine: in-process ones (inproc transport), or worker
    # processes reached over TCP on the loopback interface, which pickle the graph.
    distributed = pytest.importorskip("distributed")
    x_np = np.linspace(0.1, 3.0, 1000)
    x = xpgrad.tensor(da.from_array(x_np, chunks=100), requires_grad=True)
    (x.log() * x.sqrt() + x ** 2).sum().backward()
    expected = (1 / x_np) * np.sqrt(x_np) + np.log(x_np) / (2 * np.sqrt(x_np)) + 2 * x_np
    where = {"host": "127.0.0.1"} if processes else {}
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=processes,
                                  dashboard_address=None, **where) as cluster, \
            distributed.Client(cluster) as client:
        got = client.compute(x.grad._data).result()
        assert len(client.scheduler_info()["workers"]) == 2
    np.testing.assert_allclose(got, expected, rtol=1e-12)


# ---------------------------------------------------------------------- every op, vs NumPy


def _op_cases():
    """Every case of test_op_gradients' finite-difference tests, as (id, fn, makers)."""
    out = [(f"elementwise-{k}", fn, makers) for k, (fn, makers) in T.ELEMENTWISE.items()]
    for name, (fn, make_a, make_b) in T.BINARY.items():
        for sa, sb in T.BROADCAST_SHAPES:
            out.append((f"binary-{name}-{sa}x{sb}".replace(" ", ""), fn, (make_a(*sa), make_b(*sb))))
    for name in ("sum", "mean"):
        for axis in T.AXES:
            for keepdims in (False, True):
                out.append((f"reduction-{name}-axis={axis}-keep={keepdims}".replace(" ", ""),
                            lambda t, n=name, a=axis, k=keepdims: getattr(xpgrad.xp, n)(t, axis=a, keepdims=k),
                            (T.normal(2, 3, 2),)))
    out += [(f"reduction-{k}", fn, makers) for k, (fn, makers) in T.REDUCTIONS.items()]
    out += [(f"matmul-{k}", operator.matmul, (T.normal(*sa), T.normal(*sb)))
            for k, (sa, sb) in T.MATMUL_SHAPES.items()]
    out += [(f"linalg-{k}", fn, makers) for k, (fn, makers) in T.LINALG.items()]
    out += [(f"norm-{k}", fn, (T.normal(*shape),)) for k, (fn, shape) in T.NORM_CASES.items()]
    out += [(f"layout-{k}", fn, makers) for k, (fn, makers) in T.LAYOUT.items()]
    for k, (key, shape) in T.INDEXING.items():
        if "mask" not in k:  # boolean masks: a data-dependent shape, refused on dask
            out.append((f"getitem-{k}", lambda t, key=key: t[T.resolve_key(key, t.device)],
                        (T.normal(*shape),)))
    return [pytest.param(fn, makers, id=name) for name, fn, makers in out]


def _on_dask(t):
    """The same values, dtype and requires_grad on dask (by way of Python lists)."""
    floating = xpgrad.xp.isdtype(t.dtype, "real floating")
    d = xpgrad.tensor(t.detach().tolist(), dtype=F64 if floating else None, device="dask")
    return d.reshape(tuple(t.shape)).detach().requires_grad_(t.requires_grad)


def _random(rng, shape, device):
    shape = tuple(shape)
    return xpgrad.tensor(rng.standard_normal(shape).tolist(), dtype=F64, device=device).reshape(shape)


def _derivatives(fn, inputs, rng_seed):
    """fn's outputs, its VJP with random cotangents v (create_graph) and the gradient of
    <VJP, w> with respect to the inputs and v: the first and second derivatives."""
    rng = np.random.default_rng(rng_seed)
    device = inputs[0].device
    outs = fn(*inputs)
    outs = tuple(outs) if isinstance(outs, (tuple, list)) else (outs,)
    xs = [x for x in inputs if x.requires_grad]
    vs = [_random(rng, o.shape, device).requires_grad_() for o in outs]
    gs = xpgrad.autograd.grad(list(outs), xs, vs, create_graph=True, allow_unused=True,
                              materialize_grads=True)
    ws = [_random(rng, x.shape, device) for x in xs]
    s = sum((g * w).sum() for g, w in zip(gs, ws))
    if isinstance(s, xpgrad.Tensor) and s.requires_grad:
        second = xpgrad.autograd.grad(s, xs + vs, allow_unused=True, materialize_grads=True)
    else:
        second = ()
    return [t.detach() for t in (*outs, *gs, *second)]


@pytest.mark.parametrize("fn, makers", _op_cases())
def test_op_derivatives_match_numpy(fn, makers, no_compute):
    guard, started = no_compute
    on_cpu = T.make_inputs(makers, "cpu")
    on_dask = [_on_dask(t) for t in on_cpu]
    expected = _derivatives(fn, on_cpu, 0)
    with guard():
        got = _derivatives(fn, on_dask, 0)
    assert started == [], "forward or backward computed the dask graph"
    assert len(got) == len(expected)
    assert all(is_dask(t) for t in got)
    computed = dask.compute(*[t._data for t in got], scheduler="sync")
    for g, e in zip(computed, expected):
        g = np.asarray(g)
        assert g.shape == tuple(e.shape)
        np.testing.assert_allclose(g, e.numpy(), rtol=1e-9, atol=1e-12)
