"""Bitwise and logical ops: integer and bool results, none of them differentiable.

``bitwise_*`` take integer or bool arrays, ``logical_*`` bool arrays (the standard's
dtypes); either argument of a binary one may be a Python scalar. Their results never
require grad, since no floating-point Tensor flows through them.
"""
from xpgrad.plugins import Op, hookimpl


def _constant(name, forward, doc):
    return Op(name, forward, None, doc=f"{doc}; not differentiable")


@hookimpl
def xpgrad_ops():
    return [
        _constant("bitwise_and", lambda xp, x1, x2: xp.bitwise_and(x1, x2), "x1 & x2, integer or bool"),
        _constant("bitwise_or", lambda xp, x1, x2: xp.bitwise_or(x1, x2), "x1 | x2, integer or bool"),
        _constant("bitwise_xor", lambda xp, x1, x2: xp.bitwise_xor(x1, x2), "x1 ^ x2, integer or bool"),
        _constant("bitwise_invert", lambda xp, x: xp.bitwise_invert(x), "~x, integer or bool"),
        _constant("bitwise_left_shift", lambda xp, x1, x2: xp.bitwise_left_shift(x1, x2),
                  "x1 << x2, integer; x2 >= 0"),
        _constant("bitwise_right_shift", lambda xp, x1, x2: xp.bitwise_right_shift(x1, x2),
                  "x1 >> x2, integer (arithmetic shift); x2 >= 0"),
        _constant("logical_and", lambda xp, x1, x2: xp.logical_and(x1, x2), "x1 and x2, bool"),
        _constant("logical_or", lambda xp, x1, x2: xp.logical_or(x1, x2), "x1 or x2, bool"),
        _constant("logical_xor", lambda xp, x1, x2: xp.logical_xor(x1, x2), "x1 xor x2, bool"),
        _constant("logical_not", lambda xp, x: xp.logical_not(x), "not x, bool"),
    ]
