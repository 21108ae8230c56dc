"""xpgrad.special: values against torch.special and known values, at the edges too;
first and second derivatives against finite differences; forward mode against reverse
mode; gradients at the hard places against PyTorch's; the library route per backend
(SciPy through NumPy on array-api-strict, chunk by chunk on dask, torch.special on
PyTorch); and each error with its message."""
import doctest
import math
import sys

import numpy as np
import pytest

import xpgrad
import xpgrad.special as special
from xpgrad.func import jvp
from xpgrad.ops import special as special_ops
from xpgrad.testing import check_grads

from helpers import assert_close, values

F64, F32 = xpgrad.float64, xpgrad.float32
NAN, INF = math.nan, math.inf
EULER = 0.5772156649015329
ZETA3 = 1.2020569031595942
LIBRARY = set(special_ops.LIBRARY_OPS)


def _needs_scipy(name, device):
    library = name in LIBRARY or name.startswith("polygamma")
    if library and not str(device).startswith("torch"):
        pytest.importorskip("scipy")


def _t(data, device, dtype=F64, requires_grad=False):
    return xpgrad.tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)


# name: (xpgrad function, torch function name and leading args, points per array argument
# away from singularities). Binary entries take two arrays; the "scalar" ones one array
# and a Python number.
FUNCTIONS = {
    "erf": (special.erf, ("erf",), [[-1.3, 0.2, 0.9]]),
    "erfc": (special.erfc, ("erfc",), [[-1.3, 0.2, 2.5]]),
    "erfinv": (special.erfinv, ("erfinv",), [[-0.7, 0.1, 0.6]]),
    "gammaln": (special.gammaln, ("gammaln",), [[-2.5, 0.3, 4.2]]),
    "digamma": (special.digamma, ("digamma",), [[-1.5, 0.4, 3.3]]),
    "polygamma_0": (lambda x: special.polygamma(0, x), ("polygamma", 0), [[0.3, 1.7, 4.2]]),
    "polygamma_1": (lambda x: special.polygamma(1, x), ("polygamma", 1), [[-0.5, 1.7, 4.2]]),
    "polygamma_3": (lambda x: special.polygamma(3, x), ("polygamma", 3), [[0.6, 1.7, 4.2]]),
    "ndtr": (special.ndtr, ("ndtr",), [[-1.3, 0.2, 2.5]]),
    "log_ndtr": (special.log_ndtr, ("log_ndtr",), [[-9.0, -1.3, 2.5]]),
    "ndtri": (special.ndtri, ("ndtri",), [[0.05, 0.4, 0.9]]),
    "i0": (special.i0, ("i0",), [[-2.5, 0.3, 1.2]]),
    "i0e": (special.i0e, ("i0e",), [[-2.5, 0.3, 1.2]]),
    "i1": (special.i1, ("i1",), [[-2.5, 0.3, 1.2]]),
    "i1e": (special.i1e, ("i1e",), [[-2.5, 0.3, 1.2]]),
    "expit": (special.expit, ("expit",), [[-3.0, 0.2, 1.5]]),
    "logit": (special.logit, ("logit",), [[0.1, 0.5, 0.8]]),
    "logit_eps": (lambda x: special.logit(x, eps=0.05), ("logit",), [[0.1, 0.5, 0.8]]),
    "sinc": (special.sinc, ("sinc",), [[-1.3, 0.2, 2.7]]),
    "entr": (special.entr, ("entr",), [[0.1, 0.5, 2.5]]),
    "xlogy": (special.xlogy, ("xlogy",), [[-1.2, 0.5, 2.0], [0.3, 1.5, 2.5]]),
    "xlogy_scalar": (lambda x: special.xlogy(x, 2.5), ("xlogy",), [[-1.2, 0.0, 2.0]]),
    "xlogy_scalar_first": (lambda y: special.xlogy(1.5, y), ("xlogy",), [[0.3, 1.5, 2.5]]),
    "xlog1py": (special.xlog1py, ("xlog1py",), [[-1.2, 0.5, 2.0], [-0.7, 0.5, 2.5]]),
}


# PyTorch computes polygamma(1, x) (trigamma) to about 3e-10 relative (polygamma(1, 0.5)
# is pi**2/2 = 4.934802200544679; PyTorch gives 4.934802202073678, SciPy the exact value):
# where trigamma is a value or a derivative, the comparison allows that.
TRIGAMMA = {"polygamma_1", "digamma", "polygamma_0"}


def _rtol(name, kind):
    if name == "polygamma_1" or kind == "grad" and name in TRIGAMMA:
        return 1e-9
    return 1e-12


def _grads(y, xs):
    """The gradients of ``sum(y)``, with a cotangent of ones (no sum of infinities)."""
    return xpgrad.autograd.grad(y, xs, grad_outputs=(xpgrad.ones_like(y),))


def _torch_grads(y, ts):
    import torch

    return torch.autograd.grad(y, ts, grad_outputs=torch.ones_like(y))


def _torch_fn(name):
    torch = pytest.importorskip("torch")
    fname, *lead = FUNCTIONS[name][1]
    fn = getattr(torch.special, fname)
    if name == "logit_eps":
        return lambda x: fn(x, eps=0.05)
    if name == "xlogy_scalar":
        return lambda x: fn(x, 2.5)
    if name == "xlogy_scalar_first":
        return lambda y: fn(1.5, y)
    return lambda *xs: fn(*lead, *xs)


# ---------------------------------------------------------------------- values


# name: (inputs, expected), known without SciPy or PyTorch
KNOWN = {
    "erf": ([0.0, 0.5, -INF], [0.0, math.erf(0.5), -1.0]),
    "erfc": ([0.0, 3.0, INF], [1.0, math.erfc(3.0), 0.0]),
    "erfinv": ([0.0, math.erf(0.3), 1.0, -1.0, 1.5], [0.0, 0.3, INF, -INF, NAN]),
    "gammaln": ([1.0, 0.5, 10.0, 0.0, -2.0], [0.0, math.lgamma(0.5), math.lgamma(10.0), INF, INF]),
    "digamma": ([1.0, 0.5, 0.0], [-EULER, -EULER - 2 * math.log(2), -INF]),
    "polygamma_1": ([1.0, 0.5], [math.pi ** 2 / 6, math.pi ** 2 / 2]),
    "polygamma_3": ([1.0], [math.pi ** 4 / 15]),
    "ndtr": ([0.0, 1.0, -INF], [0.5, 0.5 * math.erfc(-1 / math.sqrt(2)), 0.0]),
    "log_ndtr": ([0.0, -2.0, INF], [-math.log(2), math.log(0.5 * math.erfc(2 / math.sqrt(2))), 0.0]),
    "ndtri": ([0.5, 0.5 * math.erfc(-1 / math.sqrt(2)), 0.0, 1.0], [0.0, 1.0, -INF, INF]),
    "i0": ([0.0, 1.0], [1.0, 1.2660658777520082]),
    "i0e": ([0.0, 1.0, -1.0], [1.0, 1.2660658777520082 / math.e, 1.2660658777520082 / math.e]),
    "i1": ([0.0, 1.0, -1.0], [0.0, 0.5651591039924851, -0.5651591039924851]),
    "i1e": ([0.0, 1.0], [0.0, 0.5651591039924851 / math.e]),
    "expit": ([0.0, -800.0, 800.0], [0.5, 0.0, 1.0]),
    "logit": ([0.25, 0.0, 1.0, 1.5], [-math.log(3), -INF, INF, NAN]),
    "logit_eps": ([0.25, 0.0, 1.0], [-math.log(3), math.log(0.05 / 0.95), math.log(0.95 / 0.05)]),
    "sinc": ([0.0, 0.5, 1.0], [1.0, 2 / math.pi, math.sin(math.pi) / math.pi]),
    "entr": ([0.5, 0.0, -1.0, NAN], [0.5 * math.log(2), 0.0, -INF, NAN]),
    "xlogy_scalar": ([2.0, 0.0], [2 * math.log(2.5), 0.0]),
}


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_known_values(device, name):
    _needs_scipy(name, device)
    fn = FUNCTIONS[name][0]
    x, expected = KNOWN[name]
    # PyTorch's trigamma is accurate to about 3e-10 (see TRIGAMMA), the other libraries' to the last digits
    rtol = 1e-9 if name == "polygamma_1" and device.startswith("torch") else 1e-13
    assert_close(fn(_t(x, device)), expected, rtol=rtol, atol=1e-15, dtype=F64, device=device)


def test_known_values_binary(device):
    assert_close(special.xlogy(_t([0.0, 0.0, 2.0, 1.0], device), _t([0.0, NAN, 3.0, 0.0], device)),
                 [0.0, NAN, 2 * math.log(3.0), -INF], dtype=F64, device=device)
    assert_close(special.xlog1py(_t([0.0, 0.0, 2.0, 1.0], device), _t([-1.0, -3.0, 2.0, -1.0], device)),
                 [0.0, 0.0, 2 * math.log(3.0), -INF], dtype=F64, device=device)
    assert_close(special.xlog1py(3.0, _t([0.5], device)), [3 * math.log1p(0.5)], dtype=F64, device=device)


# Points where the conventions show: zeros, poles, infinities, nan, the ends of domains.
EDGES = {
    "erf": [0.0, -0.0, 1e-300, 40.0, -40.0, INF, -INF, NAN],
    "erfc": [0.0, -30.0, 30.0, INF, -INF, NAN],
    "erfinv": [1.0, -1.0, 0.0, 1.5, -1.5, 1 - 1e-16, NAN],
    "gammaln": [0.0, -0.0, -1.0, -2.5, 5e-324, 1e-310, 1e300, INF, -INF, NAN],
    "digamma": [0.0, -0.0, -1.0, -2.5, 1e-300, INF, NAN],
    "polygamma_1": [0.5, -0.5, -2.5, 1e-10, INF, NAN],
    "ndtr": [0.0, -40.0, 40.0, INF, -INF, NAN],
    "log_ndtr": [0.0, -40.0, -1e3, 40.0, INF, -INF, NAN],
    "ndtri": [0.0, 1.0, 0.5, -0.5, 1.5, 1e-300, NAN],
    "i0": [0.0, -0.0, 700.0, -700.0, INF, NAN],
    "i0e": [0.0, 1e-300, 1e5, -1e5, INF, -INF, NAN],
    "i1": [0.0, -0.0, 1e-300, 700.0, -700.0, INF, -INF, NAN],
    "i1e": [0.0, 1e-300, 1e5, -1e5, INF, -INF, NAN],
    "expit": [-800.0, 0.0, 800.0, INF, -INF, NAN],
    "logit": [0.0, 1.0, -0.5, 1.5, 0.3, NAN],
    "logit_eps": [0.0, 1.0, -0.5, 1.5, 0.3, 0.05, 0.95, NAN],
    "sinc": [0.0, -0.0, 1.0, -3.0, 2.5, 1e-300, 1e300],
    "entr": [0.0, -0.0, -1.0, 2.0, INF, -INF, NAN],
}


@pytest.mark.parametrize("name", sorted(EDGES))
def test_edge_values_against_torch(device, name):
    _needs_scipy(name, device)
    theirs = _torch_fn(name)
    import torch

    x = EDGES[name]
    expected = theirs(torch.tensor(x, dtype=torch.float64)).numpy()
    got = FUNCTIONS[name][0](_t(x, device))
    assert_close(got, expected, rtol=_rtol(name, "value"), atol=1e-300, dtype=F64, device=device)
    # the sign of infinities and zeros too
    number = ~np.isnan(expected)
    assert np.array_equal(np.signbit(values(got))[number], np.signbit(expected)[number])


def test_edge_values_binary_against_torch(device):
    torch = pytest.importorskip("torch")
    x = [0.0, 0.0, 0.0, 2.0, 0.0, 1.0, NAN, 0.0, -1.5]
    y = [0.5, 0.0, -2.0, NAN, INF, 0.0, 1.0, NAN, -1.0]
    for ours, theirs in ((special.xlogy, torch.special.xlogy), (special.xlog1py, torch.special.xlog1py)):
        expected = theirs(torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)).numpy()
        assert_close(ours(_t(x, device), _t(y, device)), expected, dtype=F64, device=device)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_values_against_torch(device, name):
    _needs_scipy(name, device)
    theirs = _torch_fn(name)
    import torch

    points = FUNCTIONS[name][2]
    expected = theirs(*[torch.tensor(p, dtype=torch.float64) for p in points]).numpy()
    assert_close(FUNCTIONS[name][0](*[_t(p, device) for p in points]), expected, rtol=_rtol(name, "value"), atol=1e-14,
                 dtype=F64, device=device)


@pytest.mark.parametrize("name", ["erf", "gammaln", "polygamma_1", "i1e", "log_ndtr", "ndtri", "logit", "entr"])
def test_float32_keeps_its_dtype(device, name):
    _needs_scipy(name, device)
    x = FUNCTIONS[name][2][0]
    got = FUNCTIONS[name][0](_t(x, device, dtype=F32))
    assert_close(got, values(FUNCTIONS[name][0](_t(x, device))), rtol=1e-5, atol=1e-6, dtype=F32, device=device)


def test_dask_is_lazy_and_chunked():
    pytest.importorskip("scipy")
    da = pytest.importorskip("dask.array")
    x = xpgrad.tensor(da.from_array(np.linspace(-2.1, 2.0, 10), chunks=4), device="dask")
    y = special.gammaln(x)
    assert isinstance(y._data, da.Array) and y._data.chunks == ((4, 4, 2),)
    assert_close(y, [math.lgamma(v) for v in np.linspace(-2.1, 2.0, 10)], dtype=F64, device="dask")


def test_torch_backend_uses_torch_special():
    torch = pytest.importorskip("torch")
    pytest.importorskip("array_api_compat.torch")
    x = xpgrad.tensor([0.3, 1.7], dtype=F64, device="torch", requires_grad=True)
    y = special.polygamma(1, x)
    assert isinstance(y._data, torch.Tensor)
    (g,) = xpgrad.autograd.grad(y.sum(), (x,), create_graph=True)
    (g2,) = xpgrad.autograd.grad(g.sum(), (x,))
    t = torch.tensor([0.3, 1.7], dtype=torch.float64)
    assert_close(y, torch.special.polygamma(1, t).numpy(), rtol=0, atol=0, device="torch")
    assert_close(g, torch.special.polygamma(2, t).numpy(), rtol=1e-14, device="torch")
    assert_close(g2, torch.special.polygamma(3, t).numpy(), rtol=1e-14, device="torch")
    check_grads(special.i1e, xpgrad.tensor([-2.5, 0.3], dtype=F64, device="torch", requires_grad=True))


# ---------------------------------------------------------------------- gradients


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_first_and_second_order(device, name):
    _needs_scipy(name, device)
    fn, _, points = FUNCTIONS[name]
    check_grads(fn, *[_t(p, device, requires_grad=True) for p in points])


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_gradients_against_torch(device, name):
    _needs_scipy(name, device)
    theirs = _torch_fn(name)
    import torch

    points = FUNCTIONS[name][2]
    ts = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in points]
    expected = _torch_grads(theirs(*ts), ts)
    xs = [_t(p, device, requires_grad=True) for p in points]
    got = _grads(FUNCTIONS[name][0](*xs), xs)
    for g, e in zip(got, expected):
        assert_close(g, e.numpy(), rtol=_rtol(name, "grad"), atol=1e-13, dtype=F64, device=device)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_forward_mode_matches_reverse_mode(device, name):
    _needs_scipy(name, device)
    fn, _, points = FUNCTIONS[name]
    xs = [_t(p, device, requires_grad=True) for p in points]
    tangents = [_t([0.5 + i, -1.0, 2.0], device) for i in range(len(xs))]
    out, tangent_out = jvp(fn, [x.detach() for x in xs], tangents)
    grads = xpgrad.autograd.grad(fn(*xs).sum(), xs)  # elementwise: the Jacobian is diagonal
    expected = sum(values(g) * values(t) for g, t in zip(grads, tangents))
    assert_close(out, values(fn(*xs)), device=device)
    assert_close(tangent_out, expected, rtol=1e-12, atol=1e-14, dtype=F64, device=device)


# name: (inputs, torch's gradient there), first order, at the hard places
EDGE_GRADIENTS = {
    "erfinv": [1.0, -1.0, 0.0],
    "ndtri": [0.0, 1.0, 0.5],
    "log_ndtr": [-40.0, -1e3, 0.0, 40.0, INF],
    "gammaln": [0.0, -0.0, 1e-300],
    "digamma": [0.0, -0.0],
    "i0e": [0.0, -0.0, 1e-20, -2.0],
    "i1": [0.0, -0.0, 1e-20, 2.0],
    "i1e": [0.0, -0.0, 1e-20, -2.0],
    "sinc": [0.0, -0.0, 1.0, 1e-300, 1e-150],
    "entr": [0.0, -1.0, 2.0, NAN],
    "logit": [-0.5, 1.5, 0.3],
    "logit_eps": [0.0, 1.0, -0.5, 0.05, 0.95, 0.3],
    "expit": [-800.0, 0.0, 800.0],
}


@pytest.mark.parametrize("name", sorted(EDGE_GRADIENTS))
def test_edge_gradients_against_torch(device, name):
    _needs_scipy(name, device)
    theirs = _torch_fn(name)
    import torch

    x = EDGE_GRADIENTS[name]
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    (expected,) = _torch_grads(theirs(t), (t,))
    xt = _t(x, device, requires_grad=True)
    (got,) = _grads(FUNCTIONS[name][0](xt), (xt,))
    assert_close(got, expected.numpy(), rtol=_rtol(name, "grad"), atol=1e-300, dtype=F64, device=device)


def test_xlogy_xlog1py_gradients_at_zero_against_torch(device):
    torch = pytest.importorskip("torch")
    x = [0.0, 0.0, 0.0, 0.0, 2.0, 1.0, NAN, 0.0]
    for ours, theirs, y in ((special.xlogy, torch.special.xlogy, [0.5, 0.0, -2.0, INF, NAN, 0.0, 1.0, NAN]),
                            (special.xlog1py, torch.special.xlog1py, [0.5, -1.0, -2.0, INF, NAN, -1.0, 1.0, -0.5])):
        t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        (expected,) = _torch_grads(theirs(t, torch.tensor(y, dtype=torch.float64)), (t,))
        xt = _t(x, device, requires_grad=True)
        (got,) = _grads(ours(xt, _t(y, device)), (xt,))
        assert_close(got, expected.numpy(), dtype=F64, device=device)
    # a Python-scalar y: the derivative in x at x == 0 is 0 where y <= 0, log(y) elsewhere
    xt = _t([0.0, 1.0], device, requires_grad=True)
    (got,) = _grads(special.xlogy(xt, 0.0), (xt,))
    assert_close(got, [0.0, -INF], dtype=F64, device=device)


def test_known_gradients_without_torch(device):
    """The rules at the hard places against their limits, with no oracle to lean on."""
    x = _t([0.0, 0.5], device, requires_grad=True)
    (g,) = xpgrad.autograd.grad(special.sinc(x).sum(), (x,))
    assert_close(g, [0.0, -4 / math.pi], rtol=1e-14, atol=1e-15, dtype=F64, device=device)
    (g,) = xpgrad.autograd.grad(special.entr(x).sum(), (x,))
    assert_close(g, [INF, -(1 + math.log(0.5))], rtol=1e-14, dtype=F64, device=device)
    (g,) = xpgrad.autograd.grad(special.logit(x, eps=0.3).sum(), (x,))
    assert_close(g, [0.0, 4.0], rtol=1e-14, dtype=F64, device=device)
    (g,) = _grads(special.xlogy(x, 0.0), (x,))
    assert_close(g, [0.0, -INF], dtype=F64, device=device)


def test_known_gradients_of_library_functions(device):
    pytest.importorskip("scipy")
    x = _t([0.0, 1.0], device, requires_grad=True)
    (g,) = xpgrad.autograd.grad(special.i1(x).sum(), (x,))
    assert_close(g, [0.5, 1.2660658777520082 - 0.5651591039924851], rtol=1e-13, dtype=F64, device=device)
    (g,) = xpgrad.autograd.grad(special.erfinv(x).sum(), (x,))
    assert_close(g, [math.sqrt(math.pi) / 2, INF], rtol=1e-14, dtype=F64, device=device)
    y = _t([1.0], device, requires_grad=True)
    (g,) = xpgrad.autograd.grad(special.gammaln(y).sum(), (y,), create_graph=True)
    (g2,) = xpgrad.autograd.grad(g.sum(), (y,))
    assert_close(g, [-EULER], rtol=1e-14, dtype=F64, device=device)
    assert_close(g2, [math.pi ** 2 / 6], rtol=1e-14, dtype=F64, device=device)
    (g,) = xpgrad.autograd.grad(special.polygamma(1, y).sum(), (y,))
    assert_close(g, [-2 * ZETA3], rtol=1e-14, dtype=F64, device=device)


# ---------------------------------------------------------------------- errors


def test_polygamma_n_must_be_a_non_negative_int():
    x = xpgrad.tensor([1.0])
    with pytest.raises(ValueError, match=r"^polygamma: n must be a non-negative int, got -1$"):
        special.polygamma(-1, x)
    with pytest.raises(TypeError, match=r"^polygamma: n must be an int, got float 1\.5$"):
        special.polygamma(1.5, x)
    with pytest.raises(TypeError, match=r"^polygamma: n must be an int, got bool True$"):
        special.polygamma(True, x)


def test_without_scipy_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.special", None)
    with pytest.raises(ImportError) as info:
        special.erf(xpgrad.tensor([0.5], dtype=F64))
    assert str(info.value) == (
        "op 'erf' (plugin 'xpgrad.ops.special') failed on (x=Tensor(shape=(1,), dtype=float64, device=cpu)): "
        "xpgrad.special.erf on NumPy, dask and array-api-strict arrays is SciPy's scipy.special.erf, and SciPy "
        'is not installed; install it with pip install "xpgrad[special]"')
    # the elementary ones need no SciPy
    assert_close(special.entr(xpgrad.tensor([0.5], dtype=F64)), [0.5 * math.log(2)], dtype=F64)


def test_without_scipy_dask_raises_before_computing(monkeypatch):
    pytest.importorskip("dask.array")
    x = xpgrad.tensor([0.5], dtype=F64, device="dask")
    monkeypatch.setitem(sys.modules, "scipy.special", None)
    with pytest.raises(ImportError, match=r'install it with pip install "xpgrad\[special\]"$'):
        special.gammaln(x)


def test_a_backend_without_an_implementation_says_so(monkeypatch):
    """A backend that the ops have no library forward for gets the generic definition,
    whose error names the function and the backend's namespace."""
    from xpgrad.plugins import registry

    generic = next(op for op in registry.all_ops()["gammaln"] if op.backends is None)
    monkeypatch.setitem(xpgrad.tensor([1.0])._dev.ops, "gammaln", generic)
    with pytest.raises(NotImplementedError) as info:
        special.gammaln(xpgrad.tensor([0.5], dtype=F64))
    assert str(info.value) == (
        "op 'gammaln' (plugin 'xpgrad.ops.special') failed on (x=Tensor(shape=(1,), dtype=float64, device=cpu)): "
        "xpgrad.special.gammaln has no implementation for arrays of namespace 'array_api_compat.numpy': it is "
        "the array library's own special function (SciPy's on NumPy, dask and array-api-strict; torch.special, "
        "jax.scipy.special, cupyx.scipy.special), on the backends ['array_api_strict', 'cupy', 'dask', 'jax', "
        "'numpy', 'torch'] only. A backend plugin adds one with Op.replaced(forward, backends={...}) of the op "
        "'gammaln'")


def test_every_library_op_has_a_forward_per_backend():
    from xpgrad.plugins import manager, registry

    manager.get_plugin_manager()
    ops = registry.all_ops()
    for name in special_ops.LIBRARY_OPS:
        backends = sorted(b for op in ops[name] if op.backends for b in op.backends)
        assert backends == ["array_api_strict", "cupy", "dask", "jax", "numpy", "torch"], name
        assert all(op.plugin == "xpgrad.ops.special" for op in ops[name])


def test_docstring_examples_run():
    pytest.importorskip("scipy")
    result = doctest.testmod(special, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 100 and result.failed == 0
