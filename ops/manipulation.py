"""Shape and layout: reshape, transpose, broadcast, expand/squeeze, concat/stack, flip,
roll, repeat, tile, dtype casts, copies.

Each of these moves, copies or relabels elements without changing them, so every VJP is
the inverse movement applied to the cotangent (copies become sums), and every JVP is the
same movement applied to the tangent.

Per-piece facts a rule needs and cannot read from its own argument (the sizes of the
other pieces of a ``concat``, the number of arrays a ``stack`` joins, where ``repeat``
puts each element) are params that ``xpgrad.xp`` computes before dispatching.
"""
from xpgrad.dtypes import dtype as xpgrad_dtype
from xpgrad.plugins import Op, hookimpl
from xpgrad.plugins.arrays import normalize_axis, prod


def _call(xp, name, *args, **params):
    from xpgrad.dispatch import call

    return call(xp, name, *args, **params)


def _inverse_permutation(axes):
    inv = [0] * len(axes)
    for i, a in enumerate(axes):
        inv[a % len(axes)] = i
    return tuple(inv)


def _reshape_back(xp, g, x_shape):
    return xp.reshape(g, x_shape)


# ---------------------------------------------------------------------- reshape, casts


def _reshape(xp, x, *, shape, copy=None):
    # Only pass copy= when asked: not every library's reshape takes it.
    return xp.reshape(x, shape) if copy is None else xp.reshape(x, shape, copy=copy)


def _astype(xp, x, *, dtype):
    return xp.astype(x, _native(xp, dtype))


def _native(xp, dtype):
    """``dtype`` as ``xp``'s own: the op may be given xpgrad's dtype (``t.dtype``)."""
    return getattr(xp, dtype.name) if isinstance(dtype, xpgrad_dtype) else dtype


def _astype_jvp(xp, t, dtype):
    dtype = _native(xp, dtype)
    if xp.isdtype(t.dtype, "complex floating") and not xp.isdtype(dtype, "complex floating"):
        t = xp.real(t)  # the real part, as the VJP's cast back keeps
    return xp.astype(t, dtype)


# ---------------------------------------------------------------------- concat, stack


def _axis_key(ax, item):
    """The key that indexes ``item`` along axis ``ax`` and takes every other axis whole."""
    return (slice(None),) * ax + (item, Ellipsis)


def _concat(xp, *arrays, axis=0, sizes=()):
    return xp.concat(arrays, axis=axis)


def _concat_vjp(i):
    def rule(xp, g, axis, sizes):
        start = sum(sizes[:i])
        return _call(xp, "getitem", g, key=_axis_key(normalize_axis(axis, g.ndim), slice(start, start + sizes[i])))

    return rule


def _concat_jvp(i):
    def rule(xp, t, axis, sizes):
        # t padded with zeros where the other pieces go: scatter_add into zeros.
        ax = normalize_axis(axis, t.ndim)
        start = sum(sizes[:i])
        shape = tuple(t.shape[:ax]) + (sum(sizes),) + tuple(t.shape[ax + 1:])
        return _call(xp, "scatter_add", t, shape=shape, key=_axis_key(ax, slice(start, start + sizes[i])))

    return rule


def _stack(xp, *arrays, axis=0, count=None):
    return xp.stack(arrays, axis=axis)


def _stack_vjp(i):
    def rule(xp, g, axis):
        return _call(xp, "getitem", g, key=_axis_key(normalize_axis(axis, g.ndim), i))

    return rule


def _stack_jvp(i):
    def rule(xp, t, axis, count):
        if count is None:
            raise ValueError("the JVP of stack needs the count= param (the number of arrays stacked)")
        ax = normalize_axis(axis, t.ndim + 1)
        shape = tuple(t.shape[:ax]) + (count,) + tuple(t.shape[ax:])
        return _call(xp, "scatter_add", t, shape=shape, key=_axis_key(ax, i))

    return rule


# ---------------------------------------------------------------------- flip, roll


def _roll(xp, x, *, shift, axis=None):
    if isinstance(axis, tuple) and not isinstance(shift, tuple):
        shift = (shift,) * len(axis)  # one shift for every axis, spelled out (dask wants it)
    return xp.roll(x, shift, axis=axis)


def _negated(shift):
    return tuple(-s for s in shift) if isinstance(shift, tuple) else -shift


# ---------------------------------------------------------------------- repeat, tile


def _repeat_layout(x_shape, axis):
    """The shape ``repeat`` works on (flattened when axis is None) and its axis there."""
    if axis is None:
        return (prod(x_shape),), 0
    return tuple(x_shape), normalize_axis(axis, len(x_shape))


def _repeat(xp, x, *, repeats, axis=None, index=None):
    # axis=None flattens first (dask's repeat wants an axis).
    shape, ax = _repeat_layout(tuple(x.shape), axis)
    x = xp.reshape(x, shape) if axis is None else x
    if index is None:  # the same count for every element
        return xp.repeat(x, repeats, axis=ax)
    # Counts per element: ``index`` (computed ahead, see xpgrad.xp.repeat) says which
    # element each output position copies, so this is a take, which every library has
    # (dask's repeat takes only an integer count).
    return xp.take(x, index, axis=ax)


def _repeat_vjp(xp, g, x_shape, repeats, axis, index):
    shape, ax = _repeat_layout(x_shape, axis)
    if index is None:
        # Output positions j * repeats + r along the axis all copy element j: sum over r.
        g = xp.reshape(g, shape[:ax] + (shape[ax], repeats) + shape[ax + 1:])
        g = xp.sum(g, axis=ax + 1)
    else:
        g = _call(xp, "scatter_add", g, shape=shape, key=_axis_key(ax, index))
    return xp.reshape(g, x_shape)


def _repeat_jvp(xp, t, repeats, axis, index):
    return _call(xp, "repeat", t, repeats=repeats, axis=axis, index=index)


def _tile_vjp(xp, g, x_shape, repetitions):
    d = max(len(x_shape), len(repetitions))
    shape = (1,) * (d - len(x_shape)) + tuple(x_shape)
    reps = (1,) * (d - len(repetitions)) + tuple(repetitions)
    # Along each axis the output is ``reps`` copies of ``shape``: split it into
    # (copy, position) pairs and sum over the copies.
    split = tuple(n for pair in zip(reps, shape) for n in pair)
    g = xp.sum(xp.reshape(g, split), axis=tuple(range(0, 2 * d, 2)))
    return xp.reshape(g, x_shape)


def _expand_dims(xp, x, *, axis=0):
    if isinstance(axis, int):
        return xp.expand_dims(x, axis=axis)
    # A tuple (normalised and sorted by xpgrad.xp.expand_dims): one axis at a time, as
    # libraries before the 2025.12 standard take only an int.
    for a in axis:
        x = xp.expand_dims(x, axis=a)
    return x


@hookimpl
def xpgrad_ops():
    return [
        Op("reshape", _reshape,
           vjp={"x": _reshape_back}, jvp="linear",
           node_name="ViewBackward", doc="``x``'s elements in a new ``shape`` (one entry may be -1).", view=True),
        Op("permute_dims", lambda xp, x, *, axes: xp.permute_dims(x, axes),
           vjp={"x": lambda xp, g, axes: xp.permute_dims(g, _inverse_permutation(axes))},
           jvp="linear",
           node_name="PermuteBackward", doc="``x`` with its axes in the order ``axes``.", view=True),
        Op("broadcast_to", lambda xp, x, *, shape: xp.broadcast_to(x, shape),
           vjp={"x": lambda xp, g: g},  # the engine sums over the broadcast axes
           jvp="linear",
           node_name="ExpandBackward",
           doc="``x`` broadcast to ``shape``; the gradient is summed over the broadcast axes.", view=True),
        Op("expand_dims", _expand_dims,
           vjp={"x": _reshape_back}, jvp="linear",
           node_name="UnsqueezeBackward",
           doc=("``x`` with a new length-1 axis at ``axis`` (in ``[-x.ndim - 1, x.ndim]``), or at each of a sorted "
                "tuple of non-negative positions in the result."), view=True),
        Op("squeeze", lambda xp, x, *, axis: xp.squeeze(x, axis=axis),
           vjp={"x": _reshape_back}, jvp="linear",
           doc="``x`` without the length-1 axes ``axis`` (an int or a tuple).", view=True),
        Op("astype", _astype,
           vjp={"x": lambda xp, g: g},  # the engine casts back to the input's dtype
           jvp={"x": _astype_jvp},
           node_name="ToCopyBackward",
           doc=("``x`` converted to ``dtype`` (and moved to ``device`` if given, recorded); the gradient is converted "
                "back.")),
        Op("clone", lambda xp, x: xp.asarray(x, copy=True),
           vjp={"x": lambda xp, g: g}, jvp="linear", doc="a copy with its own storage"),
        Op("concat", _concat, vjp=_concat_vjp, jvp=_concat_jvp, node_name="CatBackward",
           doc="The arrays joined along an existing ``axis``; ``axis=None`` joins them flattened."),
        Op("stack", _stack, vjp=_stack_vjp, jvp=_stack_jvp, node_name="StackBackward",
           doc="The arrays (all of one shape) joined along a new ``axis``."),
        Op("flip", lambda xp, x, *, axis=None: xp.flip(x, axis=axis),
           vjp={"x": lambda xp, g, axis: xp.flip(g, axis=axis)},
           jvp="linear",
           node_name="FlipBackward",
           doc="``x`` with the order of elements reversed along ``axis`` (all axes if None).", view=True),
        Op("roll", _roll,
           vjp={"x": lambda xp, g, shift, axis: _roll(xp, g, shift=_negated(shift), axis=axis)},
           jvp="linear",
           node_name="RollBackward", doc="``x`` shifted cyclically by ``shift`` along ``axis`` (flattened if None)."),
        Op("repeat", _repeat, vjp={"x": _repeat_vjp}, jvp={"x": _repeat_jvp},
           node_name="RepeatInterleaveBackward",
           doc=("Each element of ``x`` repeated ``repeats`` times along ``axis`` (``x`` flattened if None). "
                "``repeats`` is an int, or an integer array with one count per element along the axis (or a single "
                "count); the gradient of each element is the sum of its copies' gradients.")),
        Op("tile", lambda xp, x, *, repetitions: xp.tile(x, repetitions),
           vjp={"x": _tile_vjp}, jvp="linear",
           node_name="RepeatBackward",
           doc=("``x`` repeated as a whole ``repetitions[i]`` times along each axis ``i`` (the shorter of ``x.shape`` "
                "and ``repetitions`` is padded with leading ones).")),
    ]
