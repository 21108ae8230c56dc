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


def getitem(xp, x, *, key):
    """``x[key]``, with the integer-array keys the standard leaves out made portable.

    The standard specifies integer-array indexing only with one integer or integer
    array per axis. Two common keys beyond that are rewritten with ``take``, which every
    conforming library has: integer arrays over the leading axes only (``x[idx]`` on a
    matrix), and one integer array among full slices (``x[:, idx]``, ``x[idx, 1:]``).
    Integer arrays of more than one dimension take the same route (dask indexes with
    0-d and 1-d integer arrays only).
    """
    items = _key_items(key)
    if len(items) < x.ndim or len(items) > 1 and has_integer_array(xp, key) or any(
            hasattr(k, "dtype") and k.ndim > 1 and not xp.isdtype(k.dtype, "bool") for k in items):
        if not has_integer_array(xp, key):
            return x[key]
        if all(isinstance(k, int) or hasattr(k, "dtype") for k in items):
            return _take_leading(xp, x, items)
        arrays = [i for i, k in enumerate(items) if hasattr(k, "dtype")]
        if len(arrays) == 1 and all(type(k) is slice or k is Ellipsis
                                    for i, k in enumerate(items) if i != arrays[0]):
            return _take_among_slices(xp, x, items, arrays[0])
    return x[key]


def _take_among_slices(xp, x, items, p):
    if any(k is Ellipsis for k in items):  # spell the Ellipsis out as full slices
        e = items.index(Ellipsis)
        fill = (slice(None),) * (x.ndim - len(items) + 1)
        items = items[:e] + fill + items[e + 1:]
        p = p if p < e else p + len(fill) - 1
    idx = items[p]
    sliced = x[items[:p] + (slice(None),) + items[p + 1:] + (Ellipsis,)]
    size = sliced.shape[p]
    flat = xp.reshape(xp.where(idx < 0, idx + size, idx), (-1,))
    out = xp.take(sliced, flat, axis=p)
    shape = tuple(out.shape)
    return xp.reshape(out, shape[:p] + tuple(idx.shape) + shape[p + 1:])


def _take_leading(xp, x, items):
    lead = x.shape[:len(items)]
    rest = tuple(x.shape[len(items):])
    linear, stride = 0, 1
    for k, size in zip(reversed(items), reversed(lead)):
        if isinstance(k, int):
            k = k % size if -size <= k < size else _out_of_range(k, size)
        else:
            k = xp.where(k < 0, k + size, k)
        linear = linear + k * stride
        stride *= size
    flat = xp.reshape(x, (stride,) + rest)
    out = xp.take(flat, xp.reshape(linear, (-1,)), axis=0)
    return xp.reshape(out, tuple(linear.shape) + rest)


def _out_of_range(k, size):
    raise IndexError(f"index {k} is out of bounds for an axis of size {size}")


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
    if not any(hasattr(k, "dtype") for k in _key_items(key)):
        # Integers and slices select each element at most once. None (a new axis) has
        # no place in an assignment, so it is dropped and g reshaped to match.
        out = xp.zeros(shape, dtype=g.dtype, device=dev)
        target = tuple(k for k in _key_items(key) if k is not None)
        out[target] = xp.reshape(g, tuple(out[target].shape))
        return out
    # Array keys: find which flat positions the key selected, then add g there.
    size = 1
    for s in shape:
        size *= s
    positions = getitem(xp, xp.reshape(xp.arange(size, device=dev), shape), key=key)
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
        Op("getitem", getitem, vjp={"x": _getitem_vjp},
           node_name="IndexBackward", doc="x[key]: basic slicing and integer or boolean arrays"),
        scatter_add_op(scatter_add),
    ]
