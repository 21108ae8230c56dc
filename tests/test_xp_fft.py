"""The Fourier transform extension (``xpgrad.xp.fft``): values against NumPy's, first and
second derivatives against finite differences for every transform, normalisation,
crop, pad and axis choice, complex gradients (PyTorch's ``dL/dx + i dL/dy``) against
finite differences in the real and imaginary parts, the standard's dtypes, the
frequency and shift functions, and the errors for bad arguments.
"""
import numpy as np
import pytest

import xpgrad
from xpgrad import xp

from helpers import check, complex_gradient_check

F32 = xpgrad.float32
F64 = xpgrad.float64
C64 = xpgrad.complex64
C128 = xpgrad.complex128

NORMS = ("backward", "ortho", "forward")

# Finite differences cost one dask computation per perturbed element: slow there.


# ---------------------------------------------------------------------- input makers


def normal(*shape):
    return lambda device: xpgrad.randn(*shape, dtype=F64, device=device, requires_grad=True)


def _complex(a, b):
    """The complex ``a + ib`` of two real Tensors, differentiably in both."""
    return xp.astype(a, C128) + xp.astype(b, C128) * 1j


def _parts(y):
    """A complex result as its real and imaginary parts stacked (a real function whose
    every output the gradient checks see); a real result as it is."""
    if "complex" in str(y.dtype):
        return xp.stack([xp.real(y), xp.imag(y)])
    return y


def of_complex(fn, **kw):
    """``fn(a + ib, **kw)`` as a real function of ``a`` and ``b``."""
    return lambda a, b: _parts(fn(_complex(a, b), **kw))


def of_real(fn, **kw):
    return lambda a: _parts(fn(a, **kw))


def pair(*shape):
    """The makers of the real and imaginary parts of a complex input."""
    return normal(*shape), normal(*shape)


def each_norm(name, make, fn, inputs, **kw):
    """One case per normalisation mode."""
    return {f"{name}-{norm}": (make(fn, norm=norm, **kw), inputs) for norm in NORMS}


CASES = {
    # ----- complex to complex, one axis
    **each_norm("fft", of_complex, xp.fft.fft, pair(2, 4)),
    "fft-crop-axis0": (of_complex(xp.fft.fft, n=3, axis=0), pair(4, 2)),
    "fft-pad-ortho": (of_complex(xp.fft.fft, n=6, norm="ortho"), pair(2, 4)),
    "fft-batched-axis1": (of_complex(xp.fft.fft, axis=1, norm="forward"), pair(2, 3, 2)),
    **each_norm("ifft", of_complex, xp.fft.ifft, pair(2, 4)),
    "ifft-crop": (of_complex(xp.fft.ifft, n=3, norm="ortho"), pair(2, 5)),
    "ifft-pad-axis0": (of_complex(xp.fft.ifft, n=5, axis=0, norm="forward"), pair(3, 2)),
    # ----- complex to complex, several axes
    **each_norm("fftn", of_complex, xp.fft.fftn, pair(3, 4)),
    "fftn-axes": (of_complex(xp.fft.fftn, axes=(0, 2)), pair(2, 3, 3)),
    "fftn-crop-and-pad": (of_complex(xp.fft.fftn, s=(2, 5), axes=(1, 0), norm="ortho"), pair(3, 4)),
    "fftn-keep-one-length": (of_complex(xp.fft.fftn, s=(-1, 6), axes=[0, 1], norm="forward"), pair(2, 4)),
    **each_norm("ifftn", of_complex, xp.fft.ifftn, pair(3, 4)),
    "ifftn-last-axis-crop": (of_complex(xp.fft.ifftn, s=(3,), axes=(-1,)), pair(2, 4)),
    "ifftn-pad-batched": (of_complex(xp.fft.ifftn, s=(4, 3), axes=(1, 2), norm="ortho"), pair(2, 3, 2)),
    # ----- real to complex
    **each_norm("rfft", of_real, xp.fft.rfft, (normal(2, 5),)),
    "rfft-even": (of_real(xp.fft.rfft, norm="ortho"), (normal(2, 4),)),
    "rfft-crop-odd": (of_real(xp.fft.rfft, n=3), (normal(2, 4),)),
    "rfft-pad-axis0": (of_real(xp.fft.rfft, n=6, axis=0, norm="forward"), (normal(4, 2),)),
    **each_norm("rfftn", of_real, xp.fft.rfftn, (normal(3, 4),)),
    "rfftn-axes-last-first": (of_real(xp.fft.rfftn, axes=(2, 0)), (normal(2, 2, 3),)),
    "rfftn-crop-and-pad": (of_real(xp.fft.rfftn, s=(4, 3), axes=(0, 1), norm="ortho"), (normal(3, 4),)),
    **each_norm("ihfft", of_real, xp.fft.ihfft, (normal(2, 5),)),
    "ihfft-n-axis0": (of_real(xp.fft.ihfft, n=4, axis=0, norm="ortho"), (normal(3, 2),)),
    # ----- complex to real
    **each_norm("irfft", of_complex, xp.fft.irfft, pair(2, 4)),  # n = 6: a Nyquist entry
    "irfft-odd-crop": (of_complex(xp.fft.irfft, n=5, norm="ortho"), pair(2, 4)),
    "irfft-pad": (of_complex(xp.fft.irfft, n=8), pair(2, 3)),
    "irfft-axis0": (of_complex(xp.fft.irfft, n=4, axis=0, norm="forward"), pair(3, 2)),
    **each_norm("irfftn", of_complex, xp.fft.irfftn, pair(3, 3)),
    "irfftn-crop-odd": (of_complex(xp.fft.irfftn, s=(2, 5), axes=(1, 0)), pair(3, 4)),
    "irfftn-pad-even": (of_complex(xp.fft.irfftn, s=(3, 4), axes=(0, 1), norm="ortho"), pair(2, 2)),
    **each_norm("hfft", of_complex, xp.fft.hfft, pair(2, 4)),
    "hfft-odd": (of_complex(xp.fft.hfft, n=5, axis=0), pair(3, 2)),
    # ----- shifts
    "fftshift": (xp.fft.fftshift, (normal(3, 4),)),
    "fftshift-axis": (lambda a: xp.fft.fftshift(a, axes=1), (normal(2, 5),)),
    "ifftshift": (xp.fft.ifftshift, (normal(3, 4),)),
    "ifftshift-axes": (lambda a: xp.fft.ifftshift(a, axes=[0, 1]), (normal(3, 5),)),
    "ifftshift-of-fftshift-odd": (lambda a: xp.fft.ifftshift(xp.fft.fftshift(a) * a), (normal(5,),)),
}


def _params():
    return [pytest.param(fn, makers, id=name) for name, (fn, makers) in CASES.items()]


@pytest.mark.parametrize("fn, makers", _params())
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_gradients(fn, makers, device):
    check(fn, tuple(make(device) for make in makers))


# ---------------------------------------------------------------------- complex gradients

# Functions of one complex array: a transform that changes the length is followed by
# one that restores it, so that both the crop and the pad are seen; the real-input
# transforms see the real or the imaginary part, and their half spectra are weighted
# and transformed back.
COMPLEX = {
    "fft": (xp.fft.fft, (2, 4)),
    "fft-axis0-ortho": (lambda z: xp.fft.fft(z, axis=0, norm="ortho"), (3, 2)),
    "fft-crop-then-pad": (lambda z: xp.fft.fft(xp.fft.fft(z, n=3), n=4, norm="forward"), (2, 4)),
    "ifft-pad-then-crop": (lambda z: xp.fft.ifft(xp.fft.ifft(z, n=6), n=4), (2, 4)),
    "fftn": (lambda z: xp.fft.fftn(z, norm="ortho"), (2, 3)),
    "ifftn-pad-then-crop": (lambda z: xp.fft.ifftn(xp.fft.ifftn(z, s=(3, 5), axes=(0, 1)), s=(2, 4),
                                                   axes=(0, 1)), (2, 4)),
    "irfft-even-crop": (lambda z: xp.fft.irfft(z, n=4), (2, 4)),
    "irfft-odd": (lambda z: xp.fft.irfft(z, n=5, norm="ortho"), (2, 5)),
    "irfftn": (lambda z: xp.fft.irfftn(z, s=(2, 4), axes=(0, 1), norm="forward"), (2, 4)),
    "hfft": (lambda z: xp.fft.hfft(z, n=4), (2, 4)),
    "rfft-of-real-part": (lambda z: xp.fft.irfft(xp.fft.rfft(xp.real(z), norm="ortho") * (0.3 + 0.7j), n=4),
                          (2, 4)),
    "rfftn-of-real-part": (lambda z: xp.fft.irfftn(xp.fft.rfftn(xp.real(z)) * (0.3 + 0.7j), s=(2, 4),
                                                   axes=(0, 1)), (2, 4)),
    "ihfft-of-imaginary-part": (lambda z: xp.fft.hfft(xp.fft.ihfft(xp.imag(z)) * (0.3 + 0.7j), n=5),
                                (2, 5)),
    "fftshift": (xp.fft.fftshift, (3, 5)),
    "ifftshift-axis0": (lambda z: xp.fft.ifftshift(z, axes=0), (3, 5)),
    # The result's own length: the check weighs each output with weights of its shape.
    "fft-crop": (lambda z: xp.fft.fft(z, n=3, norm="ortho"), (2, 4)),
    "irfft-default-n": (xp.fft.irfft, (2, 4)),
    "irfftn-pad": (lambda z: xp.fft.irfftn(z, s=(3, 6), axes=(0, 1)), (2, 3)),
    "rfft-pad-of-real-part": (lambda z: xp.fft.rfft(xp.real(z), n=7), (2, 4)),
    "ihfft-of-real-part": (lambda z: xp.fft.ihfft(xp.real(z), norm="forward"), (2, 5)),
}


@pytest.mark.parametrize("name", COMPLEX)
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_complex_gradients(name, device):
    fn, shape = COMPLEX[name]
    rng = np.random.default_rng(5)
    data = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).tolist()
    complex_gradient_check(fn, (data,), device)


def _np(t):
    return np.asarray(t.detach().tolist())


def test_irfft_gradient_is_pytorchs_rule(device):
    """The imaginary parts of the zero and Nyquist frequencies are not read: no gradient;
    the other entries stand for two (themselves and their mirrored conjugates)."""
    rng = np.random.default_rng(2)
    h = rng.standard_normal(4) + 1j * rng.standard_normal(4)
    w = rng.standard_normal(6)
    z = xpgrad.tensor(h, dtype=C128, device=device, requires_grad=True)
    xp.sum(xp.fft.irfft(z) * xpgrad.tensor(w, dtype=F64, device=device)).backward()
    expected = np.fft.rfft(w, norm="forward") * np.array([1, 2, 2, 1])
    np.testing.assert_allclose(_np(z.grad), expected, atol=1e-12)
    assert _np(z.grad)[0].imag == 0 and _np(z.grad)[3].imag == 0


def test_gradient_of_cropped_entries_is_zero(device):
    x = xpgrad.tensor(np.arange(5.0) + 1j, dtype=C128, device=device, requires_grad=True)
    xp.sum(xp.real(xp.fft.fft(x, n=3))).backward()
    assert _np(x.grad)[3:].tolist() == [0, 0]


# ---------------------------------------------------------------------- values


def _random(shape, complex_=True):
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape)
    return x + 1j * rng.standard_normal(shape) if complex_ else x


VALUES = [
    ("fft", True, {}), ("fft", True, {"n": 3, "axis": 0, "norm": "ortho"}),
    ("fft", True, {"n": 7, "norm": "forward"}),
    ("ifft", True, {"axis": -2}), ("ifft", True, {"n": 6, "norm": "ortho"}),
    ("fftn", True, {}), ("fftn", True, {"s": (2, 6), "axes": (1, 0), "norm": "forward"}),
    ("ifftn", True, {"axes": (0,)}), ("ifftn", True, {"s": (5, -1), "axes": (0, 1), "norm": "ortho"}),
    ("rfft", False, {}), ("rfft", False, {"n": 7, "axis": 0, "norm": "ortho"}),
    ("irfft", True, {}), ("irfft", True, {"n": 5, "norm": "forward"}), ("irfft", True, {"n": 9, "axis": 0}),
    ("rfftn", False, {}), ("rfftn", False, {"s": (3, 6), "axes": (1, 0), "norm": "ortho"}),
    ("irfftn", True, {}), ("irfftn", True, {"s": (3, 5), "axes": (0, 1), "norm": "forward"}),
    ("hfft", True, {}), ("hfft", True, {"n": 5, "axis": 0, "norm": "ortho"}),
    ("ihfft", False, {}), ("ihfft", False, {"n": 6, "norm": "forward"}),
]


@pytest.mark.parametrize("name, complex_, kwargs", VALUES,
                         ids=[f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'default'}"
                              for n, _, kw in VALUES])
def test_values_match_numpy(name, complex_, kwargs, device):
    data = _random((4, 5), complex_)
    x = xpgrad.tensor(data, dtype=C128 if complex_ else F64, device=device)
    got = getattr(xp.fft, name)(x, **kwargs)
    expected = getattr(np.fft, name)(data, **kwargs)
    assert got.shape == expected.shape
    np.testing.assert_allclose(_np(got), expected, rtol=1e-10, atol=1e-12)


def test_inverse_round_trips():
    x = xpgrad.tensor(_random((3, 4)), dtype=C128)
    r = xpgrad.tensor(_random((3, 5), False), dtype=F64)
    for norm in NORMS:
        np.testing.assert_allclose(_np(xp.fft.ifft(xp.fft.fft(x, norm=norm), norm=norm)), _np(x), atol=1e-12)
        np.testing.assert_allclose(_np(xp.fft.ifftn(xp.fft.fftn(x, norm=norm), norm=norm)), _np(x), atol=1e-12)
        np.testing.assert_allclose(_np(xp.fft.irfft(xp.fft.rfft(r, norm=norm), n=5, norm=norm)), _np(r),
                                   atol=1e-12)
        np.testing.assert_allclose(_np(xp.fft.irfftn(xp.fft.rfftn(r, norm=norm), s=(3, 5), axes=(0, 1),
                                                     norm=norm)), _np(r), atol=1e-12)
        np.testing.assert_allclose(_np(xp.fft.hfft(xp.fft.ihfft(r, norm=norm), n=5, norm=norm)), _np(r),
                                   atol=1e-12)


# ---------------------------------------------------------------------- dtypes


DTYPES = [  # (function, input dtype, result dtype)
    (xp.fft.fft, C64, C64), (xp.fft.ifft, C64, C64), (xp.fft.fftn, C64, C64), (xp.fft.ifftn, C64, C64),
    (xp.fft.rfft, F32, C64), (xp.fft.rfftn, F32, C64), (xp.fft.ihfft, F32, C64),
    (xp.fft.irfft, C64, F32), (xp.fft.irfftn, C64, F32), (xp.fft.hfft, C64, F32),
    (xp.fft.fft, C128, C128), (xp.fft.rfft, F64, C128), (xp.fft.irfft, C128, F64),
    (xp.fft.fftshift, F32, F32),
]


@pytest.mark.parametrize("fn, dtype, result", DTYPES,
                         ids=[f"{fn.__name__}-{str(d).rsplit('.', 1)[-1]}" for fn, d, _ in DTYPES])
def test_dtypes(fn, dtype, result, device):
    """The standard's dtypes, and gradients in the input's dtype."""
    complex_ = "complex" in str(dtype)
    x = xpgrad.tensor(_random((2, 4), complex_), dtype=C128 if complex_ else F64, device=device)
    x = xp.astype(x, dtype).detach().requires_grad_()
    out = fn(x)
    assert str(out.dtype).rsplit(".", 1)[-1] == str(result).rsplit(".", 1)[-1]
    xp.sum(xp.real(out) if "complex" in str(out.dtype) else out).backward()
    assert x.grad.dtype == x.dtype


# ---------------------------------------------------------------------- frequencies, shifts


@pytest.mark.parametrize("n", [1, 4, 7])
@pytest.mark.parametrize("d", [1.0, 0.25])
def test_frequencies(n, d, device):
    for name in ("fftfreq", "rfftfreq"):
        f = getattr(xp.fft, name)(n, d=d, device=device)
        assert f.device == device and not f.requires_grad
        default = xp.__array_namespace_info__().default_dtypes(device=device)["real floating"]
        assert f.dtype == default
        rtol = 1e-15 if str(default).endswith("float64") else 1e-6  # a device without float64
        np.testing.assert_allclose(_np(f), getattr(np.fft, name)(n, d=d), rtol=rtol)
        f32 = getattr(xp.fft, name)(n, d=d, dtype=xp.float32, device=device)
        assert str(f32.dtype).endswith("float32")
        np.testing.assert_allclose(_np(f32), getattr(np.fft, name)(n, d=d), rtol=1e-6)


@pytest.mark.parametrize("shape, axes", [((4, 5), None), ((4, 5), 1), ((3, 5), [0]), ((2, 3, 5), (-1, 0)),
                                         ((5,), None), ((3, 4), [])])
def test_shifts_match_numpy(shape, axes, device):
    data = np.arange(float(np.prod(shape))).reshape(shape)
    x = xpgrad.tensor(data, dtype=F64, device=device)
    for name in ("fftshift", "ifftshift"):
        got = getattr(xp.fft, name)(x, axes=axes)
        np.testing.assert_array_equal(_np(got), getattr(np.fft, name)(data, axes=axes))
    np.testing.assert_array_equal(_np(xp.fft.ifftshift(xp.fft.fftshift(x, axes=axes), axes=axes)), data)


def test_shifts_of_0d_are_identity(device):
    # No axis to shift (NumPy's own fftshift fails here).
    x = xpgrad.tensor(3.0, dtype=F64, device=device)
    assert float(xp.fft.fftshift(x)) == 3.0 and float(xp.fft.ifftshift(x)) == 3.0


def test_dask_chunked_axes():
    """dask transforms an axis only when it is one chunk: chunked input, and the
    zero-padding of a gradient (a concat), are merged into one chunk first."""
    da = pytest.importorskip("dask.array")
    data = _random((4, 6))
    x = xpgrad.tensor(da.from_array(data, chunks=(2, 3))).requires_grad_()
    y = xp.fft.fft(xp.fft.fft(x), n=3)  # the gradient of the inner fft is padded back to 6
    xp.sum(xp.real(y) * xp.imag(y)).backward()
    ref = xpgrad.tensor(data, requires_grad=True)
    y = xp.fft.fft(xp.fft.fft(ref), n=3)
    xp.sum(xp.real(y) * xp.imag(y)).backward()
    np.testing.assert_allclose(_np(x.grad), _np(ref.grad), atol=1e-12)


# ---------------------------------------------------------------------- the registry, errors


def test_every_fft_op_has_jvp_rules():
    from xpgrad.plugins import registry

    mine = [op for defs in registry.all_ops().values() for op in defs if op.plugin == "xpgrad.ops.fft"]
    assert sorted(op.name for op in mine) == ["fft", "fftn", "ifft", "ifftn", "irfft", "irfftn", "rfft", "rfftn"]
    for op in mine:
        assert op.differentiable and all(r is not None for r in op.jvp_rules), op.name


def test_missing_backend_function_error():
    import types

    from xpgrad.ops.fft import backend_fft

    lacking = types.SimpleNamespace(__name__="somelib")
    with pytest.raises(NotImplementedError, match=r"fft.rfft is not available for this device: .*somelib"):
        backend_fft(lacking, "rfft")


def _c(*shape):
    return xpgrad.zeros(*shape, dtype=C128)


def _r(*shape):
    return xpgrad.zeros(*shape, dtype=F64)


@pytest.mark.parametrize("call, error, message", [
    (lambda: xp.fft.fft(np.zeros(4, dtype=complex)), TypeError, r"fft: x must be an xpgrad Tensor"),
    (lambda: xp.fft.fft(_r(4)), TypeError, r"fft: x must have a complex floating-point dtype, got float64; "
                                           r"convert it first"),
    (lambda: xp.fft.irfftn(_r(2, 4)), TypeError, r"irfftn: x must have a complex floating-point dtype"),
    (lambda: xp.fft.hfft(_r(4)), TypeError, r"hfft: x must have a complex"),
    (lambda: xp.fft.rfft(_c(4)), TypeError, r"rfft: x must have a real floating-point dtype, got complex128; "
                                            r"for complex input use the complex transforms"),
    (lambda: xp.fft.ihfft(xpgrad.zeros(4, dtype=xpgrad.int64)), TypeError,
     r"ihfft: x must have a real floating-point dtype, got int64; convert it first"),
    (lambda: xp.fft.fft(_c(4), norm="none"), ValueError, r"norm must be 'backward', 'ortho' or 'forward'"),
    (lambda: xp.fft.fft(_c(2, 4), axis=2), ValueError, r"fft: axis 2 is out of range for x of shape \(2, 4\); "
                                                       r"it must be in \[-2, 2\)"),
    (lambda: xp.fft.fft(_c(4), axis=0.0), TypeError, r"an axis must be an integer"),
    (lambda: xp.fft.fft(xpgrad.tensor(1j)), ValueError, r"x is 0-dimensional"),
    (lambda: xp.fft.fft(_c(4), n=0), ValueError, r"fft: n must be a positive integer"),
    (lambda: xp.fft.rfft(_r(4), n=2.0), TypeError, r"n must be an integer"),
    (lambda: xp.fft.irfft(_c(1)), ValueError, r"irfft: x has 1 element\(s\) along axis 0, so the default output "
                                              r"length 2 \* \(1 - 1\) is not positive; pass n"),
    (lambda: xp.fft.fftn(_c(2, 4), s=(2, 4)), ValueError, r"fftn: s was given without axes"),
    (lambda: xp.fft.fftn(_c(2, 4), s=(2,), axes=(0, 1)), ValueError, r"s has 1 lengths for the 2 axes"),
    (lambda: xp.fft.rfftn(_r(2, 4), s=(0, 4), axes=(0, 1)), ValueError, r"rfftn: s\[0\] must be a positive"),
    (lambda: xp.fft.ifftn(_c(2, 4), axes=(1, -1)), ValueError, r"axes \(1, -1\) name axis 1 twice"),
    (lambda: xp.fft.fftn(_c(2, 4), axes=()), ValueError, r"axes is empty"),
    (lambda: xp.fft.fftn(_c(2, 4), axes=1), TypeError, r"axes must be a sequence of integers"),
    (lambda: xp.fft.fftshift(_r(2, 4), axes=(0, 3)), ValueError, r"fftshift: axis 3 is out of range"),
    (lambda: xp.fft.fftfreq(0), ValueError, r"fftfreq: n \(the window length\) must be positive, got 0"),
    (lambda: xp.fft.fftfreq(4.0), TypeError, r"fftfreq: n \(the window length\) must be an integer"),
    (lambda: xp.fft.rfftfreq(4, d=0), ValueError, r"rfftfreq: d \(the sample spacing\) must be nonzero"),
    (lambda: xp.fft.rfftfreq(4, d="1"), TypeError, r"d \(the sample spacing\) must be a real number"),
    (lambda: xp.fft.fftfreq(4, dtype=xpgrad.complex128), TypeError,
     r"fftfreq: dtype must be a real floating-point dtype, got complex128"),
])
def test_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
