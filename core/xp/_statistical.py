"""Statistical functions of the standard (reductions and cumulative ones), differentiable.

See ``xpgrad.ops.statistical`` for the gradient conventions: ties of ``max``/``min``
share the gradient evenly, ``prod`` and ``cumulative_prod`` are exact where ``x`` holds
zeros, ``std`` has gradient 0 where it is 0.
"""
from xpgrad.creation import resolve_dtype
from xpgrad.dispatch import apply, batched
from xpgrad.tensor import Tensor

from . import _searching
from ._searching import *  # noqa: F401,F403  (searching, sorting, set, utility functions)

__all__ = ["cumulative_prod", "cumulative_sum", "max", "mean", "min", "prod", "std", "sum",
           "var"] + _searching.__all__


def _dtype(x, dtype):
    """``dtype=`` as the backend's own dtype on ``x``'s device (any backend's dtype or a
    dtype name is accepted)."""
    if dtype is None or not (isinstance(x, Tensor) or batched(x)):
        return dtype
    return resolve_dtype(dtype, x._dev)


def _axis(axis):
    # A list of axes is accepted as the tuple the standard asks for.
    return tuple(axis) if isinstance(axis, list) else axis


def sum(x, /, *, axis=None, dtype=None, keepdims=False):
    """Sum over ``axis`` (all axes if None); an int or a tuple of ints, negatives allowed.
    """
    return apply("sum", (x,), {"axis": _axis(axis), "dtype": _dtype(x, dtype), "keepdims": keepdims})


def mean(x, /, *, axis=None, keepdims=False):
    """Arithmetic mean over ``axis`` (all axes if None)."""
    return apply("mean", (x,), {"axis": _axis(axis), "keepdims": keepdims})


def prod(x, /, *, axis=None, dtype=None, keepdims=False):
    """Product over ``axis``. The gradient of each element is the product of the others,
    computed without dividing by ``x``: exact where ``x`` holds zeros.
    """
    return apply("prod", (x,), {"axis": _axis(axis), "dtype": _dtype(x, dtype), "keepdims": keepdims})


def max(x, /, *, axis=None, keepdims=False):
    """Maximum over ``axis``; elements tying for it share its gradient evenly."""
    return apply("max", (x,), {"axis": _axis(axis), "keepdims": keepdims})


def min(x, /, *, axis=None, keepdims=False):
    """Minimum over ``axis``; elements tying for it share its gradient evenly."""
    return apply("min", (x,), {"axis": _axis(axis), "keepdims": keepdims})


def var(x, /, *, axis=None, correction=0.0, keepdims=False):
    """Variance over ``axis``: the sum of squared deviations divided by ``N - correction``.
    """
    return apply("var", (x,), {"axis": _axis(axis), "correction": correction, "keepdims": keepdims})


def std(x, /, *, axis=None, correction=0.0, keepdims=False):
    """Standard deviation over ``axis``; its gradient is 0 (a subgradient) where it is 0.
    """
    return apply("std", (x,), {"axis": _axis(axis), "correction": correction, "keepdims": keepdims})


def cumulative_sum(x, /, *, axis=None, dtype=None, include_initial=False):
    """Running sum along ``axis`` (optional for one-dimensional ``x`` only); with
    ``include_initial`` the result starts with 0 and is one longer along ``axis``.
    """
    return apply("cumulative_sum", (x,),
                 {"axis": axis, "dtype": _dtype(x, dtype), "include_initial": include_initial})


def cumulative_prod(x, /, *, axis=None, dtype=None, include_initial=False):
    """Running product along ``axis``; with ``include_initial`` the result starts with 1.
    The gradient is exact where ``x`` holds zeros (it costs O(n^2) per slice there).
    """
    return apply("cumulative_prod", (x,),
                 {"axis": axis, "dtype": _dtype(x, dtype), "include_initial": include_initial})
