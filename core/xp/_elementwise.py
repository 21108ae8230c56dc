"""Elementwise functions of the standard, each dispatching the registered op of its name."""
from xpgrad.dispatch import apply

__all__ = ["add", "subtract", "multiply", "divide", "pow", "maximum", "minimum", "equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "negative", "positive", "exp", "log", "sqrt", "sin", "cos", "tanh", "abs", "sign", "where"]


def _unary(name):
    def fn(x, /):
        return apply(name, (x,))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise ``{name}``, differentiable (see ``python -m xpgrad``)."
    return fn


def _binary(name):
    def fn(x1, x2, /):
        return apply(name, (x1, x2))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise ``{name}`` with broadcasting."
    return fn


# ---------------------------------------------------------------------- elementwise

add = _binary("add")
subtract = _binary("subtract")
multiply = _binary("multiply")
divide = _binary("divide")
pow = _binary("pow")
maximum = _binary("maximum")
minimum = _binary("minimum")
equal = _binary("equal")
not_equal = _binary("not_equal")
less = _binary("less")
less_equal = _binary("less_equal")
greater = _binary("greater")
greater_equal = _binary("greater_equal")
negative = _unary("negative")
positive = _unary("positive")
exp = _unary("exp")
log = _unary("log")
sqrt = _unary("sqrt")
sin = _unary("sin")
cos = _unary("cos")
tanh = _unary("tanh")
abs = _unary("abs")
sign = _unary("sign")


def where(condition, x1, x2, /):
    """``x1`` where ``condition`` is true, else ``x2``; differentiable in both."""
    return apply("where", (condition, x1, x2))
