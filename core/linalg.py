"""``xpgrad.linalg``: the PyTorch-face linear algebra functions (``dim=``/``keepdim=``)."""
from .dispatch import apply

__all__ = ["inv", "vector_norm", "norm", "matmul", "trace"]


def inv(A):
    """The inverse of each square matrix in the last two axes of ``A``."""
    return apply("inv", (A,))


def vector_norm(x, ord=2, dim=None, keepdim=False):
    """The vector ``ord``-norm over ``dim`` (all elements if None); 0-subgradient at 0."""
    if isinstance(dim, list):
        dim = tuple(dim)
    return apply("vector_norm", (x,), {"ord": ord, "axis": dim, "keepdims": keepdim})


norm = vector_norm


def matmul(input, other):
    return apply("matmul", (input, other))


def trace(x):
    return apply("trace", (x,))
