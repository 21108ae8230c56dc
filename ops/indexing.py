"""Indexing: ``x[key]`` and its adjoint, a scatter-add of the cotangent into zeros.

Integer-array keys may repeat an index; each occurrence then adds its share of the
gradient (``x[[0, 0]]`` gives element 0 twice the gradient). The generic scatter-add
below does that with standard functions only (sort, cumulative sum, binary search);
a backend may register a faster ``scatter_add`` for its own arrays (NumPy does, with
``add.at``).
"""
from xpgrad.plugins import Op, hookimpl

from ._shapes import device_of


def _key_items(key):
    return key if isinstance(key, tuple) else (key,)


def has_integer_array(xp, key):
    """Whether ``key`` holds an integer array (the only kind of index that can repeat)."""
    return any(hasattr(k, "dtype") and not xp.isdtype(k.dtype, "bool") for k in _key_items(key))


def _scatter_add_flat(xp, positions, values, size):
    """Add ``values`` into a zero vector of length ``size`` at ``positions`` (may repeat)."""
    order = xp.argsort(positions, stable=True)
    pos = xp.take(positions, order)
    running = xp.cumulative_sum(xp.take(values, order), include_initial=True)
    grid = xp.arange(size, dtype=pos.dtype, device=device_of(pos))
    upper = xp.searchsorted(pos, grid, side="right")
    lower = xp.searchsorted(pos, grid, side="left")
    return xp.take(running, upper) - xp.take(running, lower)


def scatter_add(xp, g, *, shape, key):
    """Zeros of ``shape`` with ``g`` added at ``key``, repeated indices accumulating."""
    dev = device_of(g)
    if not has_integer_array(xp, key):
        out = xp.zeros(shape, dtype=g.dtype, device=dev)
        out[key] = g  # basic and boolean keys select each element at most once
        return out
    size = 1
    for s in shape:
        size *= s
    positions = xp.reshape(xp.arange(size, device=dev), shape)[key]
    flat = _scatter_add_flat(xp, xp.reshape(positions, (-1,)), xp.reshape(g, (-1,)), size)
    return xp.reshape(flat, shape)


def _getitem_vjp(xp, g, x_shape, key):
    from xpgrad.dispatch import call

    return call(xp, "scatter_add", g, shape=x_shape, key=key)


def _scatter_add_vjp(xp, g, key):
    from xpgrad.dispatch import call

    return call(xp, "getitem", g, key=key)


def scatter_add_op(forward, **kw):
    """The ``scatter_add`` op around a forward; backends reuse it for their fast paths."""
    return Op("scatter_add", forward, vjp={"g": _scatter_add_vjp}, node_name="IndexPutBackward",
              doc="zeros with g added at key (the adjoint of indexing)", **kw)


@hookimpl
def xpgrad_ops():
    return [
        Op("getitem", lambda xp, x, *, key: x[key], vjp={"x": _getitem_vjp},
           node_name="IndexBackward", doc="x[key]: basic slicing and integer or boolean arrays"),
        scatter_add_op(scatter_add),
    ]
