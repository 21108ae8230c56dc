"""Set functions: ``unique_values`` (differentiable in the values), the index
arrays of ``unique_all``/``unique_counts``/``unique_inverse`` and ``isin`` (not
differentiable).

Each unique value stands for every element equal to it: the gradient of an element is
the gradient of its unique value (a gather through the inverse indices), and in forward
mode the tangent of a unique value is the sum of the tangents of the elements equal to
it (a scatter-add through the same indices, the adjoint of that gather). Where
every value occurs once this is the derivative; with repeats the function is not
differentiable and this is the convention. Output shapes depend on the values, so the
ops need a backend that knows them (not dask).
"""
from xpgrad.plugins import Op, hookimpl


def _inverse(xp, x):
    """The flat index of each element's unique value (the backend's, or ``xpgrad.xp``'s)."""
    return xp.reshape(xp.unique_inverse(x).inverse_indices, (-1,))


def _raw(a):
    return getattr(a, "_data", a)


def _unique_vjp(xp, g, x):
    gathered = xp.take(g, _inverse(xp, x)) if hasattr(xp, "take") else g[_inverse(xp, x)]
    return xp.reshape(gathered, tuple(x.shape))


def _unique_jvp(xp, t, x, out):
    from xpgrad.dispatch import call

    # scatter_add takes its key as a parameter: the backend's array, never a Tensor.
    key = _raw(_inverse(xp, x))
    return call(xp, "scatter_add", xp.reshape(t, (-1,)), shape=tuple(out.shape), key=key)


def _isin(xp, x1, x2, *, invert=False):
    # ``invert`` is applied here: array-api-strict 2.6 ignores its own. Floating arrays
    # go the sorted way on every library: the standard asks isin only of integers, and
    # some libraries (array-api-strict) refuse the rest.
    native = hasattr(xp, "isin") and xp.isdtype(x1.dtype, "integral") and xp.isdtype(x2.dtype, "integral")
    found = xp.isin(x1, x2) if native else _isin_sorted(xp, x1, x2)
    return xp.logical_not(found) if invert else found


def _isin_sorted(xp, x1, x2):
    """isin for a library before the 2025.12 standard: each element looked up in x2
    sorted."""
    table = xp.sort(xp.reshape(x2, (-1,)))
    flat = xp.reshape(x1, (-1,))
    if table.shape[0] == 0:
        found = xp.zeros(flat.shape, dtype=xp.bool)
    else:
        at = xp.clip(xp.searchsorted(table, flat), 0, table.shape[0] - 1)
        found = xp.take(table, at) == flat
    return xp.reshape(found, tuple(x1.shape))


@hookimpl
def xpgrad_ops():
    return [
        Op("unique_values", lambda xp, x: xp.unique_values(x),
           vjp={"x": _unique_vjp}, jvp={"x": _unique_jvp}, node_name="UniqueBackward0",
           doc="The distinct values of ``x`` (flattened); each element receives the gradient of its value."),
        Op("isin", _isin, None,
           doc="Whether each element of ``x1`` is in ``x2`` (not in it with ``invert``); not differentiable."),
    ]
