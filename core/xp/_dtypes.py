"""Data-type functions and the dtype objects of the standard.

Dtype objects and queries are the default device's backend's own, so they compare
equal to ``Tensor.dtype`` on that backend."""
from xpgrad.device import get_device
from xpgrad.tensor import Tensor

__all__ = ["isdtype", "result_type", "can_cast", "finfo", "iinfo"]


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


def dtype_or_constant(name):
    if name in _DTYPES:
        return getattr(_ns(), name)
    if name in ("e", "pi", "inf", "nan", "newaxis"):
        import math

        return {"e": math.e, "pi": math.pi, "inf": math.inf, "nan": math.nan, "newaxis": None}[name]
    raise AttributeError(name)
