"""What version 2025.12 of the array API standard adds or changes, and the one namespace
every device shares: dtype objects equal across backends, inspection per device.

The new functions' derivatives (expand_dims with a tuple, permute_dims with negative
axes) are in the table of test_xp_manipulation.py; linalg.eig's in test_xp_linalg_eig.py.
"""
import math

import numpy as np
import pytest

import xpgrad
from xpgrad import xp

F64 = xpgrad.float64


def values(t):
    return np.asarray(t.detach().tolist()).reshape(t.shape)


# ---------------------------------------------------------------------- the version


def test_the_namespace_declares_2025_12_and_still_serves_2024_12():
    x = xpgrad.tensor([1.0])
    assert xp.__array_api_version__ == "2025.12"
    assert x.__array_namespace__() is xp
    assert x.__array_namespace__(api_version="2025.12") is xp
    assert x.__array_namespace__(api_version="2024.12") is xp
    with pytest.raises(ValueError, match=r"implements version 2025\.12 .*api_version='2026\.12' is not supported"):
        x.__array_namespace__(api_version="2026.12")


# ---------------------------------------------------------------------- one dtype per type, every device


def test_dtype_constants_equal_the_dtype_of_a_tensor_on_every_device(device):
    x = xp.asarray([1.0, 2.0], dtype=xp.float64, device=device)
    i = xp.asarray([1, 2], dtype=xp.int32, device=device)
    assert x.dtype == xp.float64 and (x.dtype != xp.float64) is False
    assert xp.float64 == x.dtype and x.dtype is xp.float64
    assert x.dtype != xp.float32 and i.dtype == xp.int32 and i.dtype != xp.int64
    # What SciPy's array API code does with a Tensor's namespace.
    ns = x.__array_namespace__()
    assert (x.dtype != ns.float64) is False
    # A dtype keys a dict whatever the device.
    assert {xp.float64: "double", xp.int32: "int"}[x.dtype] == "double"
    assert xp.result_type(x, xp.float32) is xp.float64 and xp.result_type(i, xp.int8) is xp.int32
    assert xp.finfo(x).dtype is xp.float64 and xp.iinfo(i).dtype is xp.int32
    assert xp.iinfo(i).max == 2**31 - 1 and isinstance(xp.iinfo(i).max, int)


def test_dtype_objects_equal_each_librarys_own():
    import array_api_strict

    assert xp.float64 == np.float64 and np.float64 == xp.float64
    assert xp.float64 == np.dtype("float64") and np.dtype("float64") == xp.float64
    assert xp.float64 == array_api_strict.float64 and xp.float64 != array_api_strict.float32
    assert xp.float64 == "float64" and xp.float64 != "float32"
    assert xp.float64.__eq__(float) is False and xp.float64 != 1.0
    assert xp.float64 != xp.asarray([1.0], dtype=xp.float64)  # an array is not its dtype
    assert np.zeros(2, dtype=xp.float32).dtype == np.float32  # NumPy takes xpgrad's dtype
    assert xpgrad.float64 is xp.float64 and xpgrad.bool_ is xp.bool
    assert repr(xp.float64) == "xpgrad.float64" and str(xp.int8) == "int8" and xp.complex64.itemsize == 8


def test_dtype_objects_equal_torchs():
    torch = pytest.importorskip("torch")
    assert torch.float64 == xp.float64 and xp.float64 == torch.float64
    assert xp.float32 != torch.float64
    # A Tensor on the torch backend has xpgrad's dtype.
    x = xp.asarray([1.0, 2.0], dtype=xp.float64, device="torch")
    assert x.dtype is xp.float64 and x.dtype == torch.float64 and xp.result_type(x, xp.float32) is xp.float64
    assert (x / x).dtype is xp.float64 and (xp.asarray([1, 2], device="torch") / 2).dtype is xp.float32


def test_dtype_objects_survive_pickling_and_copying():
    import copy
    import pickle

    assert pickle.loads(pickle.dumps(xp.complex128)) is xp.complex128
    assert copy.deepcopy(xp.uint8) is xp.uint8


# ---------------------------------------------------------------------- inspection per device


def test_inspection_answers_for_each_device(device):
    info = xp.__array_namespace_info__()
    dev = xpgrad.device(device)
    defaults = info.default_dtypes(device=dev)
    made = xp.zeros(2, device=dev)
    assert made.dtype is defaults["real floating"]
    assert xp.asarray([1, 2], device=dev).dtype is defaults["integral"]
    kinds = info.dtypes(device=dev, kind="real floating")
    assert set(kinds) <= {"float32", "float64"} and all(kinds[n] is getattr(xp, n) for n in kinds)
    caps = info.capabilities(device=dev)
    assert caps["boolean indexing"] is (dev.backend.name != "dask")
    assert isinstance(info.devices(), tuple) and dev in info.devices()


# ---------------------------------------------------------------------- new functions


@pytest.mark.parametrize("shapes, want", [
    (((2, 1), (3,)), (2, 3)),
    (((), (4, 1, 5), (1, 3, 1)), (4, 3, 5)),
    (((0,), (1,)), (0,)),
    (((3,),), (3,)),
    ((), ()),
])
def test_broadcast_shapes(shapes, want):
    assert xp.broadcast_shapes(*shapes) == want
    if shapes:
        assert want == np.broadcast_shapes(*shapes)


def test_broadcast_shapes_refuses_shapes_that_do_not_broadcast():
    with pytest.raises(ValueError, match=r"shapes \(2, 3\), \(4,\) cannot be broadcast together"):
        xp.broadcast_shapes((2, 3), (4,))
    with pytest.raises(TypeError, match="each shape must be an int or a tuple of ints"):
        xp.broadcast_shapes((2.0, 3))


def test_isin_against_numpy(device):
    a = np.array([[3, 1, 4], [1, 5, 9]])
    b = np.array([1, 9, 2, 6])
    x1, x2 = xp.asarray(a, device=device), xp.asarray(b, device=device)
    got = xp.isin(x1, x2)
    assert got.dtype == xp.bool and got.shape == (2, 3)
    assert values(got).tolist() == np.isin(a, b).tolist()
    assert values(xp.isin(x1, x2, invert=True)).tolist() == np.isin(a, b, invert=True).tolist()
    assert values(xp.isin(x1, 5)).tolist() == (a == 5).tolist()
    scalar = xp.isin(9, x2)
    assert scalar.shape == () and bool(scalar) is True
    assert bool(xp.isin(7, x2)) is False
    empty = xp.asarray(np.zeros(0, dtype=np.int64), device=device)
    assert values(xp.isin(x1, empty)).tolist() == [[False] * 3] * 2


def test_isin_is_not_differentiable(device):
    x = xp.asarray([1.0, 2.0, 3.0], device=device)
    x.requires_grad_(True)
    out = xp.isin(x, xp.asarray([2.0], device=device))
    assert not out.requires_grad and values(out).tolist() == [False, True, False]


def test_isin_by_sorting_for_a_library_without_it():
    # The op's fallback for libraries before 2025.12, run on NumPy's namespace directly.
    import array_api_compat.numpy as anp

    from xpgrad.ops.sets import _isin_sorted

    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 20, size=(4, 5)), rng.integers(0, 20, size=7)
    assert _isin_sorted(anp, anp.asarray(a), anp.asarray(b)).tolist() == np.isin(a, b).tolist()
    assert _isin_sorted(anp, anp.asarray(a), anp.asarray(b[:0])).tolist() == np.zeros((4, 5), bool).tolist()


def test_searchsorted_takes_python_scalars(device):
    x1 = xp.asarray([1.0, 2.0, 2.0, 3.0], device=device)
    for v, side in ((2.0, "left"), (2.0, "right"), (0, "left"), (5, "right"), (2.5, "left")):
        got = xp.searchsorted(x1, v, side=side)
        assert got.shape == () and int(got) == int(np.searchsorted([1.0, 2.0, 2.0, 3.0], v, side=side))
    ints = xp.asarray([1, 3, 5], device=device)
    assert int(xp.searchsorted(ints, 4)) == 2
    with pytest.raises(TypeError, match=r"searchsorted\(\): x2=2\.5 is a float but the array is int64"):
        xp.searchsorted(ints, 2.5)


def test_functions_that_return_several_arrays_return_tuples(device):
    a = xp.asarray([1.0, 2.0], device=device)
    b = xp.asarray([3.0, 4.0, 5.0], device=device)
    grid = xp.meshgrid(a, b)
    assert isinstance(grid, tuple) and [g.shape for g in grid] == [(3, 2), (3, 2)]
    assert isinstance(xp.broadcast_arrays(a, xp.asarray(1.0, device=device)), tuple)


def test_expand_dims_with_a_tuple_of_axes(device):
    x = xp.asarray(np.arange(6.0).reshape(2, 3), device=device)
    for axis in ((0, 1), (0, -1), (-1, -2), (3, 0), (1, 3)):
        got = xp.expand_dims(x, axis=axis)
        assert got.shape == np.expand_dims(np.zeros((2, 3)), axis).shape, axis
        assert values(got).tolist() == np.expand_dims(np.arange(6.0).reshape(2, 3), axis).tolist()
    with pytest.raises(IndexError, match=r"axis \(0, 4\) is out of range for a result of 4 dimensions"):
        xp.expand_dims(x, axis=(0, 4))
    with pytest.raises(IndexError, match=r"axis \(1, -3\) names one position twice"):
        xp.expand_dims(x, axis=(1, -3))
    with pytest.raises(IndexError, match=r"axis 3 is out of range for a result of 3 dimensions"):
        xp.expand_dims(x, axis=3)


def test_permute_dims_with_negative_axes(device):
    data = np.arange(24.0).reshape(2, 3, 4)
    x = xp.asarray(data, device=device)
    assert values(xp.permute_dims(x, (-1, 0, -2))).tolist() == np.transpose(data, (2, 0, 1)).tolist()
    with pytest.raises(ValueError, match=r"axes \(0, -3, 1\) repeat an axis"):
        xp.permute_dims(x, (0, -3, 1))
    with pytest.raises(ValueError, match=r"axes \(0, 1\) must name each of the 3 axes"):
        xp.permute_dims(x, (0, 1))


# ---------------------------------------------------------------------- what the standard leaves open, alike everywhere


def test_clip_refuses_a_float_bound_for_integers_on_every_device(device):
    i = xp.asarray([1, 2, 3], device=device)
    with pytest.raises(TypeError, match=r"clip: min=0\.5 is a float but x is int64; the result keeps x's dtype"):
        xp.clip(i, 0.5, 2)
    with pytest.raises(TypeError, match=r"clip: max=2\.0 is a float but x is int64"):
        xp.clip(i, max=2.0)
    got = xp.clip(i, 2, 2)
    assert got.dtype == xp.int64 and values(got).tolist() == [2, 2, 2]
    f = xp.asarray([0.5, 1.5], dtype=xp.float32, device=device)
    assert xp.clip(f, 1, 1.25).dtype == xp.float32  # Python scalars take x's dtype


def test_setitem_casts_the_value_to_the_arrays_dtype_on_every_device(device):
    x = xp.asarray([1.0, 2.0, 3.0], dtype=xp.float64, device=device)
    x[0:1] = xp.asarray([5.0], dtype=xp.float32, device=device)
    assert x.dtype == xp.float64 and values(x).tolist() == [5.0, 2.0, 3.0]
    i = xp.asarray([1, 2, 3], dtype=xp.int64, device=device)
    i[1] = xp.asarray(7, dtype=xp.int8, device=device)
    assert i.dtype == xp.int64 and values(i).tolist() == [1, 7, 3]


def test_integer_true_division_gives_the_devices_default_float_on_every_device(device):
    info = xp.__array_namespace_info__()
    want = info.default_dtypes(device=xpgrad.device(device))["real floating"]
    i = xp.asarray([1, 2, 3], device=device)
    for got in (i / i, xp.divide(i, xp.asarray([2, 2, 2], device=device)), i / 2, 3 / i):
        assert got.dtype is want
    assert values(i / 2).tolist() == [0.5, 1.0, 1.5]
    assert np.allclose(values(3 / i), [3.0, 1.5, 1.0])
    assert all(math.isclose(v, w, rel_tol=1e-6) for v, w in zip(values(i / 2.5).tolist(), [0.4, 0.8, 1.2]))


def test_isin_compares_floats_alike_on_every_device_and_refuses_complex(device):
    x = xp.asarray([0.5, -0.0, float("nan"), 2.0], device=device)
    got = xp.isin(x, xp.asarray([0.0, 2.0, float("nan")], device=device))
    assert values(got).tolist() == [False, True, False, True]  # by value equality: NaN is in nothing
    z = xp.asarray([1j], dtype=xp.complex128, device=device)
    with pytest.raises(TypeError, match=r"isin\(\): x1 is complex128; isin compares integer or real floating"):
        xp.isin(z, z)


def test_asarray_and_astype_without_a_copy_keep_the_tensor_on_every_device(device):
    # The dtype asked for (xpgrad's, or the library's own) is the Tensor's: nothing to cast.
    import array_api_strict

    x = xp.asarray([True, False], device=device)
    for dt in (xp.bool, x.dtype, "bool"):
        assert xp.asarray(x, dtype=dt, copy=False) is x
        assert xp.astype(x, dt, copy=False) is x
    if xpgrad.device(device).backend.name == "array_api_strict":
        assert xp.asarray(x, dtype=array_api_strict.bool, copy=False) is x
    with pytest.raises(ValueError, match="asarray\\(copy=False\\) would need a cast to"):
        xp.asarray(x, dtype=xp.int8, copy=False)
