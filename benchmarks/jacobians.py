"""J. Whole Jacobians and Hessians: ``xpgrad.func`` against ``torch.func`` and HIPS autograd.

Two cases, float64, in process with the other in-process workloads (interleaved rounds
after warm-ups, checked before timing), milliseconds per call:

- ``J-jac``: the Jacobian of ``f(x) = tanh(W @ x + b)``, ``x`` of 256 elements, 256
  outputs (``W`` 256 x 256, ``b`` 256);
- ``J-hess``: the Hessian of ``f(x) = sum(tanh(A @ x) ** 2)``, ``x`` of 100 elements
  (``A`` 100 x 100).

Systems:

- NumPy by hand: ``t = tanh(W x + b)``, ``J = (1 - t^2)[:, None] * W``; ``t = tanh(A x)``,
  ``H = A^T diag(2 (1 - t^2)(1 - 3 t^2)) A``.
- xpgrad: ``xpgrad.func.jacrev(f)(x)`` and ``xpgrad.func.hessian(f)(x)`` with the default
  ``vectorize=True`` (every VJP, or JVP, in one pass through :func:`xpgrad.func.vmap`);
  ``f`` is written with ``xpgrad.xp`` functions.
- xpgrad-loop (a system of J only, "xpgrad, vectorize=False"): the same with
  ``vectorize=False``, one VJP per output element (and, for the Hessian, one JVP per
  input element), the loop xpgrad ran before ``vmap``.
- PyTorch: ``torch.func.jacrev(f)(x)`` and ``torch.func.hessian(f)(x)`` (``vmap``-ed, as
  xpgrad's default).
- HIPS autograd: ``autograd.jacobian(f)(x)`` and ``autograd.hessian(f)(x)`` (a loop of
  VJPs over the outputs, and that of the gradient).
- MyGrad: n/a, it has neither a Jacobian nor any second derivative.

The checks are tighter than the other workloads': every system's result must be within
5e-11 (absolute) of the hand-written one, so any two systems agree within 1e-10, and
:func:`cross_check` compares xpgrad's results with PyTorch's directly. The targets
(:func:`evaluate_targets`): xpgrad's vectorised time at or below ``torch.func``'s, and at
least 10x faster than xpgrad's own loop.
"""
import numpy as np
from harness import SYSTEMS, Case, Unsupported, build, to_numpy

N_JAC = 256
N_HESS = 100
LOOP = "xpgrad-loop"  # xpgrad with vectorize=False
ONLY_J = (LOOP,)  # the systems that run J only
SYSTEMS.setdefault(LOOP, ("xpgrad", "xpgrad, vectorize=False"))
ABS_TOL = 5e-11  # every system against the hand-written result: pairs within 1e-10
VS_TORCH_TOL = 1e-10
SPEEDUP_TARGET = 10.0


def make_cases(n_jac=N_JAC, n_hess=N_HESS, seed=8):
    rng = np.random.default_rng(seed)
    jac = {"W": rng.standard_normal((n_jac, n_jac)) / np.sqrt(n_jac),
           "b": 0.5 * rng.standard_normal(n_jac), "x": rng.standard_normal(n_jac)}
    hess = {"A": rng.standard_normal((n_hess, n_hess)) / np.sqrt(n_hess),
            "x": rng.standard_normal(n_hess)}
    module = dict(globals())  # the factories, xpgrad-loop's under its hyphenated name
    for kind in ("jac", "hess"):
        module[f"{LOOP}_{kind}"] = globals()[f"xpgrad_loop_{kind}"]
    cases = []
    for key, title, kind, data in (
            ("J-jac", f"Jacobian of tanh(W @ x + b), {n_jac} -> {n_jac}", "jac", jac),
            ("J-hess", f"Hessian of sum(tanh(A @ x) ** 2), {n_hess} el.", "hess", hess)):
        ref = globals()[f"_np_{kind}"](data)
        cases.append(Case(key, title, kind, data, (kind,), 1, "ms", 1e3, module=module,
                          tolerance=(0.0, ABS_TOL / (float(np.max(np.abs(ref))) or 1.0))))
    return tuple(cases)


def _np_jac(data):
    t = np.tanh(data["W"] @ data["x"] + data["b"])
    return (1.0 - t * t)[:, None] * data["W"]


def _np_grad_hess(A, x):
    t = np.tanh(A @ x)
    return A.T @ (2.0 * t * (1.0 - t * t))


def _np_hess(data):
    A = data["A"]
    t = np.tanh(A @ data["x"])
    t2 = t * t
    return A.T @ ((2.0 * (1.0 - t2) * (1.0 - 3.0 * t2))[:, None] * A)


def check_reference(seed=9, n=12, eps=1e-6):
    """The analytic Jacobian and Hessian against central differences (the Hessian's of the
    analytic gradient, which is itself checked against differences of f)."""
    case_j, case_h = make_cases(n, n, seed)
    W, b, x = case_j.data["W"], case_j.data["b"], case_j.data["x"]
    A, y = case_h.data["A"], case_h.data["x"]
    eye = np.eye(n)
    num_j = np.stack([(np.tanh(W @ (x + eps * e) + b) - np.tanh(W @ (x - eps * e) + b)) / (2 * eps)
                      for e in eye], axis=1)

    def f(v):
        return np.sum(np.tanh(A @ v) ** 2)
    num_g = np.array([(f(y + eps * e) - f(y - eps * e)) / (2 * eps) for e in eye])
    num_h = np.stack([(_np_grad_hess(A, y + eps * e) - _np_grad_hess(A, y - eps * e)) / (2 * eps)
                      for e in eye], axis=1)
    return bool(np.allclose(num_j, _np_jac(case_j.data), rtol=1e-6, atol=1e-8)
                and np.allclose(num_g, _np_grad_hess(A, y), rtol=1e-6, atol=1e-8)
                and np.allclose(num_h, _np_hess(case_h.data), rtol=1e-6, atol=1e-8))


def cross_check(cases, systems):
    """``{case.key: max |xpgrad's - PyTorch's|}`` for every xpgrad system that ran beside
    PyTorch; aborts (``SystemExit``) where one is ``VS_TORCH_TOL`` or more."""
    out = {}
    if "torch" not in systems:
        return out
    for case in cases:
        try:
            ref = to_numpy(build(case, "torch")()[0])
        except Unsupported:
            continue
        out[case.key] = {}
        for s in systems:
            if s.startswith("xpgrad"):  # xpgrad, xpgrad-loop, xpgrad-temps, xpgrad@REV
                try:
                    got = to_numpy(build(case, s)()[0])
                except Unsupported:
                    continue
                diff = float(np.max(np.abs(got - ref))) if got.shape == ref.shape else float("inf")
                if not diff < VS_TORCH_TOL:
                    raise SystemExit(f"error: {s}'s {case.kind} in {case.key} ({case.title}) differs "
                                     f"from PyTorch's by {diff:.3g} (max |diff|, limit {VS_TORCH_TOL:g})")
                out[case.key][s] = diff
    return out


def evaluate_targets(rows):
    """J's targets, as ``report.evaluate_targets`` gives them."""
    from report import _fmt, _get

    out = []
    for key in ("J-jac", "J-hess"):
        x, t, loop = (_get(rows, key, s) for s in ("xpgrad", "torch", LOOP))
        if x is None:
            continue
        xm = None if x["na"] else x["median"]
        tm = None if t is None or t["na"] else t["median"]
        lm = None if loop is None or loop["na"] else loop["median"]
        out.append({"target": f"{key}: vectorised at or below torch.func's time",
                    "met": None if xm is None or tm is None else xm <= tm,
                    "detail": f"xpgrad {_fmt(xm)} ms vs torch.func {_fmt(tm)} ms"
                              + (f" ({xm / tm:.2f}x)" if xm and tm else "")})
        out.append({"target": f"{key}: vectorised at least {SPEEDUP_TARGET:.0f}x faster than "
                              f"vectorize=False",
                    "met": None if xm is None or lm is None else lm / xm >= SPEEDUP_TARGET,
                    "detail": f"xpgrad {_fmt(xm)} ms vs {_fmt(lm)} ms with vectorize=False"
                              + (f" ({lm / xm:.1f}x faster)" if xm and lm else "")})
    return out


# ---------------------------------------------------------------------- systems


def numpy_jac(data):
    return lambda: [_np_jac(data)]


def numpy_hess(data):
    return lambda: [_np_hess(data)]


def _xpgrad_jac(data, **vectorize):
    import xpgrad

    xp = xpgrad.xp
    W, b, x = (xpgrad.as_tensor(data[k]) for k in ("W", "b", "x"))

    def f(x):
        return xp.tanh(W @ x + b)
    jac = xpgrad.func.jacrev(f, **vectorize)
    return lambda: [jac(x)]


def _xpgrad_hess(data, **vectorize):
    import xpgrad

    xp = xpgrad.xp
    A, x = xpgrad.as_tensor(data["A"]), xpgrad.as_tensor(data["x"])

    def f(x):
        return xp.sum(xp.tanh(A @ x) ** 2)
    hess = xpgrad.func.hessian(f, **vectorize)
    return lambda: [hess(x)]


def xpgrad_jac(data):
    return _xpgrad_jac(data)  # the default: vectorize=True (an earlier revision: its default)


def xpgrad_hess(data):
    return _xpgrad_hess(data)


def xpgrad_loop_jac(data):
    return _xpgrad_jac(data, vectorize=False)


def xpgrad_loop_hess(data):
    return _xpgrad_hess(data, vectorize=False)


def torch_jac(data):
    import torch

    W, b, x = (torch.from_numpy(data[k]) for k in ("W", "b", "x"))

    def f(x):
        return torch.tanh(W @ x + b)
    jac = torch.func.jacrev(f)
    return lambda: [jac(x)]


def torch_hess(data):
    import torch

    A, x = torch.from_numpy(data["A"]), torch.from_numpy(data["x"])

    def f(x):
        return torch.sum(torch.tanh(A @ x) ** 2)
    hess = torch.func.hessian(f)
    return lambda: [hess(x)]


def autograd_jac(data):
    import autograd
    import autograd.numpy as anp

    W, b, x = data["W"], data["b"], data["x"]

    def f(x):
        return anp.tanh(anp.dot(W, x) + b)
    jac = autograd.jacobian(f)
    return lambda: [jac(x)]


def autograd_hess(data):
    import autograd
    import autograd.numpy as anp

    A, x = data["A"], data["x"]

    def f(x):
        return anp.sum(anp.tanh(anp.dot(A, x)) ** 2)
    hess = autograd.hessian(f)
    return lambda: [hess(x)]


def mygrad_jac(data):
    raise Unsupported("MyGrad has no Jacobian transform (nothing like jacrev or vmap: only "
                      "backward from one tensor)")


def mygrad_hess(data):
    raise Unsupported("MyGrad has no higher-order derivatives (backward records no graph; "
                      ".grad is a plain NumPy array)")
