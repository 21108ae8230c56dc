"""C. Large elementwise: ``sum(sin(x) * x + exp(-x * x))`` on 4,000,000 float64 elements.

One step is the forward and the backward (the gradient with respect to ``x``), where the
time goes into the array library's loops and memory traffic rather than per-op overhead:
what an autodiff library adds here is the intermediates it keeps for the backward, the
temporaries of its VJP rules and the accumulation of gradients. Two cases:

``C``      the time of one step, in milliseconds, measured in process with the other
           in-process workloads (interleaved rounds after warm-ups, gradients checked at
           full size before timing).
``C-mem``  the step's peak memory above the resident baseline, in MB (10^6 bytes),
           measured in a fresh child process per system and round (``child.py``): the
           child imports the system, makes ``x``, warms the system up and checks its
           gradient on a 1000-element instance (so that lazy imports and first-call
           set-ups are not counted), then runs ``gc.collect()``, resets the kernel's
           high-water mark of its resident set by writing ``5`` to
           ``/proc/self/clear_refs`` (VmHWM := VmRSS), runs one full-size step, and
           reports VmHWM minus the VmRSS it had at the reset, from ``/proc/self/status``.
           The peak therefore includes every allocation the step touched, whoever made it
           (NumPy's data buffers, PyTorch's allocator, Python objects), and not memory
           the process held before; tracemalloc would see only what goes through
           Python's allocator hooks. Where ``clear_refs`` cannot be written the child
           falls back on the ``ru_maxrss`` delta of ``getrusage`` (documented in the JSON
           as ``memory_method``), which is right when the step's peak is the process's
           highest, as it is for a fresh child and 32 MB arrays. The full-size gradient
           is checked against the hand-written one after the measurement. The gradient
           itself (one array of 32 MB) is part of every system's peak.

The hand-written NumPy reference computes ``s = sin(x)``, ``e = exp(-x * x)``, the loss
``sum(s * x + e)`` and the analytic gradient ``s + cos(x) * x - 2 * x * e``, the way one
would write it without an autodiff library (no ``out=`` tricks).
"""
import numpy as np
from harness import Case

N_LARGE = 4_000_000


def make_cases(n=N_LARGE, seed=2):
    x = np.random.default_rng(seed).standard_normal(n)
    me = globals()
    time_case = Case("C", f"sin(x)*x+exp(-x*x), {n:,} el.", "large", {"x": x}, ("x",),
                     1, "ms", 1e3, module=me)
    mem_case = Case("C-mem", f"peak memory, {n:,} el.", "large", {"x": x}, ("x",),
                    1, "MB", 1e-6, module=me, metric="peak", group="C-mem")
    return time_case, mem_case


def fresh_case(n=N_LARGE):
    """``C-fresh``: C's time in a fresh process, measured by the children of ``C-mem`` (one
    full-size call after the small warm-up: every page of the step faulted in anew). With
    ``C`` (in process, from a trimmed heap) it gives the step's time in both regimes, so
    that no figure is an accident of what the allocator had kept."""
    return Case("C-fresh", f"time in a fresh process, {n:,} el.", "large", {}, ("x",), 1, "ms", 1e3,
                module=globals(), group="C-mem")


def _np_large(x, xp=np):
    s = xp.sin(x)
    e = xp.exp(-x * x)
    loss = xp.sum(s * x + e)
    g = s + xp.cos(x) * x - 2.0 * x * e
    return loss, g


def check_reference(seed=3):
    """The hand-written gradient against central differences along a random direction."""
    rng = np.random.default_rng(seed)
    x, d, eps = rng.standard_normal(50), rng.standard_normal(50), 1e-6
    numeric = (_np_large(x + eps * d)[0] - _np_large(x - eps * d)[0]) / (2 * eps)
    return bool(np.isclose(numeric, np.sum(_np_large(x)[1] * d), rtol=1e-6, atol=1e-8))


# ---------------------------------------------------------------------- systems


def hand_large(data, xp=np):
    """By hand, against the namespace ``xp`` (NumPy's, or another library's: ``libraries.py``)."""
    x = data["x"]
    return lambda: [_np_large(x, xp)[1]]


numpy_large = hand_large


def xpgrad_large(data):
    import xpgrad

    x = xpgrad.tensor(data["x"], requires_grad=True)

    def step():
        x.grad = None
        (x.sin() * x + (-x * x).exp()).sum().backward()
        return [x.grad]
    return step


def torch_large(data):
    import torch

    x = torch.tensor(data["x"], requires_grad=True)

    def step():
        x.grad = None
        (torch.sin(x) * x + torch.exp(-x * x)).sum().backward()
        return [x.grad]
    return step


def autograd_large(data):
    import autograd
    import autograd.numpy as anp

    def loss(x):
        return anp.sum(anp.sin(x) * x + anp.exp(-x * x))
    grad, x = autograd.grad(loss), data["x"]
    return lambda: [grad(x)]


def mygrad_large(data):
    import mygrad as mg

    x = mg.Tensor(data["x"])

    def step():
        x.null_grad()
        (mg.sin(x) * x + mg.exp(-x * x)).sum().backward()
        return [x.grad]
    return step


# ---------------------------------------------------------------------- child


def child_measure(group, system, params):
    """In a fresh child: warm up and check on 1000 elements, then measure one full step."""
    from harness import build, check_gradients, measure_peak

    small, _ = make_cases(1000, seed=4)
    check_gradients(small, system, build(small, system)(), build(small, "numpy")())
    del small
    _, case = make_cases(params["n"])
    step = build(case, system)
    grads, elapsed, peak, method = measure_peak(step)
    err, dtypes = check_gradients(case, system, grads, build(case, "numpy")())
    return {"time": elapsed, "peak": peak, "method": method, "max_err": err, "dtypes": dtypes}
