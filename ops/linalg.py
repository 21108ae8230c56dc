"""Linear algebra: matrix products, transposes, trace, inverse, vector norms.

Shapes follow the standard: ``matmul`` promotes 1-D operands and broadcasts batch
dimensions, ``trace`` and ``inv`` act on the last two axes, ``vector_norm`` reduces over
any axes. The engine sums batch-broadcast cotangents back to each operand's shape.
"""
from xpgrad.plugins import Op, hookimpl

from ._shapes import device_of, restore_reduced


# ---------------------------------------------------------------------- products


def _matmul_first(xp, g, x1, x2):
    if x2.ndim == 1:
        if x1.ndim == 1:  # dot product: g is 0-d
            return g * x2
        return xp.expand_dims(g, axis=-1) * x2  # (..., n) x (k,) -> (..., n, k)
    if x1.ndim == 1:  # (k,) @ (..., k, m) -> (..., m)
        return xp.squeeze(xp.matmul(x2, xp.expand_dims(g, axis=-1)), axis=-1)
    return xp.matmul(g, xp.matrix_transpose(x2))


def _matmul_second(xp, g, x1, x2):
    if x1.ndim == 1:
        if x2.ndim == 1:
            return g * x1
        return xp.expand_dims(x1, axis=-1) * xp.expand_dims(g, axis=-2)  # (k, 1) x (..., 1, m)
    if x2.ndim == 1:  # (..., n, k) @ (k,) -> (..., n)
        return xp.squeeze(xp.matmul(xp.matrix_transpose(x1), xp.expand_dims(g, axis=-1)), axis=-1)
    return xp.matmul(xp.matrix_transpose(x1), g)


# ---------------------------------------------------------------------- matrix functions


def _trace_vjp(xp, g, x_shape, x_dtype):
    n, m = x_shape[-2], x_shape[-1]
    eye = xp.eye(n, m, dtype=x_dtype, device=device_of(g))
    return xp.reshape(g, tuple(g.shape) + (1, 1)) * eye


def _inv_vjp(xp, g, out):
    # d(X^-1) = -X^-1 dX X^-1, so the cotangent is -X^-T G X^-T.
    inv_t = xp.matrix_transpose(out)
    return -xp.matmul(xp.matmul(inv_t, g), inv_t)


# ---------------------------------------------------------------------- norms


def _safe_divide(xp, num, den):
    """num / den where den != 0, else 0: the subgradient the norms take at zero."""
    zero = den == 0
    return xp.where(zero, xp.zeros_like(num), num / xp.where(zero, xp.ones_like(den), den))


def _vector_norm_vjp(xp, g, x, out, axis, keepdims, ord):
    shape = tuple(x.shape)
    g = restore_reduced(xp, g, shape, axis, keepdims)
    out = restore_reduced(xp, out, shape, axis, keepdims)
    if ord == 2:
        return g * _safe_divide(xp, x, out)
    if ord == 1:
        return g * xp.sign(x)
    if ord in (float("inf"), float("-inf")):
        hit = xp.astype(xp.abs(x) == out, x.dtype)
        ties = xp.sum(hit, axis=axis, keepdims=True)
        return g * xp.sign(x) * hit / ties
    if ord == 0:
        return xp.zeros_like(x)
    # ||x||_p: d/dx = sign(x) |x|^(p-1) / ||x||^(p-1)
    return g * xp.sign(x) * _safe_divide(xp, xp.abs(x) ** (ord - 1), out ** (ord - 1))


@hookimpl
def xpgrad_ops():
    return [
        Op("matmul", lambda xp, x1, x2: x1 @ x2,
           vjp={"x1": _matmul_first, "x2": _matmul_second}, node_name="MmBackward",
           doc="matrix product; 1-D operands and batch broadcasting as in the standard"),
        Op("matrix_transpose", lambda xp, x: xp.matrix_transpose(x),
           vjp={"x": lambda xp, g: xp.matrix_transpose(g)}, node_name="TBackward",
           doc="swap the last two axes"),
        Op("trace", lambda xp, x: xp.linalg.trace(x), vjp={"x": _trace_vjp},
           doc="sum of the main diagonal of the last two axes"),
        Op("inv", lambda xp, x: xp.linalg.inv(x), vjp={"x": _inv_vjp}, node_name="InverseBackward",
           doc="matrix inverse"),
        Op("vector_norm", lambda xp, x, *, axis=None, keepdims=False, ord=2:
           xp.linalg.vector_norm(x, axis=axis, keepdims=keepdims, ord=ord),
           vjp={"x": _vector_norm_vjp}, node_name="NormBackward",
           doc="vector p-norm; subgradient 0 at 0"),
    ]
