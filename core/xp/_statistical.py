"""Statistical functions of the standard (reductions), differentiable."""
from xpgrad.dispatch import apply

__all__ = ["sum", "mean"]


def sum(x, /, *, axis=None, dtype=None, keepdims=False):
    return apply("sum", (x,), {"axis": axis, "dtype": dtype, "keepdims": keepdims})


def mean(x, /, *, axis=None, keepdims=False):
    return apply("mean", (x,), {"axis": axis, "keepdims": keepdims})
