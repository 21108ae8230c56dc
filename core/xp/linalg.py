"""``xpgrad.xp.linalg``: the standard's linear algebra extension, differentiable."""
from xpgrad.dispatch import apply

__all__ = ["matmul", "matrix_transpose", "inv", "trace", "vector_norm"]


def matmul(x1, x2, /):
    """Matrix product with the standard's 1-D promotion and batch broadcasting."""
    return apply("matmul", (x1, x2))


def matrix_transpose(x, /):
    return apply("matrix_transpose", (x,))


def inv(x, /):
    """The inverse of each square matrix in the last two axes."""
    return apply("inv", (x,))


def trace(x, /, *, offset=0, dtype=None):
    if offset != 0 or dtype is not None:
        raise NotImplementedError("trace(offset=..., dtype=...) is not supported yet")
    return apply("trace", (x,))


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    return apply("vector_norm", (x,), {"axis": axis, "keepdims": keepdims, "ord": ord})
