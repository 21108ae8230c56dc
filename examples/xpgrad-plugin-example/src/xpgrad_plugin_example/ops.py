"""The ops: softplus and logsumexp, declared once against the array API standard.

This module is the plugin: xpgrad finds it through the entry point in pyproject.toml
and asks its ``xpgrad_ops`` hook for the ops. Each op is a forward and a VJP rule:

- The **forward** runs on the backend's raw arrays with the backend's namespace ``xp``
  (NumPy, array-api-strict, CuPy...), so it may use anything in the standard
  (``log1p``, ``max``, ``isfinite``...). It is where numerical stability is won.
- The **VJP rule** runs twice over: on raw arrays with the backend's namespace in plain
  ``backward()``, and on Tensors with ``xpgrad.xp`` under ``create_graph=True``, which
  is how the ops get second derivatives without another line of code. So it uses only
  operators and what ``xpgrad.xp`` has, the whole standard (``exp``, ``log1p``,
  ``where``, ``reshape``, comparisons...), never NumPy or a library's own extras.
"""
from xpgrad.plugins import Op, hookimpl

__all__ = ["xpgrad_ops", "softplus_op", "logsumexp_op"]


# ---------------------------------------------------------------------- softplus


def _softplus(xp, x):
    # log(1 + e**x) = max(x, 0) + log(1 + e**-|x|): the exponent is never positive, so
    # nothing overflows, and log1p keeps the tail exact where e**-|x| is tiny.
    return xp.maximum(x, xp.zeros_like(x)) + xp.log1p(xp.exp(-xp.abs(x)))


def _sigmoid(xp, x):
    """1 / (1 + e**-x), without overflow on either side.

    It is ``where(x >= 0, 1 / (1 + exp(-x)), exp(x) / (1 + exp(x)))`` with one
    exponential, ``z = exp(-|x|)``, shared by the branches. ``-|x|`` is itself written
    as a ``where`` (``-x`` or ``x``), not ``-abs(x)``: its derivative is then -1 or 1
    even at 0 (abs's is 0 there), which keeps the second derivative right at x = 0.
    """
    nonneg = x >= 0
    z = xp.exp(xp.where(nonneg, -x, x))  # in (0, 1]
    return xp.where(nonneg, 1 / (1 + z), z / (1 + z))


def _softplus_vjp(xp, g, x):
    return g * _sigmoid(xp, x)  # d softplus / dx = sigmoid(x)


softplus_op = Op(
    "softplus", _softplus, vjp={"x": _softplus_vjp},
    node_name="SoftplusBackward0", doc="log(1 + e**x), stable for large |x|",
)


# ---------------------------------------------------------------------- logsumexp


def _logsumexp(xp, x, *, axis=None, keepdims=False):
    # Shift by the maximum, so that the largest exponent is e**0: nothing overflows, and
    # at least one term of the sum is 1, so its log is exact where it matters. A maximum
    # that is not finite (all -inf, or an inf) is not shifted by.
    m = xp.max(x, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
    s = xp.sum(xp.exp(x - m), axis=axis, keepdims=keepdims)
    if not keepdims:
        m = xp.reshape(m, s.shape)
    return xp.log(s) + m


def _kept_shape(shape, axis):
    """The shape the reduction over ``axis`` has with ``keepdims=True``."""
    ndim = len(shape)
    if ndim == 0:
        return ()
    if axis is None:
        axes = set(range(ndim))
    else:
        axes = {a % ndim for a in (axis if isinstance(axis, tuple) else (axis,))}
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _keep(xp, a, x_shape, axis, keepdims):
    """A reduction's result (or cotangent) reshaped to broadcast against its input."""
    return a if keepdims else xp.reshape(a, _kept_shape(x_shape, axis))


def _logsumexp_vjp(xp, g, x, out, x_shape, axis, keepdims):
    # d logsumexp / dx = softmax(x) = exp(x - out): x - out <= 0, so this is stable too.
    # Under create_graph ``out`` is a Tensor in the graph, so the second derivative
    # accounts for out's own dependence on x.
    return _keep(xp, g, x_shape, axis, keepdims) * xp.exp(x - _keep(xp, out, x_shape, axis, keepdims))


logsumexp_op = Op(
    "logsumexp", _logsumexp, vjp={"x": _logsumexp_vjp},
    node_name="LogsumexpBackward0", doc="log(sum(e**x)) over axis, max-shifted",
)


@hookimpl
def xpgrad_ops():
    return [softplus_op, logsumexp_op]
