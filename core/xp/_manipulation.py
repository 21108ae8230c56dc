"""Manipulation functions of the standard (shapes, layouts, joining, repeating),
differentiable.

Functions that return several arrays (``unstack``, ``broadcast_arrays``) are made of
single-output ops, one per result; functions that are a relabelling of another
(``moveaxis`` is a ``permute_dims``) dispatch that op.
"""
from xpgrad.creation import _from_data, resolve_dtype
from xpgrad.dispatch import apply, batched
from xpgrad.dtypes import is_kind, of_native
from xpgrad.plugins.arrays import broadcast_shapes as _broadcast_shapes
from xpgrad.plugins.arrays import normalize_axis as _normalize_axis
from xpgrad.plugins.arrays import prod as _prod
from xpgrad.tensor import Tensor

__all__ = ["astype", "broadcast_arrays", "broadcast_shapes", "broadcast_to", "concat", "expand_dims", "flip",
           "moveaxis", "permute_dims", "repeat", "reshape", "roll", "squeeze", "stack", "tile", "unstack"]


def _tensor(x, fn):
    if not isinstance(x, Tensor) and not batched(x):
        raise TypeError(
            f"{fn}() takes xpgrad Tensors, got {type(x).__name__}; wrap the data with xpgrad.asarray(...)"
        )
    return x


def _tensors(arrays, fn):
    if isinstance(arrays, Tensor) or batched(arrays) or not isinstance(arrays, (tuple, list)):
        raise TypeError(f"{fn}() takes a tuple or list of Tensors, got {type(arrays).__name__}")
    if not arrays:
        raise ValueError(f"{fn}() needs at least one array")
    return tuple(_tensor(a, fn) for a in arrays)


def _ints(value, what):
    """An int or a sequence of ints as a tuple (ints stay ints)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        items = tuple(value)
    except TypeError:
        raise TypeError(f"{what} must be an int or a tuple of ints, got {value!r}") from None
    for v in items:
        if not isinstance(v, int) or isinstance(v, bool):
            raise TypeError(f"{what} must be an int or a tuple of ints, got {value!r}")
    return items


# ---------------------------------------------------------------------- shapes and layouts


def reshape(x, /, shape, *, copy=None):
    """``x``'s elements in a new ``shape`` (one entry may be -1).

    ``copy=True`` always copies, ``copy=False`` never does (an error if the library
    would have to), ``None`` copies only when needed. The gradient is reshaped back.
    """
    params = {"shape": tuple(shape)}
    if copy is not None:
        params["copy"] = bool(copy)
    return apply("reshape", (_tensor(x, "reshape"),), params)


def permute_dims(x, /, axes):
    """``x`` with its axes in the order ``axes``."""
    x = _tensor(x, "permute_dims")
    axes = _ints(axes, "axes")
    axes = (axes,) if isinstance(axes, int) else axes
    ndim = x.ndim
    if len(axes) != ndim:
        raise ValueError(f"permute_dims: axes {axes!r} must name each of the {ndim} axes of x once")
    normal = tuple(_normalize_axis(a, ndim) for a in axes)
    if len(set(normal)) != ndim:
        raise ValueError(f"permute_dims: axes {axes!r} repeat an axis; they must be a permutation of range({ndim})")
    return apply("permute_dims", (x,), {"axes": normal})


def moveaxis(x, source, destination, /):
    """``x`` with the axes ``source`` moved to the positions ``destination`` (ints or
    tuples of the same length), the other axes keeping their order."""
    x = _tensor(x, "moveaxis")
    ndim = x.ndim
    src, dst = _ints(source, "source"), _ints(destination, "destination")
    src = (src,) if isinstance(src, int) else src
    dst = (dst,) if isinstance(dst, int) else dst
    if len(src) != len(dst):
        raise ValueError(f"moveaxis: source {source!r} and destination {destination!r} must have the same length")
    src = tuple(_normalize_axis(a, ndim) for a in src)
    dst = tuple(_normalize_axis(a, ndim) for a in dst)
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError(f"moveaxis: repeated axis in source {source!r} or destination {destination!r}")
    rest = [a for a in range(ndim) if a not in src]
    for d, s in sorted(zip(dst, src)):
        rest.insert(d, s)
    return apply("permute_dims", (x,), {"axes": tuple(rest)})


def broadcast_to(x, /, shape):
    """``x`` broadcast to ``shape``; the gradient is summed over the broadcast axes."""
    return apply("broadcast_to", (_tensor(x, "broadcast_to"),), {"shape": tuple(shape)})


def broadcast_arrays(*arrays):
    """The arrays broadcast against one another: a tuple, one ``broadcast_to`` each."""
    arrays = tuple(_tensor(a, "broadcast_arrays") for a in arrays)
    shape = _broadcast_shapes(*(a.shape for a in arrays))
    return tuple(a if a.shape == shape else broadcast_to(a, shape) for a in arrays)


def broadcast_shapes(*shapes):
    """The shape that arrays of ``shapes`` broadcast to (``()`` for none); a ValueError
    when they cannot be broadcast together."""
    checked = []
    for s in shapes:
        s = _ints(s, "each shape")
        checked.append((s,) if isinstance(s, int) else s)
    return _broadcast_shapes(*checked)


def expand_dims(x, /, axis=0):
    """``x`` with a new length-1 axis at ``axis`` (in ``[-x.ndim - 1, x.ndim]``), or at
    each of a sorted tuple of non-negative positions in the result.

    Raises
    ------
    IndexError
        If a position is outside that range, or two name the same axis.
    """
    x = _tensor(x, "expand_dims")
    axis = _ints(axis, "axis")
    if isinstance(axis, int):
        if not -x.ndim - 1 <= axis <= x.ndim:
            raise IndexError(f"expand_dims: axis {axis} is out of range for a result of {x.ndim + 1} dimensions "
                             f"(it must be in [{-x.ndim - 1}, {x.ndim}])")
        return apply("expand_dims", (x,), {"axis": axis})
    m = x.ndim + len(axis)
    if any(not -m <= a < m for a in axis):
        raise IndexError(f"expand_dims: axis {axis!r} is out of range for a result of {m} dimensions "
                         f"(each position must be in [{-m}, {m - 1}])")
    # Normalised against the result and sorted, inserting one at a time is the same.
    normal = tuple(sorted(a % m for a in axis))
    if len(set(normal)) != len(normal):
        raise IndexError(f"expand_dims: axis {axis!r} names one position twice")
    return apply("expand_dims", (x,), {"axis": normal})


def squeeze(x, /, axis):
    """``x`` without the length-1 axes ``axis`` (an int or a tuple)."""
    return apply("squeeze", (_tensor(x, "squeeze"),), {"axis": _ints(axis, "axis")})


def astype(x, dtype, /, *, copy=True, device=None):
    """``x`` converted to ``dtype`` (and moved to ``device`` if given, recorded); the
    gradient is converted back.
    """
    x = _tensor(x, "astype")
    if device is not None:
        x = x.to_device(device)  # an explicit move, recorded (see xpgrad.transfer)
    dtype = resolve_dtype(dtype, x._dev)
    if of_native(dtype) is x.dtype and not copy:  # xpgrad's dtype objects: one per type
        return x
    return apply("astype", (x,), {"dtype": dtype})


# ---------------------------------------------------------------------- joining and splitting


def concat(arrays, /, *, axis=0):
    """The arrays joined along an existing ``axis``; ``axis=None`` joins them flattened.

    Each array's gradient is its slice of the result's.
    """
    arrays = _tensors(arrays, "concat")
    if axis is None:
        arrays = tuple(reshape(a, (-1,)) for a in arrays)
        axis = 0
    ndim = arrays[0].ndim
    if ndim == 0:
        raise ValueError("concat() joins arrays of at least one dimension; use stack() for 0-d arrays")
    ax = _normalize_axis(axis, ndim)
    sizes = tuple(a.shape[ax] if a.ndim == ndim else -1 for a in arrays)
    return apply("concat", arrays, {"axis": axis, "sizes": sizes})


def stack(arrays, /, *, axis=0):
    """The arrays (all of one shape) joined along a new ``axis``."""
    arrays = _tensors(arrays, "stack")
    return apply("stack", arrays, {"axis": axis, "count": len(arrays)})


def unstack(x, /, *, axis=0):
    """The slices of ``x`` along ``axis``, as a tuple (one indexing op each)."""
    x = _tensor(x, "unstack")
    if x.ndim == 0:
        raise ValueError("unstack() needs an array of at least one dimension, got a 0-d array")
    ax = _normalize_axis(axis, x.ndim)
    lead = (slice(None),) * ax
    return tuple(apply("getitem", (x,), {"key": lead + (i, Ellipsis)}) for i in range(x.shape[ax]))


# ---------------------------------------------------------------------- reordering and repeating


def _axes(axis, ndim):
    """``axis`` (None, an int or ints) checked against ``ndim``, kept as given."""
    if axis is None:
        return None
    axis = _ints(axis, "axis")
    for a in (axis,) if isinstance(axis, int) else axis:
        _normalize_axis(a, ndim)
    return axis


def flip(x, /, *, axis=None):
    """``x`` with the order of elements reversed along ``axis`` (all axes if None)."""
    x = _tensor(x, "flip")
    return apply("flip", (x,), {"axis": _axes(axis, x.ndim)})


def roll(x, /, shift, *, axis=None):
    """``x`` shifted cyclically by ``shift`` along ``axis`` (flattened if None)."""
    x = _tensor(x, "roll")
    shift = _ints(shift, "shift")
    axis = _axes(axis, x.ndim)
    if isinstance(shift, tuple) and (not isinstance(axis, tuple) or len(shift) != len(axis)):
        raise ValueError(f"roll(): a tuple shift {shift!r} needs a tuple axis of the same length, got axis={axis!r}")
    return apply("roll", (x,), {"shift": shift, "axis": axis})


def repeat(x, repeats, /, *, axis=None):
    """Each element of ``x`` repeated ``repeats`` times along ``axis`` (``x`` flattened if
    None). ``repeats`` is an int, or an integer array with one count per element along
    the axis (or a single count); the gradient of each element is the sum of its copies'
    gradients.
    """
    x = _tensor(x, "repeat")
    if isinstance(repeats, Tensor):
        return _repeat_counts(x, repeats, axis)
    if not isinstance(repeats, int) or isinstance(repeats, bool) or repeats < 0:
        raise TypeError(f"repeat() takes a non-negative int or an integer array of counts, got {repeats!r}")
    if axis is not None:
        _normalize_axis(axis, x.ndim)
    return apply("repeat", (x,), {"repeats": repeats, "axis": axis})


def _repeat_counts(x, repeats, axis):
    dev = x._dev
    if repeats._dev is not dev:
        raise ValueError(f"repeat(): repeats is on {repeats._dev} but x is on {dev}; move one of them")
    if not is_kind(repeats.dtype, "integral"):
        raise TypeError(f"repeat(): repeats must have an integer dtype, got {repeats.dtype}")
    n = _prod(x.shape) if axis is None else x.shape[_normalize_axis(axis, x.ndim)]
    # The result's length depends on the counts' values, so they are read to the host
    # here, once (a lazy library computes them), and which element each output position
    # copies is worked out there, with the host array's own namespace.
    from array_api_compat import array_namespace

    host = dev.backend.to_numpy(repeats._data)
    hxp = array_namespace(host)
    counts = hxp.broadcast_to(hxp.reshape(host, (-1,)), (n,))
    if hxp.any(counts < 0):
        raise ValueError("repeat(): repeats must be non-negative")
    raw, _ = _from_data(hxp.repeat(hxp.arange(n), counts), None, dev)
    return apply("repeat", (x,), {"repeats": repeats._data, "axis": axis, "index": raw})


def tile(x, repetitions, /):
    """``x`` repeated as a whole ``repetitions[i]`` times along each axis ``i`` (the
    shorter of ``x.shape`` and ``repetitions`` is padded with leading ones).
    """
    reps = _ints(repetitions, "repetitions")
    reps = (reps,) if isinstance(reps, int) else reps
    return apply("tile", (_tensor(x, "tile"),), {"repetitions": reps})
