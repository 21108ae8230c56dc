"""Discrete Fourier transforms: fft, ifft, fftn, ifftn, rfft, irfft, rfftn, irfftn.

Every transform is linear, so its JVP is the same transform of the tangent and its VJP
is the adjoint transform of the cotangent. With ``y = c F P x`` (``P`` crops or zero-pads
``x`` to ``n`` along the axis, ``F`` is the unnormalised DFT, ``c`` is 1, ``1/sqrt(n)`` or
``1/n`` by ``norm``), the adjoint is ``P^T c F^H``: the opposite transform with the dual
normalisation (``"backward"`` <-> ``"forward"``, ``"ortho"`` <-> ``"ortho"``), then the
adjoint of the crop (a zero-pad) or of the pad (a crop) back to the input's length.

Gradients follow PyTorch's complex convention: for a real loss ``L`` of a complex
``z = x + iy`` the gradient is ``dL/dx + i dL/dy``; for the linear map ``z -> A z`` it is
``A^H g``. The real-to-complex and complex-to-real transforms are real-linear:

- ``rfft`` keeps the first ``n//2 + 1`` outputs of the full transform of a real input:
  its VJP zero-pads the cotangent to ``n``, takes the adjoint complex transform and keeps
  the real part (the input is real).
- ``irfft`` reads only the Hermitian half ``h`` (``n//2 + 1`` entries) and, as the
  backends do, ignores the imaginary parts of ``h[0]`` and (``n`` even) ``h[n/2]``; every
  other entry stands for itself and its mirrored conjugate. Its VJP is ``rfft`` of the
  real cotangent with the dual normalisation, those other entries doubled, then cropped
  or padded back to the input's length (PyTorch's rule).
- ``rfftn`` and ``irfftn`` are these on the last transformed axis, with full complex
  transforms on the other axes.

``hfft``, ``ihfft``, ``fftshift`` and ``ifftshift`` are composed in ``xpgrad.xp.fft`` of
these ops, ``conj`` and ``roll``; ``fftfreq`` and ``rfftfreq`` are creation functions.

Every rule is written with the standard's functions and registered ops only, so it runs
on raw arrays in plain backward and records itself under ``create_graph``. The forward
is the backend library's own ``fft`` namespace; its result is cast to the standard's
dtype where the library widens it (complex64 input gives complex64, float32 gives
complex64, complex64 to real gives float32).
"""
from xpgrad.dispatch import call
from xpgrad.plugins import Op, hookimpl
from xpgrad.plugins.arrays import device_of

from .linalg import backend_extension

# The adjoint of a transform normalised by ``norm`` is normalised by its dual.
DUAL_NORM = {"backward": "forward", "forward": "backward", "ortho": "ortho"}

# The complex transforms' adjoints (up to the normalisation): the inverse transforms.
_INVERSE = {"fft": "ifft", "ifft": "fft", "fftn": "ifftn", "ifftn": "fftn"}


# ---------------------------------------------------------------------- the backend's transforms


def backend_fft(xp, name):
    """The backend's ``fft.<name>``, or an error saying that this library lacks it."""
    return backend_extension(xp, "fft", name)


def _one_chunk(x, axes):
    """``x`` held in one chunk along ``axes``. A chunked array (dask's) is transformed
    only along axes it holds whole, and the zero-padding of a gradient (``concat``)
    splits an axis in two; merging them back costs nothing on an unchunked array."""
    chunks = getattr(x, "chunks", None)
    rechunk = getattr(x, "rechunk", None)
    if rechunk is None or not isinstance(chunks, tuple):
        return x
    split = {a: -1 for a in axes if len(chunks[a]) > 1}
    return rechunk(split) if split else x


def _standard_dtype(xp, out, like, complex_result):
    """``out`` in the dtype the standard asks for: complex (or real) of ``like``'s
    precision. Some libraries widen single precision (NumPy before 2.0)."""
    single = like == xp.float32 or like == xp.complex64
    if complex_result:
        want = xp.complex64 if single else xp.complex128
    else:
        want = xp.float32 if single else xp.float64
    return out if out.dtype == want else xp.astype(out, want)


def _transform(name, complex_result=True):
    """The forward of the one-axis transform ``name``."""

    def forward(xp, x, *, n=None, axis=-1, norm="backward"):
        x = _one_chunk(x, (axis % x.ndim,))
        out = backend_fft(xp, name)(x, n=n, axis=axis, norm=norm)
        return _standard_dtype(xp, out, x.dtype, complex_result)

    return forward


def _transform_n(name, complex_result=True):
    """The forward of the n-axis transform ``name``."""

    def forward(xp, x, *, s=None, axes=None, norm="backward"):
        x = _one_chunk(x, _axes(s, axes, x.ndim))
        out = backend_fft(xp, name)(x, s=s, axes=axes, norm=norm)
        return _standard_dtype(xp, out, x.dtype, complex_result)

    return forward


# ---------------------------------------------------------------------- helpers (both modes)


def _axes(s, axes, ndim):
    """The transformed axes, in ``range(ndim)``: ``axes``, else the last ``len(s)``, else
    all (the libraries' reading of ``s`` without ``axes``)."""
    if axes is None:
        return tuple(range(ndim - len(s), ndim)) if s is not None else tuple(range(ndim))
    return tuple(a % ndim for a in axes)


def resize(xp, x, axis, size):
    """``x`` cropped or zero-padded at the end of ``axis`` to ``size``: what a transform
    does to its input for ``n``/``s``, and the adjoint of the opposite."""
    have = x.shape[axis]
    if size == have:
        return x
    if size < have:
        return x[(slice(None),) * axis + (slice(0, size), Ellipsis)]
    shape = tuple(x.shape[:axis]) + (size - have,) + tuple(x.shape[axis + 1:])
    return xp.concat([x, xp.zeros(shape, dtype=x.dtype, device=device_of(x))], axis=axis)


def _resize_axes(xp, x, axes, shape):
    for a in axes:
        x = resize(xp, x, a, shape[a])
    return x


def hermitian_weights(xp, h, axis, n):
    """The weights that turn ``rfft(g)`` into the VJP of a length-``n`` ``irfft``: 1 for
    the zero frequency and (``n`` even) the Nyquist one, which ``irfft`` reads once; 2
    for the others, which also stand for their mirrored conjugates. Shaped to broadcast
    against ``h`` along ``axis``, in ``h``'s dtype."""
    m = n // 2 + 1
    doubled = n - n // 2 - 1  # entries 1 .. doubled
    w = [1.0] + [2.0] * doubled + [1.0] * (m - 1 - doubled)
    shape = (m,) + (1,) * (h.ndim - 1 - axis)
    return xp.reshape(xp.asarray(w, dtype=h.dtype, device=device_of(h)), shape)


# ---------------------------------------------------------------------- VJP rules


def _c2c_vjp(name):
    """The VJP of the complex transform ``name``: its inverse with the dual norm, then
    back to the input's length."""
    inverse = _INVERSE[name]

    def rule(xp, g, x_shape, axis, norm):
        ax = axis % len(x_shape)
        z = call(xp, inverse, g, n=g.shape[ax], axis=ax, norm=DUAL_NORM[norm])
        return resize(xp, z, ax, x_shape[ax])

    return rule


def _c2c_n_vjp(name):
    inverse = _INVERSE[name]

    def rule(xp, g, x_shape, s, axes, norm):
        axes = _axes(s, axes, len(x_shape))
        z = call(xp, inverse, g, s=tuple(g.shape[a] for a in axes), axes=axes, norm=DUAL_NORM[norm])
        return _resize_axes(xp, z, axes, x_shape)

    return rule


def _rfft_vjp(xp, g, x_shape, n, axis, norm):
    # The half spectrum zero-padded to the full length n (ifft's own n= pads it), the
    # adjoint complex transform, the real part (the input is real).
    ax = axis % len(x_shape)
    n = x_shape[ax] if n is None else n
    z = call(xp, "ifft", g, n=n, axis=ax, norm=DUAL_NORM[norm])
    return resize(xp, xp.real(z), ax, x_shape[ax])


def _rfftn_vjp(xp, g, x_shape, s, axes, norm):
    axes = _axes(s, axes, len(x_shape))
    s = tuple(x_shape[a] for a in axes) if s is None else tuple(s)
    z = call(xp, "ifftn", g, s=s, axes=axes, norm=DUAL_NORM[norm])
    return _resize_axes(xp, xp.real(z), axes, x_shape)


def _irfft_vjp(xp, g, x_shape, axis, norm):
    ax = axis % len(x_shape)
    n = g.shape[ax]  # the output's length
    h = call(xp, "rfft", g, n=n, axis=ax, norm=DUAL_NORM[norm])
    return resize(xp, h * hermitian_weights(xp, h, ax, n), ax, x_shape[ax])


def _irfftn_vjp(xp, g, x_shape, s, axes, norm):
    axes = _axes(s, axes, len(x_shape))
    out_s = tuple(g.shape[a] for a in axes)
    h = call(xp, "rfftn", g, s=out_s, axes=axes, norm=DUAL_NORM[norm])
    # The weights act on the last axis only: they commute with the other axes' transforms.
    return _resize_axes(xp, h * hermitian_weights(xp, h, axes[-1], out_s[-1]), axes, x_shape)


# ---------------------------------------------------------------------- JVP rules


@hookimpl
def xpgrad_ops():
    return [
        Op("fft", _transform("fft"), vjp={"x": _c2c_vjp("fft")}, jvp="linear",
           node_name="FftC2CBackward",
           doc=("The one-dimensional discrete Fourier transform of complex ``x`` along ``axis``, over ``n`` elements "
                "(``x`` cropped or zero-padded to ``n``); the VJP is ``ifft`` with the dual norm.")),
        Op("ifft", _transform("ifft"), vjp={"x": _c2c_vjp("ifft")}, jvp="linear",
           node_name="FftC2CBackward",
           doc=("The one-dimensional inverse discrete Fourier transform of complex ``x``; the VJP is ``fft`` with the "
                "dual norm.")),
        Op("fftn", _transform_n("fftn"), vjp={"x": _c2c_n_vjp("fftn")}, jvp="linear",
           node_name="FftC2CBackward",
           doc=("The n-dimensional discrete Fourier transform of complex ``x`` over ``axes`` (all if None), each "
                "cropped or zero-padded to its length in ``s``; the VJP is ``ifftn`` with the dual norm.")),
        Op("ifftn", _transform_n("ifftn"), vjp={"x": _c2c_n_vjp("ifftn")}, jvp="linear",
           node_name="FftC2CBackward",
           doc=("The n-dimensional inverse discrete Fourier transform of complex ``x``; the VJP is ``fftn`` with the "
                "dual norm.")),
        Op("rfft", _transform("rfft"), vjp={"x": _rfft_vjp}, jvp="linear",
           node_name="FftR2CBackward",
           doc=("The one-dimensional transform of real ``x``: the ``n//2 + 1`` non-negative frequencies, complex of "
                "``x``'s precision; the VJP is the real part of the zero-padded ``ifft``.")),
        Op("irfft", _transform("irfft", complex_result=False), vjp={"x": _irfft_vjp},
           jvp="linear", node_name="FftC2RBackward",
           doc=("The inverse of ``rfft``: a real signal of length ``n`` (default ``2 * (M - 1)``) from its ``n//2 + "
                "1`` non-negative frequencies (``x`` cropped or zero-padded to them). The imaginary parts of the zero "
                "and (``n`` even) Nyquist frequencies are not read, so they get no gradient.")),
        Op("rfftn", _transform_n("rfftn"), vjp={"x": _rfftn_vjp}, jvp="linear",
           node_name="FftR2CBackward",
           doc=("The n-dimensional transform of real ``x``: full transforms over all but the last of ``axes``, the "
                "non-negative frequencies (``s[-1]//2 + 1``) over the last.")),
        Op("irfftn", _transform_n("irfftn", complex_result=False), vjp={"x": _irfftn_vjp},
           jvp="linear", node_name="FftC2RBackward",
           doc=("The inverse of ``rfftn``: a real array of lengths ``s`` over ``axes`` (the last by default ``2 * (M "
                "- 1)``).")),
    ]
