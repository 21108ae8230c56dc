"""D. Deep chain: ``y = y * 1.0000001`` repeated 10^5 and 10^6 times, then backward.

The leaf ``x`` is a 1-element float64 vector that requires grad; after the loop,
``y.sum().backward()`` (or the system's equivalent) gives ``d sum(y) / dx = 1.0000001^n``.
With one element per op, nothing but the graph costs anything: this measures how fast a
library records and walks a very long graph, whether it survives one of 10^6 nodes (no
recursion, no quadratic step), and what one recorded node costs in memory. Per size
``n``, one child run per system and round (``child.py``) gives three cases:

``D-1e5``       the time of the forward loop plus the backward, in seconds, one call, in a
                fresh process after a warm-up on a 1000-op chain (whose gradient is checked
                against the hand-written one before anything is timed);
``D-1e5-mem``   the peak memory above the resident baseline during that call, in MB,
                measured as in workload C (``/proc/self/clear_refs`` then VmHWM, see
                ``elementwise.py``);
``D-1e5-node``  that peak divided by ``n``: bytes per recorded node (the graph node, the
                output tensor and its 1-element array, whatever the library saves).

The hand-written NumPy reference runs the forward loop and a backward loop of ``n``
multiplies by 1.0000001 (the analytic gradient): it keeps nothing, so its memory is
about zero and there is no ratio to NumPy for the memory cases; its time is the cost of
the ``2 n`` bare NumPy operations. The full-size gradient is checked after the timed
call (relative tolerance 1e-8: ``n`` roundings of a product).

The parent kills a child that runs past the time limit (``--d-timeout``, 120 s by
default) or whose resident memory passes a cap (``--mem-cap``, 6 GB by default) and
records "n/a" with the reason, as it does for a child that fails (a RecursionError, say).
"""
import importlib

import numpy as np
from harness import Case

MUL = 1.0000001
SIZES = (100_000, 1_000_000)


def _label(n):
    exp = int(round(np.log10(n)))
    return f"1e{exp}" if 10 ** exp == n else str(n)


def make_cases(n, seed=5):
    """The three cases of one chain length (they share one child run, group ``D-<n>``)."""
    data = {"x": np.random.default_rng(seed).uniform(0.5, 1.5, 1), "n": n}
    me, label, tol = globals(), _label(n), (1e-8, 1e-12)
    group = f"D-{label}"
    return (
        Case(group, f"chain of {n:,} muls", "chain", data, ("x",), 1, "s", 1.0,
             module=me, metric="time", group=group, tolerance=tol),
        Case(f"{group}-mem", f"peak memory, {n:,} muls", "chain", data, ("x",), 1, "MB", 1e-6,
             module=me, metric="peak", group=group, tolerance=tol, vs_numpy=False),
        Case(f"{group}-node", f"memory per node, {n:,} muls", "chain", data, ("x",), n,
             "B/node", 1.0, module=me, metric="peak", group=group, tolerance=tol,
             vs_numpy=False),
    )


def _np_chain(x, n):
    y = x
    for _ in range(n):
        y = y * MUL
    loss = y.sum()
    g = np.ones_like(x)
    for _ in range(n):
        g = g * MUL
    return loss, g


def check_reference():
    x = np.array([0.7])
    eps = 1e-6
    numeric = (_np_chain(x + eps, 50)[0] - _np_chain(x - eps, 50)[0]) / (2 * eps)
    return bool(np.isclose(numeric, _np_chain(x, 50)[1][0], rtol=1e-7))


# ---------------------------------------------------------------------- systems


def numpy_chain(data):
    x, n = data["x"], data["n"]
    return lambda: [_np_chain(x, n)[1]]


def _pytorch_style_chain(library, data):
    """The chain as PyTorch code; xpgrad runs the very same code."""
    lib = importlib.import_module(library)
    x, n = lib.tensor(data["x"], requires_grad=True), data["n"]

    def step():
        x.grad = None
        y = x
        for _ in range(n):
            y = y * MUL
        y.sum().backward()
        return [x.grad]
    return step


def xpgrad_chain(data):
    return _pytorch_style_chain("xpgrad", data)


def torch_chain(data):
    return _pytorch_style_chain("torch", data)


def autograd_chain(data):
    import autograd

    x, n = data["x"], data["n"]

    def loss(y):
        for _ in range(n):
            y = y * MUL
        return y.sum()
    grad = autograd.grad(loss)
    return lambda: [grad(x)]


def mygrad_chain(data):
    import mygrad as mg

    x, n = mg.Tensor(data["x"]), data["n"]

    def step():
        x.null_grad()
        y = x
        for _ in range(n):
            y = y * MUL
        y.sum().backward()
        return [x.grad]
    return step


# ---------------------------------------------------------------------- child


def child_measure(group, system, params):
    """In a fresh child: warm up and check on a 1000-op chain, then measure one n-op call."""
    from harness import build, check_gradients, measure_peak

    small = make_cases(1000)[0]
    check_gradients(small, system, build(small, system)(), build(small, "numpy")())
    case = make_cases(params["n"])[0]
    step = build(case, system)
    grads, elapsed, peak, method = measure_peak(step)
    err, dtypes = check_gradients(case, system, grads, build(case, "numpy")())
    return {"time": elapsed, "peak": peak, "method": method, "max_err": err, "dtypes": dtypes}
