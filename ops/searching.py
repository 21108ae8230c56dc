"""Searching: argmax, argmin, count_nonzero and searchsorted.

Their results are integer indices or counts, so none is differentiable: the ops are
declared with ``vjp=None`` and their outputs never require grad. (``nonzero`` returns a
tuple of index arrays and is served by ``xpgrad.xp.nonzero`` directly from the backend;
``where`` is an elementwise op.)
"""
from xpgrad.plugins import Op, hookimpl


def _count_nonzero(xp, x, *, axis=None, keepdims=False):
    if hasattr(xp, "count_nonzero"):
        return xp.count_nonzero(x, axis=axis, keepdims=keepdims)
    # Libraries predating the 2024.12 standard: the default integer sum of a mask.
    return xp.sum(xp.astype(x != 0, xp.int64), axis=axis, keepdims=keepdims)


def _searchsorted(xp, x1, x2, *, side="left", sorter=None):
    if sorter is not None:  # sorted first: the same answer, and dask takes no sorter
        x1 = xp.take(x1, sorter)
    if x2.ndim == 0:  # searched as one element: dask fails on a 0-d x2
        return xp.reshape(xp.searchsorted(x1, xp.reshape(x2, (1,)), side=side), ())
    return xp.searchsorted(x1, x2, side=side)


@hookimpl
def xpgrad_ops():
    return [
        Op("argmax", lambda xp, x, *, axis=None, keepdims=False: xp.argmax(x, axis=axis, keepdims=keepdims),
           None, doc="Index of the first maximum along ``axis`` (of the flattened array if None); not differentiable."),
        Op("argmin", lambda xp, x, *, axis=None, keepdims=False: xp.argmin(x, axis=axis, keepdims=keepdims),
           None, doc="Index of the first minimum along ``axis`` (of the flattened array if None); not differentiable."),
        Op("count_nonzero", _count_nonzero, None, doc="Number of nonzero elements over ``axis``; not differentiable."),
        Op("searchsorted", _searchsorted, None,
           doc=("Where to insert ``x2``'s elements into the one-dimensional ``x1`` (sorted, or sorted by the indices "
                "``sorter``) to keep it sorted; not differentiable.")),
    ]
