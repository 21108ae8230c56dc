"""Data-type functions, the dtype objects and the constants of the standard.

The dtype objects (``xpgrad.xp.float64``) are xpgrad's own (:mod:`xpgrad.dtypes`), the
same object as ``Tensor.dtype`` on every device, and equal to every library's dtype of
that type. The functions here accept any backend's dtypes, xpgrad's and Tensors of any
device alike: a dtype is known by its name, so ``isdtype(array_api_strict.float64,
"real floating")`` holds on NumPy too. What they return (``result_type``, ``finfo().dtype``)
is xpgrad's dtype.
"""
import math

from xpgrad.device import get_device
from xpgrad.dispatch import batched
from xpgrad.dtypes import BY_NAME, dtype_name, of_native
from xpgrad.tensor import Tensor

__all__ = ["can_cast", "finfo", "iinfo", "isdtype", "result_type"]

DTYPE_NAMES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
               "float32", "float64", "complex64", "complex128")
CONSTANTS = {"e": math.e, "inf": math.inf, "nan": math.nan, "newaxis": None, "pi": math.pi}


def _ns(dev=None):
    return (dev or get_device(None)).xp


def _dtype_name(dtype):
    """The standard's name of a dtype object of any backend (or of an xpgrad dtype name)."""
    found = dtype_name(dtype)
    if found is None or found == "float16":  # float16 is xpgrad's, not the standard's
        raise TypeError(f"{dtype!r} is not a dtype of the array API standard")
    return found


def _native(dtype, dev=None):
    """``dtype`` (any backend's dtype object or a dtype name) as the backend's own dtype
    object on ``dev`` (the default device). Known by name: comparing dtypes of two
    libraries is not something the standard supports (array_api_strict warns)."""
    return getattr(_ns(dev), _dtype_name(dtype))


def isdtype(dtype, kind):
    """Whether ``dtype`` is of ``kind``: a kind name (``"real floating"``), a dtype, or a
    tuple of them."""
    ns = _ns()
    if isinstance(kind, tuple):
        kind = tuple(k if isinstance(k, str) else _native(k) for k in kind)
    elif not isinstance(kind, str):
        kind = _native(kind)
    return ns.isdtype(_native(dtype), kind)


def result_type(*arrays_and_dtypes):
    """The dtype that type promotion gives for arrays, dtypes and Python scalars.

    At least one argument must be an array or a dtype; Python scalars (2024.12) take
    the kind of the arrays they are combined with.
    """
    if not arrays_and_dtypes:
        raise ValueError("result_type() needs at least one array or dtype")
    dev = next((a._dev for a in arrays_and_dtypes if isinstance(a, Tensor) or batched(a)), None)
    if not any(isinstance(a, Tensor) or not isinstance(a, (bool, int, float, complex))
               for a in arrays_and_dtypes):
        raise ValueError("result_type() needs at least one array or dtype besides Python scalars")
    raw = []
    for a in arrays_and_dtypes:
        if isinstance(a, Tensor) or batched(a):
            raw.append(_native(a.dtype, dev))
        elif isinstance(a, (bool, int, float, complex)):
            raw.append(a)
        else:
            raw.append(_native(a, dev))
    return of_native(_ns(dev).result_type(*raw))


def can_cast(from_, to, /):
    """Whether ``from_`` (a dtype or an array) can be cast to ``to`` by the promotion rules."""
    if isinstance(from_, Tensor) or batched(from_):
        from_ = from_.dtype
    return _ns().can_cast(_native(from_), _native(to))


class finfo_object:
    """What :func:`finfo` returns: the standard's attributes, as Python numbers (NumPy's
    own finfo holds NumPy scalars, which a float32 type makes ``numpy.float32``)."""

    __slots__ = ("bits", "eps", "max", "min", "smallest_normal", "dtype")

    def __init__(self, info, dtype):
        self.bits = int(info.bits)
        for name in ("eps", "max", "min", "smallest_normal"):
            setattr(self, name, float(getattr(info, name)))
        self.dtype = dtype

    def __repr__(self):
        return (f"finfo(bits={self.bits}, eps={self.eps}, max={self.max}, min={self.min}, "
                f"smallest_normal={self.smallest_normal}, dtype={self.dtype})")


def finfo(type, /):
    """Machine limits of a floating-point dtype (or of an array's dtype), as Python floats."""
    dev = type._dev if isinstance(type, Tensor) or batched(type) else None
    if dev is not None:
        type = type.dtype
    info = _ns(dev).finfo(_native(type, dev))
    # The real dtype of the limits: float32 for complex64, as the standard has it.
    return finfo_object(info, of_native(_native(getattr(info, "dtype", type), dev)))


class iinfo_object:
    """What :func:`iinfo` returns: the standard's attributes, as Python ints."""

    __slots__ = ("bits", "max", "min", "dtype")

    def __init__(self, info, dtype):
        self.bits, self.max, self.min = int(info.bits), int(info.max), int(info.min)
        self.dtype = dtype

    def __repr__(self):
        return f"iinfo(bits={self.bits}, max={self.max}, min={self.min}, dtype={self.dtype})"


def iinfo(type, /):
    """Machine limits of an integer dtype (or of an array's dtype), as Python ints."""
    dev = type._dev if isinstance(type, Tensor) or batched(type) else None
    if dev is not None:
        type = type.dtype
    return iinfo_object(_ns(dev).iinfo(_native(type, dev)), BY_NAME[_dtype_name(type)])


def dtype_or_constant(name):
    """A dtype object (xpgrad's, the same on every device), or a constant, by name."""
    if name in DTYPE_NAMES:
        return BY_NAME[name]
    if name in CONSTANTS:
        return CONSTANTS[name]
    raise AttributeError(name)
