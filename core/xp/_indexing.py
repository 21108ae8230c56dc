"""Indexing functions of the standard (``take``, ``take_along_axis``), differentiable in
``x``. Indices select and get no gradient; an index that repeats adds its share of the
gradient to the element it selects each time."""
from xpgrad.dispatch import apply, batched
from xpgrad.dtypes import is_kind
from xpgrad.plugins.arrays import normalize_axis as _normalize_axis
from xpgrad.tensor import Tensor

__all__ = ["take", "take_along_axis"]


def _arrays(fn, x, indices):
    if not isinstance(x, Tensor) and not batched(x):
        raise TypeError(
            f"{fn}() takes an xpgrad Tensor, got {type(x).__name__}; wrap the data with xpgrad.asarray(...)")
    if not isinstance(indices, Tensor) and not batched(indices):
        raise TypeError(f"{fn}(): indices must be an integer Tensor, got {type(indices).__name__}")
    if indices._dev is not x._dev:
        raise ValueError(f"{fn}(): indices are on {indices._dev} but x is on {x._dev}; move one of them")
    if not is_kind(indices.dtype, "integral"):
        raise TypeError(f"{fn}(): indices must have an integer dtype, got {indices.dtype}")
    return indices._data if isinstance(indices, Tensor) else None  # None: indices batched inside vmap


def _batched_indices(fn, x, indices, axis):
    # indices batched inside vmap: the batched value knows how to gather with them
    # (xpgrad.func, a layer above this one)
    return indices._take_from(fn, x, axis)


def take(x, indices, /, *, axis=None):
    """The elements of ``x`` at ``indices`` (a 1-D integer Tensor) along ``axis``;
    ``indices`` get no gradient.

    ``axis`` may be left out only for a 1-D ``x``. The gradient is scattered back, and
    repeated indices accumulate.
    """
    raw = _arrays("take", x, indices)
    if axis is None:
        if x.ndim != 1:
            raise ValueError(
                f"take(): axis is required for an array of {x.ndim} dimensions (only 1-D arrays may omit it)")
        axis = 0
    _normalize_axis(axis, x.ndim)
    if raw is None:
        return _batched_indices("take", x, indices, axis)
    return apply("take", (x,), {"indices": raw, "axis": axis})


def take_along_axis(x, indices, /, *, axis=-1):
    """The elements of ``x`` at ``indices`` along ``axis``, for each position of the other
    axes (``indices`` has ``x``'s number of dimensions and broadcasts against it
    elsewhere). The gradient is scattered back, and repeated indices accumulate.
    """
    raw = _arrays("take_along_axis", x, indices)
    if indices.ndim != x.ndim:
        raise ValueError(
            f"take_along_axis(): indices must have as many dimensions as x ({x.ndim}), got {indices.ndim}"
        )
    _normalize_axis(axis, x.ndim)
    if raw is None:
        return _batched_indices("take_along_axis", x, indices, axis)
    return apply("take_along_axis", (x,), {"indices": raw, "axis": axis})
