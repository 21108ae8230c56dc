"""Several threads at once: backward on one graph, forward mode, the first call, plugins.

Every test starts its threads together at a ``threading.Barrier`` and compares what each
thread got with the single-threaded result, exactly.
"""
import sys
import threading

import numpy as np
import pytest

import xpgrad

from helpers import values

THREADS = 4


@pytest.fixture(autouse=True)
def _switch_often():
    """Threads take turns every few microseconds, not every 5 ms: races show up within a
    handful of calls instead of by luck."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def run_in_threads(target, n=THREADS):
    """Run ``target(i)`` in ``n`` threads started together; return their results in
    order, re-raising the first exception one of them raised."""
    barrier = threading.Barrier(n)
    results = [None] * n
    errors = []

    def body(i):
        try:
            barrier.wait()
            results[i] = target(i)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


# ---------------------------------------------------------------------- backward on one graph

SIZE = 262_144  # elements: large enough that NumPy's in-place add lets other threads run


@pytest.mark.parametrize("device", ["cpu", "array_api_strict"])
def test_concurrent_backward_on_one_graph_loses_no_gradient(device):
    # Small integers: every partial sum is exact in float64, so the total must be too.
    xv = (np.arange(SIZE) % 7 + 1).astype(np.float64)
    wv = (np.arange(SIZE) % 5 + 1).astype(np.float64)
    x = xpgrad.tensor(xv, device=device, requires_grad=True)
    w = xpgrad.tensor(wv, device=device, requires_grad=True)
    y = x * w
    y.retain_grad()
    loss = (y * 2.0).sum()
    calls = 25

    def backward(i):
        for _ in range(calls):
            loss.backward(retain_graph=True)

    run_in_threads(backward)
    total = THREADS * calls
    np.testing.assert_array_equal(values(x.grad), total * 2.0 * wv)
    np.testing.assert_array_equal(values(w.grad), total * 2.0 * xv)
    np.testing.assert_array_equal(values(y.grad), np.full(SIZE, total * 2.0))


# ---------------------------------------------------------------------- forward mode
# Forward-mode levels belong to the thread that entered them: the ops of one thread's jvp
# get tangents from that thread's levels only, and a thread without forward mode records
# exactly as it would alone.

F64 = xpgrad.float64


def _jvp_case(i):
    """Thread ``i``'s own function, primal and tangent."""
    fns = [
        lambda x: (x.sin() * x).exp(),
        lambda x: (x * x * x - x).tanh(),
        lambda x: xpgrad.xp.cumulative_sum(x.cos() * 2.0) / (x * x + 1.0),
    ]
    x = xpgrad.tensor(np.linspace(-1.0, 1.0, 6) * (i + 1), dtype=F64)
    v = xpgrad.tensor(np.linspace(0.5, 2.0, 6) + i, dtype=F64)
    return fns[i], x, v


def _backward_case():
    x = xpgrad.tensor(np.linspace(0.1, 1.0, 6), dtype=F64, requires_grad=True)
    ((x * x).exp() * x.sin()).sum().backward()
    return values(x.grad)


def test_jvp_in_threads_matches_single_threaded():
    calls = 40
    expected = {}
    for i in range(3):
        fn, x, v = _jvp_case(i)
        out, tangent = xpgrad.func.jvp(fn, (x,), (v,))
        expected[i] = (values(out), values(tangent))
    expected[3] = _backward_case()

    def work(i):
        got = []
        for _ in range(calls):
            if i == 3:  # plain reverse mode beside the forward-mode threads
                got.append(_backward_case())
            else:
                fn, x, v = _jvp_case(i)
                out, tangent = xpgrad.func.jvp(fn, (x,), (v,))
                got.append((values(out), values(tangent)))
        return got

    for i, got in enumerate(run_in_threads(work)):
        for result in got:
            if i == 3:
                np.testing.assert_array_equal(result, expected[3])
            else:
                np.testing.assert_array_equal(result[0], expected[i][0])
                np.testing.assert_array_equal(result[1], expected[i][1])


def test_hessian_in_threads_matches_single_threaded():
    def f(x):
        return (x.sin() * x * x).sum() + (x[0] * x[1]).exp()

    inputs = [xpgrad.tensor([0.3 * (i + 1), -0.5, 1.5 - i], dtype=F64) for i in range(THREADS)]
    expected = [values(xpgrad.func.hessian(f)(x)) for x in inputs]

    def work(i):
        return [values(xpgrad.func.hessian(f)(inputs[i])) for _ in range(10)]

    for i, got in enumerate(run_in_threads(work)):
        for h in got:
            np.testing.assert_array_equal(h, expected[i])


def test_forward_levels_of_two_threads_do_not_nest():
    # A enters its jvp, then B (this thread) enters its own; A leaves first. With one
    # stack of levels for the process, A's exit would take B's level away mid-function.
    a_inside, b_inside, a_done = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def thread_a():
        def f(x):
            a_inside.set()
            b_inside.wait(10)
            return x * 2.0

        x = xpgrad.tensor([1.0], dtype=F64)
        seen["a"] = xpgrad.func.jvp(f, (x,), (xpgrad.ones_like(x),))[1].tolist()
        a_done.set()

    def f_b(y):
        h = y * 3.0
        b_inside.set()
        a_done.wait(10)
        return (h * h).sum()  # d/dy (3y)^2 = 18 y

    thread = threading.Thread(target=thread_a)
    thread.start()
    try:
        assert a_inside.wait(10)
        y = xpgrad.tensor([1.0, 2.0], dtype=F64)
        seen["b"] = xpgrad.func.jvp(f_b, (y,), (xpgrad.ones_like(y),))[1].tolist()
    finally:
        b_inside.set()
        a_done.set()
        thread.join()
    assert seen == {"a": [2.0], "b": 18.0 * 3.0}


# ---------------------------------------------------------------------- the other record hooks
# As in PyTorch: saved_tensors_hooks belong to the thread that entered them; anomaly
# mode is one switch for the whole process.


def test_saved_tensors_hooks_are_local_to_the_thread():
    from xpgrad.autograd.graph import saved_tensors_hooks
    from xpgrad.node import Packed

    packed_by = []
    inside, recorded = threading.Event(), threading.Event()
    other = {}

    def pack(t):
        packed_by.append(threading.current_thread().name)
        return t

    def record_elsewhere():
        assert inside.wait(10)
        x = xpgrad.tensor([1.0, 2.0], dtype=F64, requires_grad=True)
        y = x * x
        other["packed"] = type(y.grad_fn.saved) is Packed
        recorded.set()
        y.sum().backward()
        other["grad"] = x.grad.tolist()

    thread = threading.Thread(target=record_elsewhere, name="elsewhere")
    thread.start()
    try:
        w = xpgrad.tensor([3.0], dtype=F64, requires_grad=True)
        with saved_tensors_hooks(pack, lambda t: t):
            inside.set()
            assert recorded.wait(10)
            z = w * w
        z.backward()
    finally:
        inside.set()
        thread.join()
    assert other == {"packed": False, "grad": [2.0, 4.0]}
    assert type(z.grad_fn.saved) is Packed or z.grad_fn.freed
    assert packed_by and set(packed_by) == {threading.current_thread().name}
    assert w.grad.tolist() == [6.0]


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning", "ignore:divide by zero:RuntimeWarning")
def test_anomaly_mode_is_one_switch_for_every_thread():
    from xpgrad.autograd import detect_anomaly, is_anomaly_enabled

    def nan_backward(i):
        x = xpgrad.zeros(3, dtype=F64, requires_grad=True)
        y = xpgrad.sqrt(x) * 0  # THE FORWARD LINE IN A THREAD
        enabled = is_anomaly_enabled()
        try:
            y.sum().backward()
        except RuntimeError as exc:
            return enabled, str(exc)
        return enabled, None

    with detect_anomaly():
        results = run_in_threads(nan_backward)
    for enabled, message in results:
        assert enabled
        assert message is not None and message.startswith("Function 'SqrtBackward' returned nan values")
        assert "THE FORWARD LINE IN A THREAD" in message
    assert run_in_threads(nan_backward) == [(False, None)] * THREADS


def test_another_threads_forward_mode_leaves_this_threads_temporaries_to_reuse():
    # Forward mode and saved_tensors_hooks read the arguments of their own thread's ops,
    # so a temporary's memory is not reused there; other threads go on reusing theirs.
    from test_temporaries import CHECKED, Marks, _address

    if not CHECKED:
        pytest.skip("no elision on this interpreter")
    from xpgrad.autograd.graph import saved_tensors_hooks

    inside, done = threading.Event(), threading.Event()

    def forward():
        def f(x):
            with saved_tensors_hooks(lambda t: t, lambda t: t):
                inside.set()
                done.wait(10)
                return x * 2.0

        x = xpgrad.tensor([1.0], dtype=F64)
        xpgrad.func.jvp(f, (x,), (xpgrad.ones_like(x),))

    thread = threading.Thread(target=forward)
    thread.start()
    try:
        assert inside.wait(10)
        assert xpgrad.set_temporaries_enabled(True)
        x = xpgrad.tensor(np.linspace(0.0, 1.0, 100_000), dtype=F64)
        mark = Marks()
        out = mark(x * 2.0).exp()
        method_reused = _address(out) == mark[0]
        plain = (x * 2.0) + (x * 3.0)  # operators: one of the temporaries takes the sum
        np.testing.assert_array_equal(values(out), np.exp(2.0 * values(x)))
        np.testing.assert_array_equal(values(plain), 2.0 * values(x) + 3.0 * values(x))
    finally:
        xpgrad.set_temporaries_enabled(False)
        done.set()
        thread.join()
    assert method_reused


# ---------------------------------------------------------------------- set-up and plugins

_FIRST_CALL = r"""
import json, sys, threading, warnings
sys.setswitchinterval(1e-5)
caught = warnings.catch_warnings(record=True)
warned = caught.__enter__()
warnings.simplefilter("always")  # a plugin skipped at set-up would warn
import xpgrad
from xpgrad.plugins import manager

n = int(sys.argv[1])
barrier = threading.Barrier(n)
results = [None] * n

def work(i):
    try:
        barrier.wait()
        if i % 2:
            x = xpgrad.tensor([1.0, 2.0], requires_grad=True)
        else:
            x = xpgrad.xp.asarray([1.0, 2.0], dtype=xpgrad.float32)
            x.requires_grad_()
        y = (x * x + xpgrad.xp.sin(x)).sum()
        y.backward()
        results[i] = [y.item(), x.grad.tolist(), str(x.device)]
    except BaseException as exc:
        results[i] = f"{type(exc).__name__}: {exc}"

threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
names = manager.list_plugins()
print(json.dumps({"results": results, "builtins": [p for p in names if p in manager.BUILTIN_PLUGINS],
                  "unique": len(names) == len(set(names)),
                  "warnings": [str(w.message) for w in warned
                               if issubclass(w.category, manager.XpgradPluginWarning)]}))
"""


def test_first_call_from_several_threads_sets_up_once():
    # A fresh interpreter: this one has set xpgrad up already.
    import json
    import subprocess

    from xpgrad.plugins import manager

    expected = None
    for n in (1, THREADS, THREADS):  # one thread alone gives the expected results
        proc = subprocess.run([sys.executable, "-c", _FIRST_CALL, str(n)], capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        run_subprocess = json.loads(proc.stdout)
        assert run_subprocess["builtins"] == list(manager.BUILTIN_PLUGINS)
        assert run_subprocess["unique"]
        assert run_subprocess["warnings"] == []
        if expected is None:
            expected = run_subprocess["results"][0]
            assert isinstance(expected, list), expected
        else:
            assert run_subprocess["results"] == [expected] * n


class _CubePlugin:
    def xpgrad_ops(self):
        from xpgrad.plugins import Op

        return [Op("xpgrad_test_thread_cube", lambda xp, x: x * x * x,
                   vjp={"x": lambda xp, g, x: g * (3 * x * x)})]


def test_ops_while_another_thread_registers_and_unregisters_plugins():
    # The registry is rebuilt aside and swapped in: an op call sees the plugins as they
    # were before or after a change, never half of it. The plugin's own op either runs
    # or is unknown, with the usual error; every other op runs as alone.
    from xpgrad.dispatch import DispatchError, apply
    from xpgrad.plugins import hookimpl, list_plugins, register, registry, unregister

    plugin_type = type("CubePlugin", (), {"xpgrad_ops": hookimpl(_CubePlugin.xpgrad_ops)})
    xv = np.linspace(-1.0, 1.0, 5)

    def compute():
        x = xpgrad.tensor(xv, dtype=F64, requires_grad=True)
        y = (x * 2.0 + xpgrad.xp.mean(x * x) + x[1:].sum()).exp().sum()
        y.backward()
        z = xpgrad.xp.concat([x, x]) @ xpgrad.xp.ones(10, dtype=F64)
        try:
            cube = values(apply("xpgrad_test_thread_cube", (x,)))
        except DispatchError as exc:
            assert str(exc).startswith("xpgrad has no op 'xpgrad_test_thread_cube'"), str(exc)
            cube = None
        listed = (len(registry.all_ops()), len(registry.ops()), len(registry.backends()))
        return y.item(), values(x.grad), z.item(), cube, listed

    expected = compute()
    cycles = 12
    done = threading.Event()

    def work(i):
        if i == 0:
            try:
                for _k in range(cycles):
                    plugin = plugin_type()
                    register(plugin, name="xpgrad_test_thread_cube_plugin")
                    unregister(plugin)
            finally:
                done.set()
            return None
        got = []
        while not done.is_set() and len(got) < 20_000:
            got.append(compute())
        return got

    results = run_in_threads(work, 3)
    assert "xpgrad_test_thread_cube_plugin" not in list_plugins()
    cubes = 0
    for got in results[1:]:
        assert len(got) >= cycles  # the ops ran while the plugins changed
        for y, grad, z, cube, listed in got:
            assert y == expected[0] and z == expected[2]
            np.testing.assert_array_equal(grad, expected[1])
            if cube is not None:
                cubes += 1
                np.testing.assert_array_equal(cube, xv ** 3)
            assert listed[2] == expected[4][2]
    assert cubes  # the plugin's op was called while registered, too


# ---------------------------------------------------------------------- in place


def test_in_place_writes_from_several_threads_lose_no_version_bump():
    # Each write bumps the process's in-place epoch once; a lost bump would let backward
    # skip the version check of a node that saved what was written.
    from xpgrad.tensor import INPLACE_EPOCH

    y = xpgrad.zeros(64, dtype=F64)
    barrier = threading.Barrier(4)
    writes = 300

    def work(k):
        barrier.wait()
        for _i in range(writes):
            v = y[k * 16:(k + 1) * 16]  # a view made here, written through at once
            v += 1.0

    start = INPLACE_EPOCH[0]
    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert INPLACE_EPOCH[0] - start == 4 * writes
    np.testing.assert_array_equal(values(y), np.full(64, float(writes)))
    assert len([r for r in y._views if r() is not None]) <= 4


def test_views_made_in_threads_all_see_a_write_through_the_base():
    # A view made in one thread while another prunes the root's list must not be lost:
    # every live view replays the base's new history after the write.
    x = xpgrad.tensor(np.arange(1.0, 65.0), dtype=F64, requires_grad=True)
    y = x * 1.0
    barrier = threading.Barrier(4)
    made = [[] for _ in range(4)]

    def work(k):
        barrier.wait()
        for i in range(40):
            v = y[k * 16 + i % 16: k * 16 + i % 16 + 1]
            if i % 8 == 0:
                made[k].append(v)  # kept; the others die and are pruned

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    y.mul_(3.0)
    kept = [v for vs in made for v in vs]
    (g,) = xpgrad.autograd.grad(xpgrad.xp.sum(xpgrad.xp.stack([xpgrad.xp.sum(v) for v in kept])), x)
    expected = np.zeros(64)
    for k in range(4):
        for i in range(0, 40, 8):
            expected[k * 16 + i % 16] += 3.0
    np.testing.assert_array_equal(values(g), expected)
