"""Utility functions: ``all`` and ``any``, boolean reductions, not differentiable.

(``diff`` is composed in ``xpgrad.xp`` from slicing and ``subtract``, so its gradient
and forward-mode tangent come from those ops.)
"""
from xpgrad.plugins import Op, hookimpl


@hookimpl
def xpgrad_ops():
    return [
        Op("all", lambda xp, x, *, axis=None, keepdims=False: xp.all(x, axis=axis, keepdims=keepdims),
           None, doc="Whether every element over ``axis`` is true (nonzero); not differentiable."),
        Op("any", lambda xp, x, *, axis=None, keepdims=False: xp.any(x, axis=axis, keepdims=keepdims),
           None, doc="Whether some element over ``axis`` is true (nonzero); not differentiable."),
    ]
