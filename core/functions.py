"""The PyTorch-face functions: ``xpgrad.exp(t)``, ``xpgrad.sum(t, dim=0)``, ``xpgrad.mm``.

Each takes Tensors the way its ``torch`` namesake does (``dim=``/``keepdim=``) and goes
through the same dispatcher as the Tensor methods and ``xpgrad.xp``.
"""
from xpgrad.plugins.arrays import normalize_axes

from . import xp as _xp
from .creation import as_tensor
from .dispatch import apply, batched, unary
from .tensor import Tensor

__all__ = ["add", "sub", "subtract", "mul", "multiply", "div", "divide", "neg", "negative",
           "pow", "exp", "log", "sqrt", "sin", "cos", "tanh", "abs", "sign", "maximum",
           "minimum", "where", "sum", "mean", "matmul", "mm", "t", "transpose", "reshape",
           "trace", "inverse", "norm", "clone", "detach", "numel", "floor_divide", "remainder",
           "tril", "triu", "meshgrid", "cat", "concat", "concatenate", "stack", "clamp", "clip",
           "sigmoid", "relu", "softmax", "log_softmax", "logsumexp", "flatten", "unsqueeze",
           "squeeze", "permute", "from_numpy", "allclose"]


def _tensor(x, fn):
    if not isinstance(x, Tensor) and not batched(x):
        raise TypeError(
            f"xpgrad.{fn}() takes a Tensor, got {type(x).__name__}; wrap data with xpgrad.tensor(...)"
        )
    return x


def add(input, other, *, alpha=1):
    """``input + alpha * other``, elementwise with broadcasting, as ``torch.add``.

    Parameters
    ----------
    input, other : Tensor or number
        The operands; at least one of them is a Tensor.
    alpha : number, optional
        The multiplier of ``other``.

    Returns
    -------
    Tensor
        Of the operands' broadcast shape and promoted dtype.

    Examples
    --------
    >>> xpgrad.add(xpgrad.tensor([1.0, 2.0]), xpgrad.tensor([10.0, 20.0]), alpha=2)
    tensor([21., 42.])
    """
    return apply("add", (input, other if alpha == 1 else other * alpha))


def sub(input, other, *, alpha=1):
    """``input - alpha * other``, elementwise with broadcasting, as ``torch.sub``.

    ``subtract`` is the same function.

    Parameters
    ----------
    input, other : Tensor or number
        The operands; at least one of them is a Tensor.
    alpha : number, optional
        The multiplier of ``other``.

    Returns
    -------
    Tensor
        Of the operands' broadcast shape and promoted dtype.
    """
    return apply("subtract", (input, other if alpha == 1 else other * alpha))


def mul(input, other):
    """``input * other``, elementwise with broadcasting, as ``torch.mul``.

    ``multiply`` is the same function.

    Parameters
    ----------
    input, other : Tensor or number
        The operands; at least one of them is a Tensor.

    Returns
    -------
    Tensor
        Of the operands' broadcast shape and promoted dtype.
    """
    return apply("multiply", (input, other))


def div(input, other):
    """``input / other`` (true division), elementwise with broadcasting, as ``torch.div``.

    ``divide`` is the same function. Unlike ``torch.div`` it takes no ``rounding_mode``:
    :func:`floor_divide` rounds towards -inf. Integer operands give the backend's
    default floating dtype (float64 on NumPy, where PyTorch gives float32).

    Parameters
    ----------
    input, other : Tensor or number
        The dividend and the divisor; at least one of them is a Tensor.

    Returns
    -------
    Tensor
        Of the operands' broadcast shape, floating point.

    Examples
    --------
    >>> xpgrad.div(xpgrad.tensor([1.0, 3.0]), 2)
    tensor([0.5000, 1.5000])
    """
    return apply("divide", (input, other))


def pow(input, exponent):
    """``input ** exponent``, elementwise with broadcasting, as ``torch.pow``.

    Parameters
    ----------
    input : Tensor or number
        The base.
    exponent : Tensor or number
        The exponent; at least one of ``input`` and ``exponent`` is a Tensor.

    Returns
    -------
    Tensor
        Of the operands' broadcast shape and promoted dtype.

    Examples
    --------
    >>> xpgrad.pow(xpgrad.tensor([1.0, 2.0, 3.0]), 2)
    tensor([1., 4., 9.])
    """
    return apply("pow", (input, exponent))


def maximum(input, other):
    """The larger of ``input`` and ``other``, elementwise with broadcasting, as ``torch.maximum``.

    Where the two are equal the gradient is shared evenly between them, as in PyTorch.
    Unlike ``torch.maximum``, ``other`` may be a Python number.

    Parameters
    ----------
    input, other : Tensor or number
        The operands; at least one of them is a Tensor.

    Returns
    -------
    Tensor
        Of the operands' broadcast shape and promoted dtype.

    Examples
    --------
    >>> xpgrad.maximum(xpgrad.tensor([1.0, -2.0]), 0.0)
    tensor([1., 0.])
    """
    return apply("maximum", (input, other))


def minimum(input, other):
    """The smaller of ``input`` and ``other``, elementwise with broadcasting, as ``torch.minimum``.

    Where the two are equal the gradient is shared evenly between them, as in PyTorch.
    Unlike ``torch.minimum``, ``other`` may be a Python number.

    Parameters
    ----------
    input, other : Tensor or number
        The operands; at least one of them is a Tensor.

    Returns
    -------
    Tensor
        Of the operands' broadcast shape and promoted dtype.
    """
    return apply("minimum", (input, other))


def where(condition, input, other):
    """``input`` where ``condition`` is true, ``other`` elsewhere, as ``torch.where``.

    The three broadcast together. The gradient flows to ``input`` where ``condition``
    holds and to ``other`` elsewhere. PyTorch's one-argument form ``where(condition)``
    is not provided: use :func:`xpgrad.xp.nonzero`.

    Parameters
    ----------
    condition : Tensor
        Of dtype bool.
    input, other : Tensor or number
        The values chosen from.

    Returns
    -------
    Tensor
        Of the arguments' broadcast shape, and ``input``'s and ``other``'s promoted dtype.

    Examples
    --------
    >>> x = xpgrad.tensor([-1.0, 2.0])
    >>> xpgrad.where(x > 0, x, 0.0)
    tensor([0., 2.])
    """
    return apply("where", (condition, input, other))


subtract, multiply, divide = sub, mul, div


def floor_divide(input, other):
    """``input // other``, elementwise: the quotient rounded towards -inf (not differentiable)."""
    return apply("floor_divide", (input, other))


def remainder(input, other):
    """``input % other``, elementwise, with the sign of ``other`` (Python's ``%``)."""
    return apply("remainder", (input, other))


def tril(input, diagonal=0):
    """The lower triangle of each matrix (on and below ``diagonal``), as ``torch.tril``."""
    return _xp.tril(_tensor(input, "tril"), k=diagonal)


def triu(input, diagonal=0):
    """The upper triangle of each matrix (on and above ``diagonal``), as ``torch.triu``."""
    return _xp.triu(_tensor(input, "triu"), k=diagonal)


def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids from 1-D Tensors, as ``torch.meshgrid``.

    ``indexing="ij"`` by default, as in PyTorch (the array API's default is ``"xy"``).
    The Tensors may also be given as one list or tuple. Returns a tuple of Tensors;
    differentiable.
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    return tuple(_xp.meshgrid(*tensors, indexing=indexing))


def _unary(name, op=None):
    op = op or name

    def fn(input):
        if type(input) is Tensor:  # the common case: the methods' fast path
            return unary(op, input)
        return apply(op, (_tensor(input, name),))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {name} of a Tensor (differentiable)."
    return fn


neg = negative = _unary("neg", "negative")
exp = _unary("exp")
log = _unary("log")
sqrt = _unary("sqrt")
sin = _unary("sin")
cos = _unary("cos")
tanh = _unary("tanh")
abs = _unary("abs")
clone = _unary("clone")
clone.__doc__ = "A copy of ``input`` in memory of its own, as ``torch.clone``; the gradient flows back to ``input``."


def sign(input):
    """The elementwise sign of a Tensor: -1, 0 or 1 for real input.

    For real input the result is piecewise constant (its gradient is zero). For complex
    input it is ``z / |z|`` (0 at 0), differentiable: PyTorch's ``sgn``, where
    ``torch.sign`` refuses complex input.
    """
    return _xp.sign(_tensor(input, "sign"))


def sum(input, dim=None, keepdim=False, *, dtype=None):
    """Sum over ``dim`` (all dimensions if None), as ``torch.sum``."""
    return _tensor(input, "sum").sum(dim, keepdim, dtype=dtype)


def mean(input, dim=None, keepdim=False):
    """Mean over ``dim`` (all dimensions if None), as ``torch.mean``."""
    return _tensor(input, "mean").mean(dim, keepdim)


def matmul(input, other):
    """Matrix product: 1-D operands are promoted, batch dimensions broadcast."""
    return apply("matmul", (input, other))


def mm(input, mat2):
    """Product of two 2-D Tensors."""
    return _tensor(input, "mm").mm(mat2)


def t(input):
    """The transpose of a 2-D Tensor, as ``torch.t``; a 0-D or 1-D Tensor is returned as is.

    Raises
    ------
    RuntimeError
        For a Tensor of more than 2 dimensions (use :func:`transpose` or ``.mT``).
    """
    return _tensor(input, "t").t()


def transpose(input, dim0, dim1):
    """``input`` with the dimensions ``dim0`` and ``dim1`` swapped, as ``torch.transpose``.

    Parameters
    ----------
    input : Tensor
    dim0, dim1 : int
        The dimensions to swap (negative counts from the end).

    Returns
    -------
    Tensor
        Sharing ``input``'s memory where the backend's permutation does (NumPy's).

    Examples
    --------
    >>> xpgrad.transpose(xpgrad.ones(2, 3, 4), 0, 2).shape
    (4, 3, 2)
    """
    return _tensor(input, "transpose").transpose(dim0, dim1)


def reshape(input, shape):
    """``input`` with the shape ``shape``, as ``torch.reshape``; one dimension may be -1.

    Parameters
    ----------
    input : Tensor
    shape : tuple of int
        The new shape, of as many elements as ``input``; a -1 is inferred from the rest.

    Returns
    -------
    Tensor
        Of the new shape, with ``input``'s elements in row-major order.

    Examples
    --------
    >>> xpgrad.reshape(xpgrad.arange(6), (2, -1))
    tensor([[0, 1, 2],
            [3, 4, 5]])
    """
    return _tensor(input, "reshape").reshape(shape)


def trace(input):
    """Sum of the main diagonal of a 2-D Tensor."""
    x = _tensor(input, "trace")
    if x.ndim != 2:
        raise RuntimeError(f"trace() expects a 2-D Tensor, got shape {x.shape}")
    return apply("trace", (x,))


def inverse(input):
    """The matrix inverse (of each matrix in the last two axes)."""
    return apply("inv", (_tensor(input, "inverse"),))


def norm(input, p=2, dim=None, keepdim=False):
    """The vector p-norm over ``dim`` (all elements if None)."""
    return _tensor(input, "norm").norm(p, dim, keepdim)


def detach(input):
    """A Tensor sharing ``input``'s data, cut from the graph, as ``torch.detach``.

    See :meth:`Tensor.detach`.
    """
    return _tensor(input, "detach").detach()


def numel(input):
    """The number of elements of ``input``, a Python int, as ``torch.numel``."""
    return _tensor(input, "numel").numel()


# ---------------------------------------------------------------------- joining, shapes


def _tensor_list(tensors, fn):
    if isinstance(tensors, Tensor) or batched(tensors) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"xpgrad.{fn}() takes a list or tuple of Tensors, got {type(tensors).__name__}")
    return tuple(_tensor(t, fn) for t in tensors)


def cat(tensors, dim=0):
    """The Tensors joined along the existing dimension ``dim``, as ``torch.cat``."""
    return _xp.concat(_tensor_list(tensors, "cat"), axis=dim)


concat = concatenate = cat


def stack(tensors, dim=0):
    """The Tensors (all of one shape) joined along a new dimension ``dim``, as ``torch.stack``."""
    return _xp.stack(_tensor_list(tensors, "stack"), axis=dim)


def flatten(input, start_dim=0, end_dim=-1):
    """``input`` with the dimensions ``start_dim`` to ``end_dim`` merged into one, as ``torch.flatten``.

    A 0-d Tensor becomes 1-d.
    """
    x = _tensor(input, "flatten")
    shape = tuple(x.shape)
    if not shape:
        return _xp.reshape(x, (1,))
    n = len(shape)
    start, end = _dim(start_dim, n, "flatten"), _dim(end_dim, n, "flatten")
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    merged = 1
    for s in shape[start:end + 1]:
        merged *= s
    return _xp.reshape(x, shape[:start] + (merged,) + shape[end + 1:])


def unsqueeze(input, dim):
    """``input`` with a new dimension of size 1 at ``dim`` (in ``[-ndim - 1, ndim]``)."""
    return _xp.expand_dims(_tensor(input, "unsqueeze"), axis=dim)


def squeeze(input, dim=None):
    """``input`` without its dimensions of size 1, as ``torch.squeeze``.

    With ``dim`` (an int or a tuple) only those dimensions are removed, where they have
    size 1: as in PyTorch, a named dimension of another size is left alone (the array
    API's ``squeeze`` raises there).
    """
    x = _tensor(input, "squeeze")
    shape = tuple(x.shape)
    if dim is None:
        dims = tuple(i for i, s in enumerate(shape) if s == 1)
    else:
        named = dim if isinstance(dim, (tuple, list)) else (dim,)
        dims = tuple(sorted({_dim(d, max(len(shape), 1), "squeeze") for d in named}))
        dims = tuple(d for d in dims if d < len(shape) and shape[d] == 1)
    return _xp.squeeze(x, axis=dims) if dims else x


def permute(input, dims):
    """``input`` with its dimensions in the order ``dims``, as ``torch.permute``."""
    return _xp.permute_dims(_tensor(input, "permute"), axes=tuple(dims))


def _dim(d, n, fn):
    if not -n <= d < n:
        raise IndexError(
            f"{fn}(): Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})"
        )
    return d % n


# ---------------------------------------------------------------------- activations


def clamp(input, min=None, max=None):  # noqa: A002  (PyTorch's names)
    """The values of ``input`` limited to ``[min, max]``, as ``torch.clamp``.

    ``min`` and ``max`` are Tensors or numbers; either may be None, not both. The
    gradient passes where a value lies inside. ``clip`` is the same function.
    """
    if min is None and max is None:
        raise RuntimeError("clamp(): at least one of 'min' or 'max' must not be None")
    return _xp.clip(_tensor(input, "clamp"), min=min, max=max)


clip = clamp


def sigmoid(input):
    """The logistic function ``1 / (1 + exp(-input))``, elementwise, without overflow."""
    return apply("sigmoid", (_tensor(input, "sigmoid"),))


def relu(input):
    """``max(input, 0)`` elementwise; its gradient is 0 at 0, as PyTorch's."""
    x = _tensor(input, "relu")
    return _xp.where(x > 0, x, 0.0)


def logsumexp(input, dim, keepdim=False):
    """``log(sum(exp(input), dim))`` without overflow, as ``torch.logsumexp``.

    The largest value along ``dim`` is shifted out first, as a constant (so the gradient
    is the softmax, with no share for the maximum's ties); where it is infinite, 0 is
    shifted instead, so that ``-inf`` everywhere gives ``-inf``, not NaN.
    """
    x = _tensor(input, "logsumexp")
    axis = tuple(dim) if isinstance(dim, (list, tuple)) else dim
    m = _xp.max(x, axis=axis, keepdims=True).detach()
    m = _xp.where(_xp.isfinite(m), m, 0.0)
    out = _xp.log(_xp.sum(_xp.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdim else _xp.squeeze(out, axis=normalize_axes(axis, x.ndim))


def log_softmax(input, dim, dtype=None):
    """Log-probabilities along ``dim``, ``input - logsumexp(input, dim)``, as ``torch.log_softmax``.

    Stable for logits of any size; ``dtype`` casts ``input`` first.
    """
    x = _tensor(input, "log_softmax")
    if dtype is not None:
        x = x.to(dtype)
    return x - logsumexp(x, dim, keepdim=True)


def softmax(input, dim, dtype=None):
    """``exp(input) / sum(exp(input), dim)``, stable, as ``torch.softmax``."""
    return _xp.exp(log_softmax(_tensor(input, "softmax"), dim, dtype))


# ---------------------------------------------------------------------- data


def from_numpy(ndarray):
    """A Tensor on the CPU that shares ``ndarray``'s memory, as ``torch.from_numpy``.

    A write through either shows in the other.
    """
    import numpy as np

    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    return as_tensor(ndarray, device="cpu")


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether ``|input - other| <= atol + rtol * |other|`` everywhere, as ``torch.allclose``.

    Returns a Python bool. The Tensors broadcast and must be on one device; equal
    infinities are close, and NaNs are close to each other only with ``equal_nan``.
    """
    a, b = _tensor(input, "allclose"), _tensor(other, "allclose")
    a, b = a.detach(), b.detach()
    # compared as numbers where both are finite (inf - inf would be NaN, and warn); equal
    # infinities are close; a NaN only to a NaN, and only with equal_nan
    finite = _xp.isfinite(a) & _xp.isfinite(b)
    fa, fb = _xp.where(finite, a, 0.0), _xp.where(finite, b, 0.0)
    close = finite & (_xp.abs(fa - fb) <= atol + rtol * _xp.abs(fb)) | (a == b)
    if equal_nan:
        close = close | _xp.isnan(a) & _xp.isnan(b)
    return bool(_xp.all(close))
