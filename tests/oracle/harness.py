"""Running one program on both sides and comparing what comes out.

A *side* is an array API namespace with the few autograd verbs the oracle needs:
``xpgrad.xp`` (on NumPy, or on array-api-strict) and PyTorch through
``array_api_compat.torch``. :func:`run` takes a case's program through four
computations on one side and returns plain NumPy results:

- ``value``: the program's outputs;
- ``grad``: the gradient of the real loss ``sum(w * out)`` (for a complex output
  ``sum(Re(out) * wr + Im(out) * wi)``) with respect to every input, a fixed random
  cotangent ``w``;
- ``grad2``: the gradient of ``sum(v * grad)`` (the same weighting of the gradient),
  computed through ``create_graph=True``;
- ``jvp``: the output tangents along fixed random input tangents, by forward mode
  (``xpgrad.func.jvp``, ``torch.func.jvp``).

A computation that raises gives an :class:`Error`; an output that does not depend on
the inputs differentiably gives :data:`NOT_DIFFERENTIABLE` where the other side could
give a gradient.
"""
import zlib
from dataclasses import dataclass

import numpy as np

COMPONENTS = ("value", "grad", "grad2", "jvp")

# Per result dtype: relative tolerance, and absolute tolerance relative to the largest
# finite magnitude of the expected array (at least 1).
TOLERANCES = {
    "float64": (1e-7, 1e-10),
    "complex128": (1e-7, 1e-10),
    "float32": (2e-4, 2e-5),
    "complex64": (2e-4, 2e-5),
}


class _NotDifferentiable:
    """The result of differentiating outputs none of which carries a gradient."""

    def __repr__(self):
        return "NOT_DIFFERENTIABLE"


NOT_DIFFERENTIABLE = _NotDifferentiable()


@dataclass(frozen=True)
class Error:
    """A computation that raised."""

    type: str
    message: str

    def __repr__(self):
        return f"Error({self.type}: {self.message[:200]})"


def dtype_name(dt):
    """``float64`` for any library's float64 (``torch.float64``, NumPy's, strict's)."""
    return str(dt).rsplit(".", 1)[-1]


def is_complex_dtype(dt):
    return dtype_name(dt).startswith("complex")


def is_inexact_dtype(dt):
    return dtype_name(dt).startswith(("float", "complex"))


def seed_of(text):
    return zlib.crc32(text.encode())


# ---------------------------------------------------------------------- sides


class XpgradSide:
    """``xpgrad.xp`` on one of its devices."""

    def __init__(self, device="cpu"):
        import xpgrad

        self.xpgrad = xpgrad
        self.device = device
        self.ns = xpgrad.xp
        self.name = "xpgrad" if device == "cpu" else f"xpgrad[{device}]"

    def array(self, a, requires_grad=False):
        return self.xpgrad.tensor(np.asarray(a), device=self.device, requires_grad=requires_grad)

    def numpy(self, t):
        return np.asarray(t.detach().numpy())

    def requires_grad(self, t):
        return bool(t.requires_grad)

    def grad(self, outputs, inputs, create_graph=False):
        return self.xpgrad.autograd.grad(outputs, inputs, create_graph=create_graph, allow_unused=True)

    def jvp(self, f, primals, tangents):
        return self.xpgrad.func.jvp(f, tuple(primals), tuple(tangents))

    def graph_ops(self, roots):
        """The registry op names recorded in the graphs behind ``roots``."""
        from xpgrad.node import walk

        return {type(node)._op.name for node in walk(getattr(t, "grad_fn", None) for t in roots)
                if type(node)._op is not None}


class TorchSide:
    """PyTorch through ``array_api_compat.torch`` (see :mod:`.torch_namespace`)."""

    def __init__(self):
        import torch

        from .torch_namespace import namespace

        self.torch = torch
        self.ns = namespace()
        self.name = "torch"

    def array(self, a, requires_grad=False):
        return self.torch.tensor(np.asarray(a), requires_grad=requires_grad)

    def numpy(self, t):
        t = t.detach()
        if t._is_zerotensor():  # an efficient zero (a constant's derivative) holds no memory
            return np.zeros(tuple(t.shape), dtype=str(t.dtype).rsplit(".", 1)[-1])
        if t.is_conj():
            t = t.resolve_conj()
        if t.is_neg():
            t = t.resolve_neg()
        return t.numpy().copy()

    def requires_grad(self, t):
        return bool(t.requires_grad)

    def grad(self, outputs, inputs, create_graph=False):
        return self.torch.autograd.grad(outputs, inputs, create_graph=create_graph, allow_unused=True)

    def jvp(self, f, primals, tangents):
        return self.torch.func.jvp(f, tuple(primals), tuple(tangents))


# ---------------------------------------------------------------------- running


def _as_outputs(result):
    return tuple(result) if isinstance(result, (tuple, list)) else (result,)


def _weighted(ns, side, t, w):
    """``sum(w * t)`` for real ``t``; ``sum(Re(t) * Re(w) + Im(t) * Im(w))`` for complex."""
    if is_complex_dtype(t.dtype):
        return ns.sum(ns.real(t) * side.array(w.real)) + ns.sum(ns.imag(t) * side.array(w.imag))
    return ns.sum(t * side.array(w))


def _weights(case_id, what, arrays):
    """A fixed random weight per array (real arrays get real weights of their dtype)."""
    rng = np.random.default_rng(seed_of(f"{case_id}/{what}"))
    out = []
    for a in arrays:
        dt = dtype_name(a.dtype)
        if dt.startswith("complex"):
            out.append(rng.standard_normal(a.shape) + 1j * rng.standard_normal(a.shape))
        else:
            out.append(rng.standard_normal(a.shape).astype(dt))
    return out


def _loss(ns, side, terms, weights):
    """The sum of the weighted terms that carry a gradient, or None if none does."""
    loss = None
    for t, w in zip(terms, weights):
        if t is None or not side.requires_grad(t) or not is_inexact_dtype(t.dtype):
            continue
        part = _weighted(ns, side, t, w)
        loss = part if loss is None else loss + part
    return loss


def _zeros_for(x):
    return np.zeros(x.shape, dtype=x.dtype)


def _catch(fn):
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - a raise is a result to compare
        return Error(type(exc).__name__, str(exc))


def run(case, side, components=COMPONENTS):
    """The case's program through ``components`` on ``side``: a dict of results."""
    ns = side.ns
    args = case.arrays()
    results = {}

    def inputs():
        return [side.array(a, requires_grad=True) for a in args]

    def forward(xs):
        return _as_outputs(case.prog(ns, *xs))

    def value():
        return [side.numpy(o) for o in forward(inputs())]

    results["value"] = _catch(value)

    def grads(create_graph):
        xs = inputs()
        outs = forward(xs)
        w = _weights(case.id, "cotangent", [side.numpy(o) for o in outs])
        loss = _loss(ns, side, outs, w)
        if loss is None:
            return xs, None, NOT_DIFFERENTIABLE
        g = side.grad(loss, xs, create_graph=create_graph)
        return xs, outs, g

    if "grad" in components:
        def grad():
            xs, _, g = grads(False)
            if g is NOT_DIFFERENTIABLE:
                return g
            return [_zeros_for(a) if gi is None else side.numpy(gi) for a, gi in zip(args, g)]

        results["grad"] = _catch(grad)
    if "grad2" in components:
        def grad2():
            xs, _, g = grads(True)
            if g is NOT_DIFFERENTIABLE:
                return g
            v = _weights(case.id, "second", args)
            loss2 = _loss(ns, side, g, v)
            if loss2 is None:
                return [_zeros_for(a) for a in args]
            g2 = side.grad(loss2, xs)
            return [_zeros_for(a) if gi is None else side.numpy(gi) for a, gi in zip(args, g2)]

        results["grad2"] = _catch(grad2)
    if "jvp" in components:
        def jvp():
            xs = [side.array(a) for a in args]
            ts = [side.array(t) for t in _weights(case.id, "tangent", args)]
            out, tout = side.jvp(lambda *a: forward(a), xs, ts)
            return [side.numpy(t) for t in _as_outputs(tout)]

        results["jvp"] = _catch(jvp)
    return results


# ---------------------------------------------------------------------- comparing


class Mismatch(AssertionError):
    pass


def compare_arrays(ours, theirs, rtol=None, atol=None, what=""):
    """Raise :class:`Mismatch` unless the arrays agree: same shape and dtype, NaN at the
    same places, infinities at the same places with the same signs, the rest within
    the dtype's tolerance."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    if ours.shape != theirs.shape:
        raise Mismatch(f"{what}: shape {ours.shape} != torch's {theirs.shape}")
    if dtype_name(ours.dtype) != dtype_name(theirs.dtype):
        raise Mismatch(f"{what}: dtype {ours.dtype} != torch's {theirs.dtype}")
    if ours.dtype.kind not in "fc":
        if not np.array_equal(ours, theirs):
            raise Mismatch(f"{what}: values differ\n ours:  {ours}\n torch: {theirs}")
        return
    r, a = TOLERANCES[dtype_name(ours.dtype)]
    rtol = r if rtol is None else rtol
    atol = a if atol is None else atol
    parts = [(ours.real, theirs.real)] + ([(ours.imag, theirs.imag)] if ours.dtype.kind == "c" else [])
    # The absolute tolerance scales with the largest finite magnitude of the expected
    # array: for complex values their modulus, since the rounding error of complex
    # arithmetic is relative to it (a part that is exactly 0 comes out as eps |z|).
    finite_t = np.isfinite(theirs.real) & np.isfinite(theirs.imag)
    scale = np.max(np.abs(theirs[finite_t]), initial=1.0)
    for o, t in parts:
        nan_o, nan_t = np.isnan(o), np.isnan(t)
        inf_o, inf_t = np.isinf(o), np.isinf(t)
        bad = (nan_o != nan_t) | (inf_o != inf_t) | (inf_o & inf_t & (np.sign(o) != np.sign(t)))
        finite = np.isfinite(o) & np.isfinite(t)
        with np.errstate(all="ignore"):
            bad |= finite & ~(np.abs(o - t) <= atol * scale + rtol * np.abs(t))
        if bad.any():
            where = np.argwhere(bad)[:5].tolist()
            raise Mismatch(
                f"{what}: {int(bad.sum())} of {bad.size} elements differ (first at {where})\n"
                f" ours:  {np.array2string(ours, precision=17)}\n"
                f" torch: {np.array2string(theirs, precision=17)}"
            )


def compare(component, ours, theirs, rtol=None, atol=None):
    """Compare one component's results (lists of arrays, an Error or NOT_DIFFERENTIABLE)."""
    if isinstance(ours, Error) and isinstance(theirs, Error):
        return  # both refuse
    if ours is NOT_DIFFERENTIABLE and isinstance(theirs, Error):
        return  # neither side gives a gradient (PyTorch: "derivative ... not implemented")
    if isinstance(ours, Error) or isinstance(theirs, Error):
        raise Mismatch(f"{component}: ours {ours!r}, torch {theirs!r}")
    if ours is NOT_DIFFERENTIABLE or theirs is NOT_DIFFERENTIABLE:
        if ours is not theirs:
            raise Mismatch(f"{component}: ours {ours!r}, torch {theirs!r}")
        return
    if len(ours) != len(theirs):
        raise Mismatch(f"{component}: {len(ours)} results, torch {len(theirs)}")
    for i, (o, t) in enumerate(zip(ours, theirs)):
        compare_arrays(o, t, rtol, atol, what=f"{component}[{i}]")
