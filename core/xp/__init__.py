"""``xpgrad.xp``: the differentiable array API namespace.

``Tensor.__array_namespace__()`` returns this module, so code written against the
standard (``xp = array_namespace(x)``) records a graph when handed Tensors. The engine
also runs every VJP rule with this namespace under ``create_graph=True``, which is how
gradients of gradients come for free. Functions keep the standard's signatures
(positional-only arrays, keyword-only options); each one dispatches a registered op.

Functions whose result is not differentiable (comparisons, ``sign``, creation) return
Tensors that do not require grad.
"""
from xpgrad.device import get_device
from xpgrad.dispatch import apply
from xpgrad.tensor import Tensor

from . import linalg

__array_api_version__ = "2024.12"

__all__ = [
    "linalg", "add", "subtract", "multiply", "divide", "negative", "positive", "pow", "exp",
    "log", "sqrt", "sin", "cos", "tanh", "abs", "sign", "maximum", "minimum", "where",
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "sum", "mean",
    "matmul", "matrix_transpose", "reshape", "permute_dims", "broadcast_to", "expand_dims",
    "squeeze", "astype", "asarray", "zeros", "ones", "empty", "full", "eye", "arange",
    "zeros_like", "ones_like", "empty_like", "full_like", "isdtype", "result_type", "can_cast",
    "finfo", "iinfo",
]


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


# ---------------------------------------------------------------------- statistical


def sum(x, /, *, axis=None, dtype=None, keepdims=False):
    return apply("sum", (x,), {"axis": axis, "dtype": dtype, "keepdims": keepdims})


def mean(x, /, *, axis=None, keepdims=False):
    return apply("mean", (x,), {"axis": axis, "keepdims": keepdims})


# ---------------------------------------------------------------------- linear algebra

matmul = linalg.matmul
matrix_transpose = linalg.matrix_transpose


# ---------------------------------------------------------------------- manipulation


def reshape(x, /, shape, *, copy=None):
    return apply("reshape", (x,), {"shape": tuple(shape)})


def permute_dims(x, /, axes):
    return apply("permute_dims", (x,), {"axes": tuple(axes)})


def broadcast_to(x, /, shape):
    return apply("broadcast_to", (x,), {"shape": tuple(shape)})


def expand_dims(x, /, *, axis=0):
    return apply("expand_dims", (x,), {"axis": axis})


def squeeze(x, /, axis):
    return apply("squeeze", (x,), {"axis": axis})


def astype(x, dtype, /, *, copy=True, device=None):
    if device is not None:
        x = x.to_device(device)  # an explicit move, recorded (see xpgrad.transfer)
    from xpgrad.creation import resolve_dtype

    dtype = resolve_dtype(dtype, x._dev)
    if dtype == x.dtype and not copy:
        return x
    return apply("astype", (x,), {"dtype": dtype})


# ---------------------------------------------------------------------- creation


def _dev(device, like=None):
    if device is None and like is not None:
        return like._dev
    return get_device(device)


def asarray(obj, /, *, dtype=None, device=None, copy=None):
    if isinstance(obj, Tensor) and dtype in (None, obj.dtype) and device in (None, obj.device) \
            and not copy:
        return obj
    from xpgrad.creation import _from_data

    raw, dev = _from_data(obj, dtype, device)
    return Tensor(raw, dev)


def _make(fn, *args, dtype=None, device=None, like=None):
    dev = _dev(device, like)
    return Tensor(getattr(dev.xp, fn)(*args, dtype=dtype, device=dev.native), dev)


def zeros(shape, *, dtype=None, device=None):
    return _make("zeros", shape, dtype=dtype, device=device)


def ones(shape, *, dtype=None, device=None):
    return _make("ones", shape, dtype=dtype, device=device)


def empty(shape, *, dtype=None, device=None):
    return _make("empty", shape, dtype=dtype, device=device)


def full(shape, fill_value, *, dtype=None, device=None):
    return _make("full", shape, fill_value, dtype=dtype, device=device)


def eye(n_rows, n_cols=None, /, *, k=0, dtype=None, device=None):
    dev = _dev(device)
    return Tensor(dev.xp.eye(n_rows, n_cols, k=k, dtype=dtype, device=dev.native), dev)


def arange(start, /, stop=None, step=1, *, dtype=None, device=None):
    return _make("arange", start, stop, step, dtype=dtype, device=device)


def _like(fn, x, *args, dtype, device):
    dev = _dev(device, x)
    return Tensor(getattr(dev.xp, fn)(x._data, *args, dtype=dtype, device=dev.native), dev)


def zeros_like(x, /, *, dtype=None, device=None):
    return _like("zeros_like", x, dtype=dtype, device=device)


def ones_like(x, /, *, dtype=None, device=None):
    return _like("ones_like", x, dtype=dtype, device=device)


def empty_like(x, /, *, dtype=None, device=None):
    return _like("empty_like", x, dtype=dtype, device=device)


def full_like(x, /, fill_value, *, dtype=None, device=None):
    return _like("full_like", x, fill_value, dtype=dtype, device=device)


# ---------------------------------------------------------------------- data types
# Dtype objects and queries are the default device's backend's own, so they compare
# equal to ``Tensor.dtype`` on that backend.


def _ns(x=None):
    return x._dev.xp if isinstance(x, Tensor) else get_device(None).xp


def isdtype(dtype, kind):
    return _ns().isdtype(dtype, kind)


def result_type(*arrays_and_dtypes):
    raw = [a._data if isinstance(a, Tensor) else a for a in arrays_and_dtypes]
    return _ns().result_type(*raw)


def can_cast(from_, to, /):
    return _ns().can_cast(from_._data if isinstance(from_, Tensor) else from_, to)


def finfo(type, /):
    return _ns().finfo(type._data if isinstance(type, Tensor) else type)


def iinfo(type, /):
    return _ns().iinfo(type._data if isinstance(type, Tensor) else type)


_DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
           "float32", "float64", "complex64", "complex128")


def __getattr__(name):
    if name in _DTYPES:
        return getattr(_ns(), name)
    if name in ("e", "pi", "inf", "nan", "newaxis"):
        import math

        return {"e": math.e, "pi": math.pi, "inf": math.inf, "nan": math.nan, "newaxis": None}[name]
    raise AttributeError(f"module 'xpgrad.xp' has no attribute {name!r}")
