"""Reductions: sum and mean over any axes, with or without kept dimensions."""
from xpgrad.plugins import Op, hookimpl

from ._shapes import count, restore_reduced


def _sum_vjp(xp, g, x_shape, axis, keepdims):
    return xp.broadcast_to(restore_reduced(xp, g, x_shape, axis, keepdims), x_shape)


def _mean_vjp(xp, g, x_shape, axis, keepdims):
    g = restore_reduced(xp, g, x_shape, axis, keepdims) / count(x_shape, axis)
    return xp.broadcast_to(g, x_shape)


@hookimpl
def xpgrad_ops():
    return [
        # The node names are the ones the PyTorch tutorials print for a full reduction.
        Op("sum", lambda xp, x, *, axis=None, keepdims=False, dtype=None:
           xp.sum(x, axis=axis, keepdims=keepdims, dtype=dtype),
           vjp={"x": _sum_vjp}, node_name="SumBackward0", doc="sum over axis (all if None)"),
        Op("mean", lambda xp, x, *, axis=None, keepdims=False: xp.mean(x, axis=axis, keepdims=keepdims),
           vjp={"x": _mean_vjp}, node_name="MeanBackward1", doc="mean over axis (all if None)"),
    ]
