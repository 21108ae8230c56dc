"""xpgrad.xp as an array API namespace (standard 2024.12) and the Tensor as its array
object: every name of the standard is there with the standard's signature; creation
functions honour device= and dtype= on every device; the inspection API answers from
the registered backends; operators (reflected and in-place too) agree with the
namespace's functions and have correct gradients; DLPack export; and the generated
gradient-status page is up to date."""
import inspect
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import xpgrad
from xpgrad import xp

from helpers import assert_close, dtype_name, values

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------- the standard, as data

# The standard's signatures (2024.12): parameter names in order, "/" after the
# positional-only ones, "*" before the keyword-only ones.
SIGNATURES = {
    'arange': 'start, /, stop, step, *, dtype, device',
    'asarray': 'obj, /, *, dtype, device, copy',
    'empty': 'shape, *, dtype, device',
    'empty_like': 'x, /, *, dtype, device',
    'eye': 'n_rows, n_cols, /, *, k, dtype, device',
    'from_dlpack': 'x, /, *, device, copy',
    'full': 'shape, fill_value, *, dtype, device',
    'full_like': 'x, /, fill_value, *, dtype, device',
    'linspace': 'start, stop, /, num, *, dtype, device, endpoint',
    'meshgrid': '*arrays, indexing',
    'ones': 'shape, *, dtype, device',
    'ones_like': 'x, /, *, dtype, device',
    'tril': 'x, /, *, k',
    'triu': 'x, /, *, k',
    'zeros': 'shape, *, dtype, device',
    'zeros_like': 'x, /, *, dtype, device',
    'astype': 'x, dtype, /, *, copy, device',
    'can_cast': 'from_, to, /',
    'finfo': 'type, /',
    'iinfo': 'type, /',
    'isdtype': 'dtype, kind',
    'result_type': '*arrays_and_dtypes',
    'abs': 'x, /',
    'acos': 'x, /',
    'acosh': 'x, /',
    'add': 'x1, x2, /',
    'asin': 'x, /',
    'asinh': 'x, /',
    'atan': 'x, /',
    'atan2': 'x1, x2, /',
    'atanh': 'x, /',
    'bitwise_and': 'x1, x2, /',
    'bitwise_left_shift': 'x1, x2, /',
    'bitwise_invert': 'x, /',
    'bitwise_or': 'x1, x2, /',
    'bitwise_right_shift': 'x1, x2, /',
    'bitwise_xor': 'x1, x2, /',
    'ceil': 'x, /',
    'clip': 'x, /, min, max',
    'conj': 'x, /',
    'copysign': 'x1, x2, /',
    'cos': 'x, /',
    'cosh': 'x, /',
    'divide': 'x1, x2, /',
    'equal': 'x1, x2, /',
    'exp': 'x, /',
    'expm1': 'x, /',
    'floor': 'x, /',
    'floor_divide': 'x1, x2, /',
    'greater': 'x1, x2, /',
    'greater_equal': 'x1, x2, /',
    'hypot': 'x1, x2, /',
    'imag': 'x, /',
    'isfinite': 'x, /',
    'isinf': 'x, /',
    'isnan': 'x, /',
    'less': 'x1, x2, /',
    'less_equal': 'x1, x2, /',
    'log': 'x, /',
    'log1p': 'x, /',
    'log2': 'x, /',
    'log10': 'x, /',
    'logaddexp': 'x1, x2, /',
    'logical_and': 'x1, x2, /',
    'logical_not': 'x, /',
    'logical_or': 'x1, x2, /',
    'logical_xor': 'x1, x2, /',
    'maximum': 'x1, x2, /',
    'minimum': 'x1, x2, /',
    'multiply': 'x1, x2, /',
    'negative': 'x, /',
    'nextafter': 'x1, x2, /',
    'not_equal': 'x1, x2, /',
    'positive': 'x, /',
    'pow': 'x1, x2, /',
    'real': 'x, /',
    'reciprocal': 'x, /',
    'remainder': 'x1, x2, /',
    'round': 'x, /',
    'sign': 'x, /',
    'signbit': 'x, /',
    'sin': 'x, /',
    'sinh': 'x, /',
    'square': 'x, /',
    'sqrt': 'x, /',
    'subtract': 'x1, x2, /',
    'tan': 'x, /',
    'tanh': 'x, /',
    'trunc': 'x, /',
    'take': 'x, indices, /, *, axis',
    'take_along_axis': 'x, indices, /, *, axis',
    'matmul': 'x1, x2, /',
    'matrix_transpose': 'x, /',
    'tensordot': 'x1, x2, /, *, axes',
    'vecdot': 'x1, x2, /, *, axis',
    'broadcast_arrays': '*arrays',
    'broadcast_shapes': '*shapes',
    'broadcast_to': 'x, /, shape',
    'concat': 'arrays, /, *, axis',
    'expand_dims': 'x, /, axis',
    'flip': 'x, /, *, axis',
    'moveaxis': 'x, source, destination, /',
    'permute_dims': 'x, /, axes',
    'repeat': 'x, repeats, /, *, axis',
    'reshape': 'x, /, shape, *, copy',
    'roll': 'x, /, shift, *, axis',
    'squeeze': 'x, /, axis',
    'stack': 'arrays, /, *, axis',
    'tile': 'x, repetitions, /',
    'unstack': 'x, /, *, axis',
    'argmax': 'x, /, *, axis, keepdims',
    'argmin': 'x, /, *, axis, keepdims',
    'count_nonzero': 'x, /, *, axis, keepdims',
    'nonzero': 'x, /',
    'searchsorted': 'x1, x2, /, *, side, sorter',
    'where': 'condition, x1, x2, /',
    'isin': 'x1, x2, /, *, invert',
    'unique_all': 'x, /',
    'unique_counts': 'x, /',
    'unique_inverse': 'x, /',
    'unique_values': 'x, /',
    'argsort': 'x, /, *, axis, descending, stable',
    'sort': 'x, /, *, axis, descending, stable',
    'cumulative_sum': 'x, /, *, axis, dtype, include_initial',
    'cumulative_prod': 'x, /, *, axis, dtype, include_initial',
    'max': 'x, /, *, axis, keepdims',
    'mean': 'x, /, *, axis, keepdims',
    'min': 'x, /, *, axis, keepdims',
    'prod': 'x, /, *, axis, dtype, keepdims',
    'std': 'x, /, *, axis, correction, keepdims',
    'sum': 'x, /, *, axis, dtype, keepdims',
    'var': 'x, /, *, axis, correction, keepdims',
    'all': 'x, /, *, axis, keepdims',
    'any': 'x, /, *, axis, keepdims',
    'diff': 'x, /, *, axis, n, prepend, append',
}

LINALG_SIGNATURES = {
    'cholesky': 'x, /, *, upper',
    'cross': 'x1, x2, /, *, axis',
    'det': 'x, /',
    'diagonal': 'x, /, *, offset',
    'eig': 'x, /',
    'eigh': 'x, /',
    'eigvals': 'x, /',
    'eigvalsh': 'x, /',
    'inv': 'x, /',
    'matmul': 'x1, x2, /',
    'matrix_norm': 'x, /, *, keepdims, ord',
    'matrix_power': 'x, n, /',
    'matrix_rank': 'x, /, *, rtol',
    'matrix_transpose': 'x, /',
    'outer': 'x1, x2, /',
    'pinv': 'x, /, *, rtol',
    'qr': 'x, /, *, mode',
    'slogdet': 'x, /',
    'solve': 'x1, x2, /',
    'svd': 'x, /, *, full_matrices',
    'svdvals': 'x, /',
    'tensordot': 'x1, x2, /, *, axes',
    'trace': 'x, /, *, offset, dtype',
    'vecdot': 'x1, x2, /, *, axis',
    'vector_norm': 'x, /, *, axis, keepdims, ord',
}

FFT_SIGNATURES = {
    'fft': 'x, /, *, n, axis, norm',
    'ifft': 'x, /, *, n, axis, norm',
    'fftn': 'x, /, *, s, axes, norm',
    'ifftn': 'x, /, *, s, axes, norm',
    'rfft': 'x, /, *, n, axis, norm',
    'irfft': 'x, /, *, n, axis, norm',
    'rfftn': 'x, /, *, s, axes, norm',
    'irfftn': 'x, /, *, s, axes, norm',
    'hfft': 'x, /, *, n, axis, norm',
    'ihfft': 'x, /, *, n, axis, norm',
    'fftfreq': 'n, /, *, d, dtype, device',
    'rfftfreq': 'n, /, *, d, dtype, device',
    'fftshift': 'x, /, *, axes',
    'ifftshift': 'x, /, *, axes',
}

CONSTANTS = {"e": math.e, "inf": math.inf, "nan": math.nan, "newaxis": None, "pi": math.pi}
DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float32", "float64", "complex64", "complex128")


def _format(fn):
    """A callable's signature in the form of SIGNATURES."""
    out, keyword_only = [], False
    params = list(inspect.signature(fn).parameters.values())
    for i, p in enumerate(params):
        if p.kind is p.VAR_POSITIONAL:
            out.append("*" + p.name)
            keyword_only = True
            continue
        if p.kind is p.KEYWORD_ONLY and not keyword_only:
            out.append("*")
            keyword_only = True
        out.append(p.name)
        if p.kind is p.POSITIONAL_ONLY and (i + 1 == len(params) or params[i + 1].kind is not p.POSITIONAL_ONLY):
            out.append("/")
    return ", ".join(out)


# ---------------------------------------------------------------------- names and signatures


def test_version_and_namespace():
    assert xp.__array_api_version__ == "2025.12"
    t = xpgrad.tensor([1.0])
    assert t.__array_namespace__() is xp
    for version in ("2021.12", "2022.12", "2023.12", "2024.12", "2025.12"):
        assert t.__array_namespace__(api_version=version) is xp
    with pytest.raises(ValueError, match="api_version='2026.12' is not supported"):
        t.__array_namespace__(api_version="2026.12")
    from array_api_compat import array_namespace

    assert array_namespace(t) is xp


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_every_function_of_the_standard_is_there(name):
    assert hasattr(xp, name), f"xpgrad.xp has no {name}"
    assert name in xp.__all__, f"xpgrad.xp.__all__ does not list {name}"
    assert _format(getattr(xp, name)) == SIGNATURES[name]


@pytest.mark.parametrize("name", sorted(LINALG_SIGNATURES))
def test_every_linalg_function_of_the_standard_is_there(name):
    assert hasattr(xp.linalg, name), f"xpgrad.xp.linalg has no {name}"
    assert name in xp.linalg.__all__, f"xpgrad.xp.linalg.__all__ does not list {name}"
    assert _format(getattr(xp.linalg, name)) == LINALG_SIGNATURES[name]


@pytest.mark.parametrize("name", sorted(FFT_SIGNATURES))
def test_every_fft_function_of_the_standard_is_there(name):
    assert hasattr(xp.fft, name), f"xpgrad.xp.fft has no {name}"
    assert name in xp.fft.__all__, f"xpgrad.xp.fft.__all__ does not list {name}"
    assert _format(getattr(xp.fft, name)) == FFT_SIGNATURES[name]


def test_fft_defaults_are_the_standards():
    for name in ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft"):
        params = inspect.signature(getattr(xp.fft, name)).parameters
        assert (params["n"].default, params["axis"].default, params["norm"].default) == (None, -1, "backward")
    for name in ("fftn", "ifftn", "rfftn", "irfftn"):
        params = inspect.signature(getattr(xp.fft, name)).parameters
        assert (params["s"].default, params["axes"].default, params["norm"].default) == (None, None, "backward")
    for name in ("fftfreq", "rfftfreq"):
        params = inspect.signature(getattr(xp.fft, name)).parameters
        assert (params["d"].default, params["dtype"].default, params["device"].default) == (1.0, None, None)
    for name in ("fftshift", "ifftshift"):
        assert inspect.signature(getattr(xp.fft, name)).parameters["axes"].default is None


def test_constants_dtypes_and_all():
    for name, value in CONSTANTS.items():
        got = getattr(xp, name)
        assert got is value or got == value or (math.isnan(value) and math.isnan(got))
        assert name in xp.__all__
    for name in DTYPES:
        assert getattr(xp, name) == getattr(xpgrad.device("cpu").xp, name)
        assert name in xp.__all__
    assert "__array_namespace_info__" in xp.__all__ and "linalg" in xp.__all__ and "fft" in xp.__all__
    for name in xp.__all__:
        getattr(xp, name)  # everything listed is there
    with pytest.raises(AttributeError, match="no attribute 'float128'"):
        xp.float128


def test_dtypes_are_the_same_objects_whatever_the_default_device():
    import array_api_strict

    before = xp.float64
    with xpgrad.default_device("array_api_strict"):
        assert xp.float64 is before and xp.float64 == array_api_strict.float64
        assert xp.zeros(2).dtype is xp.float64
    assert xp.float64 == np.float64


# ---------------------------------------------------------------------- creation


def test_creation_functions_on_every_device(device):
    default_float = dtype_name(xp.__array_namespace_info__().default_dtypes(device=device)["real floating"])
    default_int = dtype_name(xp.__array_namespace_info__().default_dtypes(device=device)["integral"])
    made = {
        "zeros": xp.zeros((2, 3), device=device),
        "ones": xp.ones(4, device=device),
        "empty": xp.empty((1, 2), device=device),
        "full": xp.full((2,), 1.5, device=device),
        "eye": xp.eye(2, 3, k=1, device=device),
        "linspace": xp.linspace(0, 1, 5, device=device),
        "asarray": xp.asarray([1.0, 2.0], device=device),
    }
    for name, t in made.items():
        assert t.device == device, name
        assert dtype_name(t.dtype) == default_float, name
        assert not t.requires_grad, name
    assert_close(made["zeros"], np.zeros((2, 3)))
    assert_close(made["ones"], np.ones(4))
    assert_close(made["full"], [1.5, 1.5])
    assert_close(made["eye"], np.eye(2, 3, k=1))
    assert_close(made["linspace"], np.linspace(0, 1, 5))
    ints = {"arange": xp.arange(5, device=device), "full": xp.full(3, 7, device=device),
            "asarray": xp.asarray([1, 2], device=device)}
    for name, t in ints.items():
        assert t.device == device and dtype_name(t.dtype) == default_int, name
    assert_close(xp.arange(1, 7, 2, device=device), [1, 3, 5])
    assert_close(xp.linspace(0, 1, 4, endpoint=False, device=device), [0, 0.25, 0.5, 0.75])
    assert dtype_name(xp.full(2, True, device=device).dtype) == "bool"
    f32 = xp.ones((2,), dtype=xp.float32, device=device)
    assert dtype_name(f32.dtype) == "float32"
    assert dtype_name(xp.zeros(2, dtype=xpgrad.int32, device=device).dtype) == "int32"


def test_like_functions(device):
    x = xp.asarray([[1, 2, 3], [4, 5, 6]], dtype=xp.int16, device=device)
    for fn, value in ((xp.zeros_like, 0), (xp.ones_like, 1), (xp.empty_like, None)):
        t = fn(x)
        assert t.shape == (2, 3) and dtype_name(t.dtype) == "int16" and t.device == device
        if value is not None:
            assert_close(t, np.full((2, 3), value))
    t = xp.full_like(x, 9, dtype=xp.float32)
    assert dtype_name(t.dtype) == "float32" and t.device == device
    assert_close(t, np.full((2, 3), 9.0))
    moved = xp.ones_like(x, device="cpu")
    assert moved.device == "cpu" and dtype_name(moved.dtype) == "int16"
    with pytest.raises(TypeError, match="takes a Tensor"):
        xp.zeros_like([1, 2])


def test_asarray_dtypes_and_copy(device):
    # the standard's default floating dtypes for the device (float64 where it has it), not float32
    defaults = xp.__array_namespace_info__().default_dtypes(device=device)
    assert dtype_name(xp.asarray(1.0, device=device).dtype) == dtype_name(defaults["real floating"])
    assert dtype_name(xp.asarray(True, device=device).dtype) == "bool"
    assert dtype_name(xp.asarray(1j, device=device).dtype) == dtype_name(defaults["complex floating"])
    assert dtype_name(xp.asarray([[1, 2]], dtype=xp.float32, device=device).dtype) == "float32"
    x = xp.asarray([1.0, 2.0], device=device)
    assert xp.asarray(x) is x and xp.asarray(x, copy=False) is x
    copy = xp.asarray(x, copy=True)
    assert copy is not x
    with xpgrad.no_grad():
        copy[0] = 5.0
    assert_close(x, [1.0, 2.0])
    other = xp.float64 if dtype_name(x.dtype) == "float32" else xp.float32  # a cast needs a copy
    with pytest.raises(ValueError, match="copy=False"):
        xp.asarray(x, dtype=other, copy=False)
    with pytest.raises(ValueError, match="copy=False"):
        xp.asarray([1.0], copy=False)


def test_asarray_of_backend_arrays():
    a = np.array([1.0, 2.0])
    shared = xp.asarray(a, copy=False)
    a[0] = 7.0
    assert_close(shared, [7.0, 2.0])  # no copy
    copied = xp.asarray(a, copy=True)
    a[1] = 8.0
    assert_close(copied, [7.0, 2.0])
    on_strict = xp.asarray(a, device="array_api_strict")
    assert on_strict.device == "array_api_strict"
    assert_close(on_strict, [7.0, 8.0])
    with pytest.raises(ValueError, match="copy=False"):
        xp.asarray(a, device="array_api_strict", copy=False)
    assert dtype_name(xp.asarray(np.float32(2)).dtype) == "float32"
    assert xp.asarray(np.arange(3, dtype=np.uint8)).dtype == xp.uint8


@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_asarray_keeps_the_graph(device):
    x = xpgrad.randn(2, 3, dtype=xpgrad.float64, device=device, requires_grad=True)
    assert xpgrad.gradcheck(lambda x: xp.asarray(x, copy=True) * x, (x,))
    y = xp.asarray(x, dtype=xp.float32 if device == "cpu" else x.device.xp.float32)
    assert y.requires_grad and dtype_name(y.dtype) == "float32"
    y.sum().backward()
    assert_close(x.grad, np.ones((2, 3)))


def test_tril_triu_values(device):
    a = np.arange(24.0).reshape(2, 3, 4)
    x = xp.asarray(a, device=device)
    for k in (-1, 0, 2):
        assert_close(xp.tril(x, k=k), np.tril(a, k=k))
        assert_close(xp.triu(x, k=k), np.triu(a, k=k))
    i = xp.asarray([[1, 2], [3, 4]], device=device)
    assert xp.tril(i).dtype == i.dtype and not xp.tril(i).requires_grad
    b = xp.asarray([[True, True], [True, True]], device=device)
    assert values(xp.triu(b)).tolist() == [[1, 1], [0, 1]]
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        xp.tril(xp.ones(3, device=device))


@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_tril_triu_gradients(device):
    x = xpgrad.randn(2, 3, 3, dtype=xpgrad.float64, device=device, requires_grad=True)
    assert xpgrad.gradcheck(lambda x: xp.tril(x, k=-1) * x, (x,))
    assert xpgrad.gradgradcheck(lambda x: xp.triu(x * x, k=1), (x,))
    y = xpgrad.randn(2, 3, dtype=xpgrad.float32, device=device, requires_grad=True)
    xp.triu(y).sum().backward()
    assert dtype_name(y.grad.dtype) == "float32"
    assert_close(y.grad, np.triu(np.ones((2, 3))))


def test_meshgrid_values(device):
    a, b, c = np.arange(2.0), np.arange(3.0) + 10, np.arange(4.0) + 20
    ta, tb, tc = (xp.asarray(v, device=device) for v in (a, b, c))
    for indexing in ("xy", "ij"):
        got = xp.meshgrid(ta, tb, tc, indexing=indexing)
        want = np.meshgrid(a, b, c, indexing=indexing)
        assert isinstance(got, tuple) and len(got) == 3  # a tuple since 2025.12
        for g, w in zip(got, want):
            assert g.shape == w.shape
            assert_close(g, w)
    (single,) = xp.meshgrid(ta)
    assert_close(single, a)
    assert xp.meshgrid() == ()
    with pytest.raises(ValueError, match="indexing"):
        xp.meshgrid(ta, indexing="ji")
    with pytest.raises(ValueError, match="1-D arrays"):
        xp.meshgrid(xp.ones((2, 2), device=device))


@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_meshgrid_gradients(device):
    a = xpgrad.randn(2, dtype=xpgrad.float64, device=device, requires_grad=True)
    b = xpgrad.randn(3, dtype=xpgrad.float64, device=device, requires_grad=True)

    def f(a, b):
        u, v = xp.meshgrid(a, b)
        return u * v * v

    assert xpgrad.gradcheck(f, (a, b))
    assert xpgrad.gradgradcheck(f, (a, b))


def test_from_dlpack(device):
    a = np.arange(6.0).reshape(2, 3)
    t = xp.from_dlpack(a)
    assert t.device == "cpu" and t.shape == (2, 3)
    a[0, 0] = 9.0  # a view, as DLPack shares memory
    assert values(t)[0, 0] == 9.0
    if device in ("cpu", "array_api_strict"):
        x = xp.asarray([1.0, 2.0], device=device)
        back = xp.from_dlpack(x)
        assert back.device == device
        assert_close(back, [1.0, 2.0])
        assert xp.from_dlpack(x, device="cpu").device == "cpu"


# ---------------------------------------------------------------------- data types


def test_data_type_functions():
    import array_api_strict

    x = xp.asarray([1, 2], dtype=xp.int8)
    assert xp.result_type(x, xp.int16) == xp.int16
    assert xp.result_type(x, 1) == xp.int8  # a Python scalar takes the array's dtype
    assert xp.result_type(xp.float32, 1.0) == xp.float32
    assert xp.result_type(xp.float32, xp.float64) == xp.float64
    with pytest.raises(ValueError, match="at least one array or dtype"):
        xp.result_type(1, 2.0)
    assert xp.isdtype(xp.float32, "real floating")
    assert xp.isdtype(xp.int8, ("integral", xp.float64))
    assert not xp.isdtype(xp.bool, "numeric")
    assert xp.isdtype(array_api_strict.complex64, "complex floating")  # any backend's dtype
    assert xp.can_cast(xp.int8, xp.int16) and not xp.can_cast(xp.float64, xp.int8)
    assert xp.can_cast(x, xp.float32)
    assert xp.finfo(xp.float32).eps == np.finfo(np.float32).eps
    assert xp.finfo(xpgrad.ones(2, dtype=xpgrad.float64)).bits == 64
    assert xp.iinfo(xp.uint8).max == 255 and xp.iinfo(x).min == -128
    strict = xpgrad.ones(2, dtype=xpgrad.float64, device="array_api_strict")
    assert xp.result_type(strict, 1.0) == strict.dtype
    with pytest.raises(TypeError, match="not a dtype"):
        xp.isdtype("float8", "real floating")


# ---------------------------------------------------------------------- inspection


def test_namespace_info():
    info = xp.__array_namespace_info__()
    caps = info.capabilities()
    assert caps["boolean indexing"] is True and caps["data-dependent shapes"] is True
    assert "max dimensions" in caps
    assert info.default_device() == "cpu" and info.default_device() is xpgrad.get_default_device()
    devices = info.devices()
    assert isinstance(devices, tuple)  # 2025.12: a tuple
    assert devices[0] is xpgrad.get_default_device()
    assert {"cpu", "array_api_strict", "array_api_strict:device1", "dask"} <= {str(d) for d in devices}
    assert all(isinstance(d, xpgrad.Device) for d in devices)
    defaults = info.default_dtypes()
    assert defaults == {"real floating": xp.float64, "complex floating": xp.complex128,
                        "integral": xp.int64, "indexing": xp.int64}
    import array_api_strict

    # xpgrad's dtype objects, the same on every device, equal to the library's own.
    strict_float = info.default_dtypes(device="array_api_strict")["real floating"]
    assert strict_float is xp.float64 and strict_float == array_api_strict.float64
    assert set(info.dtypes()) == set(DTYPES)
    assert info.dtypes(kind="real floating") == {"float32": xp.float32, "float64": xp.float64}
    assert set(info.dtypes(kind=("bool", "unsigned integer"))) == {"bool", "uint8", "uint16", "uint32", "uint64"}
    assert info.dtypes(device="array_api_strict", kind="bool") == {"bool": xp.bool}
    with pytest.raises(ValueError, match="unknown dtype kind"):
        info.dtypes(kind="floating")
    assert info.capabilities(device="dask")["boolean indexing"] is False  # answered per device
    with xpgrad.default_device("dask"):
        assert xp.__array_namespace_info__().capabilities()["boolean indexing"] is False
        assert xp.__array_namespace_info__().default_device() == "dask"


def test_creation_on_every_device_of_the_info(device):
    info = xp.__array_namespace_info__()
    dev = next(d for d in info.devices() if d == device)
    t = xp.zeros(2, device=dev)
    assert t.device is dev and t.dtype == info.default_dtypes(device=dev)["real floating"]


# ---------------------------------------------------------------------- the array object


def test_array_attributes(device):
    x = xp.asarray(np.arange(6.0).reshape(2, 3), device=device)
    assert x.shape == (2, 3) and x.ndim == 2 and x.device == device
    assert x.size == 6 and isinstance(x.size, int)
    assert x.size() == (2, 3) and x.size(-1) == 3  # PyTorch's size() too
    assert xp.asarray(1.0, device=device).size == 1
    assert xp.zeros((0, 3), device=device).size == 0
    assert x.T.shape == (3, 2) and x.mT.shape == (3, 2)
    assert_close(x.mT, np.arange(6.0).reshape(2, 3).T)
    moved = x.to_device("cpu")
    assert moved.device == "cpu"
    assert_close(moved, np.arange(6.0).reshape(2, 3))


def test_python_scalar_conversions(device):
    assert bool(xp.asarray(True, device=device)) is True
    assert int(xp.asarray(3, device=device)) == 3
    assert float(xp.asarray(2.5, device=device)) == 2.5
    assert complex(xp.asarray(1 + 2j, device=device)) == 1 + 2j
    assert [10, 20, 30][xp.asarray(1, device=device)] == 20  # __index__
    assert bool(xp.asarray(1j, device=device)) is True
    with pytest.raises(TypeError, match="complex Tensor to a Python float"):
        float(xp.asarray(1j, device=device))
    with pytest.raises(TypeError, match="complex Tensor to a Python int"):
        int(xp.asarray(1j, device=device))
    with pytest.raises(TypeError, match="only integer Tensors"):
        [1, 2][xp.asarray(1.0, device=device)]
    with pytest.raises(TypeError, match="only one-element Tensors"):
        bool(xp.ones(2, device=device))
    with pytest.raises(OverflowError):
        int(xp.asarray(math.inf, device=device))
    with pytest.raises(ValueError):
        int(xp.asarray(math.nan, device=device))


A = [[1.5, -2.0, 3.0], [0.5, 4.0, -1.0]]
B = [[2.0, 0.5, -3.0], [1.0, 2.5, 2.0]]


# Operator, the namespace function it must agree with, and whether it is differentiable.
FLOAT_OPERATORS = [
    ("__add__", "add"), ("__sub__", "subtract"), ("__mul__", "multiply"),
    ("__truediv__", "divide"), ("__pow__", "pow"), ("__floordiv__", "floor_divide"),
    ("__mod__", "remainder"), ("__eq__", "equal"), ("__ne__", "not_equal"), ("__lt__", "less"),
    ("__le__", "less_equal"), ("__gt__", "greater"), ("__ge__", "greater_equal"),
]
INT_OPERATORS = [
    ("__and__", "bitwise_and"), ("__or__", "bitwise_or"), ("__xor__", "bitwise_xor"),
    ("__lshift__", "bitwise_left_shift"), ("__rshift__", "bitwise_right_shift"),
    ("__floordiv__", "floor_divide"), ("__mod__", "remainder"), ("__add__", "add"),
    ("__mul__", "multiply"),
]
REFLECTED = {"__add__": "__radd__", "__sub__": "__rsub__", "__mul__": "__rmul__",
             "__truediv__": "__rtruediv__", "__pow__": "__rpow__", "__floordiv__": "__rfloordiv__",
             "__mod__": "__rmod__", "__and__": "__rand__", "__or__": "__ror__", "__xor__": "__rxor__",
             "__lshift__": "__rlshift__", "__rshift__": "__rrshift__", "__matmul__": "__rmatmul__"}
INPLACE = {"__add__": "__iadd__", "__sub__": "__isub__", "__mul__": "__imul__",
           "__truediv__": "__itruediv__", "__pow__": "__ipow__", "__floordiv__": "__ifloordiv__",
           "__mod__": "__imod__", "__and__": "__iand__", "__or__": "__ior__", "__xor__": "__ixor__",
           "__lshift__": "__ilshift__", "__rshift__": "__irshift__", "__matmul__": "__imatmul__"}


def test_every_operator_of_the_standard_is_defined():
    names = {"__abs__", "__neg__", "__pos__", "__invert__", "__eq__", "__ne__", "__lt__", "__le__",
             "__gt__", "__ge__", "__matmul__", "__getitem__", "__setitem__", "__bool__", "__int__",
             "__float__", "__complex__", "__index__", "__dlpack__", "__dlpack_device__",
             "__array_namespace__", "to_device"}
    names |= set(REFLECTED) | set(REFLECTED.values()) | set(INPLACE.values())
    for name in sorted(names):
        assert callable(getattr(xpgrad.Tensor, name, None)), name
    for name in ("shape", "dtype", "device", "ndim", "size", "T", "mT"):
        assert isinstance(inspect.getattr_static(xpgrad.Tensor, name), property), name


def _agree(got, want):
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(values(got), values(want))


@pytest.mark.parametrize("dunder, function", FLOAT_OPERATORS)
def test_float_operators_agree_with_functions(device, dunder, function):
    a = xp.asarray(A, device=device)
    b = xp.asarray(B, device=device)
    fn = getattr(xp, function)
    if dunder == "__pow__":
        a = xp.abs(a)
    _agree(getattr(a, dunder)(b), fn(a, b))
    _agree(getattr(a, dunder)(2.0), fn(a, 2.0))  # a Python scalar operand
    if dunder in REFLECTED:
        _agree(getattr(a, REFLECTED[dunder])(3.0), fn(3.0, a))  # 3.0 <op> a


@pytest.mark.parametrize("dunder, function", INT_OPERATORS)
def test_integer_operators_agree_with_functions(device, dunder, function):
    a = xp.asarray([[5, 6, 7], [12, 3, 1]], device=device)
    b = xp.asarray([[1, 2, 3], [3, 1, 2]], device=device)
    fn = getattr(xp, function)
    _agree(getattr(a, dunder)(b), fn(a, b))
    _agree(getattr(a, dunder)(2), fn(a, 2))
    _agree(getattr(a, REFLECTED[dunder])(3), fn(3, a))
    before = values(a)
    c = xp.asarray(a, copy=True)
    result = getattr(c, INPLACE[dunder])(b)
    assert result is c  # in place: the same Tensor, its storage written
    np.testing.assert_array_equal(values(c), values(fn(a, b)))
    np.testing.assert_array_equal(values(a), before)


def test_unary_and_bool_operators(device):
    i = xp.asarray([[5, -6], [0, 1]], device=device)
    _agree(~i, xp.bitwise_invert(i))
    _agree(-i, xp.negative(i))
    _agree(+i, xp.positive(i))
    _agree(abs(i), xp.abs(i))
    p = xp.asarray([True, False, True], device=device)
    q = xp.asarray([True, True, False], device=device)
    assert values(p & q).tolist() == [1, 0, 0]
    assert values(p | q).tolist() == [1, 1, 1]
    assert values(p ^ q).tolist() == [0, 1, 1]
    assert values(~p).tolist() == [0, 1, 0]
    assert values(True & q).tolist() == [1, 1, 0]
    assert dtype_name((p & q).dtype) == "bool"


def test_matmul_operators(device):
    a = xp.asarray(A, device=device)
    b = xp.asarray(B, device=device)
    _agree(a @ b.mT, xp.matmul(a, b.mT))
    c = xp.eye(3, device=device)
    d = xp.asarray(a, copy=True)
    d @= c
    _agree(d, a)


def test_matmul_of_two_float_dtypes_promotes(device):
    # PyTorch's @ refuses operands of two dtypes; xpgrad promotes them on every backend
    a = xpgrad.tensor(A, dtype=xpgrad.float32, device=device, requires_grad=True)
    b = xpgrad.tensor(B, dtype=xpgrad.float64, device=device, requires_grad=True)
    out = a @ b.mT
    assert dtype_name(out.dtype) == "float64"
    assert_close(out, np.asarray(A, dtype=np.float32).astype(np.float64) @ np.asarray(B).T, rtol=1e-12)
    out.sum().backward()
    assert dtype_name(a.grad.dtype) == "float32" and dtype_name(b.grad.dtype) == "float64"


def test_inplace_dtype_is_kept(device):
    i = xp.asarray([1, 2], dtype=xp.int8 if device == "cpu" else xp.asarray(1, device=device).dtype,
                   device=device)
    dt = i.dtype
    i += 3
    i //= 2
    i <<= 1
    assert i.dtype == dt
    assert values(i).tolist() == [4, 4]
    f = xp.asarray([1.0, 2.0], dtype=xpgrad.float32, device=device)
    with pytest.raises(TypeError, match="can't be stored"):
        f += xp.asarray([1.0, 2.0], dtype=xpgrad.float64, device=device)


DIFFERENTIABLE = [
    ("add", lambda a, b: a + b, lambda a, b: 2 + a + b + 2),
    ("subtract", lambda a, b: a - b, lambda a, b: 3 - a - b - 1),
    ("multiply", lambda a, b: a * b, lambda a, b: 2 * a * b * 3),
    ("divide", lambda a, b: a / b, lambda a, b: 1.5 / a / b / 2),
    ("pow", lambda a, b: xp.abs(a) ** b, lambda a, b: 2 ** a + xp.abs(b) ** 1.5),
    ("matmul", lambda a, b: a @ b.mT, lambda a, b: (a.mT @ b).mT),
    ("unary", lambda a, b: -a + (+b) + abs(a), lambda a, b: -(a * b)),
    ("remainder", lambda a, b: (a + 0.3) % b, lambda a, b: 7.3 % b + a % 2.5),  # away from jumps
]


@pytest.mark.parametrize("case, f, reflected", DIFFERENTIABLE, ids=[c[0] for c in DIFFERENTIABLE])
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_operator_gradients(device, case, f, reflected):
    a = xpgrad.tensor(A, dtype=xpgrad.float64, device=device, requires_grad=True)
    b = xpgrad.tensor(B, dtype=xpgrad.float64, device=device, requires_grad=True)
    assert xpgrad.gradcheck(f, (a, b))
    assert xpgrad.gradcheck(reflected, (a, b))
    assert xpgrad.gradgradcheck(f, (a, b))


@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_inplace_operator_gradients(device):
    a = xpgrad.tensor(A, dtype=xpgrad.float64, device=device, requires_grad=True)
    b = xpgrad.tensor(B, dtype=xpgrad.float64, device=device, requires_grad=True)

    def f(a, b):
        # Only ops whose rules do not read the Tensor written into: PyTorch's rule.
        y = a * 1.0
        y += b
        y *= 2.0
        y -= a * b
        y /= 4.0
        y %= 5.0
        return y

    assert xpgrad.gradcheck(f, (a, b))
    assert xpgrad.gradgradcheck(f, (a, b))
    x = xpgrad.tensor(A, dtype=xpgrad.float64, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Tensor that requires grad"):
        x //= 2.0
    # The product's rule for x reads y's old values: they are copied before the write
    # (as PyTorch saves the original self), so the gradient is x's own, 2x.
    y = x * 1.0
    y *= x
    y.sum().backward()
    np.testing.assert_allclose(values(x.grad), 2 * np.asarray(A))
    # y *= y: the rule reads y itself (the other operand), which the write changes, and
    # PyTorch refuses it at backward too.
    y = x * 1.0
    y *= y
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()


def test_comparison_and_integer_results_need_no_grad(device):
    a = xpgrad.tensor(A, dtype=xpgrad.float64, device=device, requires_grad=True)
    for r in (a < 1.0, a == a, a >= 0.0, a // 2.0, 2.0 // a):
        assert not r.requires_grad


# ---------------------------------------------------------------------- DLPack


def test_dlpack_round_trip_with_numpy():
    t = xpgrad.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=xpgrad.float64, requires_grad=True)
    a = np.from_dlpack(t.detach())
    np.testing.assert_array_equal(a, [[1.0, 2.0], [3.0, 4.0]])
    assert t.__dlpack_device__() == (1, 0)  # kDLCPU
    with pytest.raises(RuntimeError, match="requires grad through DLPack"):
        np.from_dlpack(t)
    with xpgrad.no_grad():
        t.detach()[0, 0] = 9.0
    assert a[0, 0] == 9.0  # shared memory, not a copy
    back = xp.from_dlpack(a)
    assert back.device == "cpu"
    np.testing.assert_array_equal(values(back), a)


def test_dlpack_on_strict_and_dask():
    import array_api_strict

    s = xpgrad.tensor([1.0, 2.0], dtype=xpgrad.float64, device="array_api_strict")
    assert_close(xpgrad.tensor(array_api_strict.from_dlpack(s)), [1.0, 2.0])
    d = xpgrad.tensor([1.0, 2.0], device="dask")
    with pytest.raises(BufferError, match="dask backend's arrays"):
        d.__dlpack__()
    with pytest.raises(BufferError, match="dask backend's arrays"):
        d.__dlpack_device__()


# ---------------------------------------------------------------------- the generated page


def test_gradient_status_page_is_up_to_date():
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "gradient_status.py"), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr + done.stdout


def test_gradient_status_rows():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import gradient_status
    finally:
        sys.path.remove(str(ROOT / "tools"))
    ops = {name: defs[0] for name, defs in xpgrad.plugins.registry.all_ops().items()}
    assert gradient_status.function_row("sin", xp, ops)[:3] == ("differentiable", "forward mode: rules", "sin") \
        or gradient_status.function_row("sin", xp, ops)[:3] == ("differentiable", "forward mode: derived", "sin")
    assert gradient_status.function_row("equal", xp, ops)[0] == "not differentiable"
    assert gradient_status.function_row("zeros", xp, ops)[0] == "not an op"
    assert gradient_status.function_row("tril", xp, ops)[:3] == ("composed", "", "where")
    assert gradient_status.function_row("no_such_function", xp, ops)[0] == "missing"
    names = [n for group in gradient_status.MAIN.values() for n in group]
    assert sorted(names) == sorted(set(SIGNATURES) | set(CONSTANTS) | {"__array_namespace_info__"})
    assert sorted(gradient_status.LINALG) == sorted(LINALG_SIGNATURES)
    assert sorted(gradient_status.FFT) == sorted(FFT_SIGNATURES)
    assert gradient_status.function_row("rfft", xp.fft, ops)[:3] == ("differentiable", "forward mode: rules", "rfft")
    assert gradient_status.function_row("hfft", xp.fft, ops)[:3] == ("composed", "", "irfft, conj")
    assert gradient_status.function_row("fftfreq", xp.fft, ops)[0] == "not an op"


def _docs_tool():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import xp_docs
    finally:
        sys.path.remove(str(ROOT / "tools"))
    return xp_docs


def test_elementwise_functions_are_current_with_the_ops_docs():
    """The elementwise functions are explicit defs written from the ops' docs: the block
    in core/xp/_elementwise.py is what tools/xp_docs.py writes now."""
    tool = _docs_tool()
    text, start, end = tool.current()
    assert text[start:end] == tool.render(), "run python tools/xp_docs.py"


def test_elementwise_docstrings_are_the_ops_docs():
    ops = xpgrad.plugins.registry.ops()
    tool = _docs_tool()
    for name in tool.UNARY + tool.BINARY:
        fn = getattr(xp, name)
        assert fn.__code__.co_filename.endswith("_elementwise.py"), name  # a real def, for editors
        first = " ".join(fn.__doc__.split("\n\n")[0].split())
        assert first.lower() == tool._sentence(ops[name].doc).lower(), name
        params = list(inspect.signature(fn).parameters.values())
        assert [p.kind for p in params] == [inspect.Parameter.POSITIONAL_ONLY] * len(ops[name].argnames), name


def _first_paragraph(fn):
    return " ".join(inspect.getdoc(fn).split("\n\n")[0].split())


def test_every_function_that_dispatches_its_own_op_is_summarised_by_the_ops_doc():
    """Not only the elementwise ones: every function of xpgrad.xp, xp.linalg and xp.fft
    that dispatches the op of its own name (``reshape``, ``sum``, ``linalg.det``, ``fft.rfft``)
    opens its docstring with the op's doc, so that the description is written once."""
    ops = xpgrad.plugins.registry.ops()
    tool = _docs_tool()
    checked = set()
    for namespace in (xp, xp.linalg, xp.fft):
        for name in namespace.__all__:
            fn = getattr(namespace, name)
            if not inspect.isfunction(fn) or name not in ops:
                continue
            names = [c for c in fn.__code__.co_consts if isinstance(c, str)]
            if fn.__module__.endswith("_elementwise") or name not in names[1:]:
                continue  # the elementwise block is checked above; no op of its own name
            assert _first_paragraph(fn) == tool._sentence(ops[name].doc), f"{namespace.__name__}.{name}"
            checked.add(name)
    # what was summarised: reductions, manipulation, searching, linalg and fft alike
    assert {"reshape", "sum", "max", "sort", "take", "det", "solve", "vector_norm", "rfft"} <= checked
    assert len(checked) >= 56


def test_the_summaries_are_what_the_tool_writes():
    tool = _docs_tool()
    for name in tool.SUMMARIZED:
        path = ROOT / "core" / "xp" / name
        text = path.read_text()
        assert tool.summarize(path, text) == text, f"core/xp/{name}: run python tools/xp_docs.py"
