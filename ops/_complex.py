"""Complex values in the rules: which values are complex, and conjugating only those.

Every rule module asks the same question (is this cotangent, input or scalar complex?)
on its hot path, so it is answered here once, cheaply: by the dtype's name (every
backend's complex dtypes say ``complex``), cached per dtype object. The name, not
``xp.isdtype``: under ``create_graph`` a rule's ``xp`` is ``xpgrad.xp``, whose dtype
queries ask the default device, which need not be the device of the value.
"""

__all__ = ["is_complex", "conj"]

_REAL_SCALARS = (int, float, bool)

# id(dtype) -> (dtype, is complex). Keyed by identity, so that dtypes of different
# libraries are never compared (array-api-strict warns when they are); the dtype is kept
# with its answer, so its id cannot be reused by another object while it is cached.
_COMPLEX_BY_ID = {}


def is_complex(a):
    """Whether ``a`` (a backend array, a Tensor or a Python scalar) holds complex values."""
    kind = type(a)
    if kind in _REAL_SCALARS:
        return False
    if kind is complex:
        return True
    dtype = a.dtype
    known = _COMPLEX_BY_ID.get(id(dtype))
    if known is None:
        known = _COMPLEX_BY_ID[id(dtype)] = (dtype, "complex" in str(dtype))
    return known[1]


def conj(xp, a):
    """``conj(a)`` for complex values, ``a`` itself for real ones (no pass over it)."""
    if not is_complex(a):
        return a
    if type(a) is complex:
        return a.conjugate()
    return xp.conj(a)
