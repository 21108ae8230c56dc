"""Indexing: ``x[key]`` and its adjoint, a scatter-add of the cotangent into zeros.

Integer-array keys may repeat an index; each occurrence then adds its share of the
gradient (``x[[0, 0]]`` gives element 0 twice the gradient). The generic scatter-add
below does that with standard functions only (a stable sort, binary search, and sums
within each run of a repeated position by doubling): a position named once gets its
value exactly, bit for bit, and a repeated one the sum of its values as accurately as
pairwise summation. A backend may register a faster ``scatter_add`` for its own arrays
(NumPy does, with ``add.at``).

``take`` and ``take_along_axis`` are indexing along one axis, so their adjoints are the
same scatter-add. ``setitem`` is item assignment as a function (a copy of ``x`` with
``value`` at ``key``): ``Tensor.__setitem__`` records it and writes its result back in
place. Where an integer-array key names a position more than once, the value written
last (in C order of the key) is the one stored, as NumPy and PyTorch store it, on every
backend and bit for bit; only that occurrence of the value gets the cotangent at that
position, the earlier ones 0. Index arrays are params, not arguments: they select, and
get no gradient.
"""
from xpgrad.plugins import Op, hookimpl
from xpgrad.plugins.arrays import device_of, has_integer_array, key_items, normalize_axis, prod


def getitem(xp, x, *, key):
    """``x[key]``, with the integer-array keys the standard leaves out made portable.

    The standard specifies integer-array indexing only with one integer or integer
    array per axis. Two common keys beyond that are rewritten with ``take``, which every
    conforming library has: integer arrays over the leading axes only (``x[idx]`` on a
    matrix), and one integer array among full slices (``x[:, idx]``, ``x[idx, 1:]``).
    Integer arrays of more than one dimension take the same route (dask indexes with
    0-d and 1-d integer arrays only).
    """
    items = key_items(key)
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
        e = next(i for i, k in enumerate(items) if k is Ellipsis)  # not index(): arrays compare elementwise
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


def _segments(xp, positions, size):
    """Where each of the flat positions ``0 .. size - 1`` occurs in ``positions`` (1-D,
    may repeat): the stable order that sorts ``positions``, the sorted positions, and
    per position the run ``[lower, upper)`` of the sorted ones equal to it."""
    order = xp.argsort(positions, stable=True)
    pos = xp.take(positions, order)
    grid = xp.arange(size, dtype=pos.dtype, device=device_of(pos))
    return order, pos, xp.searchsorted(pos, grid, side="left"), xp.searchsorted(pos, grid, side="right")


def _run_sums(xp, pos, vals, longest):
    """The running sums of ``vals`` within each run of equal ``pos`` (sorted), by
    doubling: step ``d`` adds the partial sum ``d`` places back where it lies in the same
    run. Each sum is then a balanced tree of additions, as accurate as pairwise
    summation (prefix sums over the whole array, differenced, lose the precision of the
    largest prefix; and they mix an inf or nan into every later run). ``longest``, the
    longest run, bounds the steps: none where no position repeats. A value alone in its
    run is left untouched, bit for bit."""
    d = 1
    while d < longest:
        same = pos[d:] == pos[:-d]
        vals = xp.concat([vals[:d], xp.where(same, vals[d:] + vals[:-d], vals[d:])])
        d *= 2
    return vals


def _scatter_add_flat(xp, positions, values, size):
    """Add ``values`` into a zero vector of length ``size`` at ``positions`` (may
    repeat): a position named once gets its value exactly (a gather of it), one named
    several times the sum of its values (see :func:`_run_sums`); 0 where there is none."""
    dev = device_of(values)
    zeros = xp.zeros((size,), dtype=values.dtype, device=dev)
    if values.shape[0] == 0 or size == 0:
        return zeros
    order, pos, lower, upper = _segments(xp, positions, size)
    count = upper - lower
    hit = count > 0
    vals = xp.take(values, order)
    longest = int(xp.max(count))
    if longest <= 1:
        return xp.where(hit, xp.take(vals, xp.where(hit, lower, xp.zeros_like(lower))), zeros)
    summed = _run_sums(xp, pos, vals, longest)
    return xp.where(hit, xp.take(summed, xp.where(hit, upper - 1, xp.zeros_like(upper))), zeros)


def scatter_add(xp, g, *, shape, key):
    """Zeros of ``shape`` with ``g`` added at ``key``, repeated indices accumulating."""
    return _scatter_add(xp, g, shape, key, _scatter_add_flat)


def scatter_add_with(add_flat):
    """The forward of ``scatter_add`` for a backend whose own function sums values into
    flat positions, ``add_flat(xp, positions, values, size)`` (positions may repeat)."""
    def forward(xp, g, *, shape, key):
        return _scatter_add(xp, g, shape, key, add_flat)

    return forward


def _scatter_add(xp, g, shape, key, add_flat):
    dev = device_of(g)
    if not any(hasattr(k, "dtype") for k in key_items(key)):
        # Integers and slices select each element at most once. None (a new axis) has
        # no place in an assignment, so it is dropped and g reshaped to match.
        out = xp.zeros(shape, dtype=g.dtype, device=dev)
        if prod(tuple(g.shape)) == 0:
            return out  # nothing to add (and dask refuses to assign an empty selection)
        target = tuple(k for k in key_items(key) if k is not None)
        out[target] = xp.reshape(g, tuple(out[target].shape))
        return out
    # Array keys: find which flat positions the key selected, then add g there.
    size = 1
    for s in shape:
        size *= s
    positions = getitem(xp, xp.reshape(xp.arange(size, device=dev), shape), key=key)
    flat = add_flat(xp, xp.reshape(positions, (-1,)), xp.reshape(g, (-1,)), size)
    return xp.reshape(flat, shape)


def _call(xp, name, *args, **params):
    from xpgrad.dispatch import call

    return call(xp, name, *args, **params)


def _getitem_vjp(xp, g, x_shape, key):
    return _call(xp, "scatter_add", g, shape=x_shape, key=key)


def _scatter_add_vjp(xp, g, key):
    return _call(xp, "getitem", g, key=key)


def _scatter_add_jvp(xp, t, shape, key):
    return _call(xp, "scatter_add", t, shape=shape, key=key)


def getitem_op(forward, **kw):
    """The ``getitem`` op around a forward; backends reuse it for their own indexing."""
    return Op("getitem", forward, vjp={"x": _getitem_vjp}, jvp="linear",
              node_name="IndexBackward", view=True, **kw)


def scatter_add_op(forward, **kw):
    """The ``scatter_add`` op around a forward; backends reuse it for their fast paths."""
    return Op("scatter_add", forward, vjp={"g": _scatter_add_vjp}, jvp={"g": _scatter_add_jvp},
              node_name="IndexPutBackward", doc="zeros with g added at key (the adjoint of indexing)", **kw)


# ---------------------------------------------------------------------- take


def _along(ax, indices):
    """The key that picks ``indices`` along axis ``ax``, every other axis whole."""
    return (slice(None),) * ax + (indices, Ellipsis)


def take(xp, x, *, indices, axis):
    """``take(x, indices, axis=axis)``; ``indices`` is a raw integer array (a param, as
    getitem's key is: indices get no gradient)."""
    return xp.take(x, indices, axis=axis)


def _take_vjp(xp, g, x_shape, indices, axis):
    # Each output position along the axis adds its cotangent to the element it took;
    # repeated indices accumulate.
    return _call(xp, "scatter_add", g, shape=x_shape, key=_along(normalize_axis(axis, len(x_shape)), indices))


def along_axis_key(xp, x_shape, indices, axis):
    """The integer-array key, one array per axis, that selects what
    ``take_along_axis(x, indices, axis=axis)`` does from an array of ``x_shape``.

    Every axis but ``axis`` indexes with its own positions (shaped to broadcast against
    ``indices``); ``axis`` indexes with ``indices``.
    """
    ndim = len(x_shape)
    ax = normalize_axis(axis, ndim)
    dev = device_of(indices)
    key = []
    for k in range(ndim):
        if k == ax:
            key.append(xp.where(indices < 0, indices + x_shape[k], indices))
        else:
            shape = (1,) * k + (x_shape[k],) + (1,) * (ndim - k - 1)
            key.append(xp.reshape(xp.arange(x_shape[k], dtype=indices.dtype, device=dev), shape))
    return tuple(key)


def take_along_axis(xp, x, *, indices, axis=-1):
    """``take_along_axis``, with the library's own function where it has one and
    otherwise as integer-array indexing, which every library can do (dask)."""
    native = getattr(xp, "take_along_axis", None)
    if native is not None:
        return native(x, indices, axis=axis)
    return getitem(xp, x, key=along_axis_key(xp, tuple(x.shape), indices, axis))


def _take_along_axis_vjp(xp, g, x_shape, indices, axis):
    key = along_axis_key(_raw_namespace(indices), x_shape, indices, axis)
    return _call(xp, "scatter_add", g, shape=x_shape, key=key)


def _raw_namespace(array):
    """The backend namespace of a raw array: a rule's key is built from raw arrays even
    when the rule itself runs on Tensors (``create_graph``)."""
    from xpgrad.device import device_of_array

    return device_of_array(array).xp


# ---------------------------------------------------------------------- setitem


def _is_array(v):
    return hasattr(v, "dtype") and hasattr(v, "shape")


def setitem(xp, x, value, *, key):
    """A copy of ``x`` with ``value`` assigned at ``key`` (``x`` itself is not written).

    Basic keys and boolean masks assign into the copy, as every mutable library can.
    Integer-array keys, which the standard leaves out of assignment, go through
    :func:`_setitem_positions`: standard functions only, so they work everywhere. Each
    position gets exactly the value assigned to it, and where the key names a position
    more than once, the value written last, in C order of the key (NumPy's and
    PyTorch's result; the standard leaves it unspecified): the same on every backend,
    bit for bit, and the gradients follow it.
    """
    if _is_array(value) and value.dtype != x.dtype:
        value = xp.astype(value, x.dtype)
    if has_integer_array(xp, key):
        return _setitem_positions(xp, x, value, key)
    out = xp.asarray(x, copy=True)
    items = key_items(key)
    target = tuple(k for k in items if k is not None)  # None (a new axis) has no place here
    if _is_array(value) and value.ndim and (len(target) != len(items) or not _is_mask(xp, items)):
        # The value broadcasts against the selection with its new axes, and may have
        # more leading length-1 axes than it; assigned without them, it is reshaped.
        selected = _selected_shape(xp, x, key, value)
        value = xp.reshape(xp.broadcast_to(value, selected), tuple(out[target].shape))
    if len(target) == 1 and _is_array(target[0]):
        target = target[0]  # a lone mask unwrapped: array-api-strict reads (mask,) off the CPU wrongly
    out[target] = value
    return out


def _is_mask(xp, items):
    return any(_is_array(k) and xp.isdtype(k.dtype, "bool") for k in items)


def _selected_shape(xp, x, key, value):
    """The shape ``x[key]`` has, and the value's leading length-1 axes beyond it."""
    selected = tuple(getitem(xp, x, key=key).shape)
    extra = value.ndim - len(selected)
    if extra > 0 and all(s == 1 for s in value.shape[:extra]):
        selected = (1,) * extra + selected
    return selected


def _key_array(key):
    """The first array of ``key`` (for its namespace and device)."""
    return next(k for k in key_items(key) if hasattr(k, "dtype"))


def _key_positions(xp, shape, key, dev):
    """The flat positions of an array of ``shape`` at ``key``, shaped as its ``x[key]``."""
    return getitem(xp, xp.reshape(xp.arange(prod(tuple(shape)), device=dev), tuple(shape)), key=key)


def _last_writes(xp, positions, size):
    """For each flat position ``0 .. size - 1``: the index into ``positions`` (1-D, may
    repeat) of the last occurrence of it, and whether there is one. A stable sort keeps
    each run of a repeated position in the key's order, so its last element is the last
    write."""
    order, _, lower, upper = _segments(xp, positions, size)
    hit = upper > lower
    return xp.take(order, xp.where(hit, upper - 1, xp.zeros_like(upper))), hit


def _setitem_positions(xp, x, value, key):
    """``x`` with ``value`` at an integer-array ``key``, built without writing into x: a
    gather of each position's last value (no arithmetic, so exact for every dtype)."""
    dev = device_of(x)
    size = prod(tuple(x.shape))
    positions = _key_positions(xp, x.shape, key, dev)
    if _is_array(value):
        values = xp.reshape(xp.broadcast_to(value, _selected_shape(xp, x, key, value)), tuple(positions.shape))
    else:
        values = xp.full(tuple(positions.shape), value, dtype=x.dtype, device=dev)
    positions = xp.reshape(positions, (-1,))
    values = xp.reshape(values, (-1,))
    if size == 0 or values.shape[0] == 0:
        return xp.asarray(x, copy=True)
    last, hit = _last_writes(xp, positions, size)
    assigned = xp.take(values, last)
    return xp.reshape(xp.where(hit, assigned, xp.reshape(x, (-1,))), tuple(x.shape))


def _last_occurrences(key, shape):
    """A bool array shaped as ``x[key]`` for an ``x`` of ``shape``: whether each element
    of the selection is the last write to its position (``key`` holds an integer
    array), on the key's namespace."""
    k = _key_array(key)
    xp = _raw_namespace(k)
    positions = _key_positions(xp, shape, key, device_of(k))
    flat = xp.reshape(positions, (-1,))
    last, _ = _last_writes(xp, flat, prod(tuple(shape)))
    n = flat.shape[0]
    mine = xp.take(last, flat) == xp.arange(n, dtype=last.dtype, device=device_of(flat))
    return xp.reshape(mine, tuple(positions.shape))


def _setitem_x_vjp(xp, g, key):
    # The assigned positions no longer depend on x.
    return _call(xp, "setitem", g, 0, key=key)


def _setitem_value_vjp(xp, g, key, value_shape):
    gv = _call(xp, "getitem", g, key=key)
    if has_integer_array(xp, key):
        # A position assigned several times holds the value written last: that occurrence
        # gets the cotangent there, the earlier ones 0.
        mine = _last_occurrences(key, tuple(g.shape))
        gv = xp.where(xp.asarray(mine, device=device_of(gv)), gv, xp.zeros_like(gv))
    if len(value_shape) > gv.ndim:
        # A value with more leading length-1 axes than the selection (allowed, as in
        # NumPy): give the cotangent those axes; the engine sums the broadcast ones.
        gv = xp.reshape(gv, (1,) * (len(value_shape) - gv.ndim) + tuple(gv.shape))
    return gv


def _setitem_x_jvp(xp, t, key):
    return _call(xp, "setitem", t, 0, key=key)


def _setitem_value_jvp(xp, t, key, out):
    # t in zeros of the result's shape and dtype (x's), at the assigned positions.
    return _call(xp, "setitem", xp.zeros_like(out), t, key=key)


def setitem_op(forward, **kw):
    """The ``setitem`` op around a forward; backends reuse it for their own assignment."""
    return Op("setitem", forward, vjp={"x": _setitem_x_vjp, "value": _setitem_value_vjp},
              jvp={"x": _setitem_x_jvp, "value": _setitem_value_jvp}, node_name="CopySlices",
              doc="a copy of x with value assigned at key (item assignment); where an integer-array "
                  "key names a position twice, the value written last", **kw)


@hookimpl
def xpgrad_ops():
    return [
        getitem_op(getitem, doc="x[key]: basic slicing and integer or boolean arrays"),
        scatter_add_op(scatter_add),
        Op("take", take, vjp={"x": _take_vjp}, jvp="linear", node_name="TakeBackward",
           doc=("The elements of ``x`` at ``indices`` (a 1-D integer Tensor) along ``axis``; ``indices`` get no "
                "gradient.")),
        Op("take_along_axis", take_along_axis, vjp={"x": _take_along_axis_vjp},
           jvp="linear", node_name="GatherBackward",
           doc=("The elements of ``x`` at ``indices`` along ``axis``, for each position of the other axes "
                "(``indices`` has ``x``'s number of dimensions and broadcasts against it elsewhere). The gradient is "
                "scattered back, and repeated indices accumulate.")),
        setitem_op(setitem),
    ]
