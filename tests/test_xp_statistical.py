"""Statistical, searching, sorting, set and utility functions of ``xpgrad.xp``.

Differentiable functions are checked to first and second order against finite
differences on every device; the conventions finite differences cannot see (ties of
max/min and sort, zeros in prod and cumulative_prod, std at zero variance) against exact
values; the forward-mode (JVP) rules against central differences; and the integer and
boolean results for their values and for not requiring grad.
"""
import numpy as np
import pytest

import xpgrad
from xpgrad import xp

from helpers import check

F32 = xpgrad.float32
F64 = xpgrad.float64



def normal(*shape):
    return lambda device: xpgrad.randn(*shape, dtype=F64, device=device, requires_grad=True)


def values(data):
    """Fixed float64 values that require grad (zeros, ties)."""
    return lambda device: xpgrad.tensor(data, dtype=F64, device=device, requires_grad=True)


def positive(*shape):
    def make(device):
        x = xpgrad.rand(*shape, dtype=F64, device=device) + 0.5
        return x.detach().requires_grad_()
    return make


def as_numpy(t):
    return np.array(t.detach().tolist())


# ---------------------------------------------------------------------- gradients

GRADIENTS = {
    "sum-none": (lambda t: xp.sum(t), (normal(2, 3),)),
    "sum-tuple-keepdims": (lambda t: xp.sum(t, axis=(0, -1), keepdims=True), (normal(2, 3, 2),)),
    "mean-neg-axis": (lambda t: xp.mean(t, axis=-1), (normal(2, 3),)),
    "prod-none": (lambda t: xp.prod(t), (normal(2, 3),)),
    "prod-axis1": (lambda t: xp.prod(t, axis=1), (normal(2, 3),)),
    "prod-neg-keepdims": (lambda t: xp.prod(t, axis=-1, keepdims=True), (normal(2, 3),)),
    "prod-tuple": (lambda t: xp.prod(t, axis=(0, 2)), (normal(2, 3, 2),)),
    "prod-0d": (lambda t: xp.prod(t), (normal(),)),
    "prod-empty": (lambda t: xp.prod(t, axis=0), (normal(0, 3),)),
    "prod-one-zero": (lambda t: xp.prod(t, axis=1), (values([[2.0, 0.0, 3.0], [1.0, 2.0, -1.5]]),)),
    "prod-two-zeros": (lambda t: xp.prod(t), (values([0.0, 2.0, 0.0, 1.5]),)),
    "max-none": (lambda t: xp.max(t), (normal(2, 3),)),
    "max-axis0-keepdims": (lambda t: xp.max(t, axis=0, keepdims=True), (normal(2, 3),)),
    "min-tuple": (lambda t: xp.min(t, axis=(-1, 0)), (normal(2, 3, 2),)),
    "min-0d": (lambda t: xp.min(t), (normal(),)),
    "var-none": (lambda t: xp.var(t), (normal(2, 3),)),
    "var-axis-correction": (lambda t: xp.var(t, axis=1, correction=1, keepdims=True), (normal(2, 3),)),
    "std-none": (lambda t: xp.std(t), (normal(2, 3),)),
    "std-tuple-correction": (lambda t: xp.std(t, axis=(0, 1), correction=1.0), (normal(2, 3, 2),)),
    "cumsum-1d": (lambda t: xp.cumulative_sum(t), (normal(4),)),
    "cumsum-axis0-initial": (lambda t: xp.cumulative_sum(t, axis=0, include_initial=True), (normal(2, 3),)),
    "cumsum-neg-axis": (lambda t: xp.cumulative_sum(t, axis=-1), (normal(2, 3),)),
    "cumprod-1d": (lambda t: xp.cumulative_prod(t), (normal(4),)),
    "cumprod-axis1-initial": (lambda t: xp.cumulative_prod(t, axis=1, include_initial=True), (normal(2, 3),)),
    "cumprod-zeros": (lambda t: xp.cumulative_prod(t, axis=-1),
                      (values([[2.0, 0.0, 3.0, 0.5], [0.0, 0.0, 1.5, 2.0]]),)),
    "cumprod-zeros-initial": (lambda t: xp.cumulative_prod(t, axis=0, include_initial=True),
                              (values([[2.0, 0.0], [0.0, 1.5], [3.0, -1.0]]),)),
    "cumsum-empty-initial": (lambda t: xp.cumulative_sum(t, axis=0, include_initial=True), (normal(0, 3),)),
    "cumprod-empty-initial": (lambda t: xp.cumulative_prod(t, axis=-2, include_initial=True), (normal(0, 2),)),
    "sort-0-length": (lambda t: xp.sort(t, axis=0), (normal(0, 2),)),
    "sort-last": (lambda t: xp.sort(t), (normal(2, 3),)),
    "sort-axis0-descending": (lambda t: xp.sort(t, axis=0, descending=True), (normal(3, 2),)),
    "diff-1": (lambda t: xp.diff(t), (normal(2, 4),)),
    "diff-2-axis0": (lambda t: xp.diff(t, axis=0, n=2), (normal(4, 2),)),
    "diff-prepend-append": (lambda t, p, a: xp.diff(t, axis=-1, prepend=p, append=a),
                            (normal(2, 3), normal(2, 1), normal(2, 2))),
}


@pytest.mark.parametrize("fn, makers", [pytest.param(f, m, id=k) for k, (f, m) in GRADIENTS.items()])
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_gradients(fn, makers, device):
    check(fn, tuple(make(device) for make in makers))


@pytest.mark.parametrize("name, fn", [
    ("sum", lambda t: xp.sum(t, axis=1)), ("mean", lambda t: xp.mean(t)), ("prod", lambda t: xp.prod(t, axis=0)),
    ("max", lambda t: xp.max(t, axis=-1)), ("min", lambda t: xp.min(t)), ("var", lambda t: xp.var(t, axis=0)),
    ("std", lambda t: xp.std(t, axis=1)), ("cumulative_sum", lambda t: xp.cumulative_sum(t, axis=1)),
    ("cumulative_prod", lambda t: xp.cumulative_prod(t, axis=0)), ("sort", lambda t: xp.sort(t)),
    ("diff", lambda t: xp.diff(t)),
])
def test_values_match_numpy(name, fn, device):
    x = xpgrad.randn(2, 3, dtype=F64, device=device)
    expected = {"cumulative_sum": lambda a: np.cumsum(a, axis=1), "cumulative_prod": lambda a: np.cumprod(a, axis=0),
                "sort": np.sort, "diff": np.diff}.get(name)
    a = as_numpy(x)
    if expected is None:
        got, want = as_numpy(fn(x)), as_numpy(fn(xpgrad.tensor(a)))
        want = {"sum": a.sum(1), "mean": a.mean(), "prod": a.prod(0), "max": a.max(-1), "min": a.min(),
                "var": a.var(0), "std": a.std(1)}[name]
    else:
        got, want = as_numpy(fn(x)), expected(a)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fn", [
    lambda t: xp.sum(t, axis=0), lambda t: xp.prod(t), lambda t: xp.max(t, axis=1), lambda t: xp.std(t),
    lambda t: xp.var(t, axis=0), lambda t: xp.cumulative_prod(t, axis=1), lambda t: xp.cumulative_sum(t, axis=0),
    lambda t: xp.sort(t, axis=0), lambda t: xp.diff(t), lambda t: xp.mean(t),
], ids=["sum", "prod", "max", "std", "var", "cumprod", "cumsum", "sort", "diff", "mean"])
def test_float32_stays_float32(fn, device):
    x = xpgrad.rand(2, 3, dtype=F32, device=device, requires_grad=True)
    y = fn(x)
    assert y.dtype == x.dtype
    y.sum().backward()
    assert x.grad.dtype == x.dtype


# ---------------------------------------------------------------------- conventions


def grad_of(fn, data, device):
    x = xpgrad.tensor(data, dtype=F64, device=device, requires_grad=True)
    fn(x).sum().backward()
    return as_numpy(x.grad)


def test_max_min_ties_share_the_gradient(device):
    np.testing.assert_array_equal(grad_of(xp.max, [1.0, 3.0, 3.0], device), [0.0, 0.5, 0.5])
    np.testing.assert_array_equal(grad_of(xp.min, [2.0, 2.0, 2.0, 5.0], device), [1 / 3, 1 / 3, 1 / 3, 0.0])
    np.testing.assert_array_equal(grad_of(lambda t: xp.min(t, axis=1, keepdims=True), [[1.0, 1.0], [2.0, 0.0]], device),
                                  [[0.5, 0.5], [0.0, 1.0]])
    np.testing.assert_array_equal(grad_of(lambda t: xp.max(t, axis=0), [[4.0, 1.0], [4.0, 2.0]], device),
                                  [[0.5, 0.0], [0.5, 1.0]])


def test_prod_with_zeros_exact(device):
    np.testing.assert_array_equal(grad_of(xp.prod, [2.0, 0.0, 3.0], device), [0.0, 6.0, 0.0])
    np.testing.assert_array_equal(grad_of(xp.prod, [0.0, 2.0, 0.0], device), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(grad_of(lambda t: xp.prod(t, axis=0), [[0.0, 2.0], [5.0, 3.0]], device),
                                  [[5.0, 3.0], [0.0, 2.0]])


def hessian_row(fn, data, i, device):
    """d/dx of (d fn / d x_i), by two reverse passes."""
    x = xpgrad.tensor(data, dtype=F64, device=device, requires_grad=True)
    (g,) = xpgrad.autograd.grad(fn(x).sum(), x, create_graph=True)
    (h,) = xpgrad.autograd.grad(g[i], x)
    return as_numpy(h)


@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_prod_zeros_second_order(device):
    # prod = x0 x1 x2 at (0, 2, 0): d2/dx0 dx_j = (0, x2, x1) = (0, 0, 2)
    np.testing.assert_array_equal(hessian_row(xp.prod, [0.0, 2.0, 0.0], 0, device), [0.0, 0.0, 2.0])
    np.testing.assert_array_equal(hessian_row(xp.prod, [0.0, 2.0, 3.0], 0, device), [0.0, 3.0, 2.0])


def test_cumulative_prod_with_zeros_exact(device):
    # sum(cumprod(x)) = x0 + x0 x1 + x0 x1 x2
    got = grad_of(lambda t: xp.cumulative_prod(t, axis=1), [[2.0, 0.0, 3.0], [0.0, 0.0, 4.0]], device)
    np.testing.assert_array_equal(got, [[1.0, 8.0, 0.0], [1.0, 0.0, 0.0]])
    got = grad_of(lambda t: xp.cumulative_prod(t, include_initial=True), [0.0, 5.0], device)
    np.testing.assert_array_equal(got, [6.0, 0.0])


@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_cumulative_prod_zeros_second_order(device):
    # d/dx of (1 + x1 + x1 x2) at (2, 0, 3) is (0, 1 + x2, x1) = (0, 4, 0)
    np.testing.assert_array_equal(hessian_row(xp.cumulative_prod, [2.0, 0.0, 3.0], 0, device), [0.0, 4.0, 0.0])
    # d/dx of (x0 + x0 x2) at (0, 0, 3) is (1 + x2, 0, x0) = (4, 0, 0)
    np.testing.assert_array_equal(hessian_row(xp.cumulative_prod, [0.0, 0.0, 3.0], 1, device), [4.0, 0.0, 0.0])


def test_std_at_zero_variance_has_gradient_zero(device):
    np.testing.assert_array_equal(grad_of(xp.std, [1.5, 1.5, 1.5], device), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(grad_of(lambda t: xp.std(t, axis=1), [[2.0, 2.0], [1.0, 3.0]], device),
                                  [[0.0, 0.0], [-0.5, 0.5]])


def test_sort_with_ties_sends_each_gradient_back(device):
    x = xpgrad.tensor([3.0, 1.0, 3.0, 2.0], dtype=F64, device=device, requires_grad=True)
    y = xp.sort(x)
    weights = xpgrad.tensor([10.0, 20.0, 30.0, 40.0], dtype=F64, device=device)
    (y * weights).sum().backward()
    # stable: sorted = x1, x3, x0, x2
    np.testing.assert_array_equal(as_numpy(x.grad), [30.0, 10.0, 40.0, 20.0])
    x.grad = None
    (xp.sort(x, descending=True) * weights).sum().backward()
    # stable descending: x0, x2, x3, x1
    np.testing.assert_array_equal(as_numpy(x.grad), [10.0, 40.0, 20.0, 30.0])


@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_unique_values_gradient(device):
    if device == "dask":
        pytest.skip("unique's shape depends on the values, which dask does not know")
    check(xp.unique_values, (values([[0.5, -1.0], [2.0, 0.25]])(device),))
    # each element gets its value's gradient
    got = grad_of(lambda t: xp.unique_values(t) * xpgrad.tensor([1.0, 2.0, 3.0], dtype=F64, device=device),
                  [3.0, 1.0, 3.0, 2.0], device)
    np.testing.assert_array_equal(got, [3.0, 1.0, 3.0, 2.0])


# ---------------------------------------------------------------------- forward-mode rules


def jvp_by_rule(name, x, t, **params):
    """The JVP of op ``name`` at NumPy ``x`` along ``t``, from its registered rule."""
    dev = xpgrad.device("cpu")
    op = dev.ops[name]
    params = {**op.defaults, **params}
    out = op.forward(dev.xp, x, **params)
    rule = op.jvp_rules[0]
    if rule.kind == "linear":  # declared linear: the op itself, on the tangent
        return op.forward(dev.xp, t, **params)
    named = {"x": x, "out": out, "x_shape": x.shape, "x_dtype": x.dtype, **params}
    return rule.fn(dev.xp, t, *(named[n] for n in rule.names))


JVPS = [
    ("sum", [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], {"axis": 1}),
    ("mean", [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], {"axis": (0, 1), "keepdims": True}),
    ("prod", [[1.0, 0.0, 3.0], [0.5, 2.0, -1.0]], {"axis": -1}),
    ("prod", [0.0, 2.0, 0.0], {}),
    ("max", [[1.0, 4.0, 2.0], [3.0, 0.0, 2.5]], {"axis": 0}),
    ("min", [[1.0, 4.0, 2.0], [3.0, 0.0, 2.5]], {"axis": None, "keepdims": True}),
    ("var", [[1.0, 4.0, 2.0], [3.0, 0.0, 2.5]], {"axis": 1, "correction": 1}),
    ("std", [[1.0, 4.0, 2.0], [3.0, 0.0, 2.5]], {"axis": 0}),
    ("cumulative_sum", [[1.0, 4.0, 2.0], [3.0, 0.0, 2.5]], {"axis": 1, "include_initial": True}),
    ("cumulative_prod", [[1.0, 4.0, 2.0], [3.0, 0.5, 2.5]], {"axis": 1}),
    ("cumulative_prod", [[1.0, 0.0, 2.0], [0.0, 0.5, 2.5]], {"axis": 1, "include_initial": True}),
    ("cumulative_prod", [[1.0, 0.0, 2.0], [0.0, 0.5, 2.5]], {"axis": 0}),
    ("sort", [[1.0, 4.0, 2.0], [3.0, 0.0, 2.5]], {"axis": 0, "descending": True}),
    ("unique_values", [[1.0, 4.0, 2.0], [3.0, 0.0, 2.5]], {}),
    ("prod", [[1.0, 4.0, 2.0], [3.0, 0.0, 2.5]], {"axis": 0, "dtype": np.float64}),
    ("cumulative_sum", [1.0, 4.0, 2.0], {"dtype": np.float64}),
]


@pytest.mark.parametrize("name, data, params", JVPS, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(JVPS)])
def test_jvp_rules_match_central_differences(name, data, params):
    x = np.array(data)
    t = np.random.default_rng(0).standard_normal(x.shape)
    op = xpgrad.device("cpu").ops[name]
    full = {**op.defaults, **params}
    eps = 1e-6
    ns = xpgrad.device("cpu").xp
    numerical = (op.forward(ns, x + eps * t, **full) - op.forward(ns, x - eps * t, **full)) / (2 * eps)
    np.testing.assert_allclose(np.asarray(jvp_by_rule(name, x, t, **params)), numerical, rtol=1e-6, atol=1e-8)


def test_jvp_conventions():
    # ties: the tangent of max is the mean of the tied elements' tangents
    got = jvp_by_rule("max", np.array([1.0, 3.0, 3.0]), np.array([5.0, 1.0, 2.0]))
    assert float(got) == 1.5
    # unique: the tangent of a value is the sum of its elements' tangents
    got = jvp_by_rule("unique_values", np.array([3.0, 1.0, 3.0]), np.array([1.0, 2.0, 4.0]))
    np.testing.assert_array_equal(got, [2.0, 5.0])


# ---------------------------------------------------------------------- not differentiable


def test_integer_results_do_not_require_grad(device):
    x = xpgrad.tensor([[3.0, 1.0, 0.0], [2.0, 2.0, 5.0]], dtype=F64, device=device, requires_grad=True)
    results = {
        "argmax": (xp.argmax(x, axis=1), [0, 2]),
        "argmin-keepdims": (xp.argmin(x, axis=0, keepdims=True), [[1, 0, 0]]),
        "argmax-none": (xp.argmax(x), 5),
        "argsort": (xp.argsort(x, axis=-1), [[2, 1, 0], [0, 1, 2]]),
        "count_nonzero": (xp.count_nonzero(x, axis=1), [2, 3]),
        "count_nonzero-none": (xp.count_nonzero(x), 5),
        "all": (xp.all(x, axis=0), [True, True, False]),
        "any-keepdims": (xp.any(x == 2.0, axis=1, keepdims=True), [[False], [True]]),
        "searchsorted": (xp.searchsorted(xp.sort(x[0]), x[0], side="right"), [3, 2, 1]),
        "searchsorted-sorter": (xp.searchsorted(x[0], x[1], sorter=xp.argsort(x[0])), [2, 2, 3]),
    }
    for name, (got, want) in results.items():
        assert got.requires_grad is False, name
        np.testing.assert_array_equal(as_numpy(got), want, err_msg=name)
    assert xp.sort(x).requires_grad is True


def test_nonzero_and_unique(device):
    x = xpgrad.tensor([[0.0, 2.0], [2.0, 1.0]], dtype=F64, device=device, requires_grad=True)
    rows, cols = xp.nonzero(x)
    assert not rows.requires_grad and not cols.requires_grad
    if device == "dask":  # nonzero's and unique's lengths depend on the values
        return
    np.testing.assert_array_equal(as_numpy(rows), [0, 1, 1])
    np.testing.assert_array_equal(as_numpy(cols), [1, 0, 1])
    values_, indices, inverse, counts = xp.unique_all(x)
    np.testing.assert_array_equal(as_numpy(values_), [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(as_numpy(indices), [0, 3, 1])
    np.testing.assert_array_equal(as_numpy(inverse), [[0, 2], [2, 1]])
    np.testing.assert_array_equal(as_numpy(counts), [1, 1, 2])
    assert values_.requires_grad and not (indices.requires_grad or inverse.requires_grad or counts.requires_grad)
    assert xp.unique_counts(x).counts.requires_grad is False
    assert xp.unique_inverse(x).inverse_indices.requires_grad is False
    assert xp.unique_counts(x.detach()).values.requires_grad is False
    assert type(xp.unique_counts(x)).__name__ == "UniqueCountsResult"


def test_unique_all_first_indices_inverse_and_counts(device):
    # as NumPy's; PyTorch has no unique_all, which xpgrad builds from a sort there
    if device == "dask":
        pytest.skip("unique's length depends on the values, which a lazy graph does not know")
    data = np.random.default_rng(0).integers(0, 4, (3, 5)).astype(np.float64)
    values_, first, inverse, counts = np.unique(data, return_index=True, return_inverse=True, return_counts=True)
    got = xp.unique_all(xpgrad.tensor(data, dtype=F64, device=device))
    for part, want in zip(got, (values_, first, np.reshape(inverse, data.shape), counts)):
        np.testing.assert_array_equal(as_numpy(part), want)
    assert "int64" in str(got.indices.dtype) and "int64" in str(got.counts.dtype)


def test_integer_sum_works(device):
    x = xpgrad.tensor([[1, 2, 3], [4, 5, 6]], device=device)
    y = xp.sum(x, axis=0)
    assert y.requires_grad is False
    np.testing.assert_array_equal(as_numpy(y), [5, 7, 9])
    assert as_numpy(xp.sum(x, dtype=F64)).item() == 21.0
    assert "float64" in str(xp.sum(x, dtype=F64).dtype)


def test_errors(device):
    x = xpgrad.randn(2, 3, dtype=F64, device=device)
    with pytest.raises(ValueError, match="axis= for an array of 2 dimension"):
        xp.cumulative_sum(x)
    with pytest.raises(ValueError, match="at least one dimension"):
        xp.nonzero(xpgrad.tensor(1.0, device=device))
    with pytest.raises(ValueError, match="non-negative int"):
        xp.diff(x, n=-1)
    with pytest.raises(ValueError, match="shaped like x"):
        xp.diff(x, prepend=xpgrad.randn(3, 1, dtype=F64, device=device))
    with pytest.raises(ValueError, match="'left' or 'right'"):
        xp.searchsorted(x[0], x[1], side="middle")
