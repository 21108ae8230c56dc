"""Elementwise ops: arithmetic, powers, exponentials, trigonometry, comparisons.

Rules are written with the array API's operators where the standard has one: an
operator costs about half a namespace call on NumPy, and it works the same on raw
arrays, on Python scalars and on Tensors (under ``create_graph``). Broadcasting is the
engine's business: a rule returns the cotangent in the broadcast shape and the engine
sums it down to each argument's shape.
"""
import math

from xpgrad.plugins import Op, hookimpl

_SCALARS = (int, float, complex)


def _zeros(xp, g):
    return xp.zeros_like(g)


# ---------------------------------------------------------------------- arithmetic


def _pow_base(xp, g, x1, x2):
    if isinstance(x2, _SCALARS):
        if x2 == 0:
            return _zeros(xp, g)
        if x2 == 1:
            return g
        if x2 == 2:
            return g * (2 * x1)
        return g * (x2 * x1 ** (x2 - 1))
    return g * (x2 * x1 ** (x2 - 1))


def _pow_exponent(xp, g, x1, out):
    # d(x1 ** x2)/dx2 = out * log(x1). Where x1 == 0 and x2 >= 0 the limit is 0, not
    # 0 * -inf = nan (PyTorch's convention); a Python-scalar base is a constant.
    if isinstance(x1, _SCALARS):
        if x1 == 0:
            return _zeros(xp, g)
        return g * (out * math.log(x1))
    safe = xp.where(x1 == 0, xp.ones_like(x1), x1)
    return xp.where(x1 == 0, _zeros(xp, g), g * (out * xp.log(safe)))


def _divide_denominator(xp, g, x1, x2):
    return -g * x1 / (x2 * x2)


# ---------------------------------------------------------------------- extrema


def _max_first(xp, g, x1, x2):
    # Ties share the gradient equally, as PyTorch's maximum/minimum do.
    return xp.where(x1 > x2, g, xp.where(x1 == x2, g / 2, _zeros(xp, g)))


def _max_second(xp, g, x1, x2):
    return xp.where(x2 > x1, g, xp.where(x1 == x2, g / 2, _zeros(xp, g)))


def _min_first(xp, g, x1, x2):
    return xp.where(x1 < x2, g, xp.where(x1 == x2, g / 2, _zeros(xp, g)))


def _min_second(xp, g, x1, x2):
    return xp.where(x2 < x1, g, xp.where(x1 == x2, g / 2, _zeros(xp, g)))


def _select(xp, g, condition, first):
    z = _zeros(xp, g)
    return xp.where(condition, g, z) if first else xp.where(condition, z, g)


def _comparison(name, forward):
    return Op(name, forward, None, doc=f"elementwise {name.replace('_', ' ')}; bool, not differentiable")


@hookimpl
def xpgrad_ops():
    return [
        # ----- arithmetic
        Op("add", lambda xp, x1, x2: x1 + x2,
           vjp={"x1": lambda xp, g: g, "x2": lambda xp, g: g},
           node_name="AddBackward", doc="x1 + x2"),
        Op("subtract", lambda xp, x1, x2: x1 - x2,
           vjp={"x1": lambda xp, g: g, "x2": lambda xp, g: -g},
           node_name="SubBackward", doc="x1 - x2"),
        Op("multiply", lambda xp, x1, x2: x1 * x2,
           vjp={"x1": lambda xp, g, x2: g * x2, "x2": lambda xp, g, x1: g * x1},
           node_name="MulBackward", doc="x1 * x2"),
        Op("divide", lambda xp, x1, x2: x1 / x2,
           vjp={"x1": lambda xp, g, x2: g / x2, "x2": _divide_denominator},
           node_name="DivBackward", doc="x1 / x2"),
        Op("negative", lambda xp, x: -x, vjp={"x": lambda xp, g: -g},
           node_name="NegBackward", doc="-x"),
        Op("positive", lambda xp, x: +x, vjp={"x": lambda xp, g: g}, doc="+x"),
        Op("pow", lambda xp, x1, x2: x1 ** x2,
           vjp={"x1": _pow_base, "x2": _pow_exponent}, doc="x1 ** x2, tensor or scalar exponent"),
        # ----- exponentials, roots
        Op("exp", lambda xp, x: xp.exp(x), vjp={"x": lambda xp, g, out: g * out}, doc="e ** x"),
        Op("log", lambda xp, x: xp.log(x), vjp={"x": lambda xp, g, x: g / x}, doc="natural logarithm"),
        Op("sqrt", lambda xp, x: xp.sqrt(x), vjp={"x": lambda xp, g, out: g / (2 * out)},
           doc="square root; its gradient at 0 is inf, as in PyTorch"),
        # ----- trigonometric, hyperbolic
        Op("sin", lambda xp, x: xp.sin(x), vjp={"x": lambda xp, g, x: g * xp.cos(x)}, doc="sine"),
        Op("cos", lambda xp, x: xp.cos(x), vjp={"x": lambda xp, g, x: -g * xp.sin(x)}, doc="cosine"),
        Op("tanh", lambda xp, x: xp.tanh(x), vjp={"x": lambda xp, g, out: g * (1 - out * out)},
           doc="hyperbolic tangent"),
        # ----- magnitude and sign
        Op("abs", lambda xp, x: xp.abs(x), vjp={"x": lambda xp, g, x: g * xp.sign(x)},
           doc="absolute value; subgradient 0 at 0"),
        Op("sign", lambda xp, x: xp.sign(x), None, doc="-1, 0 or 1; not differentiable"),
        Op("maximum", lambda xp, x1, x2: xp.maximum(x1, x2),
           vjp={"x1": _max_first, "x2": _max_second}, doc="elementwise larger; ties split the gradient"),
        Op("minimum", lambda xp, x1, x2: xp.minimum(x1, x2),
           vjp={"x1": _min_first, "x2": _min_second}, doc="elementwise smaller; ties split the gradient"),
        Op("where", lambda xp, condition, x1, x2: xp.where(condition, x1, x2),
           vjp={"x1": lambda xp, g, condition: _select(xp, g, condition, True),
                "x2": lambda xp, g, condition: _select(xp, g, condition, False)},
           doc="x1 where condition holds, else x2"),
        # ----- comparisons: bool results, no gradient
        _comparison("equal", lambda xp, x1, x2: x1 == x2),
        _comparison("not_equal", lambda xp, x1, x2: x1 != x2),
        _comparison("less", lambda xp, x1, x2: x1 < x2),
        _comparison("less_equal", lambda xp, x1, x2: x1 <= x2),
        _comparison("greater", lambda xp, x1, x2: x1 > x2),
        _comparison("greater_equal", lambda xp, x1, x2: x1 >= x2),
    ]
