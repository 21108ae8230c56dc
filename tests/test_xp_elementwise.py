"""Every elementwise function of the standard in ``xpgrad.xp``: gradients, conventions, dtypes.

First and second derivatives are checked against finite differences on the device
matrix (``gradcheck`` and ``gradgradcheck``) for every differentiable function, at
domain-appropriate inputs, across broadcasting, Python scalars and 0-d Tensors. What
finite differences cannot see gets direct value tests: subgradients (hypot and atan2 at
the origin, copysign at 0, clip at its bounds), stability at extreme inputs, complex
gradients (PyTorch's ``dL/dx + i dL/dy``) and the forward-mode (JVP) rules, which are
checked one op at a time against directional finite differences.
"""
import inspect
import math
import warnings

import numpy as np
import pytest

import xpgrad
from xpgrad import xp

from helpers import check, check_broadcasting
from helpers import complex_gradient_check as _complex_gradient_check

F32 = xpgrad.float32
F64 = xpgrad.float64
C128 = xpgrad.complex128



def values(t):
    return np.asarray(t.detach().tolist())


# ---------------------------------------------------------------------- input makers


def uniform(low, high):
    """Float64 values uniform in [low, high) that require grad, any shape."""
    def maker(*shape):
        def make(device):
            x = xpgrad.rand(*shape, dtype=F64, device=device) * (high - low) + low
            return x.detach().requires_grad_()
        return make
    return maker


def normal(*shape):
    return lambda device: xpgrad.randn(*shape, dtype=F64, device=device, requires_grad=True)


positive = uniform(0.5, 1.5)  # log, sqrt, reciprocal, divisors, bases
unit = uniform(-0.8, 0.8)  # asin, acos, atanh, tan: inside (-1, 1), away from the poles
above_one = uniform(1.5, 2.5)  # acosh

# name: (function, maker of its input)
UNARY = {
    "abs": (xp.abs, normal),
    "acos": (xp.acos, unit),
    "acosh": (xp.acosh, above_one),
    "asin": (xp.asin, unit),
    "asinh": (xp.asinh, normal),
    "atan": (xp.atan, normal),
    "atanh": (xp.atanh, unit),
    "conj": (xp.conj, normal),
    "cos": (xp.cos, normal),
    "cosh": (xp.cosh, normal),
    "exp": (xp.exp, normal),
    "expm1": (xp.expm1, normal),
    "log": (xp.log, positive),
    "log1p": (xp.log1p, positive),
    "log2": (xp.log2, positive),
    "log10": (xp.log10, positive),
    "negative": (xp.negative, normal),
    "positive": (xp.positive, normal),
    "real": (xp.real, normal),
    "reciprocal": (xp.reciprocal, positive),
    "sin": (xp.sin, normal),
    "sinh": (xp.sinh, normal),
    "square": (xp.square, normal),
    "sqrt": (xp.sqrt, positive),
    "tan": (xp.tan, unit),
    "tanh": (xp.tanh, normal),
}

# name: (function, maker of x1, maker of x2)
BINARY = {
    "add": (xp.add, normal, normal),
    "subtract": (xp.subtract, normal, normal),
    "multiply": (xp.multiply, normal, normal),
    "divide": (xp.divide, normal, positive),
    "pow": (xp.pow, positive, normal),
    "atan2": (xp.atan2, normal, normal),
    "hypot": (xp.hypot, normal, normal),
    "logaddexp": (xp.logaddexp, normal, normal),
    "copysign": (xp.copysign, normal, normal),
    "maximum": (xp.maximum, normal, normal),
    "minimum": (xp.minimum, normal, normal),
    "remainder": (xp.remainder, normal, positive),
}

# Python scalars on either side, each inside its function's domain
SCALAR_CASES = {
    "add": (xp.add, normal, 1.5),
    "subtract": (xp.subtract, normal, -2),
    "multiply": (xp.multiply, normal, 0.5),
    "divide": (xp.divide, positive, 1.5),
    "pow": (xp.pow, positive, 2.5),
    "atan2": (xp.atan2, normal, 0.5),
    "hypot": (xp.hypot, normal, 0.7),
    "logaddexp": (xp.logaddexp, normal, 0.3),
    "copysign": (xp.copysign, normal, -1.0),
    "maximum": (xp.maximum, normal, 0.1),
    "minimum": (xp.minimum, normal, 0.1),
    "remainder": (xp.remainder, positive, 2.5),
}

# The same cases as ``name: (fn, (maker, ...))`` on 2x3 inputs, the table form other test
# modules reuse (the forward-mode tests check every op's JVP on them).
CASES_2X3 = {
    **{name: (fn, (maker(2, 3),)) for name, (fn, maker) in UNARY.items()},
    **{name: (fn, (make_a(2, 3), make_b(2, 3))) for name, (fn, make_a, make_b) in BINARY.items()},
    **{f"{name}-scalar": ((lambda f, s: lambda a: f(a, s))(fn, scalar), (maker(2, 3),))
       for name, (fn, maker, scalar) in SCALAR_CASES.items()},
    "clip-scalars": (lambda a: xp.clip(a, -0.5, 0.5), (normal(2, 3),)),
    "clip-tensors": (lambda a, lo, hi: xp.clip(a, lo, hi), (normal(2, 3), uniform(-2.0, -1.0)(3),
                                                            uniform(1.0, 2.0)(2, 1))),
}

DIFFERENTIABLE = set(UNARY) | set(BINARY) | {"clip", "where", "imag"}

NOT_DIFFERENTIABLE_UNARY = ["ceil", "floor", "trunc", "round", "sign", "signbit", "isfinite", "isinf", "isnan"]
NOT_DIFFERENTIABLE_BINARY = ["floor_divide", "nextafter", "equal", "not_equal", "less", "less_equal",
                             "greater", "greater_equal"]

STANDARD = (
    "abs acos acosh add asin asinh atan atan2 atanh bitwise_and bitwise_left_shift bitwise_invert "
    "bitwise_or bitwise_right_shift bitwise_xor ceil clip conj copysign cos cosh divide equal exp expm1 "
    "floor floor_divide greater greater_equal hypot imag isfinite isinf isnan less less_equal log log1p "
    "log2 log10 logaddexp logical_and logical_not logical_or logical_xor maximum minimum multiply "
    "negative nextafter not_equal positive pow real reciprocal remainder round sign signbit sin sinh "
    "square sqrt subtract tan tanh trunc"
).split()


# ---------------------------------------------------------------------- the namespace


def test_every_standard_elementwise_function_is_exported():
    from xpgrad.xp import _elementwise

    missing = [name for name in STANDARD if not callable(getattr(xp, name, None))]
    assert missing == []
    assert set(STANDARD) <= set(_elementwise.__all__)
    assert set(_elementwise.__all__) <= set(xp.__all__)


@pytest.mark.parametrize("name", STANDARD)
def test_arrays_are_positional_only(name):
    params = list(inspect.signature(getattr(xp, name)).parameters.values())
    arrays = [p for p in params if p.name in ("x", "x1", "x2")]
    assert arrays and all(p.kind is p.POSITIONAL_ONLY for p in arrays)


def test_clip_signature_is_the_standard_one():
    params = inspect.signature(xp.clip).parameters
    assert list(params) == ["x", "min", "max"]
    assert params["x"].kind is inspect.Parameter.POSITIONAL_ONLY
    assert params["min"].default is None and params["max"].default is None


def test_every_differentiable_op_has_jvp_rules():
    ops = xpgrad.device("cpu").ops
    for name in sorted(DIFFERENTIABLE):
        op = ops[name]
        assert op.differentiable, name
        assert op.jvp_rules is not None and all(r is not None for r, a in zip(op.jvp_rules, op.argnames)
                                                if a != "condition"), name


# ---------------------------------------------------------------------- first and second order


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_unary(name, device):
    fn, maker = UNARY[name]
    check(fn, (maker(2, 3)(device),))


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_unary_0d(name, device):
    fn, maker = UNARY[name]
    x = maker()(device)
    assert fn(x).shape == ()
    check(fn, (x,))


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_binary(name, device):
    fn, make_a, make_b = BINARY[name]
    check(fn, (make_a(2, 3)(device), make_b(2, 3)(device)))


BROADCAST_SHAPES = [((2, 1), (3,)), ((), (3,)), ((2,), ())]


@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=lambda s: f"{s[0]}x{s[1]}".replace(" ", ""))
@pytest.mark.parametrize("name", BINARY)
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_binary_broadcasting(name, shapes, device):
    fn, make_a, make_b = BINARY[name]
    a, b = make_a(*shapes[0])(device), make_b(*shapes[1])(device)
    check_broadcasting(fn, a, b, shapes)


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("name", SCALAR_CASES)
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_binary_python_scalar(name, side, device):
    fn, maker, scalar = SCALAR_CASES[name]
    x = maker(2, 3)(device)
    if side == "right":
        check(lambda a: fn(a, scalar), (x,))
    else:
        check(lambda a: fn(scalar, a), (x,))


@pytest.mark.parametrize("name", sorted(set(UNARY) | set(BINARY)))
def test_empty(name, device):
    if name in UNARY:
        fn, maker = UNARY[name]
        inputs = (maker(0, 3)(device),)
    else:
        fn, make_a, make_b = BINARY[name]
        inputs = (make_a(0, 3)(device), make_b(3)(device))
    out = fn(*inputs)
    assert out.shape == (0, 3)
    out.sum().backward()
    for x in inputs:
        assert x.grad.shape == x.shape
    assert values(inputs[-1].grad).tolist() == ([0.0] * 3 if len(inputs) == 2 else [])


# ---------------------------------------------------------------------- dtypes


@pytest.mark.parametrize("name", sorted(set(UNARY) | set(BINARY)))
def test_float32_stays_float32(name, device):
    if name in UNARY:
        fn, maker = UNARY[name]
        makers = (maker,)
    else:
        fn, *makers = BINARY[name]
    wide = [make(2, 3)(device) for make in makers]
    narrow = [w.detach().to(F32).requires_grad_() for w in wide]
    out = fn(*narrow)
    assert out.dtype == narrow[0].dtype
    out.sum().backward()
    fn(*wide).sum().backward()
    for n, w in zip(narrow, wide):
        assert n.grad.dtype == n.dtype
        np.testing.assert_allclose(values(n.grad), values(w.grad), rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------- not differentiable


def _float_input(device):
    data = [[-1.5, -0.5, 0.0], [0.5, 2.5, 3.7]]
    return data, xpgrad.tensor(data, dtype=F64, device=device, requires_grad=True)


@pytest.mark.parametrize("name", NOT_DIFFERENTIABLE_UNARY)
def test_unary_results_that_do_not_require_grad(name, device):
    data, x = _float_input(device)
    out = getattr(xp, name)(x)
    assert out.requires_grad is False and out.grad_fn is None
    np.testing.assert_array_equal(values(out), getattr(np, name)(np.asarray(data)))


@pytest.mark.parametrize("name", NOT_DIFFERENTIABLE_BINARY)
def test_binary_results_that_do_not_require_grad(name, device):
    data, x = _float_input(device)
    y = xpgrad.tensor([[1.0, 1.0, -2.0], [0.5, 0.5, 0.5]], dtype=F64, device=device, requires_grad=True)
    ref = getattr(np, name)
    for out, expected in ((getattr(xp, name)(x, y), ref(np.asarray(data), values(y))),
                          (getattr(xp, name)(x, 1.5), ref(np.asarray(data), 1.5)),
                          (getattr(xp, name)(1.5, y), ref(1.5, values(y)))):
        assert out.requires_grad is False and out.grad_fn is None
        np.testing.assert_array_equal(values(out), expected)


BITWISE = {
    "bitwise_and": np.bitwise_and, "bitwise_or": np.bitwise_or, "bitwise_xor": np.bitwise_xor,
    "bitwise_left_shift": np.left_shift, "bitwise_right_shift": np.right_shift,
}


@pytest.mark.parametrize("name", BITWISE)
def test_bitwise(name, device):
    a, b = [[5, -3, 12], [0, 7, 1]], [[1, 2, 3], [4, 0, 2]]
    x1, x2 = xpgrad.tensor(a, device=device), xpgrad.tensor(b, device=device)
    out = getattr(xp, name)(x1, x2)
    assert out.requires_grad is False
    np.testing.assert_array_equal(values(out), BITWISE[name](np.asarray(a), np.asarray(b)))
    np.testing.assert_array_equal(values(getattr(xp, name)(x1, 2)), BITWISE[name](np.asarray(a), 2))


def test_bitwise_invert_and_bool(device):
    x = xpgrad.tensor([5, -3, 0], device=device)
    assert values(xp.bitwise_invert(x)).tolist() == [-6, 2, -1]
    p = xpgrad.tensor([True, True, False, False], device=device)
    q = xpgrad.tensor([True, False, True, False], device=device)
    assert values(xp.bitwise_and(p, q)).tolist() == [True, False, False, False]
    assert values(xp.bitwise_invert(p)).tolist() == [False, False, True, True]


@pytest.mark.parametrize("name, expected", [
    ("logical_and", [True, False, False, False]),
    ("logical_or", [True, True, True, False]),
    ("logical_xor", [False, True, True, False]),
])
def test_logical(name, expected, device):
    p = xpgrad.tensor([True, True, False, False], device=device)
    q = xpgrad.tensor([True, False, True, False], device=device)
    out = getattr(xp, name)(p, q)
    assert out.requires_grad is False
    assert values(out).tolist() == expected
    assert values(xp.logical_not(p)).tolist() == [False, False, True, True]


def test_comparison_of_requires_grad_inputs_feeds_where(device):
    # A bool result used as a mask: gradients flow through where, not through the mask.
    x = xpgrad.tensor([-1.0, 2.0, 3.0], dtype=F64, device=device, requires_grad=True)
    y = xp.where(xp.logical_and(x > 0, xp.isfinite(x)), x * x, -x)
    y.sum().backward()
    assert values(x.grad).tolist() == [-1.0, 4.0, 6.0]


# ---------------------------------------------------------------------- conventions


def test_sqrt_gradient_at_zero_is_inf(device):
    x = xpgrad.tensor([0.0, 4.0], dtype=F64, device=device, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy warns of the 1 / 0 it is asked for
        xp.sqrt(x).sum().backward()
        assert values(x.grad).tolist() == [math.inf, 0.25]


def test_hypot_at_origin_has_subgradient_zero(device):
    x1 = xpgrad.tensor([0.0, 3.0], dtype=F64, device=device, requires_grad=True)
    x2 = xpgrad.tensor([0.0, 4.0], dtype=F64, device=device, requires_grad=True)
    (g1, g2) = xpgrad.autograd.grad(xp.hypot(x1, x2).sum(), (x1, x2), create_graph=True)
    assert values(g1).tolist() == pytest.approx([0.0, 0.6])
    assert values(g2).tolist() == pytest.approx([0.0, 0.8])
    # no nan in the second derivative either
    (h1,) = xpgrad.autograd.grad(g1.sum(), x1)
    assert np.isfinite(values(h1)).all()


def test_hypot_does_not_overflow(device):
    x1 = xpgrad.tensor([3e200], dtype=F64, device=device, requires_grad=True)
    x2 = xpgrad.tensor([4e200], dtype=F64, device=device, requires_grad=True)
    out = xp.hypot(x1, x2)
    out.sum().backward()
    assert values(out)[0] == pytest.approx(5e200)
    assert values(x1.grad)[0] == pytest.approx(0.6)
    assert values(x2.grad)[0] == pytest.approx(0.8)


def test_atan2_at_origin_has_subgradient_zero(device):
    x1 = xpgrad.tensor([0.0, 1.0], dtype=F64, device=device, requires_grad=True)
    x2 = xpgrad.tensor([0.0, 1.0], dtype=F64, device=device, requires_grad=True)
    xp.atan2(x1, x2).sum().backward()
    assert values(x1.grad).tolist() == pytest.approx([0.0, 0.5])
    assert values(x2.grad).tolist() == pytest.approx([0.0, -0.5])


def test_logaddexp_is_stable_at_large_inputs(device):
    x1 = xpgrad.tensor([1000.0, -1000.0, 800.0], dtype=F64, device=device, requires_grad=True)
    x2 = xpgrad.tensor([1000.0, -1000.0, 0.0], dtype=F64, device=device, requires_grad=True)
    out = xp.logaddexp(x1, x2)
    out.sum().backward()
    np.testing.assert_allclose(values(out), [1000.0 + math.log(2.0), -1000.0 + math.log(2.0), 800.0])
    np.testing.assert_allclose(values(x1.grad), [0.5, 0.5, 1.0])
    np.testing.assert_allclose(values(x2.grad), [0.5, 0.5, 0.0], atol=1e-300)


def test_log1p_and_expm1_are_accurate_near_zero(device):
    x = xpgrad.tensor([1e-20, -1e-18], dtype=F64, device=device, requires_grad=True)
    np.testing.assert_allclose(values(xp.log1p(x)), [1e-20, -1e-18], rtol=1e-12)
    np.testing.assert_allclose(values(xp.expm1(x)), [1e-20, -1e-18], rtol=1e-12)
    (g,) = xpgrad.autograd.grad(xp.log1p(x).sum(), x)
    np.testing.assert_allclose(values(g), [1.0, 1.0], rtol=1e-12)
    (g,) = xpgrad.autograd.grad(xp.expm1(x).sum(), x)
    np.testing.assert_allclose(values(g), [1.0, 1.0], rtol=1e-12)


def test_abs_subgradient_at_zero(device):
    x = xpgrad.tensor([-2.0, 0.0, 3.0], dtype=F64, device=device, requires_grad=True)
    xp.abs(x).sum().backward()
    assert values(x.grad).tolist() == [-1.0, 0.0, 1.0]


def test_remainder_gradients(device):
    x1 = xpgrad.tensor([5.5, -5.5, 5.5, 0.3], dtype=F64, device=device, requires_grad=True)
    x2 = xpgrad.tensor([2.0, 2.0, -2.0, 0.7], dtype=F64, device=device, requires_grad=True)
    out = xp.remainder(x1, x2)
    np.testing.assert_allclose(values(out), np.remainder(values(x1), values(x2)))
    out.sum().backward()
    assert values(x1.grad).tolist() == [1.0, 1.0, 1.0, 1.0]
    # -floor(x1 / x2)
    assert values(x2.grad).tolist() == [-2.0, 3.0, 3.0, -0.0]


def test_copysign_gradients(device):
    x1 = xpgrad.tensor([2.0, -2.0, 2.0, 0.0], dtype=F64, device=device, requires_grad=True)
    x2 = xpgrad.tensor([1.0, 1.0, -3.0, -1.0], dtype=F64, device=device, requires_grad=True)
    out = xp.copysign(x1, x2)
    assert values(out).tolist() == [2.0, 2.0, -2.0, -0.0]
    out.sum().backward()
    assert values(x1.grad).tolist() == [1.0, -1.0, -1.0, 0.0]
    assert values(x2.grad).tolist() == [0.0, 0.0, 0.0, 0.0]


def test_maximum_ties_split_in_forward_mode_rule_too():
    # The JVP rules reuse the tie-splitting selection of the VJP rules.
    op = xpgrad.device("cpu").ops["maximum"]
    ns = xpgrad.device("cpu").xp
    x1, x2 = ns.asarray([1.0, 2.0, 3.0]), ns.asarray([1.0, 0.0, 5.0])
    t = ns.asarray([2.0, 2.0, 2.0])
    assert op.jvp_rules[0].fn(ns, t, x1, x2).tolist() == [1.0, 2.0, 0.0]
    assert op.jvp_rules[1].fn(ns, t, x1, x2).tolist() == [1.0, 0.0, 2.0]


# ---------------------------------------------------------------------- clip


CLIP_DATA = [[-2.0, -1.0, 0.3], [1.0, 1.7, 4.0]]


@pytest.mark.parametrize("bounds, grad", [
    pytest.param((-1.0, 1.0), [[0, 1, 1], [1, 0, 0]], id="scalars-boundary-passes"),
    pytest.param((None, 1.0), [[1, 1, 1], [1, 0, 0]], id="max-only"),
    pytest.param((-1.0, None), [[0, 1, 1], [1, 1, 1]], id="min-only"),
    pytest.param((None, None), [[1, 1, 1], [1, 1, 1]], id="no-bounds"),
])
def test_clip_scalar_bounds(bounds, grad, device):
    x = xpgrad.tensor(CLIP_DATA, dtype=F64, device=device, requires_grad=True)
    out = xp.clip(x, *bounds)
    lo, hi = bounds
    np.testing.assert_array_equal(values(out), np.clip(np.asarray(CLIP_DATA), lo, hi))
    assert out.dtype == x.dtype
    out.sum().backward()
    assert values(x.grad).tolist() == grad


def test_clip_keywords_and_integers(device):
    x = xpgrad.tensor([-3, 0, 7], device=device)
    assert values(xp.clip(x, min=-1)).tolist() == [-1, 0, 7]
    assert values(xp.clip(x, max=2)).tolist() == [-3, 0, 2]
    assert values(xp.clip(x, min=-1, max=2)).tolist() == [-1, 0, 2]


def test_clip_tensor_bounds_get_gradients(device):
    x = xpgrad.tensor([-2.0, 0.5, 3.0, 1.0], dtype=F64, device=device, requires_grad=True)
    lo = xpgrad.tensor([-1.0, -1.0, -1.0, 1.0], dtype=F64, device=device, requires_grad=True)
    hi = xpgrad.tensor([1.0, 1.0, 1.0, 2.0], dtype=F64, device=device, requires_grad=True)
    out = xp.clip(x, lo, hi)
    assert values(out).tolist() == [-1.0, 0.5, 1.0, 1.0]
    out.sum().backward()
    # x on its lower bound: x gets the gradient, the bound does not (PyTorch's clamp)
    assert values(x.grad).tolist() == [0.0, 1.0, 0.0, 1.0]
    assert values(lo.grad).tolist() == [1.0, 0.0, 0.0, 0.0]
    assert values(hi.grad).tolist() == [0.0, 0.0, 1.0, 0.0]


def test_clip_min_above_max_gives_max_and_its_gradient():
    # The standard leaves min > max unspecified (array-api-strict raises); NumPy returns
    # max, and the gradient goes to max, as PyTorch's clamp does.
    x = xpgrad.tensor([1.0, 5.0, -5.0], dtype=F64, requires_grad=True)
    lo = xpgrad.tensor([2.0, 2.0, 2.0], dtype=F64, requires_grad=True)
    hi = xpgrad.tensor([0.0, 0.0, 0.0], dtype=F64, requires_grad=True)
    out = xp.clip(x, lo, hi)
    assert values(out).tolist() == [0.0, 0.0, 0.0]
    out.sum().backward()
    assert values(x.grad).tolist() == [0.0, 0.0, 0.0]
    assert values(lo.grad).tolist() == [0.0, 0.0, 0.0]
    assert values(hi.grad).tolist() == [1.0, 1.0, 1.0]


def test_clip_tensor_bound_broadcasts(device):
    x = xpgrad.tensor(CLIP_DATA, dtype=F64, device=device, requires_grad=True)
    hi = xpgrad.tensor([0.0, 1.5, 2.0], dtype=F64, device=device, requires_grad=True)
    out = xp.clip(x, None, hi)
    assert out.shape == (2, 3)
    out.sum().backward()
    assert values(hi.grad).tolist() == [1.0, 1.0, 1.0]
    assert values(x.grad).tolist() == [[1, 1, 1], [0, 0, 0]]


@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_clip_gradcheck(device):
    x = xpgrad.tensor(CLIP_DATA, dtype=F64, device=device, requires_grad=True)
    lo = xpgrad.tensor([-1.5, -1.5, 0.1], dtype=F64, device=device, requires_grad=True)
    hi = xpgrad.tensor([[1.5], [2.5]], dtype=F64, device=device, requires_grad=True)
    check(lambda a, b, c: xp.clip(a, b, c), (x, lo, hi))
    check(lambda a: xp.clip(a, -1.5, 2.5), (x,))


def test_clip_requires_a_tensor():
    with pytest.raises(TypeError, match="x must be a Tensor"):
        xp.clip([1.0, 2.0], 0.0, 1.0)


# ---------------------------------------------------------------------- complex

# Real and imaginary parts both away from 0: no point is on or near a branch cut.
Z_DATA = [[0.6 + 0.3j, -0.4 + 0.5j, 0.3 - 0.7j], [1.3 + 0.4j, -0.2 - 0.3j, 0.8 - 0.2j]]
W_DATA = [[0.9 - 0.4j, 0.5 + 0.6j, -0.7 + 0.3j], [0.4 + 1.1j, 1.2 - 0.5j, -0.6 - 0.8j]]

COMPLEX_UNARY = {
    "expm1": xp.expm1, "log": xp.log, "log1p": xp.log1p, "log2": xp.log2, "log10": xp.log10,
    "sqrt": xp.sqrt, "square": xp.square, "reciprocal": xp.reciprocal, "tan": xp.tan,
    "asin": xp.asin, "acos": xp.acos, "atan": xp.atan, "sinh": xp.sinh, "cosh": xp.cosh,
    "asinh": xp.asinh, "acosh": xp.acosh, "atanh": xp.atanh, "abs": xp.abs, "real": xp.real,
    "imag": xp.imag, "conj": xp.conj, "negative": xp.negative, "positive": xp.positive,
    "pow-scalar": lambda z: z ** 2.5, "pow-scalar-base": lambda z: xp.pow(1.5, z),
    "pow-complex-scalar": lambda z: z ** (0.5 + 0.5j), "pow-complex-base": lambda z: xp.pow(1 + 1j, z),
    "pow-square": lambda z: z ** 2,
    "add-scalar": lambda z: z + (1 - 2j),
}
COMPLEX_BINARY = {"add": xp.add, "subtract": xp.subtract, "pow": xp.pow}
COMPLEX_HOT = {"exp": xp.exp, "sin": xp.sin, "cos": xp.cos, "tanh": xp.tanh,
               "multiply": xp.multiply, "divide": xp.divide}

COMPLEX_DEVICES = [pytest.param("cpu", id="numpy"), pytest.param("array_api_strict", id="array_api_strict")]


@pytest.mark.parametrize("device", COMPLEX_DEVICES)
@pytest.mark.parametrize("name", COMPLEX_UNARY)
def test_complex_unary(name, device):
    _complex_gradient_check(COMPLEX_UNARY[name], (Z_DATA,), device)


@pytest.mark.parametrize("device", COMPLEX_DEVICES)
@pytest.mark.parametrize("name", COMPLEX_BINARY)
def test_complex_binary(name, device):
    _complex_gradient_check(COMPLEX_BINARY[name], (Z_DATA, W_DATA), device)


@pytest.mark.parametrize("device", COMPLEX_DEVICES)
@pytest.mark.parametrize("name", list(COMPLEX_HOT))
def test_complex_hot_path_ops(name, device):
    fn = COMPLEX_HOT[name]
    datas = (Z_DATA,) if name in UNARY else (Z_DATA, W_DATA)
    _complex_gradient_check(fn, datas, device)


def test_complex_abs_at_zero_has_subgradient_zero():
    z = xpgrad.tensor([0j, 3 + 4j], dtype=C128, requires_grad=True)
    xp.abs(z).sum().backward()
    assert values(z.grad).tolist() == pytest.approx([0j, 0.6 + 0.8j])


def test_real_imag_conj_gradients():
    # real(conj(x + iy) * 1j) = y: the gradient is dL/dx + i dL/dy = 1j.
    z = xpgrad.tensor([1 + 2j], dtype=C128, requires_grad=True)
    for fn, expected in ((xp.real, 1 + 0j), (xp.imag, 1j), (lambda t: xp.real(xp.conj(t) * 1j), 1j)):
        (g,) = xpgrad.autograd.grad(xp.sum(fn(z)), z)
        assert values(g).tolist() == [expected]


def test_real_of_real_is_identity():
    x = xpgrad.tensor([1.5, -2.0], dtype=F64, requires_grad=True)
    assert values(xp.real(x)).tolist() == [1.5, -2.0]
    assert values(xp.conj(x)).tolist() == [1.5, -2.0]
    xp.sum(xp.real(x) + 2 * xp.conj(x)).backward()
    assert values(x.grad).tolist() == [3.0, 3.0]


# ---------------------------------------------------------------------- JVP rules
# Each op's forward-mode rules, called directly on the backend's arrays, against the
# directional finite difference (f(x + eps t) - f(x - eps t)) / (2 eps).


def _jvp_by_rules(op, ns, args, tangents, params):
    out = op.forward(ns, *args, **params)
    total = None
    for _i, (rule, t) in enumerate(zip(op.jvp_rules, tangents)):
        if t is None:
            continue
        named = {"out": out, **params}
        for j, a in enumerate(args):
            named[op.argnames[j]] = a
            if not isinstance(a, (int, float, complex)):
                named[f"{op.argnames[j]}_shape"] = a.shape
                named[f"{op.argnames[j]}_dtype"] = a.dtype
        given = [named[n] for n in rule.names]
        # a derivative rule gives d, the tangent's factor; a JVP rule the product itself
        part = (t * rule.fn(ns, *given) if rule.kind == "derivative_jvp" else
                t / rule.fn(ns, *given) if rule.kind == "quotient_jvp" else rule.fn(ns, t, *given))
        total = part if total is None else total + part
    return total


def _raw(ns, dev, data, dtype):
    return ns.asarray(np.asarray(data).tolist(), dtype=dtype, device=dev.native)


def _domain(name, i, rng, shape):
    x = rng.standard_normal(shape)
    if name in ("log", "log1p", "log2", "log10", "sqrt", "reciprocal") or (name, i) in (
            ("divide", 1), ("pow", 0), ("remainder", 1)):
        return rng.uniform(0.5, 1.5, shape)
    if name in ("asin", "acos", "atanh", "tan"):
        return rng.uniform(-0.8, 0.8, shape)
    if name == "acosh":
        return rng.uniform(1.5, 2.5, shape)
    return x


JVP_CASES = sorted(set(UNARY) | set(BINARY))


@pytest.mark.parametrize("device", COMPLEX_DEVICES)
@pytest.mark.parametrize("name", JVP_CASES)
def test_jvp_rules_match_finite_differences(name, device):
    dev = xpgrad.device(device)
    ns, op = dev.xp, dev.ops[name]
    rng = np.random.default_rng(2)
    n = len(op.argnames)
    shapes = [(2, 3)] if n == 1 else [(2, 1), (3,)]  # broadcasting: contributions broadcast
    points = [_domain(name, i, rng, s) for i, s in enumerate(shapes)]
    tangents = [rng.standard_normal(s) for s in shapes]
    args = [_raw(ns, dev, p, ns.float64) for p in points]
    ts = [_raw(ns, dev, t, ns.float64) for t in tangents]
    got = np.broadcast_to(dev.backend.to_numpy(_jvp_by_rules(op, ns, args, ts, {})),
                          np.broadcast_shapes(*shapes))
    eps = 1e-6
    plus = op.forward(ns, *[_raw(ns, dev, p + eps * t, ns.float64) for p, t in zip(points, tangents)])
    minus = op.forward(ns, *[_raw(ns, dev, p - eps * t, ns.float64) for p, t in zip(points, tangents)])
    expected = (dev.backend.to_numpy(plus) - dev.backend.to_numpy(minus)) / (2 * eps)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("params, bounds", [
    pytest.param({"lower": True, "upper": True}, ([-1.0, -1.0, 0.5], [1.0, 0.0, 2.0]), id="both"),
    pytest.param({"lower": False, "upper": True}, ([0.0, 0.0, 0.0], [1.0, 0.0, 2.0]), id="upper"),
])
def test_clip_jvp_rules(params, bounds):
    dev = xpgrad.device("cpu")
    ns, op = dev.xp, dev.ops["clip"]
    points = [np.array([-2.0, 0.5, 3.0]), np.array(bounds[0]), np.array(bounds[1])]
    tangents = [np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0]), np.array([7.0, 8.0, 9.0])]
    got = _jvp_by_rules(op, ns, [ns.asarray(p) for p in points], [ns.asarray(t) for t in tangents], params)
    eps = 1e-6
    plus = op.forward(ns, *[p + eps * t for p, t in zip(points, tangents)], **params)
    minus = op.forward(ns, *[p - eps * t for p, t in zip(points, tangents)], **params)
    np.testing.assert_allclose(got, (plus - minus) / (2 * eps), rtol=1e-6)


COMPLEX_JVP = ["expm1", "log", "log1p", "log2", "log10", "sqrt", "square", "reciprocal", "tan", "asin",
               "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "abs", "real", "imag", "conj",
               "exp", "sin", "cos", "tanh", "negative", "positive", "add", "subtract", "multiply",
               "divide", "pow"]


@pytest.mark.parametrize("device", COMPLEX_DEVICES)
@pytest.mark.parametrize("name", COMPLEX_JVP)
def test_complex_jvp_rules(name, device):
    dev = xpgrad.device(device)
    ns, op = dev.xp, dev.ops[name]
    n = len(op.argnames)
    points = [np.asarray(Z_DATA), np.asarray(W_DATA)][:n]
    tangents = [np.asarray(W_DATA) * (0.5 - 1j), np.asarray(Z_DATA) * 1j][:n]
    got = dev.backend.to_numpy(_jvp_by_rules(op, ns, [_raw(ns, dev, p, ns.complex128) for p in points],
                                             [_raw(ns, dev, t, ns.complex128) for t in tangents], {}))
    eps = 1e-6
    plus = op.forward(ns, *[_raw(ns, dev, p + eps * t, ns.complex128) for p, t in zip(points, tangents)])
    minus = op.forward(ns, *[_raw(ns, dev, p - eps * t, ns.complex128) for p, t in zip(points, tangents)])
    expected = (dev.backend.to_numpy(plus) - dev.backend.to_numpy(minus)) / (2 * eps)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------------- special cases
# The standard's special cases (2025.12) where a backend's own function differs: NumPy
# (and with it dask, array-api-strict and PyTorch, which compute the same) floors
# ``inf // 2`` to NaN, ``-1 // inf`` to -1, gives ``expm1(inf + 0j)`` a NaN imaginary
# part and ``tanh(inf + 2j)`` the imaginary part -0 (C's ``sign(sin(2b))``). Each
# expected value is read off the standard's text; zeros are compared with their sign,
# parts whose sign the standard leaves unspecified by magnitude only.

INF, NAN = math.inf, math.nan
ANY = "sign unspecified"  # marks an expected part compared by magnitude only


def _same(got, expected):
    """Whether the float ``got`` is ``expected`` exactly: NaN for NaN, zeros with their
    sign; ``(ANY, value)`` matches ``value`` of either sign."""
    if isinstance(expected, tuple):
        return _same(abs(got), abs(expected[1]))
    if math.isnan(expected):
        return math.isnan(got)
    return got == expected and math.copysign(1.0, got) == math.copysign(1.0, expected)


def _assert_special(out, inputs, expected, dtype):
    assert out.dtype == dtype
    got = _quietly(out.detach().tolist)  # dask computes here
    wrong = []
    for x, g, e in zip(inputs, got, expected):
        if isinstance(e, (complex, list)):
            er, ei = (e.real, e.imag) if isinstance(e, complex) else e
            ok = _same(g.real, er) and _same(g.imag, ei)
        else:
            ok = _same(g, e)
        if not ok:
            wrong.append(f"{x}: got {g!r}, expected {e!r}")
    assert not wrong, "\n".join(wrong)


def _quietly(fn, *args):
    # NumPy warns of the NaN its own floor_divide / expm1 makes on the way
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args)


# (x1, x2, floor_divide(x1, x2)) from the standard's floor_divide special cases
FLOOR_DIVIDE_CASES = [
    (INF, 2.0, INF),  # +infinity and a positive finite number: +infinity
    (INF, -2.0, -INF),  # +infinity and a negative finite number: -infinity
    (-INF, 2.0, -INF),  # -infinity and a positive finite number: -infinity
    (-INF, -2.0, INF),  # -infinity and a negative finite number: +infinity
    (1.0, INF, 0.0),  # positive finite and +infinity: +0
    (1.0, -INF, -0.0),  # positive finite and -infinity: -0
    (-1.0, INF, -0.0),  # negative finite and +infinity: -0
    (-1.0, -INF, 0.0),  # negative finite and -infinity: +0
    (0.0, INF, 0.0),  # +0 and x2 > 0: +0
    (-0.0, INF, -0.0),  # -0 and x2 > 0: -0
    (0.0, -INF, -0.0),  # +0 and x2 < 0: -0
    (-0.0, -INF, 0.0),  # -0 and x2 < 0: +0
    (INF, INF, NAN),  # both infinite: NaN
    (-INF, INF, NAN),
    (NAN, INF, NAN),  # either NaN: NaN
    (INF, NAN, NAN),
    (INF, 0.0, INF),  # x1 > 0 and +0: +infinity
    (INF, -0.0, -INF),  # x1 > 0 and -0: -infinity
    (-1.0, 0.0, -INF),  # x1 < 0 and +0: -infinity
    (0.0, 0.0, NAN),  # both zero: NaN
    (5.5, 2.0, 2.0),  # the remaining cases: the floored quotient
    (-5.5, 2.0, -3.0),
    (1.0, 0.1, 9.0),  # floor of the exact quotient 9.99...95, not of its rounding 10.0
    (-1e-300, 1e100, -1.0),  # a quotient that underflows to -0 is still floored to -1
]


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_floor_divide_special_cases(dtype, device):
    a = [c[0] for c in FLOOR_DIVIDE_CASES]
    b = [c[1] for c in FLOOR_DIVIDE_CASES]
    if dtype == F32:  # 1e-300 and 1e100 are no float32s: those cases are float64's
        a, b = a[:-1], b[:-1]
    expected = [c[2] for c in FLOOR_DIVIDE_CASES][:len(a)]
    if dtype == F32:
        expected[-1] = float(np.floor_divide(np.float32(1.0), np.float32(0.1)))
    x1 = xpgrad.tensor(a, dtype=dtype, device=device)
    x2 = xpgrad.tensor(b, dtype=dtype, device=device)
    inputs = list(zip(a, b))
    _assert_special(_quietly(xp.floor_divide, x1, x2), inputs, expected, dtype)
    # the Python operators reach the same forward: //, the reflected // and //= in place
    _assert_special(_quietly(lambda: x1 // x2), inputs, expected, dtype)
    inplace = xpgrad.tensor(a, dtype=dtype, device=device)

    def floordiv_in_place():
        nonlocal inplace
        inplace //= x2
    _quietly(floordiv_in_place)
    _assert_special(inplace, inputs, expected, dtype)


def test_floor_divide_special_cases_with_python_scalars(device):
    x = xpgrad.tensor([INF, -INF, 1.0, -1.0, 0.0, -0.0, NAN], dtype=F64, device=device)
    by_two = [INF, -INF, 0.0, -1.0, 0.0, -0.0, NAN]
    _assert_special(_quietly(lambda: x // 2.0), x.tolist(), by_two, F64)
    _assert_special(_quietly(xp.floor_divide, x, 2), x.tolist(), by_two, F64)
    by_inf = [NAN, NAN, 0.0, -0.0, 0.0, -0.0, NAN]
    _assert_special(_quietly(lambda: x // INF), x.tolist(), by_inf, F64)
    _assert_special(_quietly(xp.floor_divide, x, -INF),
                    x.tolist(), [NAN, NAN, -0.0, 0.0, -0.0, 0.0, NAN], F64)
    d = xpgrad.tensor([2.0, -2.0, INF, -INF, 0.0, -0.0], dtype=F64, device=device)
    _assert_special(_quietly(lambda: INF // d), d.tolist(), [INF, -INF, NAN, NAN, INF, -INF], F64)
    _assert_special(_quietly(lambda: -1.0 // d), d.tolist(), [-1.0, 0.0, -0.0, 0.0, -INF, INF], F64)


def test_integer_floor_divide_is_unchanged(device):
    x1 = xpgrad.tensor([7, -7, 7, -7, 0], device=device)
    x2 = xpgrad.tensor([2, 2, -2, -2, 3], device=device)
    out = x1 // x2
    assert out.dtype == x1.dtype
    assert out.tolist() == [3, -4, -4, 3, 0]
    assert xp.floor_divide(x1, 2).tolist() == [3, -4, 3, -4, 0]


# (x1, x2, remainder(x1, x2)) from the standard's remainder special cases
REMAINDER_CASES = [
    (0.0, 2.0, 0.0),  # +0 and x2 > 0: +0
    (-0.0, 2.0, 0.0),  # -0 and x2 > 0: +0
    (0.0, -2.0, -0.0),  # +0 and x2 < 0: -0
    (-0.0, -2.0, -0.0),  # -0 and x2 < 0: -0
    (-0.0, INF, 0.0),
    (0.0, -INF, -0.0),
    (1.0, INF, 1.0),  # positive finite and +infinity: x1
    (1.0, -INF, -INF),  # positive finite and -infinity: x2
    (-1.0, INF, INF),  # negative finite and +infinity: x2
    (-1.0, -INF, -1.0),  # negative finite and -infinity: x1
    (INF, 2.0, NAN),  # infinite x1 and finite x2: NaN
    (-INF, -2.0, NAN),
    (INF, -INF, NAN),  # both infinite: NaN
    (1.0, 0.0, NAN),  # x2 zero: NaN
    (-1.0, -0.0, NAN),
    (NAN, 2.0, NAN),
    (-4.0, 2.0, 0.0),  # the remaining cases: Python's %, whose zero has x2's sign
    (4.0, -2.0, -0.0),
    (-5.5, 2.0, 0.5),
]


def _check_remainder(device):
    a, b, expected = (list(c) for c in zip(*REMAINDER_CASES))
    x1 = xpgrad.tensor(a, dtype=F64, device=device)
    x2 = xpgrad.tensor(b, dtype=F64, device=device)
    inputs = list(zip(a, b))
    _assert_special(_quietly(xp.remainder, x1, x2), inputs, expected, F64)
    _assert_special(_quietly(lambda: x1 % x2), inputs, expected, F64)
    inplace = xpgrad.tensor(a, dtype=F64, device=device)

    def mod_in_place():
        nonlocal inplace
        inplace %= x2
    _quietly(mod_in_place)
    _assert_special(inplace, inputs, expected, F64)
    zeros = xpgrad.tensor([0.0, -0.0, -4.0], dtype=F64, device=device)
    _assert_special(zeros % -2.0, zeros.tolist(), [-0.0, -0.0, -0.0], F64)
    _assert_special(zeros % 2, zeros.tolist(), [0.0, 0.0, 0.0], F64)


def test_remainder_special_cases(device):
    _check_remainder(device)


def test_remainder_special_cases_on_torch():
    # PyTorch's remainder gives a zero result x1's sign (-0.0 % 2.0 is -0.0); its op
    # gives it x2's, as the standard and Python's % do. torch is no backend of the
    # default matrix (``--xpgrad-backends`` adds it to every test here).
    pytest.importorskip("torch")
    _check_remainder("torch")


# (a + bj, expm1) from the standard's complex expm1 special cases; a list [re, im]
# where a part's sign is unspecified
EXPM1_CASES = [
    (complex(0.0, 0.0), complex(0.0, 0.0)),  # +-0 and +0: 0 + 0j
    (complex(-0.0, 0.0), complex(0.0, 0.0)),  # (NumPy's real part is expm1(-0) = -0)
    (complex(1.0, INF), complex(NAN, NAN)),  # finite and +infinity: NaN + NaN j
    (complex(1.0, NAN), complex(NAN, NAN)),  # finite and NaN: NaN + NaN j
    (complex(INF, 0.0), complex(INF, 0.0)),  # +infinity and +0: +infinity + 0j
    (complex(-INF, 1.0), complex(-1.0, 0.0)),  # -infinity and finite b: +0 * cis(b) - 1.0
    (complex(-INF, 4.0), complex(-1.0, -0.0)),  # (sin(4) < 0)
    (complex(-INF, 1.5), complex(-1.0, 0.0)),  # (C's -cos(b) - 2 sin(b/2)**2 is -0.9999999999999999)
    (complex(-INF, 5.0), complex(-1.0, -0.0)),  # (... and -1.0000000000000002)
    (complex(INF, 1.0), complex(INF, INF)),  # +infinity and nonzero finite b: +infinity * cis(b) - 1.0
    (complex(INF, 2.0), complex(-INF, INF)),  # (cos(2) < 0)
    (complex(-INF, INF), [-1.0, (ANY, 0.0)]),  # -infinity and +infinity: -1 + 0j
    (complex(INF, INF), [(ANY, INF), NAN]),  # +infinity and +infinity: infinity + NaN j
    (complex(-INF, NAN), [-1.0, (ANY, 0.0)]),  # -infinity and NaN: -1 + 0j
    (complex(INF, NAN), [(ANY, INF), NAN]),  # +infinity and NaN: infinity + NaN j
    (complex(NAN, 0.0), complex(NAN, 0.0)),  # NaN and +0: NaN + 0j
    (complex(NAN, 1.0), complex(NAN, NAN)),  # NaN and nonzero b: NaN + NaN j
    (complex(NAN, NAN), complex(NAN, NAN)),  # NaN and NaN: NaN + NaN j
    # expm1(conj(z)) = conj(expm1(z)) (as for exp): the cases of b = +0 at b = -0
    (complex(INF, -0.0), complex(INF, -0.0)),
    (complex(NAN, -0.0), complex(NAN, -0.0)),
    (complex(-0.0, -0.0), complex(0.0, -0.0)),
    (complex(0.0, -0.0), complex(0.0, -0.0)),
    # b = +-0: the imaginary part is exp(a) * sin(b), +-0 also where exp(a) overflows
    (complex(1000.0, 0.0), complex(INF, 0.0)),
    (complex(1000.0, -0.0), complex(INF, -0.0)),
    (complex(0.5, 0.0), complex(math.expm1(0.5), 0.0)),
]

# (a + bj, tanh) from the standard's complex tanh special cases; tanh(-x) = -tanh(x)
# and tanh(conj(x)) = conj(tanh(x)) give the other quadrants
TANH_CASES = [
    (complex(0.0, 0.0), complex(0.0, 0.0)),  # +0 and +0: +0 + 0j
    (complex(1.0, INF), complex(NAN, NAN)),  # nonzero finite and +infinity: NaN + NaN j
    (complex(0.0, INF), complex(0.0, NAN)),  # +0 and +infinity: +0 + NaN j
    (complex(1.0, NAN), complex(NAN, NAN)),  # nonzero finite and NaN: NaN + NaN j
    (complex(0.0, NAN), complex(0.0, NAN)),  # +0 and NaN: +0 + NaN j
    (complex(INF, 1.0), complex(1.0, 0.0)),  # +infinity and positive finite b: 1 + 0j
    (complex(INF, 2.0), complex(1.0, 0.0)),  # (C's ctanh: 1 - 0j, sin(4) < 0)
    (complex(INF, 3.0), complex(1.0, 0.0)),
    (complex(INF, -2.0), complex(1.0, -0.0)),  # conj
    (complex(-INF, 2.0), complex(-1.0, 0.0)),  # -tanh(conj)
    (complex(-INF, -2.0), complex(-1.0, -0.0)),  # odd
    (complex(INF, INF), [1.0, (ANY, 0.0)]),  # +infinity and +infinity: 1 + 0j
    (complex(INF, NAN), [1.0, (ANY, 0.0)]),  # +infinity and NaN: 1 + 0j
    (complex(NAN, 0.0), complex(NAN, 0.0)),  # NaN and +0: NaN + 0j
    (complex(NAN, 1.0), complex(NAN, NAN)),  # NaN and nonzero b: NaN + NaN j
    (complex(NAN, NAN), complex(NAN, NAN)),  # NaN and NaN: NaN + NaN j
]

# (a + bj, sqrt) from the standard's complex sqrt special cases, as corrected in
# 2025.12 (gh-987: -infinity + bj is +0 + infinity j, +infinity + bj is +infinity + 0j)
SQRT_CASES = [
    (complex(0.0, 0.0), complex(0.0, 0.0)),  # +-0 and +0: +0 + 0j
    (complex(-0.0, 0.0), complex(0.0, 0.0)),
    (complex(NAN, INF), complex(INF, INF)),  # any a (NaN too) and +infinity: +infinity + infinity j
    (complex(-INF, INF), complex(INF, INF)),
    (complex(1.0, INF), complex(INF, INF)),
    (complex(1.0, NAN), complex(NAN, NAN)),  # finite and NaN: NaN + NaN j
    (complex(-INF, 1.0), complex(0.0, INF)),  # -infinity and positive finite b: +0 + infinity j
    (complex(INF, 1.0), complex(INF, 0.0)),  # +infinity and positive finite b: +infinity + 0j
    (complex(-INF, NAN), [NAN, (ANY, INF)]),  # -infinity and NaN: NaN + infinity j
    (complex(INF, NAN), complex(INF, NAN)),  # +infinity and NaN: +infinity + NaN j
    (complex(NAN, 1.0), complex(NAN, NAN)),  # NaN and any b: NaN + NaN j
    (complex(NAN, NAN), complex(NAN, NAN)),
]

C64 = xpgrad.complex64


@pytest.mark.parametrize("dtype", [C128, C64], ids=["complex128", "complex64"])
@pytest.mark.parametrize("name, cases", [("expm1", EXPM1_CASES), ("tanh", TANH_CASES), ("sqrt", SQRT_CASES)],
                         ids=["expm1", "tanh", "sqrt"])
def test_complex_special_cases(name, cases, dtype, device):
    if dtype == C64:  # exp(1000) overflows float32 as it does float64; math.expm1(0.5) is no float32
        cases = [c for c in cases if c[0] != complex(0.5, 0.0)]
    inputs = [c[0] for c in cases]
    z = xpgrad.tensor(inputs, dtype=dtype, device=device)
    _assert_special(_quietly(getattr(xp, name), z), inputs, [c[1] for c in cases], dtype)
    # the Tensor method takes the same path
    _assert_special(_quietly(getattr(z, name)), inputs, [c[1] for c in cases], dtype)
    # real input is the real function's business, untouched
    r = xpgrad.tensor([0.0, -0.0, INF, 0.5], dtype=F64, device=device)
    assert getattr(xp, name)(r).tolist() == pytest.approx(getattr(np, name)(np.array(r.tolist())).tolist())
