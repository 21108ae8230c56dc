"""Shape helpers shared by the reduction and indexing rules (pure Python, no arrays)."""

__all__ = ["normalize_axes", "kept_shape", "count", "restore_reduced", "device_of"]


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
