"""Gradient checks against central finite differences, first and second order.

The analytic Jacobian comes from one backward pass per output element; the numerical
one from perturbing each input element by ``eps`` both ways. Everything runs on the
inputs' own backend, so the same check proves a rule on every backend in the matrix.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .creation import randn_like
from .engine import grad
from .func import jvp
from .tensor import Tensor

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """The analytic and numerical derivatives of a function disagree."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _indices(shape):
    """Every multi-index of ``shape``, in C order, as tuples of ints."""
    idx = [()]
    for s in shape:
        idx = [i + (k,) for i in idx for k in range(s)]
    return idx


def _values(t):
    # One transfer to NumPy per Tensor, not one per element: an element read is a device
    # sync on a GPU and a whole graph computation on a lazy backend (dask).
    arr = t._dev.backend.to_numpy(t._data)
    return [float(arr[i]) for i in _indices(t.shape)]


def _basis(xp, like, index):
    """Zeros like ``like`` with a one at ``index``, built without writing into an array
    (JAX's arrays cannot be written; a write on dask is one more graph layer)."""
    from array_api_compat import device

    shape = tuple(like.shape)
    flat, size = 0, 1
    for i, n in zip(index, shape):
        flat = flat * n + i
        size *= n
    positions = xp.reshape(xp.arange(size, device=device(like)), shape)
    return xp.astype(positions == flat, like.dtype)


def _numerical(fn, inputs, k, eps):
    """Columns d outputs / d inputs[k][j] by central differences, one per element j."""
    x = inputs[k]
    xp = x._dev.xp
    columns = []
    for j in _indices(x.shape):
        outs = []
        for step in (eps, -eps):
            raw = x._data + step * _basis(xp, x._data, j)
            args = list(inputs)
            # The perturbed copy requires grad as the original does: fn may itself
            # differentiate (gradgradcheck's VJP), so it cannot run under no_grad.
            args[k] = Tensor(raw, x._dev).requires_grad_(x.requires_grad)
            outs.append([_values(o) for o in _as_tuple(fn(*args))])
        plus, minus = outs
        columns.append([[(p - m) / (2 * eps) for p, m in zip(po, mo)] for po, mo in zip(plus, minus)])
    return columns


def _analytic(outputs, diff_inputs):
    """rows[o][i] = gradient of outputs[o][i] w.r.t. each input, as flat lists."""
    rows = []
    for out in outputs:
        per_out = []
        for i in _indices(out.shape):
            if not out.requires_grad:
                per_out.append([[0.0] * x.numel() for x in diff_inputs])
                continue
            g = _basis(out._dev.xp, out._data, i)
            grads = grad(out, diff_inputs, Tensor(g, out._dev), retain_graph=True, allow_unused=True)
            per_out.append([[0.0] * x.numel() if gx is None else _values(gx)
                            for gx, x in zip(grads, diff_inputs)])
        rows.append(per_out)
    return rows


def gradcheck(fn: Callable[..., Any], inputs: Tensor | Sequence[Any], eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True, check_forward_ad: bool = False,
              check_backward_ad: bool = True) -> bool:
    """Check ``fn``'s gradients w.r.t. the ``inputs`` that require grad.

    Parameters
    ----------
    fn : callable
        Takes the inputs, returns a Tensor or a tuple of Tensors.
    inputs : Tensor or tuple of Tensor
        Points at which to check; those that require grad must be float64, since
        finite differences in float32 are too coarse to prove anything.
    eps, atol, rtol : float
        Finite-difference step and tolerances: ``|analytic - numerical| <= atol +
        rtol * |numerical|`` for every Jacobian entry.
    raise_exception : bool
        Raise :class:`GradcheckError` on a mismatch (default) or return False.
    check_forward_ad : bool
        Also check forward mode: the JVP (:func:`xpgrad.func.jvp`, the ops' JVP rules)
        along a random tangent for every input that requires grad, against the central
        difference along that tangent.
    check_backward_ad : bool
        Check reverse mode (the Jacobian from backward passes), the default; turn it off
        with ``check_forward_ad=True`` to check forward mode only.

    Returns
    -------
    bool
        True if every entry agrees.
    """
    inputs = _as_tuple(inputs)
    diff = [k for k, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not diff:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    for k in diff:
        x = inputs[k]
        if x.dtype != x.device.xp.float64:
            raise ValueError(
                f"gradcheck: input {k} has dtype {x.dtype}; finite differences need float64 "
                "inputs (use xpgrad.tensor(..., dtype=xpgrad.float64))"
            )
    if not check_backward_ad:
        if not check_forward_ad:
            raise ValueError("gradcheck: check_backward_ad=False and check_forward_ad=False "
                             "leave nothing to check")
        return _check_forward_ad(fn, inputs, diff, eps, atol, rtol, raise_exception)
    outputs = _as_tuple(fn(*inputs))
    analytic = _analytic(outputs, [inputs[k] for k in diff])
    for n, k in enumerate(diff):
        numerical = _numerical(fn, inputs, k, eps)
        for o, out in enumerate(outputs):
            for i, idx in enumerate(_indices(out.shape)):
                for j, jdx in enumerate(_indices(inputs[k].shape)):
                    a = analytic[o][i][n][j]
                    num = numerical[j][o][i]
                    if not abs(a - num) <= atol + rtol * abs(num):
                        if not raise_exception:
                            return False
                        raise GradcheckError(
                            f"Jacobian mismatch for output {o}{list(idx)} w.r.t. input {k}"
                            f"{list(jdx)}: analytic {a!r}, numerical {num!r} "
                            f"(atol={atol}, rtol={rtol})"
                        )
    if check_forward_ad:
        return _check_forward_ad(fn, inputs, diff, eps, atol, rtol, raise_exception)
    return True


def _check_forward_ad(fn, inputs, diff, eps, atol, rtol, raise_exception):
    """Forward mode against finite differences along one random tangent."""

    def along(*xs):
        args = list(inputs)
        for k, x in zip(diff, xs):
            args[k] = x
        return _as_tuple(fn(*args))

    primals = tuple(inputs[k] for k in diff)
    tangents = tuple(randn_like(x) for x in primals)
    outputs, jvps = jvp(lambda *xs: tuple(along(*xs)), primals, tangents)

    def shifted(step):
        # Perturbed copies require grad as the originals do: fn may itself differentiate.
        return along(*(Tensor(x._data + step * v._data, x._dev).requires_grad_(x.requires_grad)
                       for x, v in zip(primals, tangents)))

    plus, minus = shifted(eps), shifted(-eps)
    for o, (out, t) in enumerate(zip(outputs, jvps)):
        if not out._is_floating():
            continue
        for idx, a, p, m in zip(_indices(out.shape), _values(t), _values(plus[o]), _values(minus[o])):
            num = (p - m) / (2 * eps)
            if not abs(a - num) <= atol + rtol * abs(num):
                if not raise_exception:
                    return False
                raise GradcheckError(
                    f"JVP mismatch (forward mode) for output {o}{list(idx)} along a random "
                    f"tangent: analytic {a!r}, numerical {num!r} (atol={atol}, rtol={rtol})"
                )
    return True


def gradgradcheck(fn: Callable[..., Any], inputs: Tensor | Sequence[Any],
                  grad_outputs: Tensor | Sequence[Tensor] | None = None, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Check second derivatives: gradcheck of the vector-Jacobian product of ``fn``.

    The VJP ``v -> v^T J(inputs)`` is computed with ``create_graph=True`` and checked
    against finite differences in both the inputs and ``v`` (random when
    ``grad_outputs`` is None), so every rule's own VJP is proven differentiable.
    """
    inputs = _as_tuple(inputs)
    diff = [k for k, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    outputs = _as_tuple(fn(*inputs))
    for i, o in enumerate(outputs):
        if isinstance(o, Tensor) and "complex" in str(o.dtype):
            raise ValueError(
                f"gradgradcheck: output {i} has dtype {o.dtype}; the finite-difference "
                "checks need real float64 functions: check a real function of it instead, "
                "e.g. xp.stack([xp.real(y), xp.imag(y)])"
            )
    if grad_outputs is None:
        grad_outputs = tuple(randn_like(o, requires_grad=True) for o in outputs)
    else:
        grad_outputs = tuple(g.detach().requires_grad_(True) for g in _as_tuple(grad_outputs))
    n_in = len(inputs)
    from .creation import zeros_like as xpgrad_zeros_like

    def vjp(*args):
        xs, vs = args[:n_in], args[n_in:]
        outs = _as_tuple(fn(*xs))
        used = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
        if not used:  # fn does not depend on its inputs at all
            return tuple(xpgrad_zeros_like(xs[k]) for k in diff)
        grads = grad([o for o, _ in used], [xs[k] for k in diff], [v for _, v in used],
                     create_graph=True, allow_unused=True, materialize_grads=True)
        return grads

    return gradcheck(vjp, inputs + grad_outputs, eps, atol, rtol, raise_exception)
