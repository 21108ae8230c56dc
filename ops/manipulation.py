"""Shape and layout: reshape, transpose, broadcast, expand/squeeze, dtype casts, copies.

Each of these moves or relabels elements without changing them, so every VJP is the
inverse movement applied to the cotangent.
"""
from xpgrad.plugins import Op, hookimpl


def _inverse_permutation(axes):
    inv = [0] * len(axes)
    for i, a in enumerate(axes):
        inv[a % len(axes)] = i
    return tuple(inv)


def _reshape_back(xp, g, x_shape):
    return xp.reshape(g, x_shape)


@hookimpl
def xpgrad_ops():
    return [
        Op("reshape", lambda xp, x, *, shape: xp.reshape(x, shape),
           vjp={"x": _reshape_back}, node_name="ViewBackward", doc="the same elements in a new shape"),
        Op("permute_dims", lambda xp, x, *, axes: xp.permute_dims(x, axes),
           vjp={"x": lambda xp, g, axes: xp.permute_dims(g, _inverse_permutation(axes))},
           node_name="PermuteBackward", doc="reorder the axes"),
        Op("broadcast_to", lambda xp, x, *, shape: xp.broadcast_to(x, shape),
           vjp={"x": lambda xp, g: g},  # the engine sums over the broadcast axes
           node_name="ExpandBackward", doc="broadcast to a shape"),
        Op("expand_dims", lambda xp, x, *, axis=0: xp.expand_dims(x, axis=axis),
           vjp={"x": _reshape_back}, node_name="UnsqueezeBackward", doc="insert a length-1 axis"),
        Op("squeeze", lambda xp, x, *, axis: xp.squeeze(x, axis=axis),
           vjp={"x": _reshape_back}, doc="remove length-1 axes"),
        Op("astype", lambda xp, x, *, dtype: xp.astype(x, dtype),
           vjp={"x": lambda xp, g: g},  # the engine casts back to the input's dtype
           node_name="ToCopyBackward", doc="convert to another dtype"),
        Op("clone", lambda xp, x: xp.asarray(x, copy=True),
           vjp={"x": lambda xp, g: g}, doc="a copy with its own storage"),
    ]
