"""E. Hessian-vector product of ``f(x) = sum(tanh(x) ** 2)``, 1000 float64 elements.

One step computes ``H v`` by double backward: the gradient ``g`` of ``f`` with respect to
``x`` with ``create_graph=True`` (so that the backward pass is itself recorded), then the
gradient of ``sum(g * v)`` with respect to ``x``. It measures the cost of recording a
backward pass and differentiating through it, in microseconds per HVP, in process with the
other in-process workloads (interleaved rounds after warm-ups, checked before timing).

- NumPy by hand: ``t = tanh(x)``, ``H v = 2 (1 - t^2)(1 - 3 t^2) v`` (H is diagonal).
- xpgrad: ``xpgrad.grad(f, x, create_graph=True)``, then ``xpgrad.grad((g * v).sum(), x)``.
- PyTorch: ``torch.autograd.grad`` twice, the same way.
- HIPS autograd: ``autograd.hessian_vector_product(f)(x, v)`` (forward-over-reverse is not
  what it does: it differentiates ``sum(grad(f)(x) * v)`` with reverse mode, the same
  double backward).
- MyGrad: n/a, its ``backward`` stores plain NumPy arrays in ``.grad`` and records nothing,
  so there is no second derivative to take.
"""
import numpy as np
from harness import Case, Unsupported

N_HVP = 1000


def make_cases(n=N_HVP, seed=6):
    rng = np.random.default_rng(seed)
    data = {"x": rng.uniform(-2.0, 2.0, n), "v": rng.standard_normal(n)}
    return (Case("E", f"HVP of sum(tanh(x)**2), {n} el.", "hvp", data, ("x",), 1,
                 "us", 1e6, module=globals()),)


def _np_grad(x):
    t = np.tanh(x)
    return 2.0 * t * (1.0 - t * t)


def _np_hvp(x, v, xp=np):
    t = xp.tanh(x)
    t2 = t * t
    return 2.0 * (1.0 - t2) * (1.0 - 3.0 * t2) * v


def check_reference(seed=7):
    """The analytic H v against central differences of the analytic gradient along v."""
    rng = np.random.default_rng(seed)
    x, v, eps = rng.uniform(-2, 2, 20), rng.standard_normal(20), 1e-6
    numeric = (_np_grad(x + eps * v) - _np_grad(x - eps * v)) / (2 * eps)
    grad_ok = np.isclose(  # and the gradient against differences of f
        (np.sum(np.tanh(x + eps * v) ** 2) - np.sum(np.tanh(x - eps * v) ** 2)) / (2 * eps),
        np.sum(_np_grad(x) * v), rtol=1e-6)
    return bool(grad_ok and np.allclose(numeric, _np_hvp(x, v), rtol=1e-6, atol=1e-8))


# ---------------------------------------------------------------------- systems


def hand_hvp(data, xp=np):
    """By hand, against the namespace ``xp`` (NumPy's, or another library's: ``libraries.py``)."""
    x, v = data["x"], data["v"]
    return lambda: [_np_hvp(x, v, xp)]


numpy_hvp = hand_hvp


def xpgrad_hvp(data):
    import xpgrad

    x = xpgrad.tensor(data["x"], requires_grad=True)
    v = xpgrad.as_tensor(data["v"])

    def step():
        f = (x.tanh() ** 2).sum()
        (g,) = xpgrad.grad(f, x, create_graph=True)
        (hv,) = xpgrad.grad((g * v).sum(), x)
        return [hv]
    return step


def torch_hvp(data):
    import torch

    x = torch.tensor(data["x"], requires_grad=True)
    v = torch.from_numpy(data["v"])

    def step():
        f = (torch.tanh(x) ** 2).sum()
        (g,) = torch.autograd.grad(f, x, create_graph=True)
        (hv,) = torch.autograd.grad((g * v).sum(), x)
        return [hv]
    return step


def autograd_hvp(data):
    import autograd
    import autograd.numpy as anp

    def f(x):
        return anp.sum(anp.tanh(x) ** 2)
    hvp, x, v = autograd.hessian_vector_product(f), data["x"], data["v"]
    return lambda: [hvp(x, v)]


def mygrad_hvp(data):
    raise Unsupported("MyGrad has no higher-order derivatives (backward records no graph; "
                      ".grad is a plain NumPy array)")
