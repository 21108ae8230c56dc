"""Helpers for writing an op's forward and rules against the array API standard.

Part of the contract, for built-in and third-party op plugins (and the backends) alike:
plain Python and the standard's functions, nothing of the engine's.

- shapes and axes: :func:`normalize_axis`, :func:`normalize_axes`, :func:`kept_shape`,
  :func:`count`, :func:`restore_reduced`, :func:`prod`, :func:`broadcast_shapes`,
  :func:`expect_matrices`, :func:`svd_sizes`;
- several arrays as one op's result: :func:`pack` and :func:`unpack`;
- complex values: :func:`is_complex`, :func:`conj` (a conjugate only where the values
  are complex, at no cost for real ones);
- indexing keys: :func:`key_items`, :func:`has_integer_array`;
- where an array lives: :func:`device_of`.

Whether a value is complex is asked on every rule's hot path, so it is answered by the
dtype's name (every backend's complex dtypes say ``complex``), cached per dtype object.
The name, not ``xp.isdtype``: under ``create_graph`` a rule's ``xp`` is ``xpgrad.xp``,
whose dtype queries ask the default device, which need not be the device of the value.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    #: A reduction's ``axis``: None (every axis), one axis, or several.
    Axes = int | Sequence[int] | None

__all__ = ["normalize_axes", "normalize_axis", "kept_shape", "count", "restore_reduced", "broadcast_reduced",
           "device_of", "prod", "broadcast_shapes", "expect_matrices", "svd_sizes", "pack",
           "unpack", "is_complex", "conj", "key_items", "has_integer_array"]



def normalize_axes(axis: Axes, ndim: int) -> tuple[int, ...]:
    """``axis`` (None, an int or a tuple, negatives allowed) as a sorted tuple of ints."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    out = []
    for a in axis:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for an array of {ndim} dimension(s)")
        out.append(a % ndim if ndim else 0)
    return tuple(sorted(set(out)))


def kept_shape(shape: Sequence[int], axis: Axes) -> tuple[int, ...]:
    """The shape a reduction over ``axis`` has with ``keepdims=True``."""
    axes = normalize_axes(axis, len(shape))
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def count(shape: Sequence[int], axis: Axes) -> int:
    """How many elements a reduction over ``axis`` combines into each result."""
    n = 1
    for i in normalize_axes(axis, len(shape)):
        n *= shape[i]
    return n


def restore_reduced(xp: Any, g: Any, shape: Sequence[int], axis: Axes, keepdims: bool) -> Any:
    """A reduction's cotangent ``g`` reshaped so that it broadcasts against the input."""
    if not keepdims:
        kept = kept_shape(shape, axis)
        if tuple(g.shape) != kept:
            g = xp.reshape(g, kept)
    return g


def broadcast_reduced(xp: Any, g: Any, shape: Sequence[int], axis: Axes, keepdims: bool) -> Any:
    """A reduction's cotangent ``g`` broadcast back to the input's ``shape`` (a view). The
    reshape that :func:`restore_reduced` does is skipped where the reduced axes lead, as
    for a full reduction: broadcasting lines shapes up from the right already."""
    if not keepdims and normalize_axes(axis, len(shape)) == tuple(range(len(shape) - g.ndim)):
        return xp.broadcast_to(g, tuple(shape))
    return xp.broadcast_to(restore_reduced(xp, g, shape, axis, keepdims), tuple(shape))


def device_of(x: Any) -> Any:
    """The device of a backend array or a Tensor, for creating arrays beside it."""
    from array_api_compat import device

    return device(x)


def normalize_axis(axis: int, ndim: int) -> int:
    """One ``axis`` (negatives allowed) as an int in ``range(ndim)``."""
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise TypeError(f"axis must be an integer, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of range for an array of {ndim} dimension(s)")
    return axis % ndim


def prod(shape: Iterable[int]) -> int:
    """The number of elements of an array of ``shape``."""
    n = 1
    for s in shape:
        n *= s
    return n


def broadcast_shapes(*shapes: Sequence[int]) -> tuple[int, ...]:
    """The shape arrays of ``shapes`` broadcast to, by the standard's rules."""
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for k in range(ndim):
        size = 1
        for s in shapes:
            d = s[k - ndim + len(s)] if k - ndim + len(s) >= 0 else 1
            if d != 1:
                if size not in (1, d):
                    raise ValueError(f"shapes {', '.join(str(tuple(s)) for s in shapes)} cannot be broadcast together")
                size = d
        out.append(size)
    return tuple(out)


def expect_matrices(name: str, x: Any, square: bool = False) -> None:
    """Raise a ValueError naming ``name`` unless ``x`` holds (square) matrices."""
    if x.ndim < 2 or square and x.shape[-1] != x.shape[-2]:
        what = "square matrices (..., M, M)" if square else "matrices (..., M, N)"
        raise ValueError(f"{name} takes {what}, got shape {tuple(x.shape)}")


def svd_sizes(shape: Sequence[int], full_matrices: bool) -> tuple[int, int, int, int, int]:
    """``m, n, k, ku, kv`` for matrices of ``shape`` ``(..., m, n)``: ``k`` singular
    values, ``ku`` columns of ``U`` and ``kv`` rows of ``Vh``."""
    m, n = shape[-2], shape[-1]
    k = min(m, n)
    return m, n, k, (m if full_matrices else k), (n if full_matrices else k)


# ---------------------------------------------------------------------- packed results
# An op returns one array; where one function's several results must reach one VJP rule
# together (the SVD of a complex matrix), the op returns them packed side by side, and
# its caller takes them apart by differentiable slicing.


def pack(xp: Any, arrays: Sequence[Any], batch_ndim: int) -> Any:
    """``arrays``, which share their first ``batch_ndim`` (batch) axes, each flattened past
    them and joined along one last axis, all in the first one's dtype. :func:`unpack`
    undoes it."""
    first = arrays[0]
    batch = tuple(first.shape[:batch_ndim])
    flat = [xp.reshape(a, batch + (prod(tuple(a.shape[batch_ndim:])),)) for a in arrays]
    return xp.concat([f if f.dtype == first.dtype else xp.astype(f, first.dtype) for f in flat], axis=-1)


def unpack(xp: Any, packed: Any, tails: Iterable[Sequence[int]]) -> list[Any]:
    """The arrays of :func:`pack`'s result ``packed``: one per shape in ``tails`` (each
    array's shape past the batch axes), in order."""
    batch = tuple(packed.shape[:-1])
    out, start = [], 0
    for tail in tails:
        size = prod(tuple(tail))
        out.append(xp.reshape(packed[..., start:start + size], batch + tuple(tail)))
        start += size
    return out


# ---------------------------------------------------------------------- complex values

_REAL_SCALARS = (int, float, bool)

# id(dtype) -> (dtype, is complex). Keyed by identity, so that dtypes of different
# libraries are never compared (array-api-strict warns when they are); the dtype is kept
# with its answer, so its id cannot be reused by another object while it is cached.
_COMPLEX_BY_ID: dict[int, tuple[Any, bool]] = {}


def is_complex(a: Any) -> bool:
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


def conj(xp: Any, a: Any) -> Any:
    """``conj(a)`` for complex values, ``a`` itself for real ones (no pass over it)."""
    if not is_complex(a):
        return a
    if type(a) is complex:
        return a.conjugate()
    return xp.conj(a)


# ---------------------------------------------------------------------- indexing keys


def key_items(key: Any) -> tuple[Any, ...]:
    """An indexing key as a tuple of its items."""
    return key if isinstance(key, tuple) else (key,)


def has_integer_array(xp: Any, key: Any) -> bool:
    """Whether ``key`` holds an integer array (the only kind of index that can repeat)."""
    return any(hasattr(k, "dtype") and not xp.isdtype(k.dtype, "bool") for k in key_items(key))
