"""Reusing the memory of arrays no one else can see, forward and backward.

Forward, when asked for (off by default: xpgrad.set_temporaries_enabled, ``with
xpgrad.elide_temporaries():``, XPGRAD_TEMPORARIES=1): ``t.exp()`` and ``t + u`` on a temporary
``t`` (a Tensor only the call holds, over memory xpgrad allocated) are computed into
``t``'s own memory, as NumPy does for its temporaries. Backward: the engine writes a
product or a sum into a cotangent it owns by construction (core/engine.py, "Ownership").
Both must be invisible: the same values as out of place, and no array that a variable, a
container, a cache, the graph or the user's NumPy code holds is ever written.

Every test here runs twice, with temporaries off (the default) and on (the ``switch``
fixture); the tests that read where a result went expect reuse only when on.

Which memory a result took is read through ``mark``: it notes the address of a
Tensor's array as the Tensor passes, without keeping a reference to it.
"""
import os
import subprocess
import sys
import textwrap
import threading
import weakref

import numpy as np
import pytest

import xpgrad
from xpgrad import temporaries

from helpers import assert_close, dtype_name, values

LARGE = 100_000  # elements: 800 KB in float64, above the 256 KiB where elision starts
F64 = xpgrad.float64

# CPython 3.11 to 3.13 with the GIL have been checked. Elsewhere temporaries stay off
# even when asked (with a warning).
CHECKED = (sys.implementation.name == "cpython" and (3, 11) <= sys.version_info < (3, 14)
           and getattr(sys, "_is_gil_enabled", lambda: True)())
OPERATORS_CHECKED = CHECKED


@pytest.fixture(autouse=True, params=[False, True], ids=["temporaries-off", "temporaries-on"])
def switch(request):
    """Runs the test with temporaries off, then on; the value says whether methods may
    reuse memory now (never on an interpreter that has not been checked, which warns)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", xpgrad.TemporariesWarning)
        with xpgrad.elide_temporaries(request.param):
            yield xpgrad.temporaries_enabled()


@pytest.fixture
def operators(switch):
    """Whether operators may reuse memory now."""
    return switch and OPERATORS_CHECKED


def _large(device="cpu", dtype=F64, seed=0, requires_grad=True):
    xpgrad.manual_seed(seed)
    return xpgrad.randn(LARGE, dtype=dtype, device=device, requires_grad=requires_grad)


def _exp_on(device, data):
    """exp of the NumPy array ``data`` by the device's own library, as a NumPy array: the
    values an exp on that device gives, to the last bit (PyTorch's exp rounds some of them
    differently from NumPy's)."""
    dev = xpgrad.device(device)
    return dev.backend.to_numpy(dev.xp.exp(dev.backend.asarray(data, None, dev.name)))


def _address(t):
    return t.detach().numpy().__array_interface__["data"][0]


class Marks(list):
    def __call__(self, t):
        self.append(_address(t))
        return t


@pytest.fixture
def mark():
    return Marks()


# ---------------------------------------------------------------------- the switch


def test_temporaries_are_off_by_default():
    code = "import xpgrad; print(xpgrad.temporaries_enabled())"
    env = {k: v for k, v in os.environ.items() if k != temporaries.ENV_VAR}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.stdout.strip() == "False", done.stderr


def test_the_switch_turns_them_on_where_the_interpreter_is_checked(switch):
    assert switch == (xpgrad.temporaries_enabled() and CHECKED) or not CHECKED
    with xpgrad.elide_temporaries(False):
        assert not xpgrad.temporaries_enabled()
    if CHECKED:
        with xpgrad.elide_temporaries(True):
            assert xpgrad.temporaries_enabled()
            assert (temporaries.ACTIVE[0].operator is not None) == OPERATORS_CHECKED


@pytest.fixture
def uncalibrated(monkeypatch):
    """This process as if temporaries had never been calibrated in it."""
    monkeypatch.setattr(temporaries, "_CALIBRATED", [None])


@pytest.mark.skipif(not CHECKED, reason="temporaries never turn on here")
def test_calibration_happens_once(monkeypatch):
    calls = []
    real = temporaries._calibrate
    monkeypatch.setattr(temporaries, "_CALIBRATED", [None])
    monkeypatch.setattr(temporaries, "_calibrate", lambda: calls.append(1) or real())
    with xpgrad.elide_temporaries(False):
        for _ in range(3):
            with xpgrad.elide_temporaries(True):
                pass
    assert calls == [1]


def test_an_unchecked_interpreter_stays_off(monkeypatch, uncalibrated):
    monkeypatch.setattr(temporaries, "_EXPECTED", {})
    with xpgrad.elide_temporaries(False):
        with pytest.warns(xpgrad.TemporariesWarning, match="not an interpreter they have been checked on"):
            assert not xpgrad.set_temporaries_enabled(True)


@pytest.mark.skipif(not CHECKED, reason="temporaries never turn on here")
def test_counts_other_than_the_known_ones_leave_them_off(monkeypatch, uncalibrated):
    expected = {k: (v[0] + 1,) + v[1:] for k, v in temporaries._EXPECTED.items()}
    monkeypatch.setattr(temporaries, "_EXPECTED", expected)
    with xpgrad.elide_temporaries(False):
        with pytest.warns(xpgrad.TemporariesWarning, match="not the one known"):
            assert not xpgrad.set_temporaries_enabled(True)


def _tracer(frame, event, arg):
    # what a debugger, hunter or PySnooper does: read every frame's locals
    if event == "call":
        import inspect

        inspect.getargvalues(frame)
    return _tracer


@pytest.mark.skipif(not CHECKED, reason="temporaries never turn on here")
@pytest.mark.parametrize("watcher", ["settrace", "setprofile"])
def test_calibration_refuses_to_run_under_a_tracer_or_profiler(watcher, uncalibrated):
    with xpgrad.elide_temporaries(False):
        getattr(sys, watcher)(_tracer)
        try:
            with pytest.warns(xpgrad.TemporariesWarning, match="is active"):
                on = xpgrad.set_temporaries_enabled(True)
        finally:
            getattr(sys, watcher)(None)
        assert not on and not xpgrad.temporaries_enabled()
        assert xpgrad.set_temporaries_enabled(True)  # with nothing watching, it calibrates


# The issue this guards against: a tracer active while the counts were measured made
# every Tensor held by one variable look temporary for the rest of the process.
_UNDER_A_TRACER = textwrap.dedent("""
    import sys, inspect, warnings
    import numpy as np
    warnings.simplefilter("ignore")
    def tracer(frame, event, arg):
        if event == "call":
            inspect.getargvalues(frame)
        return tracer
    if "{when}" == "import":
        getattr(sys, "{watcher}")(tracer)
    import xpgrad
    getattr(sys, "{watcher}")(tracer)
    x = xpgrad.tensor(np.ones(1 << 16))
    x * 1.0 + 1.0                      # the first large operator
    xpgrad.set_temporaries_enabled(True)
    getattr(sys, "{watcher}")(None)
    v = xpgrad.tensor(np.ones(1 << 16)); s = v + 1.0; e = v.exp()
    w = xpgrad.tensor(np.ones(1 << 16), requires_grad=True); h = w * 3.0
    (h * 2.0).sum().backward()
    print(v.numpy()[0], w.detach().numpy()[0], float(w.grad[0]))
""")


@pytest.mark.parametrize("watcher", ["settrace", "setprofile"])
@pytest.mark.parametrize("when", ["import", "calibration"])
def test_a_tracer_during_import_and_calibration_never_leads_to_a_write(watcher, when):
    env = dict(os.environ, **{temporaries.ENV_VAR: "1"})
    code = _UNDER_A_TRACER.format(watcher=watcher, when=when)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1.0", "1.0", "6.0"]


def test_a_tracer_while_elision_runs_only_stops_it(mark, switch):
    x = _large(requires_grad=False)
    u = x * 2.0
    expected = values(u)
    sys.settrace(_tracer)
    try:
        out = u.exp() + u
        kept = mark(x * 2.0).exp()
    finally:
        sys.settrace(None)
    assert_close(u, expected, rtol=0, atol=0)
    assert_close(out, np.exp(expected) + expected, rtol=0, atol=0)
    assert_close(kept, np.exp(expected), rtol=0, atol=0)


def test_a_cached_array_behind_a_weak_reference_is_never_written(switch):
    cache = weakref.WeakValueDictionary()
    data = np.random.default_rng(1).standard_normal(LARGE)
    cache["x"] = data
    before = data.copy()
    out = xpgrad.as_tensor(cache["x"]).exp()  # weak references do not count
    np.testing.assert_array_equal(data, before)
    out = (xpgrad.as_tensor(cache["x"]) + 1.0) * 2.0
    np.testing.assert_array_equal(data, before)
    assert_close(out, (before + 1.0) * 2.0, rtol=0, atol=0)


@pytest.mark.parametrize("make", ["as_tensor", "from_dlpack", "xp.asarray", "Tensor"])
def test_an_array_from_outside_is_never_written(make, switch, monkeypatch):
    # Memory xpgrad did not allocate as an op's result is never reused, whatever the
    # reference counts say: here they are made blind to the user's references (as they
    # are to a weak cache's, or to memory a C library holds), and a Tensor over the
    # user's array is a temporary.
    from xpgrad.backends.numpy import NumpyBackend

    monkeypatch.setattr(NumpyBackend, "_unshared", lambda self, array, held: True)
    data = np.random.default_rng(1).standard_normal(LARGE)
    before = data.copy()
    wrap = {"as_tensor": xpgrad.as_tensor, "from_dlpack": xpgrad.xp.from_dlpack,
            "xp.asarray": lambda a: xpgrad.xp.asarray(a, copy=False),
            "Tensor": lambda a: xpgrad.Tensor(a, xpgrad.device("cpu"))}[make]
    outs = [wrap(data).exp(), wrap(data) + 1.0, -wrap(data), wrap(data) * wrap(data)]
    np.testing.assert_array_equal(data, before)
    for out, expected in zip(outs, [np.exp(before), before + 1.0, -before, before * before]):
        assert_close(out, expected, rtol=0, atol=0)


def test_an_operator_called_with_no_python_frame_above_it(switch):
    import _thread

    x = _large(requires_grad=False)
    results, done = [], threading.Event()

    def run():
        try:
            results.append(xpgrad.Tensor.__add__(x * 2.0, x))
        except BaseException as exc:  # noqa: BLE001  (reported below)
            results.append(exc)
        done.set()

    _thread.start_new_thread(run, ())  # run's frame is the thread's first
    assert done.wait(30)
    _thread.start_new_thread(xpgrad.Tensor.__add__, (x * 2.0, x))  # no Python frame at all
    assert isinstance(results[0], xpgrad.Tensor), results[0]
    assert_close(results[0], 3 * values(x), rtol=0, atol=0)


def test_concurrent_forward_and_backward_on_shared_tensors(switch):
    w = _large()
    x = _large(seed=1, requires_grad=False)
    wv, xv = values(w), values(x)
    barrier = threading.Barrier(4)
    errors, grads = [], []

    def work():
        try:
            barrier.wait()
            for _ in range(5):
                loss = ((w * x).tanh() * 2.0 + x).sum()
                (g,) = xpgrad.autograd.grad(loss, w)
                grads.append(values(g))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    expected = 2 * (1 - np.tanh(wv * xv) ** 2) * xv
    for g in grads:
        np.testing.assert_allclose(g, expected, rtol=1e-14)
    assert_close(w, wv, rtol=0, atol=0)
    assert_close(x, xv, rtol=0, atol=0)


# ---------------------------------------------------------------------- forward


def test_method_on_a_temporary_takes_its_memory(mark, switch):
    x = _large()
    out = mark(x * 2.0).exp()
    assert (_address(out) == mark[0]) == switch
    assert_close(out, np.exp(2 * values(x)), rtol=0, atol=0)
    out.sum().backward()
    assert_close(x.grad, 2 * np.exp(2 * values(x)), rtol=1e-14, atol=0)


def test_a_chain_of_methods_reuses_one_array(mark, switch):
    x = _large(requires_grad=False)
    out = mark(x * 0.5).tanh().neg().exp()
    assert (_address(out) == mark[0]) == switch
    assert_close(out, np.exp(-np.tanh(0.5 * values(x))), rtol=1e-15, atol=0)


@pytest.mark.parametrize("holder", ["variable", "list", "attribute"])
def test_a_held_tensor_is_never_written(holder, mark, device):
    x = _large(device)
    u = x * 2.0
    expected_u = values(u)
    if holder == "variable":
        out = u.exp()
    elif holder == "list":
        box = [u]
        out = box[0].exp()
    else:
        class Box:
            pass

        box = Box()
        box.u = u
        out = box.u.exp()
    assert_close(u, expected_u, rtol=0, atol=0)
    assert_close(out, _exp_on(device, expected_u), rtol=0, atol=0)


def test_a_tensor_passed_through_a_function_is_never_written():
    x = _large()

    def exp_of(t):
        return t.exp(), t  # t is still read after the call

    out, same = exp_of(x * 2.0)
    assert_close(same, 2 * values(x), rtol=0, atol=0)
    assert_close(out, np.exp(2 * values(x)), rtol=0, atol=0)


def test_the_users_numpy_array_is_never_written():
    data = np.random.default_rng(1).standard_normal(LARGE)
    before = data.copy()
    out = xpgrad.as_tensor(data).exp()  # a temporary Tensor over the user's array
    np.testing.assert_array_equal(data, before)
    assert_close(out, np.exp(before), rtol=0, atol=0)


def test_a_view_and_its_base_are_never_written():
    base = _large(requires_grad=False)
    before = values(base)
    out = base[::2].exp()  # a temporary view of a held Tensor
    assert_close(base, before, rtol=0, atol=0)
    assert_close(out, np.exp(before[::2]), rtol=0, atol=0)


def test_an_op_that_saves_its_input_runs_out_of_place_under_grad(mark, switch):
    x = _large()
    out = mark(x * 2.0).sin()  # sin keeps its input for the backward's cos
    assert _address(out) != mark[0]
    out.sum().backward()
    assert_close(x.grad, 2 * np.cos(2 * values(x)), rtol=1e-14, atol=0)
    with xpgrad.no_grad():  # nothing is saved: the input's memory may be taken
        out = mark(x * 2.0).sin()
    assert (_address(out) == mark[1]) == switch
    assert_close(out, np.sin(2 * values(x)), rtol=0, atol=0)


def test_an_output_the_graph_saved_is_never_written():
    x = _large()
    e = (x * 1.0).exp()  # exp's node keeps its result for the backward
    expected = values(e)
    out = (e * 1.0).exp()  # e itself is held; check the graph's copy through backward
    out.sum().backward()
    xv = values(x)
    assert_close(x.grad, np.exp(np.exp(xv)) * np.exp(xv), rtol=1e-13, atol=0)
    assert_close(e, expected, rtol=0, atol=0)


def test_a_result_the_exp_node_keeps_is_not_taken_by_the_next_method(mark):
    # exp's node holds its result's array (out); tanh on that temporary must not
    # overwrite it, or exp's backward would read tanh's values.
    x = _large()
    out = (x * 0.1).exp().tanh()
    out.sum().backward()
    xv = values(x)
    e = np.exp(0.1 * xv)
    assert_close(x.grad, (1 - np.tanh(e) ** 2) * e * 0.1, rtol=1e-13, atol=0)


def test_small_arrays_are_computed_out_of_place(mark):
    x = xpgrad.randn(1000, dtype=F64)
    out = mark(x * 2.0).exp()
    assert _address(out) != mark[0]


def test_float32_stays_float32_and_integers_are_left_alone(mark, switch):
    x = _large(dtype=xpgrad.float32, requires_grad=False)
    out = mark(x * 2.0).exp()
    assert dtype_name(out.dtype) == "float32" and (_address(out) == mark[0]) == switch
    i = xpgrad.arange(LARGE, dtype=xpgrad.int64)
    out = mark(i - 50_000).abs()
    assert dtype_name(out.dtype) == "int64" and _address(out) != mark[1]
    np.testing.assert_array_equal(out.numpy(), np.abs(np.arange(LARGE) - 50_000))


def test_forward_mode_sees_the_inputs_unchanged(mark):
    x = _large(requires_grad=False)
    v = xpgrad.ones_like(x)
    out, tangent = xpgrad.func.jvp(lambda x: (x * 2.0).sqrt().exp(), (x.abs(),), (v,))
    xa = np.abs(values(x))
    assert_close(out, np.exp(np.sqrt(2 * xa)), rtol=1e-14, atol=0)
    assert_close(tangent, np.exp(np.sqrt(2 * xa)) / np.sqrt(2 * xa), rtol=1e-12, atol=0)


def test_values_match_on_every_backend(device):
    x = _large(device)
    y = (x * 0.3).tanh().exp().neg()
    y.sum().backward()
    xv = values(x)
    t = np.tanh(0.3 * xv)
    assert_close(y, -np.exp(t), rtol=1e-13, atol=0)
    assert_close(x.grad, -np.exp(t) * (1 - t * t) * 0.3, rtol=1e-12, atol=0)


# ---------------------------------------------------------------------- operators


def test_an_operator_writes_into_a_temporary_left_operand(mark, operators):
    x = _large()
    out = mark(x * 2.0) + x  # add keeps neither operand
    assert (_address(out) == mark[0]) == operators
    assert_close(out, 3 * values(x), rtol=0, atol=0)
    out.sum().backward()
    assert_close(x.grad, np.full(LARGE, 3.0), rtol=0, atol=0)


def test_an_operator_writes_into_a_temporary_right_operand(mark, operators):
    x = _large()
    out = x - mark(x * 2.0)
    assert (_address(out) == mark[0]) == operators
    assert_close(out, -values(x), rtol=0, atol=0)
    out.sum().backward()
    assert_close(x.grad, np.full(LARGE, -1.0), rtol=0, atol=0)


def test_workload_c_reuses_its_temporaries_and_keeps_exact_gradients(mark, operators):
    x = _large()
    xv = values(x)
    loss = mark(mark(x.sin()) * x) + (-x * x).exp()  # sin keeps x, * keeps sin(x), + none
    assert (_address(loss) == mark[1]) == operators and mark[1] != mark[0]
    loss.sum().backward()
    e = np.exp(-xv * xv)
    assert_close(loss, np.sin(xv) * xv + e, rtol=1e-15, atol=0)
    assert_close(x.grad, np.sin(xv) + np.cos(xv) * xv - 2 * xv * e, rtol=1e-12, atol=1e-15)


def test_an_operand_the_graph_saves_is_not_written(mark):
    x = _large()
    out = mark(x * 2.0) * mark(x + 1.0)  # multiply keeps both for its backward
    assert _address(out) not in mark
    out.sum().backward()
    assert_close(x.grad, 2 * (values(x) + 1.0) + 2 * values(x), rtol=1e-14, atol=0)


def test_without_a_graph_any_temporary_operand_is_taken(mark, operators):
    x = _large()
    with xpgrad.no_grad():
        out = mark(x * 2.0) * mark(x + 1.0)
    assert (_address(out) == mark[0]) == operators
    assert_close(out, 2 * values(x) * (values(x) + 1.0), rtol=1e-15, atol=0)


@pytest.mark.parametrize("holder", ["variable", "list", "attribute", "argument"])
def test_a_held_operand_is_never_written(holder, device):
    x = _large(device)
    u = x * 2.0
    expected_u = values(u)
    if holder == "variable":
        out = u + 1.0
    elif holder == "list":
        box = [u]
        out = box[0] + 1.0
    elif holder == "attribute":
        class Box:
            pass

        box = Box()
        box.u = u
        out = box.u + 1.0
    else:
        def plus_one(t):
            return t + 1.0, t

        out, u = plus_one(x * 2.0)
    assert_close(u, expected_u, rtol=0, atol=0)
    assert_close(out, expected_u + 1.0, rtol=0, atol=0)


def _object_array(*tensors):
    array = np.empty(len(tensors), dtype=object)
    for i, t in enumerate(tensors):
        array[i] = t
    return array


@pytest.mark.parametrize("expression", ["views", "scalar", "sum", "ufunc"])
def test_tensors_numpy_reaches_in_an_object_array_are_never_written(expression):
    # NumPy's loops over object arrays call Tensor.__add__ with borrowed references: a
    # Tensor that only the array holds then has a temporary's reference count.
    held = _object_array(*(xpgrad.tensor(np.full(LARGE, float(i))) for i in range(3)))
    if expression == "views":
        out = held[:-1] + held[1:]  # the caller's BINARY_OP reads the two views
        expected = [1.0, 3.0]
    elif expression == "scalar":
        out = held * 2.0
        expected = [0.0, 2.0, 4.0]
    elif expression == "sum":
        out = [np.sum(held)]  # a reduction: the running sum starts at held[0]
        expected = [3.0]
    else:
        out = np.subtract(held, 1.0)
        expected = [-1.0, 0.0, 1.0]
    for i in range(3):
        assert_close(held[i], np.full(LARGE, float(i)), rtol=0, atol=0)
    for t, value in zip(out, expected):
        assert_close(t, np.full(LARGE, value), rtol=0, atol=0)


def test_an_operator_called_as_a_function_runs_out_of_place(mark):
    import operator

    x = _large(requires_grad=False)
    out = operator.add(mark(x * 2.0), x)  # not the caller's BINARY_OP: never elided
    assert _address(out) != mark[0]
    assert_close(out, 3 * values(x), rtol=0, atol=0)


def test_operators_are_elided_in_any_frame(mark, operators):
    # The operands' stack slots come from the bytecode's stack depth: loops, handlers,
    # comprehensions, generators and closures all shift it.
    x = _large(requires_grad=False)
    cell = 3.0

    def generator():
        yield [1, 2, (mark(x * 2.0) + cell)]

    try:
        raise ValueError
    except ValueError:
        in_handler = mark(x * 2.0) + 1.0
    results = [in_handler, next(generator())[2]]
    results += [mark(x * float(k)) + (lambda: cell)() for k in (2, 2)]
    for _k in range(2):
        results.append({"a": (1, mark(x * 2.0) + 3.0)}["a"][1])
    for i, out in enumerate(results):
        assert (_address(out) == mark[i]) == operators
        assert_close(out, 2 * values(x) + (1.0 if i == 0 else 3.0), rtol=0, atol=0)


def test_dtypes_and_shapes_decide_which_operand_is_taken(mark, operators):
    x32 = _large(dtype=xpgrad.float32, requires_grad=False)
    out = mark(x32 * 2.0) + 1.5  # a Python scalar keeps float32
    assert dtype_name(out.dtype) == "float32" and (_address(out) == mark[0]) == operators
    x64 = _large(requires_grad=False)
    out = mark(x32 * 2.0) + mark(x64 * 1.0)  # float64 result: only the float64 fits
    assert dtype_name(out.dtype) == "float64" and (_address(out) == mark[2]) == operators
    i = xpgrad.arange(LARGE, dtype=xpgrad.int64)
    out = mark(i * 2) / 4  # an integer temporary: a float result, out of place
    assert _address(out) != mark[3]
    np.testing.assert_allclose(out.numpy(), np.arange(LARGE) / 2.0, rtol=0, atol=0)
    row = _large(requires_grad=False)
    grid = xpgrad.reshape(_large(seed=1, requires_grad=False), (4, LARGE // 4))
    out = mark(row[: LARGE // 4] * 1.0) + grid  # the result is larger than the temporary
    assert _address(out) != mark[4]
    assert_close(out, values(row)[: LARGE // 4] + values(grid), rtol=0, atol=0)


def test_forward_mode_sees_the_operands_unchanged():
    x = _large(requires_grad=False)
    v = xpgrad.ones_like(x)
    out, tangent = xpgrad.func.jvp(lambda x: (x * 2.0) + (x * x), (x,), (v,))
    xv = values(x)
    assert_close(out, 2 * xv + xv * xv, rtol=1e-15, atol=0)
    assert_close(tangent, 2 + 2 * xv, rtol=1e-15, atol=0)


@pytest.mark.skipif(not CHECKED, reason="temporaries never turn on here")
def test_an_unknown_frame_layout_leaves_operators_out_of_place(mark, monkeypatch, uncalibrated):
    monkeypatch.setattr(temporaries, "_LAYOUTS", {})
    with xpgrad.elide_temporaries(False):
        with xpgrad.elide_temporaries(True) as on:
            x = _large(requires_grad=False)
            out = mark(x * 2.0) + x
            assert on == CHECKED and temporaries.ACTIVE[0] is None or temporaries.ACTIVE[0].operator is None
            assert temporaries._reader is False and _address(out) != mark[0]
            assert_close(out, 3 * values(x), rtol=0, atol=0)


# ---------------------------------------------------------------------- backward
# The engine writes in place only into cotangents it owns by construction (see
# core/engine.py, "Ownership"): these cases would show any write into an array someone
# else holds, at sizes where the in-place paths run.


def test_the_backward_of_a_chain_multiplies_in_place(switch):
    # exp's derivative is its saved output; after the first product the cotangent is the
    # walk's own, and every later node multiplies into it: the backward's peak is one
    # array above what it started with, where a new product per node would make two.
    import tracemalloc

    x = _large()
    y = x
    for _ in range(5):
        y = (y * 0.2).exp()
    loss = y.sum()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
        loss.backward()
        peak = tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()
    assert peak < 1.5 * LARGE * 8, peak / (LARGE * 8)
    assert_close(x.grad, _chain_gradient(values(x)), rtol=1e-12, atol=0)


def _chain_gradient(xv):
    vs = [xv]
    for _ in range(5):
        vs.append(np.exp(0.2 * vs[-1]))
    g = np.ones_like(xv)
    for v in reversed(vs[1:]):
        g = g * v * 0.2
    return g


def test_a_weight_passed_through_unchanged_is_never_written(device, switch):
    # sum sends a broadcast one, and 1 * w is w: the product rule hands w itself on.
    x = _large(device)
    w = _large(device, seed=1, requires_grad=False)
    wv = values(w)
    (x * w).sum().backward()
    assert_close(x.grad, wv, rtol=0, atol=0)
    with xpgrad.no_grad():
        x.grad.mul_(0.5)
    assert_close(w, wv, rtol=0, atol=0)
    (g,) = xpgrad.autograd.grad((x * w).sum(), x)
    g[...] = 0.0
    assert_close(w, wv, rtol=0, atol=0)


def test_a_hook_that_changes_its_gradient_in_place(device, switch):
    x = _large(device)
    w = _large(device, seed=1, requires_grad=False)
    wv, xv = values(w), values(x)
    y = x * w
    y.register_hook(lambda g: g.mul_(2.0))  # g: the broadcast one of sum, or a copy
    x.register_hook(lambda g: g.mul_(3.0))  # g: w's values, passed through
    z = y.exp()
    (z.sum() + y.sum()).backward()
    assert_close(w, wv, rtol=0, atol=0)
    assert_close(x, xv, rtol=0, atol=0)
    assert_close(x.grad, 6 * (np.exp(xv * wv) + 1) * wv, rtol=1e-12, atol=0)


def test_gradients_returned_and_changed_in_place_change_nothing_else(device, switch):
    x = _large(device)
    w = _large(device, seed=1, requires_grad=False)
    wv, xv = values(w), values(x)
    e = (x * w).exp()
    ev = values(e)
    gx, ge = xpgrad.autograd.grad(e.sum() + (x * 1.0).sum(), (x, e))
    with xpgrad.no_grad():
        gx.mul_(0.0)
        ge.mul_(0.0)
    for t, v in ((w, wv), (x, xv), (e, ev)):
        assert_close(t, v, rtol=0, atol=0)


def test_retained_and_second_order_walks_stay_exact(device, switch):
    x = _large(device)
    xv = values(x)
    y = ((x * 0.5).tanh() * x).exp().sum()
    (g1,) = xpgrad.autograd.grad(y, x, retain_graph=True)
    (g2,) = xpgrad.autograd.grad(y, x)
    assert_close(g1, values(g2), rtol=0, atol=0)
    t = np.tanh(0.5 * xv)
    expected = np.exp(t * xv) * (t + xv * (1 - t * t) * 0.5)
    assert_close(g1, expected, rtol=1e-12, atol=0)
    z = (x * x).exp().sum()
    (g,) = xpgrad.autograd.grad(z, x, create_graph=True)
    (h,) = xpgrad.autograd.grad((g * 1.0).sum(), x)
    e = np.exp(xv * xv)
    assert_close(g, 2 * xv * e, rtol=1e-12, atol=0)
    assert_close(h, (2 + 4 * xv * xv) * e, rtol=1e-12, atol=0)
