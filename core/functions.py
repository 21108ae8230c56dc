"""The PyTorch-face functions: ``xpgrad.exp(t)``, ``xpgrad.sum(t, dim=0)``, ``xpgrad.mm``.

Each takes Tensors the way its ``torch`` namesake does (``dim=``/``keepdim=``) and goes
through the same dispatcher as the Tensor methods and ``xpgrad.xp``.
"""
from . import xp as _xp
from .dispatch import apply
from .tensor import Tensor

__all__ = ["add", "sub", "subtract", "mul", "multiply", "div", "divide", "neg", "negative",
           "pow", "exp", "log", "sqrt", "sin", "cos", "tanh", "abs", "sign", "maximum",
           "minimum", "where", "sum", "mean", "matmul", "mm", "t", "transpose", "reshape",
           "trace", "inverse", "norm", "clone", "detach", "numel", "floor_divide", "remainder",
           "tril", "triu", "meshgrid"]


def _tensor(x, fn):
    if not isinstance(x, Tensor):
        raise TypeError(
            f"xpgrad.{fn}() takes a Tensor, got {type(x).__name__}; wrap data with xpgrad.tensor(...)"
        )
    return x


def add(input, other, *, alpha=1):
    return apply("add", (input, other if alpha == 1 else other * alpha))


def sub(input, other, *, alpha=1):
    return apply("subtract", (input, other if alpha == 1 else other * alpha))


def mul(input, other):
    return apply("multiply", (input, other))


def div(input, other):
    return apply("divide", (input, other))


def pow(input, exponent):
    return apply("pow", (input, exponent))


def maximum(input, other):
    return apply("maximum", (input, other))


def minimum(input, other):
    return apply("minimum", (input, other))


def where(condition, input, other):
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
    """Coordinate grids from 1-D Tensors, as ``torch.meshgrid``: ``indexing="ij"`` by
    default (the array API's default is ``"xy"``). Returns a tuple; differentiable."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    return tuple(_xp.meshgrid(*tensors, indexing=indexing))


def _unary(name, op=None):
    op = op or name

    def fn(input):
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


def sign(input):
    """Elementwise sign of a Tensor: a constant for real input; ``z / |z|`` for complex,
    differentiable (PyTorch's ``sgn``)."""
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
    return _tensor(input, "t").t()


def transpose(input, dim0, dim1):
    return _tensor(input, "transpose").transpose(dim0, dim1)


def reshape(input, shape):
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
    return _tensor(input, "detach").detach()


def numel(input):
    return _tensor(input, "numel").numel()
