"""Searching, sorting, set and utility functions of the standard.

Differentiable: ``sort`` (the gradient follows each element to where it was sorted),
the values of the ``unique_*`` functions (each element gets its unique value's
gradient) and ``diff``. Not differentiable, returning Tensors that never require grad:
``argmax``, ``argmin``, ``argsort``, ``count_nonzero``, ``isin``, ``nonzero``, ``searchsorted``,
``all``, ``any`` and the index and count arrays of the ``unique_*`` functions.
"""
from collections import namedtuple

from xpgrad.creation import resolve_dtype
from xpgrad.dispatch import apply, batched
from xpgrad.dtypes import is_kind
from xpgrad.plugins.arrays import device_of
from xpgrad.tensor import Tensor

__all__ = ["all", "any", "argmax", "argmin", "argsort", "count_nonzero", "diff", "isin", "nonzero",
           "searchsorted", "sort", "unique_all", "unique_counts", "unique_inverse", "unique_values"]

UniqueAllResult = namedtuple("UniqueAllResult", ["values", "indices", "inverse_indices", "counts"])
UniqueCountsResult = namedtuple("UniqueCountsResult", ["values", "counts"])
UniqueInverseResult = namedtuple("UniqueInverseResult", ["values", "inverse_indices"])


def _tensor(x, name):
    if not isinstance(x, Tensor) and not batched(x):
        raise TypeError(f"{name}() takes a Tensor, got {type(x).__name__}; wrap the data with xpgrad.tensor(...)")
    return x


def _raw(a):
    return a._data if isinstance(a, Tensor) else a


# ---------------------------------------------------------------------- searching


def argmax(x, /, *, axis=None, keepdims=False):
    """Index of the first maximum along ``axis`` (of the flattened array if None); not
    differentiable.
    """
    return apply("argmax", (x,), {"axis": axis, "keepdims": keepdims})


def argmin(x, /, *, axis=None, keepdims=False):
    """Index of the first minimum along ``axis`` (of the flattened array if None); not
    differentiable.
    """
    return apply("argmin", (x,), {"axis": axis, "keepdims": keepdims})


def count_nonzero(x, /, *, axis=None, keepdims=False):
    """Number of nonzero elements over ``axis``; not differentiable."""
    axis = tuple(axis) if isinstance(axis, list) else axis
    return apply("count_nonzero", (x,), {"axis": axis, "keepdims": keepdims})


def nonzero(x, /):
    """The indices of the nonzero elements, one index array per axis (a tuple)."""
    x = _tensor(x, "nonzero")
    if x.ndim == 0:
        raise ValueError("nonzero() needs an array of at least one dimension; reshape a 0-d array to (1,)")
    return tuple(Tensor(i, x._dev) for i in x._dev.xp.nonzero(x._data))


def searchsorted(x1, x2, /, *, side="left", sorter=None):
    """Where to insert ``x2``'s elements into the one-dimensional ``x1`` (sorted, or sorted
    by the indices ``sorter``) to keep it sorted; not differentiable.
    """
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted(side=...) must be 'left' or 'right', got {side!r}")
    x1 = _tensor(x1, "searchsorted")
    if isinstance(x2, (int, float)) and not isinstance(x2, bool):
        x2 = _scalar_like(x2, x1, "searchsorted", "x2")
    return apply("searchsorted", (x1, x2), {"side": side, "sorter": _raw(sorter)})


def _scalar_like(value, x, fn, name):
    """A Python scalar as a 0-d Tensor of ``x``'s dtype, by the standard's rules for
    mixing scalars and arrays (an int takes a float array's dtype; a float is refused
    with an integer array, whose dtype cannot hold it)."""
    dt = x.dtype
    if isinstance(value, float) and not getattr(dt, "is_floating_point", False):
        raise TypeError(f"{fn}(): {name}={value!r} is a float but the array is {dt}; the standard mixes "
                        f"a float scalar only with a floating-point array: pass an int or cast with astype")
    dev = x._dev
    return Tensor(dev.xp.full((), value, dtype=resolve_dtype(dt, dev), device=dev.native), dev)


# ---------------------------------------------------------------------- sorting


def sort(x, /, *, axis=-1, descending=False, stable=True):
    """``x`` sorted along ``axis``; the gradient follows each element to where it went.
    """
    return apply("sort", (x,), {"axis": axis, "descending": descending, "stable": stable})


def argsort(x, /, *, axis=-1, descending=False, stable=True):
    """The indices that sort ``x`` along ``axis``; not differentiable."""
    return apply("argsort", (x,), {"axis": axis, "descending": descending, "stable": stable})


# ---------------------------------------------------------------------- sets


def _unique_parts(x, name, fields):
    """The backend's ``unique_*`` result for ``x``, with differentiable values."""
    x = _tensor(x, name)
    xp = x._dev.xp
    try:
        result = getattr(xp, name)(x._data)
    except NotImplementedError:  # PyTorch has no unique_all (array-api-compat raises)
        if name != "unique_all":
            raise
        result = _unique_all_sorted(xp, x._data)
    parts = {f: Tensor(getattr(result, f), x._dev) for f in fields}
    # The values come from the unique_values op (the same sorted values) so that they
    # carry a gradient when x requires one.
    parts["values"] = apply("unique_values", (x,)) if x.requires_grad else Tensor(result.values, x._dev)
    return parts


def _unique_all_sorted(xp, x):
    """``unique_all`` from ``unique_inverse``: a stable sort of the inverse indices lines
    up the elements of each unique value in a run, in their order in the flattened ``x``;
    the first of each run is the value's first index, and the run's length its count."""
    values, inverse = xp.unique_inverse(x)
    flat = xp.reshape(inverse, (-1,))
    order = xp.argsort(flat, stable=True)
    runs = xp.take(flat, order)
    which = xp.arange(values.shape[0], dtype=runs.dtype, device=device_of(runs))
    starts = xp.searchsorted(runs, which, side="left")
    counts = xp.searchsorted(runs, which, side="right") - starts
    return UniqueAllResult(values, xp.take(order, starts), inverse, counts)


def unique_values(x, /):
    """The distinct values of ``x`` (flattened); each element receives the gradient of its
    value.
    """
    return apply("unique_values", (x,))


def unique_counts(x, /):
    """``(values, counts)``: the distinct values and how often each occurs."""
    return UniqueCountsResult(**_unique_parts(x, "unique_counts", ("counts",)))


def unique_inverse(x, /):
    """``(values, inverse_indices)``: ``values[inverse_indices]`` rebuilds ``x``."""
    return UniqueInverseResult(**_unique_parts(x, "unique_inverse", ("inverse_indices",)))


def unique_all(x, /):
    """``(values, indices, inverse_indices, counts)``: the distinct values, the first
    index of each in the flattened ``x``, the inverse indices and the counts."""
    return UniqueAllResult(**_unique_parts(x, "unique_all", ("indices", "inverse_indices", "counts")))


# ---------------------------------------------------------------------- utility


def isin(x1, x2, /, *, invert=False):
    """Whether each element of ``x1`` is in ``x2`` (not in it with ``invert``); not
    differentiable.

    One of the two may be a Python int (or a float, with a floating-point array), taken
    as a 0-d array of the other's dtype.
    """
    if isinstance(x1, (int, float)) and not isinstance(x1, bool):
        x1 = _scalar_like(x1, _tensor(x2, "isin"), "isin", "x1")
    if isinstance(x2, (int, float)) and not isinstance(x2, bool):
        x2 = _scalar_like(x2, _tensor(x1, "isin"), "isin", "x2")
    x1, x2 = _tensor(x1, "isin"), _tensor(x2, "isin")
    for name, x in (("x1", x1), ("x2", x2)):
        if not is_kind(x.dtype, ("integral", "real floating")):
            raise TypeError(f"isin(): {name} is {x.dtype}; isin compares integer or real floating-point arrays "
                            f"(the standard asks it of integers)")
    return apply("isin", (x1, x2), {"invert": bool(invert)})


def all(x, /, *, axis=None, keepdims=False):
    """Whether every element over ``axis`` is true (nonzero); not differentiable."""
    axis = tuple(axis) if isinstance(axis, list) else axis
    return apply("all", (x,), {"axis": axis, "keepdims": keepdims})


def any(x, /, *, axis=None, keepdims=False):
    """Whether some element over ``axis`` is true (nonzero); not differentiable."""
    axis = tuple(axis) if isinstance(axis, list) else axis
    return apply("any", (x,), {"axis": axis, "keepdims": keepdims})


def _concat(parts, axis):
    """``parts`` joined along ``axis``, differentiable in each: every part is added into
    zeros of the joined shape at its own slice (the ``scatter_add`` op)."""
    shape = list(parts[0].shape)
    shape[axis] = 0
    for p in parts:
        shape[axis] += p.shape[axis]
    out, start = None, 0
    for p in parts:
        stop = start + p.shape[axis]
        key = (slice(None),) * axis + (slice(start, stop), Ellipsis)
        placed = apply("scatter_add", (p,), {"shape": tuple(shape), "key": key})
        out = placed if out is None else out + placed
        start = stop
    return out


def diff(x, /, *, axis=-1, n=1, prepend=None, append=None):
    """The ``n``-th forward difference along ``axis``: ``x[i + 1] - x[i]``, applied ``n``
    times, after joining ``prepend`` and ``append`` (same shape as ``x`` but along
    ``axis``) to either end. Differentiable in ``x``, ``prepend`` and ``append``.
    ``n=0`` returns ``x`` itself, ``prepend`` and ``append`` unused (as NumPy does)."""
    x = _tensor(x, "diff")
    if x.ndim == 0:
        raise ValueError("diff() needs an array of at least one dimension")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"diff(axis={axis}) is out of range for an array of {x.ndim} dimension(s)")
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"diff(n=...) must be a non-negative int, got {n!r}")
    axis %= x.ndim
    parts = [p for p in (prepend, x, append) if p is not None]
    for p in parts:
        if not (isinstance(p, Tensor) or batched(p)) or p.ndim != x.ndim or _other_axes_differ(p, x, axis):
            raise ValueError(f"diff(): prepend and append must be Tensors shaped like x {x.shape} "
                             f"except along axis {axis}")
    if n == 0:
        return x
    y = _concat(parts, axis) if len(parts) > 1 else x
    lead = (slice(None),) * axis
    for _ in range(n):
        y = y[lead + (slice(1, None), Ellipsis)] - y[lead + (slice(None, -1), Ellipsis)]
    return y


def _other_axes_differ(p, x, axis):
    return tuple(p.shape[:axis] + p.shape[axis + 1:]) != tuple(x.shape[:axis] + x.shape[axis + 1:])
