"""Sorting: ``sort`` (differentiable), ``argsort`` (integer indices, not differentiable),
and ``permute_along_axis``, the reordering that carries ``sort``'s gradient.

``sort``'s cotangent goes back through the permutation its forward applied: the rule
recomputes ``argsort`` of the input with the same options (cheaper to redo than to keep
an index array alive for every sort in a graph) and puts ``g[..., j]`` back at the
position the ``j``-th smallest element came from. Tied elements each receive the
cotangent of the one output slot they were sorted into; with ``stable=True`` that is
their original order.
"""
from xpgrad.plugins import Op, hookimpl
from xpgrad.plugins.arrays import device_of

__all__ = ["take_along", "permute"]


def _to_last(x_ndim, axis):
    """The permutation moving ``axis`` last, and the one undoing it."""
    axis %= x_ndim
    perm = tuple(i for i in range(x_ndim) if i != axis) + (axis,)
    back = tuple(sorted(range(x_ndim), key=perm.__getitem__))
    return perm, back


def take_along(xp, x, indices, axis):
    """``take_along_axis(x, indices, axis=axis)`` where ``indices`` has ``x``'s shape.

    Backends without ``take_along_axis`` (dask) get it from a flat ``take``: the axis
    moved last, each row offset by its start in the flattened array.
    """
    if hasattr(xp, "take_along_axis"):
        return xp.take_along_axis(x, indices, axis=axis)
    perm, back = _to_last(x.ndim, axis)
    xl, il = xp.permute_dims(x, perm), xp.permute_dims(indices, perm)
    shape = tuple(xl.shape)
    n = shape[-1] if shape else 1
    rows = 1
    for s in shape[:-1]:
        rows *= s
    start = xp.reshape(xp.arange(rows, dtype=il.dtype, device=device_of(il)) * n, (rows, 1))
    linear = xp.reshape(xp.reshape(il, (rows, n)) + start, (-1,))
    out = xp.take(xp.reshape(xl, (-1,)), linear)
    return xp.permute_dims(xp.reshape(out, shape), back)


def permute(xp, x, indices, axis):
    """``x`` reordered along ``axis`` by the permutation ``indices`` (x's shape), in both
    plain and recorded mode: the differentiable ``permute_along_axis`` op."""
    from xpgrad.dispatch import call

    return call(xp, "permute_along_axis", x, indices, axis=axis)


def _inverse(xp, indices, axis):
    # The inverse of a permutation is its argsort: gathering with it scatters back.
    return xp.argsort(indices, axis=axis, stable=True)


def _permute_vjp(xp, g, indices, axis):
    return permute(xp, g, _inverse(xp, indices, axis), axis)


def _permute_jvp(xp, t, indices, axis):
    return permute(xp, t, indices, axis)


def _sort_indices(xp, x, axis, descending, stable):
    return xp.argsort(x, axis=axis, descending=descending, stable=stable)


def _sort_vjp(xp, g, x, axis, descending, stable):
    order = _sort_indices(xp, x, axis, descending, stable)
    return permute(xp, g, _inverse(xp, order, axis), axis)


def _sort_jvp(xp, t, x, axis, descending, stable):
    return permute(xp, t, _sort_indices(xp, x, axis, descending, stable), axis)


@hookimpl
def xpgrad_ops():
    return [
        Op("permute_along_axis", lambda xp, x, indices, *, axis=-1: take_along(xp, x, indices, axis),
           vjp={"x": _permute_vjp}, jvp={"x": _permute_jvp}, node_name="GatherBackward0",
           doc="x reordered along axis by a permutation of its indices (carries sort's gradient)"),
        Op("sort", lambda xp, x, *, axis=-1, descending=False, stable=True:
           xp.sort(x, axis=axis, descending=descending, stable=stable),
           vjp={"x": _sort_vjp}, jvp={"x": _sort_jvp}, node_name="SortBackward0",
           doc="``x`` sorted along ``axis``; the gradient follows each element to where it went."),
        Op("argsort", lambda xp, x, *, axis=-1, descending=False, stable=True:
           xp.argsort(x, axis=axis, descending=descending, stable=stable),
           None, doc="The indices that sort ``x`` along ``axis``; not differentiable."),
    ]
