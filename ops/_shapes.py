"""Shape helpers shared by the reduction and indexing rules (pure Python, no arrays)."""

__all__ = ["normalize_axes", "normalize_axis", "kept_shape", "count", "restore_reduced", "device_of",
           "prod", "broadcast_shapes"]


def normalize_axes(axis, ndim):
    """``axis`` (None, an int or a tuple, negatives allowed) as a sorted tuple of ints."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    out = []
    for a in axis:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for an array of {ndim} dimension(s)")
        out.append(a % ndim if ndim else 0)
    return tuple(sorted(set(out)))


def kept_shape(shape, axis):
    """The shape a reduction over ``axis`` has with ``keepdims=True``."""
    axes = normalize_axes(axis, len(shape))
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def count(shape, axis):
    """How many elements a reduction over ``axis`` combines into each result."""
    n = 1
    for i in normalize_axes(axis, len(shape)):
        n *= shape[i]
    return n


def restore_reduced(xp, g, shape, axis, keepdims):
    """A reduction's cotangent ``g`` reshaped so that it broadcasts against the input."""
    if not keepdims:
        kept = kept_shape(shape, axis)
        if tuple(g.shape) != kept:
            g = xp.reshape(g, kept)
    return g


def device_of(x):
    """The device of a backend array or a Tensor, for creating arrays beside it."""
    from array_api_compat import device

    return device(x)


def normalize_axis(axis, ndim):
    """One ``axis`` (negatives allowed) as an int in ``range(ndim)``."""
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise TypeError(f"axis must be an integer, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of range for an array of {ndim} dimension(s)")
    return axis % ndim


def prod(shape):
    """The number of elements of an array of ``shape``."""
    n = 1
    for s in shape:
        n *= s
    return n


def broadcast_shapes(*shapes):
    """The shape arrays of ``shapes`` broadcast to, by the standard's rules."""
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for k in range(ndim):
        size = 1
        for s in shapes:
            d = s[k - ndim + len(s)] if k - ndim + len(s) >= 0 else 1
            if d != 1:
                if size not in (1, d):
                    raise ValueError(f"shapes {', '.join(str(tuple(s)) for s in shapes)} cannot be broadcast together")
                size = d
        out.append(size)
    return tuple(out)
