"""``xpgrad.xp.fft``: the standard's Fourier transform extension (2025.12), differentiable.

Each function keeps the standard's signature. The transforms dispatch registered ops
(see ``xpgrad.ops.fft`` for the gradient conventions of the real-to-complex and
complex-to-real transforms); ``hfft`` and ``ihfft`` are composed of ``irfft``/``rfft`` and
``conj``, ``fftshift`` and ``ifftshift`` of ``roll``; ``fftfreq`` and ``rfftfreq`` are
creation functions (constants on the requested device).

Arguments are checked here, so that a wrong one is reported in the standard's terms:
``fft``, ``ifft``, ``fftn``, ``ifftn``, ``irfft``, ``irfftn`` and ``hfft`` take complex
input, ``rfft``, ``rfftn`` and ``ihfft`` real input; lengths are positive; ``s`` needs
``axes`` and one length per axis (``-1``: the input's own length). The ops receive the
lengths and axes resolved (non-negative axes, no ``None``).
"""
import numbers

from xpgrad.creation import resolve_dtype
from xpgrad.device import get_device
from xpgrad.dispatch import apply
from xpgrad.dtypes import is_kind
from xpgrad.tensor import Tensor

from ._dtypes import _dtype_name
from ._elementwise import conj
from ._info import __array_namespace_info__
from ._manipulation import roll
from .linalg import _tensor

__all__ = ["fft", "ifft", "fftn", "ifftn", "rfft", "irfft", "rfftn", "irfftn", "hfft", "ihfft",
           "fftfreq", "rfftfreq", "fftshift", "ifftshift"]

_NORMS = ("backward", "ortho", "forward")

# hfft and ihfft are irfft and rfft of the conjugate with the opposite normalisation.
_SWAPPED = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


# ---------------------------------------------------------------------- argument checks


def _expect(name, x, kind):
    """``x`` (a Tensor) has a dtype of ``kind``: ``"complex floating"`` or ``"real floating"``."""
    if is_kind(x.dtype, kind):
        return
    got = _dtype_name(x.dtype)
    if kind == "complex floating":
        hint = ("convert it first, e.g. xp.astype(x, xp.complex128) (complex64 keeps single "
                "precision)")
    elif is_kind(x.dtype, "complex floating"):
        hint = "for complex input use the complex transforms (fft, fftn)"
    else:
        hint = "convert it first, e.g. xp.astype(x, xp.float64)"
    article = "a complex" if kind == "complex floating" else "a real"
    raise TypeError(f"{name}: x must have {article} floating-point dtype, got {got}; {hint}")


def _norm(name, norm):
    if norm not in _NORMS:
        raise ValueError(f"{name}: norm must be 'backward', 'ortho' or 'forward', got {norm!r}")


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _axis(name, x, axis):
    """``axis`` of ``x`` in ``range(x.ndim)``."""
    if not _is_int(axis):
        raise TypeError(f"{name}: an axis must be an integer, got {axis!r}")
    nd = x.ndim
    if nd == 0:
        raise ValueError(f"{name}: x is 0-dimensional; a transform needs an array with at least one axis")
    if not -nd <= axis < nd:
        raise ValueError(f"{name}: axis {axis} is out of range for x of shape {tuple(x.shape)}; "
                         f"it must be in [-{nd}, {nd})")
    return axis % nd


def _length(name, n, what="n"):
    if not _is_int(n):
        raise TypeError(f"{name}: {what} must be an integer, got {n!r}")
    if n < 1:
        raise ValueError(f"{name}: {what} must be a positive integer (the transform's length), got {n}")
    return n


def _sequence(name, value, what):
    """``value``, a sequence of ints (``s``, ``axes``), as a tuple."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name}: {what} must be a sequence of integers, got {value!r}")
    return tuple(value)


def _unique_axes(name, x, axes):
    """Each axis of ``axes`` in ``range(x.ndim)``, none twice."""
    out = tuple(_axis(name, x, a) for a in axes)
    for i, a in enumerate(out):
        if a in out[:i]:
            raise ValueError(f"{name}: axes {tuple(axes)} name axis {a} twice; each axis can be "
                             "transformed once")
    return out


def _half_default(name, size, ax, what):
    """The default output length ``2 * (M - 1)`` of irfft, irfftn and hfft, which must be
    positive."""
    if size < 2:
        raise ValueError(f"{name}: x has {size} element(s) along axis {ax}, so the default output "
                         f"length 2 * ({size} - 1) is not positive; pass {what} explicitly")
    return 2 * (size - 1)


def _checked(name, x, norm, kind):
    x = _tensor(x, name)
    _expect(name, x, kind)
    _norm(name, norm)
    return x


def _one_axis(name, x, n, axis, norm, kind, output_length=False):
    """Check a one-axis transform's arguments: ``(x, n, axis)`` resolved. With
    ``output_length``, ``n`` is the output's length (irfft, hfft): default ``2 * (M - 1)``."""
    x = _checked(name, x, norm, kind)
    ax = _axis(name, x, axis)
    if n is None:
        n = _half_default(name, x.shape[ax], ax, "n") if output_length else x.shape[ax]
    return x, _length(name, n), ax


def _transformed_axes(name, x, s, axes):
    """``axes`` resolved: all of ``x``'s if None (then ``s`` must be None too)."""
    if axes is None:
        if s is not None:
            raise ValueError(f"{name}: s was given without axes; the standard asks for both "
                             "(axes=tuple(range(-len(s), 0)) names the last len(s) axes)")
        if x.ndim == 0:
            raise ValueError(f"{name}: x is 0-dimensional; a transform needs an array with at least one axis")
        return tuple(range(x.ndim))
    axes = _unique_axes(name, x, _sequence(name, axes, "axes"))
    if not axes:
        raise ValueError(f"{name}: axes is empty; name at least one axis to transform")
    return axes


def _n_axes(name, x, s, axes, norm, kind, output_length=False):
    """Check an n-axis transform's arguments: ``(x, s, axes)`` resolved, one length per
    axis (``-1`` or None: the input's own). With ``output_length`` (irfftn), the last
    length is the output's: default ``2 * (M - 1)``."""
    x = _checked(name, x, norm, kind)
    axes = _transformed_axes(name, x, s, axes)
    s = (-1,) * len(axes) if s is None else _sequence(name, s, "s")
    if len(s) != len(axes):
        raise ValueError(f"{name}: s has {len(s)} lengths for the {len(axes)} axes {axes}; "
                         "give one length per axis (-1 keeps an axis's length)")
    sizes = []
    for i, (size, a) in enumerate(zip(s, axes)):
        if size == -1:
            last = output_length and i == len(axes) - 1
            size = _half_default(name, x.shape[a], a, "s") if last else x.shape[a]
        sizes.append(_length(name, size, f"s[{i}]"))
    return x, tuple(sizes), axes


def _one(name, x, n, axis, norm, kind, output_length=False):
    x, n, ax = _one_axis(name, x, n, axis, norm, kind, output_length)
    return apply(name, (x,), {"n": n, "axis": ax, "norm": norm})


def _nd(name, x, s, axes, norm, kind, output_length=False):
    x, s, axes = _n_axes(name, x, s, axes, norm, kind, output_length)
    return apply(name, (x,), {"s": s, "axes": axes, "norm": norm})


# ---------------------------------------------------------------------- complex transforms


def fft(x, /, *, n=None, axis=-1, norm="backward"):
    """The one-dimensional discrete Fourier transform of complex ``x`` along ``axis``, over
    ``n`` elements (``x`` cropped or zero-padded to ``n``); the VJP is ``ifft`` with the
    dual norm.
    """
    return _one("fft", x, n, axis, norm, "complex floating")


def ifft(x, /, *, n=None, axis=-1, norm="backward"):
    """The one-dimensional inverse discrete Fourier transform of complex ``x``; the VJP is
    ``fft`` with the dual norm.
    """
    return _one("ifft", x, n, axis, norm, "complex floating")


def fftn(x, /, *, s=None, axes=None, norm="backward"):
    """The n-dimensional discrete Fourier transform of complex ``x`` over ``axes`` (all if
    None), each cropped or zero-padded to its length in ``s``; the VJP is ``ifftn`` with
    the dual norm.
    """
    return _nd("fftn", x, s, axes, norm, "complex floating")


def ifftn(x, /, *, s=None, axes=None, norm="backward"):
    """The n-dimensional inverse discrete Fourier transform of complex ``x``; the VJP is
    ``fftn`` with the dual norm.
    """
    return _nd("ifftn", x, s, axes, norm, "complex floating")


# ---------------------------------------------------------------------- real input, real output


def rfft(x, /, *, n=None, axis=-1, norm="backward"):
    """The one-dimensional transform of real ``x``: the ``n//2 + 1`` non-negative
    frequencies, complex of ``x``'s precision; the VJP is the real part of the
    zero-padded ``ifft``.
    """
    return _one("rfft", x, n, axis, norm, "real floating")


def irfft(x, /, *, n=None, axis=-1, norm="backward"):
    """The inverse of ``rfft``: a real signal of length ``n`` (default ``2 * (M - 1)``)
    from its ``n//2 + 1`` non-negative frequencies (``x`` cropped or zero-padded to
    them). The imaginary parts of the zero and (``n`` even) Nyquist frequencies are not
    read, so they get no gradient.
    """
    return _one("irfft", x, n, axis, norm, "complex floating", output_length=True)


def rfftn(x, /, *, s=None, axes=None, norm="backward"):
    """The n-dimensional transform of real ``x``: full transforms over all but the last of
    ``axes``, the non-negative frequencies (``s[-1]//2 + 1``) over the last.
    """
    return _nd("rfftn", x, s, axes, norm, "real floating")


def irfftn(x, /, *, s=None, axes=None, norm="backward"):
    """The inverse of ``rfftn``: a real array of lengths ``s`` over ``axes`` (the last by
    default ``2 * (M - 1)``).
    """
    return _nd("irfftn", x, s, axes, norm, "complex floating", output_length=True)


def hfft(x, /, *, n=None, axis=-1, norm="backward"):
    """The transform of a signal with Hermitian symmetry, given by its first half ``x``:
    real, of length ``n`` (default ``2 * (M - 1)``). It is ``irfft(conj(x))`` with the
    opposite normalisation, and differentiable through them."""
    x, n, ax = _one_axis("hfft", x, n, axis, norm, "complex floating", output_length=True)
    return apply("irfft", (conj(x),), {"n": n, "axis": ax, "norm": _SWAPPED[norm]})


def ihfft(x, /, *, n=None, axis=-1, norm="backward"):
    """The inverse of ``hfft`` for real ``x``: ``n//2 + 1`` complex values. It is
    ``conj(rfft(x))`` with the opposite normalisation, and differentiable through them."""
    x, n, ax = _one_axis("ihfft", x, n, axis, norm, "real floating")
    return conj(apply("rfft", (x,), {"n": n, "axis": ax, "norm": _SWAPPED[norm]}))


# ---------------------------------------------------------------------- frequencies


def _frequencies(name, n, d, dtype, device, half):
    """``[0, 1, ..., -1] / (d * n)`` (``half``: the non-negative ones) on ``device``."""
    if not _is_int(n):
        raise TypeError(f"{name}: n (the window length) must be an integer, got {n!r}")
    if n < 1:
        raise ValueError(f"{name}: n (the window length) must be positive, got {n}")
    if isinstance(d, bool) or not isinstance(d, numbers.Real):
        raise TypeError(f"{name}: d (the sample spacing) must be a real number, got {d!r}")
    if d == 0:
        raise ValueError(f"{name}: d (the sample spacing) must be nonzero, got {d!r}")
    dev = get_device(device)
    dt = resolve_dtype(dtype, dev)
    if dt is None:
        dt = resolve_dtype(__array_namespace_info__().default_dtypes(device=dev)["real floating"], dev)
    elif not is_kind(dt, "real floating"):
        raise TypeError(f"{name}: dtype must be a real floating-point dtype, got {_dtype_name(dt)}")
    bxp = dev.xp
    k = bxp.arange(n // 2 + 1 if half else n, device=dev.native)
    if not half:  # the negative frequencies follow the non-negative ones
        k = bxp.where(k < (n + 1) // 2, k, k - n)
    return Tensor(bxp.astype(k, dt) * (1.0 / (n * d)), dev)


def fftfreq(n, /, *, d=1.0, dtype=None, device=None):
    """The sample frequencies of a length-``n`` transform with sample spacing ``d``:
    ``[0, 1, ..., -2, -1] / (d * n)``; a constant (it never requires grad)."""
    return _frequencies("fftfreq", n, d, dtype, device, half=False)


def rfftfreq(n, /, *, d=1.0, dtype=None, device=None):
    """The sample frequencies of ``rfft``: ``[0, 1, ..., n//2] / (d * n)``; a constant."""
    return _frequencies("rfftfreq", n, d, dtype, device, half=True)


# ---------------------------------------------------------------------- shifts


def _shift_axes(name, x, axes):
    x = _tensor(x, name)
    if axes is None:
        return x, tuple(range(x.ndim))
    if _is_int(axes):
        axes = (axes,)
    return x, _unique_axes(name, x, _sequence(name, axes, "axes"))


def fftshift(x, /, *, axes=None):
    """``x`` with the zero frequency moved to the middle of ``axes`` (all if None): a
    ``roll`` by half of each axis's length."""
    x, axes = _shift_axes("fftshift", x, axes)
    if not axes:
        return roll(x, 0)
    return roll(x, tuple(x.shape[a] // 2 for a in axes), axis=axes)


def ifftshift(x, /, *, axes=None):
    """The inverse of ``fftshift`` (they differ by one sample on odd lengths)."""
    x, axes = _shift_axes("ifftshift", x, axes)
    if not axes:
        return roll(x, 0)
    return roll(x, tuple(-(x.shape[a] // 2) for a in axes), axis=axes)
