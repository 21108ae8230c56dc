"""xpgrad's dtype objects: one per data type, the same whatever the device.

``Tensor.dtype``, ``xpgrad.float64`` and ``xpgrad.xp.float64`` are all the one object,
so ``x.dtype == xp.float64`` holds for a Tensor on NumPy, array-api-strict, dask, torch
or any other backend, and a dtype can key a dict across devices. Each object compares
equal to every library's dtype object of its type (``numpy.float64``, ``torch.float64``,
``array_api_strict.float64``) and to its name (``"float64"``), so code that compares with
a library's own dtypes keeps working; NumPy also accepts one wherever it takes a dtype.
Each backend maps the object to its own dtype when it computes
(:func:`xpgrad.resolve_dtype`).
"""
import re

__all__ = ["dtype", "dtype_name", "is_kind", "kind_of", "of_native", "STANDARD_NAMES", "BY_NAME", "KIND_BY_ID"]

# The array API standard's dtypes, and float16 (PyTorch's half, which most libraries have):
# a name outside them (NumPy's float128, object) is refused rather than passed through.
STANDARD_NAMES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                  "float16", "float32", "float64", "complex64", "complex128")

_NAME_IN_TEXT = re.compile(r"\b(bool|u?int(?:8|16|32|64)|float(?:16|32|64)|complex(?:64|128))\b")

_ITEMSIZE = {"bool": 1, "int8": 1, "uint8": 1, "int16": 2, "uint16": 2, "float16": 2, "int32": 4,
             "uint32": 4, "float32": 4, "int64": 8, "uint64": 8, "float64": 8, "complex64": 8,
             "complex128": 16}


def dtype_name(dt):
    """The standard's name of a dtype object of any library (or of a dtype name), or
    None when ``dt`` is not one of the standard's dtypes (or float16)."""
    if isinstance(dt, dtype):
        return dt.name
    if isinstance(dt, str):
        return dt if dt in STANDARD_NAMES else None
    known = _BY_ID.get(id(dt))
    if known is not None:
        return known.name if isinstance(known, dtype) else None
    name = getattr(dt, "name", None) or getattr(dt, "__name__", None)
    if isinstance(name, str) and name in STANDARD_NAMES:
        return name
    # A dtype object without a name attribute (array_api_strict's, torch's) is known by
    # the name in its text: ``array_api_strict.float64``, ``torch.float64``. Only a dtype
    # object: not a Python type or value, nor an array (whose text may name its dtype).
    if "dtype" not in type(dt).__name__.lower():
        return None
    found = _NAME_IN_TEXT.search(str(dt))
    return found.group(1) if found is not None else None


class dtype:
    """A data type of xpgrad, such as ``xpgrad.float32``.

    Equal to every library's dtype object of that type, and to its name; each backend
    maps it to its own.
    """

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name  #: The standard's name of the type, ``"float64"``.

    def __repr__(self):
        return f"xpgrad.{self.name}"

    def __str__(self):
        return self.name

    def __eq__(self, other):
        if other is self:
            return True
        if isinstance(other, dtype):
            return other.name == self.name
        if isinstance(other, str):
            return other == self.name
        return dtype_name(other) == self.name

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(self.name)

    @property
    def itemsize(self):
        """Bytes per element."""
        return _ITEMSIZE[self.name]

    @property
    def is_floating_point(self):
        """Whether the type is a real floating-point one (PyTorch's attribute)."""
        return self.name in ("float16", "float32", "float64")

    @property
    def is_complex(self):
        """Whether the type is a complex floating-point one (PyTorch's attribute)."""
        return self.name in ("complex64", "complex128")

    @property
    def dtype(self):
        """NumPy's dtype of the type (how NumPy takes this object as a dtype)."""
        # NumPy takes an object with a ``dtype`` attribute wherever it takes a dtype, so
        # ``numpy.zeros(3, dtype=x.dtype)`` and ``numpy.dtype("float64") == x.dtype`` work.
        import numpy

        return numpy.dtype(self.name)

    def __reduce__(self):
        return (_by_name, (self.name,))


BY_NAME = {name: dtype(name) for name in STANDARD_NAMES}


def _by_name(name):
    return BY_NAME[name]


# A library's dtype objects -> xpgrad's, by the object's id: one lookup, where hashing
# would compare libraries' objects that hash alike (array_api_strict's hash as NumPy's,
# and warn when compared with another's) and NumPy's ``name`` takes microseconds. The
# objects are held, so that each id stays theirs.
_BY_ID = {}
_HELD = []


def of_native(native):
    """xpgrad's dtype for a library's dtype object (the object itself when it is none of
    the standard's types, say NumPy's float128)."""
    found = _BY_ID.get(id(native))
    if found is None:
        name = dtype_name(native)
        found = BY_NAME[name] if name is not None else native
        _HELD.append(native)
        _BY_ID[id(native)] = found
    return found


_KINDS = {
    "bool": frozenset({"bool"}),
    "signed integer": frozenset({"int8", "int16", "int32", "int64"}),
    "unsigned integer": frozenset({"uint8", "uint16", "uint32", "uint64"}),
    "integral": frozenset({"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}),
    "real floating": frozenset({"float16", "float32", "float64"}),
    "complex floating": frozenset({"complex64", "complex128"}),
}
_KINDS["numeric"] = _KINDS["integral"] | _KINDS["real floating"] | _KINDS["complex floating"]


def is_kind(dt, kind):
    """Whether ``dt`` (any library's dtype object, or xpgrad's) is of ``kind``: a kind
    name of the standard (``"real floating"``), a dtype, or a tuple of them. Known by
    name, so no library is asked."""
    if isinstance(kind, tuple):
        return any(is_kind(dt, k) for k in kind)
    name = dtype_name(dt)
    if isinstance(kind, str) and kind in _KINDS:
        return name in _KINDS[kind]
    other = dtype_name(kind)
    if other is None:
        raise ValueError(f"unknown dtype kind {kind!r}; the kinds are {sorted(_KINDS)}, or a dtype")
    return name == other


# The kind of each dtype object seen, by its id (held in _HELD): what a forward asks on
# the hot path, in one lookup (``KIND_BY_ID.get(id(dt)) or kind_of(dt)``).
KIND_BY_ID = {}
_KIND_ORDER = ("bool", "signed integer", "unsigned integer", "real floating", "complex floating")


def kind_of(dt):
    """The standard's kind of ``dt`` (any library's dtype object, or xpgrad's): ``"bool"``,
    ``"signed integer"``, ``"unsigned integer"``, ``"real floating"``, ``"complex
    floating"``, or ``"other"`` for a type outside the standard."""
    found = KIND_BY_ID.get(id(dt))
    if found is None:
        name = dtype_name(dt)
        found = next((k for k in _KIND_ORDER if name in _KINDS[k]), "other")
        _HELD.append(dt)
        KIND_BY_ID[id(dt)] = found
    return found
