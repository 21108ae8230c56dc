"""Elementwise functions of the standard (2024.12), each dispatching the registered op of
its name.

Arrays are positional-only, as in the standard. Either argument of a binary function
may be a Python scalar (the other must be a Tensor). Which functions are differentiable,
and their conventions at kinks and for complex numbers, is documented with each op
(``python -m xpgrad`` lists them).
"""
from xpgrad.dispatch import apply
from xpgrad.plugins.arrays import is_complex
from xpgrad.tensor import Tensor

_UNARY = {
    "abs": "Absolute value; for complex z, |z| (gradient g * z / |z|, 0 at 0).",
    "acos": "Inverse cosine, in [0, pi].",
    "acosh": "Inverse hyperbolic cosine, for x >= 1.",
    "asin": "Inverse sine, in [-pi/2, pi/2].",
    "asinh": "Inverse hyperbolic sine.",
    "atan": "Inverse tangent, in [-pi/2, pi/2].",
    "atanh": "Inverse hyperbolic tangent, for -1 < x < 1.",
    "bitwise_invert": "Bitwise NOT of an integer or bool array; not differentiable.",
    "ceil": "Smallest integer-valued number >= x; not differentiable.",
    "conj": "Complex conjugate (the identity on real arrays).",
    "cos": "Cosine.",
    "cosh": "Hyperbolic cosine.",
    "exp": "e ** x.",
    "expm1": "exp(x) - 1, accurate for x near 0.",
    "floor": "Largest integer-valued number <= x; not differentiable.",
    "imag": "Imaginary part of a complex array.",
    "isfinite": "Whether each element is finite; bool, not differentiable.",
    "isinf": "Whether each element is +-infinity; bool, not differentiable.",
    "isnan": "Whether each element is NaN; bool, not differentiable.",
    "log": "Natural logarithm.",
    "log1p": "log(1 + x), accurate for x near 0.",
    "log2": "Base-2 logarithm.",
    "log10": "Base-10 logarithm.",
    "logical_not": "Logical NOT of a bool array; not differentiable.",
    "negative": "-x.",
    "positive": "+x.",
    "real": "Real part (the identity on real arrays).",
    "reciprocal": "1 / x.",
    "round": "Round to the nearest integer-valued number, halves to even; not differentiable.",
    "sign": "-1, 0 or 1, not differentiable; for complex z, z / |z| (0 at 0), differentiable (op sgn).",
    "signbit": "Whether the sign bit is set; bool, not differentiable.",
    "sin": "Sine.",
    "sinh": "Hyperbolic sine.",
    "square": "x * x.",
    "sqrt": "Square root; its gradient at 0 is inf, as in PyTorch.",
    "tan": "Tangent.",
    "tanh": "Hyperbolic tangent.",
    "trunc": "Round toward zero; not differentiable.",
}

_BINARY = {
    "add": "x1 + x2.",
    "atan2": "The angle of the point (x2, x1), in [-pi, pi]; subgradient 0 at the origin.",
    "bitwise_and": "Bitwise AND of integer or bool arrays; not differentiable.",
    "bitwise_left_shift": "x1 << x2 for integer arrays; not differentiable.",
    "bitwise_or": "Bitwise OR of integer or bool arrays; not differentiable.",
    "bitwise_right_shift": "x1 >> x2 for integer arrays; not differentiable.",
    "bitwise_xor": "Bitwise XOR of integer or bool arrays; not differentiable.",
    "copysign": "|x1| with the sign of x2; differentiable in x1 only (zero gradient for x2).",
    "divide": "x1 / x2; the gradient for x2, -x1 / x2 / x2, does not underflow.",
    "equal": "x1 == x2; bool, not differentiable.",
    "floor_divide": "floor(x1 / x2); not differentiable.",
    "greater": "x1 > x2; bool, not differentiable.",
    "greater_equal": "x1 >= x2; bool, not differentiable.",
    "hypot": "sqrt(x1 ** 2 + x2 ** 2) without overflow; subgradient 0 at (0, 0).",
    "less": "x1 < x2; bool, not differentiable.",
    "less_equal": "x1 <= x2; bool, not differentiable.",
    "logaddexp": "log(exp(x1) + exp(x2)) without overflow; gradients sigmoid(x1 - x2) and sigmoid(x2 - x1).",
    "logical_and": "Logical AND of bool arrays; not differentiable.",
    "logical_or": "Logical OR of bool arrays; not differentiable.",
    "logical_xor": "Logical XOR of bool arrays; not differentiable.",
    "maximum": "The larger of x1 and x2; ties split the gradient equally.",
    "minimum": "The smaller of x1 and x2; ties split the gradient equally.",
    "multiply": "x1 * x2.",
    "nextafter": "The next representable value after x1 toward x2; not differentiable.",
    "not_equal": "x1 != x2; bool, not differentiable.",
    "pow": "x1 ** x2; d/dx1 is 0 where x2 == 0, and d/dx2 is 0 where x1 == 0 and x2 >= 0.",
    "remainder": "x1 % x2, with the sign of x2; gradients 1 and -floor(x1 / x2).",
    "subtract": "x1 - x2.",
}

__all__ = sorted(_UNARY) + sorted(_BINARY) + ["clip", "where"]


def _unary(name, doc):
    def fn(x, /):
        return apply(name, (x,))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"{doc}\n\nElementwise, on a Tensor; dispatches op ``{name}``."
    return fn


def _binary(name, doc):
    def fn(x1, x2, /):
        return apply(name, (x1, x2))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"{doc}\n\nElementwise with broadcasting; either argument may be a Python "
                  f"scalar. Dispatches op ``{name}``.")
    return fn


for _name, _doc in _UNARY.items():
    globals()[_name] = _unary(_name, _doc)
for _name, _doc in _BINARY.items():
    globals()[_name] = _binary(_name, _doc)
del _name, _doc


def sign(x, /):
    """-1, 0 or 1, elementwise; not differentiable (the result is a constant, as
    PyTorch's sign has a zero gradient). For complex ``z``, ``z / |z|`` (0 at 0),
    differentiable: op ``sgn``, PyTorch's ``sgn``.

    Dispatches op ``sign``, or op ``sgn`` for complex input."""
    return apply("sgn" if isinstance(x, Tensor) and is_complex(x) else "sign", (x,))


def clip(x, /, min=None, max=None):
    """``x`` limited to ``[min, max]``, elementwise.

    Parameters
    ----------
    x : Tensor
        A real-valued Tensor.
    min, max : Tensor or Python scalar or None
        The bounds; ``None`` leaves that side open. Tensor bounds broadcast against
        ``x`` and are differentiable too.

    Returns
    -------
    Tensor
        ``x``'s shape and dtype. The gradient passes to ``x`` where ``min <= x <= max``
        (the bounds included, as PyTorch's clamp does) and to the bound that gives the
        result elsewhere; where ``min > max`` the result is ``max``.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"clip: x must be a Tensor, got {type(x).__name__}; wrap it with xpgrad.tensor(...)")
    # An absent bound travels as a placeholder 0 that the op is told to ignore: the op
    # takes its bounds as array arguments, so that Tensor bounds get gradients.
    params = {"lower": min is not None, "upper": max is not None}
    return apply("clip", (x, 0 if min is None else min, 0 if max is None else max), params)


def where(condition, x1, x2, /):
    """``x1`` where ``condition`` is true, else ``x2``; differentiable in both.

    ``x1`` and ``x2`` may be Python scalars; ``condition`` is a bool Tensor.
    """
    return apply("where", (condition, x1, x2))
