"""Every built-in op's gradient, first and second order, against finite differences.

Each case is a function of float64 Tensors and the inputs to check it at; ``check``
runs ``gradcheck`` (the Jacobian) and ``gradgradcheck`` (the Jacobian of the
vector-Jacobian product, i.e. every VJP rule differentiated again under
``create_graph``). Inputs are tiny: gradcheck costs one backward per output element
and two forwards per input element. Where the finite-difference check cannot see a
convention (ties, repeated indices, subgradients at 0, dtypes), a separate test checks
the analytic value directly.
"""
import math
import operator

import numpy as np
import pytest

import xpgrad
from xpgrad import xp

from helpers import check, check_broadcasting

F32 = xpgrad.float32
F64 = xpgrad.float64


# ---------------------------------------------------------------------- input makers
# Each maker takes the device and returns a fresh Tensor; the tables below hold makers,
# not Tensors, so that every test builds its inputs on the device it runs for.


def normal(*shape):
    """Standard normal float64 values that require grad."""
    return lambda device: xpgrad.randn(*shape, dtype=F64, device=device, requires_grad=True)


def positive(*shape):
    """Float64 values in [0.5, 1.5) that require grad (log, sqrt, divisors, bases)."""
    def make(device):
        x = xpgrad.rand(*shape, dtype=F64, device=device) + 0.5
        return x.detach().requires_grad_()
    return make


def invertible(n, *batch):
    """Well-conditioned float64 n-by-n matrices (random + 3 I) that require grad."""
    def make(device):
        x = xpgrad.randn(*batch, n, n, dtype=F64, device=device) + 3 * xpgrad.eye(n, dtype=F64, device=device)
        return x.detach().requires_grad_()
    return make


def const(data, dtype=None):
    """A constant (no grad) Tensor, e.g. a where() condition or an index."""
    return lambda device: xpgrad.tensor(data, dtype=dtype, device=device)


def cases(table):
    """``{id: (fn, makers)}`` as pytest params, one test id per entry."""
    return [pytest.param(fn, makers, id=name) for name, (fn, makers) in table.items()]


def make_inputs(makers, device):
    return tuple(make(device) for make in makers)


# ---------------------------------------------------------------------- elementwise

MASK_23 = [[True, False, True], [False, False, True]]

ELEMENTWISE = {
    # ----- arithmetic, operator and function spellings
    "add": (operator.add, (normal(2, 3), normal(2, 3))),
    "add-xp": (xp.add, (normal(2, 3), normal(2, 3))),
    "add-torch-alpha": (lambda a, b: xpgrad.add(a, b, alpha=2.0), (normal(2, 3), normal(2, 3))),
    "subtract": (operator.sub, (normal(2, 3), normal(2, 3))),
    "subtract-xp": (xp.subtract, (normal(2, 3), normal(2, 3))),
    "multiply": (operator.mul, (normal(2, 3), normal(2, 3))),
    "multiply-xp": (xp.multiply, (normal(2, 3), normal(2, 3))),
    "multiply-self": (lambda a: a * a, (normal(3),)),
    "divide": (operator.truediv, (normal(2, 3), positive(2, 3))),
    "divide-xp": (xp.divide, (normal(2, 3), positive(2, 3))),
    "negative": (operator.neg, (normal(2, 3),)),
    "negative-xp": (xp.negative, (normal(2, 3),)),
    "negative-torch": (xpgrad.neg, (normal(2, 3),)),
    "positive": (operator.pos, (normal(2, 3),)),
    "positive-xp": (xp.positive, (normal(2, 3),)),
    # ----- powers: tensor exponent, Python scalar exponents, scalar base
    "pow-tensor-exponent": (operator.pow, (positive(2, 3), normal(2, 3))),
    "pow-xp": (xp.pow, (positive(2, 3), normal(2, 3))),
    "pow-scalar-0": (lambda a: a ** 0, (normal(2, 3),)),
    "pow-scalar-1": (lambda a: a ** 1, (normal(2, 3),)),
    "pow-scalar-2": (lambda a: a ** 2, (normal(2, 3),)),
    "pow-scalar-3": (lambda a: a ** 3, (normal(2, 3),)),
    "pow-scalar-0.5": (lambda a: a ** 0.5, (positive(2, 3),)),
    "pow-scalar--1.5": (lambda a: a ** -1.5, (positive(2, 3),)),
    "pow-method": (lambda a: a.pow(3), (normal(2, 3),)),
    "pow-torch": (lambda a: xpgrad.pow(a, 2.5), (positive(2, 3),)),
    "pow-scalar-base": (lambda a: 2.0 ** a, (normal(2, 3),)),
    "pow-scalar-base-xp": (lambda a: xp.pow(0.5, a), (normal(2, 3),)),
    "pow-scalar-base-int": (lambda a: 3 ** a, (normal(2, 3),)),
    # ----- exponentials, roots, trigonometry
    "exp": (lambda a: a.exp(), (normal(2, 3),)),
    "exp-xp": (xp.exp, (normal(2, 3),)),
    "log": (lambda a: a.log(), (positive(2, 3),)),
    "log-xp": (xp.log, (positive(2, 3),)),
    "sqrt": (lambda a: a.sqrt(), (positive(2, 3),)),
    "sqrt-torch": (xpgrad.sqrt, (positive(2, 3),)),
    "sin": (lambda a: a.sin(), (normal(2, 3),)),
    "sin-xp": (xp.sin, (normal(2, 3),)),
    "cos": (lambda a: a.cos(), (normal(2, 3),)),
    "cos-torch": (xpgrad.cos, (normal(2, 3),)),
    "tanh": (lambda a: a.tanh(), (normal(2, 3),)),
    "tanh-xp": (xp.tanh, (normal(2, 3),)),
    "abs": (abs, (normal(2, 3),)),
    "abs-xp": (xp.abs, (normal(2, 3),)),
    "abs-method": (lambda a: a.abs() * a, (normal(2, 3),)),
    # ----- extrema and selection
    "maximum": (xpgrad.maximum, (normal(2, 3), normal(2, 3))),
    "maximum-xp": (xp.maximum, (normal(2, 3), normal(2, 3))),
    "maximum-method": (lambda a, b: a.maximum(b), (normal(2, 3), normal(2, 3))),
    "minimum": (xpgrad.minimum, (normal(2, 3), normal(2, 3))),
    "minimum-xp": (xp.minimum, (normal(2, 3), normal(2, 3))),
    "where": (xpgrad.where, (const(MASK_23), normal(2, 3), normal(2, 3))),
    "where-xp": (xp.where, (const(MASK_23), normal(2, 3), normal(2, 3))),
    "where-broadcast-condition": (xp.where, (const([[True], [False]]), normal(2, 3), normal(3))),
    "where-scalar-other": (lambda c, a: xp.where(c, a, 0.0), (const(MASK_23), normal(2, 3))),
    "where-scalar-first": (lambda c, a: xp.where(c, 1.5, a), (const(MASK_23), normal(2, 3))),
    # ----- Python scalars on either side
    "scalar-radd": (lambda a: 2 + a, (normal(2, 3),)),
    "scalar-add": (lambda a: a + 2.5, (normal(2, 3),)),
    "scalar-rsub": (lambda a: 2 - a, (normal(2, 3),)),
    "scalar-sub": (lambda a: a - 2, (normal(2, 3),)),
    "scalar-rmul": (lambda a: 3 * a, (normal(2, 3),)),
    "scalar-mul": (lambda a: a * -0.5, (normal(2, 3),)),
    "scalar-div": (lambda a: a / 3, (normal(2, 3),)),
    "scalar-rdiv": (lambda a: 3 / a, (positive(2, 3),)),
    "scalar-maximum": (lambda a: xpgrad.maximum(a, 0.1), (normal(2, 3),)),
    "scalar-minimum-first": (lambda a: xp.minimum(0.1, a), (normal(2, 3),)),
    # ----- 0-d tensors
    "0d-exp": (xp.exp, (normal(),)),
    "0d-log": (xp.log, (positive(),)),
    "0d-tanh": (xp.tanh, (normal(),)),
    "0d-multiply": (operator.mul, (normal(), normal())),
    "0d-divide": (operator.truediv, (normal(), positive())),
    "0d-pow": (operator.pow, (positive(), normal())),
    "0d-scalar-base": (lambda a: 2.0 ** a, (normal(),)),
    "0d-maximum": (xp.maximum, (normal(), normal())),
    "0d-where": (xp.where, (const(True), normal(), normal())),
    "0d-chain": (lambda a: (a.sin() * a.exp() - a ** 2).sqrt(), (positive(),)),
}


@pytest.mark.parametrize("fn, makers", cases(ELEMENTWISE))
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_elementwise(fn, makers, device):
    check(fn, make_inputs(makers, device))


# Every binary op at every kind of broadcast: outer (3,1)x(1,4), trailing (2,3)x(3,),
# and 0-d against 2-D on either side.
BINARY = {
    "add": (operator.add, normal, normal),
    "subtract": (operator.sub, normal, normal),
    "multiply": (operator.mul, normal, normal),
    "divide": (operator.truediv, normal, positive),
    "pow": (operator.pow, positive, normal),
    "maximum": (xpgrad.maximum, normal, normal),
    "minimum": (xpgrad.minimum, normal, normal),
    "where": (lambda a, b: xp.where(a > 0, a, b), normal, normal),
}
BROADCAST_SHAPES = [((3, 1), (1, 4)), ((2, 3), (3,)), ((3,), (2, 3)), ((), (2, 3)), ((2, 3), ())]


@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=lambda s: f"{s[0]}x{s[1]}".replace(" ", ""))
@pytest.mark.parametrize("name", BINARY)
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_binary_broadcasting(name, shapes, device):
    fn, make_a, make_b = BINARY[name]
    a, b = make_a(*shapes[0])(device), make_b(*shapes[1])(device)
    check_broadcasting(fn, a, b, shapes)


@pytest.mark.parametrize("fn, tie_grads", [
    pytest.param(xpgrad.maximum, ([0.5, 1.0, 0.0], [0.5, 0.0, 1.0]), id="maximum"),
    pytest.param(xp.minimum, ([0.5, 0.0, 1.0], [0.5, 1.0, 0.0]), id="minimum"),
])
def test_extrema_ties_split_the_gradient(fn, tie_grads, device):
    a = xpgrad.tensor([1.0, 2.0, 3.0], dtype=F64, device=device, requires_grad=True)
    b = xpgrad.tensor([1.0, 0.0, 5.0], dtype=F64, device=device, requires_grad=True)
    fn(a, b).backward(xpgrad.ones_like(a))
    assert a.grad.tolist() == pytest.approx(tie_grads[0])
    assert b.grad.tolist() == pytest.approx(tie_grads[1])


def test_extrema_ties_with_scalar_and_self(device):
    a = xpgrad.tensor([1.0, 2.0, 3.0], dtype=F64, device=device, requires_grad=True)
    xpgrad.maximum(a, 2.0).sum().backward()
    assert a.grad.tolist() == pytest.approx([0.0, 0.5, 1.0])
    a.grad = None
    (xpgrad.maximum(a, a) + xpgrad.minimum(a, a)).sum().backward()  # both halves land on a
    assert a.grad.tolist() == pytest.approx([2.0, 2.0, 2.0])


# ---------------------------------------------------------------------- reductions

AXES = [None, 1, -1, (0, 2), (-1, 0)]


@pytest.mark.parametrize("keepdims", [False, True], ids=["drop", "keep"])
@pytest.mark.parametrize("axis", AXES, ids=lambda a: f"axis={a}".replace(" ", ""))
@pytest.mark.parametrize("via", ["method", "xp"])
@pytest.mark.parametrize("name", ["sum", "mean"])
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_reduction(name, via, axis, keepdims, device):
    x = normal(2, 3, 2)(device)
    if via == "method":
        def fn(t):
            return getattr(t, name)(dim=axis, keepdim=keepdims)
    else:
        def fn(t):
            return getattr(xp, name)(t, axis=axis, keepdims=keepdims)
    expected = getattr(np, name)(np.array(x.detach().tolist()), axis=axis, keepdims=keepdims)
    got = np.array(fn(x).detach().tolist())
    assert got.shape == expected.shape and np.allclose(got, expected)
    check(fn, (x,))


REDUCTIONS = {
    "sum-torch-dim": (lambda t: xpgrad.sum(t, 0), (normal(2, 3),)),
    "sum-torch-keepdim": (lambda t: xpgrad.sum(t, dim=1, keepdim=True), (normal(2, 3),)),
    "sum-dim-list": (lambda t: t.sum(dim=[0, 2]), (normal(2, 2, 2),)),
    "mean-torch": (xpgrad.mean, (normal(2, 3),)),
    "mean-torch-dim": (lambda t: xpgrad.mean(t, -1, True), (normal(2, 3),)),
    "sum-0d": (lambda t: t.sum(), (normal(),)),
    "mean-0d": (lambda t: xp.mean(t), (normal(),)),
    "sum-1d-axis0": (lambda t: xp.sum(t, axis=0), (normal(4),)),
    "sum-empty": (lambda t: t.sum(), (normal(0, 3),)),
    "sum-empty-axis0": (lambda t: t.sum(dim=0), (normal(0, 3),)),
    "sum-empty-keepdim": (lambda t: xp.sum(t, axis=0, keepdims=True), (normal(0, 3),)),
    "sum-of-square": (lambda t: (t * t).sum(dim=1), (normal(2, 3),)),
    "mean-of-exp": (lambda t: t.exp().mean(dim=0, keepdim=True), (normal(2, 3),)),
}


@pytest.mark.parametrize("fn, makers", cases(REDUCTIONS))
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_reduction_variants(fn, makers, device):
    check(fn, make_inputs(makers, device))


def test_sum_of_empty_has_empty_gradient(device):
    x = xpgrad.zeros(0, 3, dtype=F64, device=device, requires_grad=True)
    x.sum().backward()
    assert x.grad.shape == (0, 3)
    y = xpgrad.zeros(0, 3, dtype=F64, device=device, requires_grad=True)
    y.sum(dim=0).backward(xpgrad.ones(3, dtype=F64, device=device))
    assert y.grad.shape == (0, 3)


# ---------------------------------------------------------------------- linear algebra

MATMUL_SHAPES = {
    "1d@1d": ((3,), (3,)),
    "1d@2d": ((3,), (3, 2)),
    "2d@1d": ((2, 3), (3,)),
    "2d@2d": ((2, 3), (3, 4)),
    "3d@3d": ((2, 2, 3), (2, 3, 2)),
    "3d@2d-broadcast": ((2, 2, 3), (3, 2)),
    "2d@3d-broadcast": ((2, 3), (2, 3, 2)),
    "batch1@3d-broadcast": ((1, 2, 3), (2, 3, 2)),
    "1d@3d": ((3,), (2, 3, 2)),
    "3d@1d": ((2, 2, 3), (3,)),
}


@pytest.mark.parametrize("shapes", MATMUL_SHAPES.values(), ids=MATMUL_SHAPES.keys())
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_matmul(shapes, device):
    a, b = normal(*shapes[0])(device), normal(*shapes[1])(device)
    assert (a @ b).shape == np.matmul(np.ones(shapes[0]), np.ones(shapes[1])).shape
    check(operator.matmul, (a, b))


LINALG = {
    "matmul-method": (lambda a, b: a.matmul(b), (normal(2, 3), normal(3, 2))),
    "matmul-torch": (xpgrad.matmul, (normal(2, 3), normal(3, 2))),
    "matmul-xp": (xp.matmul, (normal(2, 3), normal(3, 2))),
    "matmul-xp-linalg": (xp.linalg.matmul, (normal(2, 3), normal(3, 2))),
    "matmul-linalg": (xpgrad.linalg.matmul, (normal(3,), normal(3, 2))),
    "matmul-one-side": (lambda a: a @ xpgrad.ones(3, 2, dtype=F64, device=a.device), (normal(2, 3),)),
    "mm": (lambda a, b: a.mm(b), (normal(2, 3), normal(3, 4))),
    "mm-torch": (xpgrad.mm, (normal(2, 3), normal(3, 2))),
    "matmul-self": (lambda a: a @ a, (normal(3, 3),)),
    "gram": (lambda a: a.mT @ a, (normal(3, 2),)),
    # ----- trace
    "trace": (lambda a: a.trace(), (normal(3, 3),)),
    "trace-torch": (xpgrad.trace, (normal(3, 3),)),
    "trace-rectangular": (xpgrad.linalg.trace, (normal(2, 3),)),
    "trace-batched-xp": (xp.linalg.trace, (normal(2, 3, 3),)),
    "trace-of-product": (lambda a, b: (a @ b).trace(), (normal(2, 3), normal(3, 2))),
    # ----- inverse
    "inverse": (xpgrad.inverse, (invertible(3),)),
    "inverse-method": (lambda a: a.inverse(), (invertible(2),)),
    "linalg-inv": (xpgrad.linalg.inv, (invertible(3),)),
    "xp-linalg-inv": (xp.linalg.inv, (invertible(2),)),
    "inv-batched": (xpgrad.linalg.inv, (invertible(2, 2),)),
    "inv-solve": (lambda a, b: xpgrad.inverse(a) @ b, (invertible(3), normal(3))),
}


@pytest.mark.parametrize("fn, makers", cases(LINALG))
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_linalg(fn, makers, device):
    check(fn, make_inputs(makers, device))


INF = math.inf
NORM_CASES = {
    "norm-method": (lambda t: t.norm(), (2, 3)),
    "norm-method-p1": (lambda t: t.norm(p=1), (2, 3)),
    "norm-method-dim": (lambda t: t.norm(dim=1), (2, 3)),
    "norm-method-keepdim": (lambda t: t.norm(2, 0, True), (2, 3)),
    "norm-torch": (xpgrad.norm, (4,)),
    "norm-linalg-alias": (xpgrad.linalg.norm, (4,)),
    "xp-vector-norm": (xp.linalg.vector_norm, (2, 3)),
    "xp-vector-norm-axis": (lambda t: xp.linalg.vector_norm(t, axis=-1, ord=3), (2, 3)),
    "xp-vector-norm-keepdims": (lambda t: xp.linalg.vector_norm(t, axis=0, keepdims=True, ord=1), (2, 3)),
    "vector-norm-0d": (xpgrad.linalg.vector_norm, ()),
}
for _ord in (1, 2, 3, INF, -INF):
    for _dim, _keep in ((None, False), (1, False), (-1, True), ((0, 1), False), ([1, 0], True)):
        NORM_CASES[f"vector_norm-ord={_ord}-dim={_dim}-keep={_keep}".replace(" ", "")] = (
            lambda t, o=_ord, d=_dim, k=_keep: xpgrad.linalg.vector_norm(t, ord=o, dim=d, keepdim=k),
            (2, 3),
        )


@pytest.mark.parametrize("fn, shape", NORM_CASES.values(), ids=NORM_CASES.keys())
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_vector_norm(fn, shape, device):
    check(fn, (normal(*shape)(device),))


@pytest.mark.parametrize("fn", [
    pytest.param(lambda t: t.norm(), id="norm-method"),
    pytest.param(lambda t: xpgrad.linalg.vector_norm(t), id="ord=2"),
    pytest.param(lambda t: xpgrad.linalg.vector_norm(t, ord=1), id="ord=1"),
    pytest.param(lambda t: xpgrad.linalg.vector_norm(t, ord=3), id="ord=3"),
    pytest.param(lambda t: xpgrad.linalg.vector_norm(t, ord=INF), id="ord=inf"),
    pytest.param(lambda t: xp.linalg.vector_norm(t, axis=1), id="xp-axis"),
])
def test_vector_norm_at_zero_has_zero_gradient(fn, device):
    x = xpgrad.zeros(2, 3, dtype=F64, device=device, requires_grad=True)
    n = fn(x)
    (g,) = xpgrad.autograd.grad(n.sum(), x, create_graph=True)
    assert g.detach().tolist() == [[0.0] * 3] * 2
    n.sum().backward()
    assert x.grad.tolist() == [[0.0] * 3] * 2


def test_abs_gradient_at_zero_is_zero(device):
    x = xpgrad.tensor([-1.5, 0.0, 2.0], dtype=F64, device=device, requires_grad=True)
    abs(x).sum().backward()
    assert x.grad.tolist() == [-1.0, 0.0, 1.0]


def test_inverse_gradient_value(device):
    # d/dA sum(A^-1) = -A^-T 1 1^T A^-T; for A = diag(2, 4): -diag(1/4, 1/16) on the diagonal.
    a = xpgrad.tensor([[2.0, 0.0], [0.0, 4.0]], dtype=F64, device=device, requires_grad=True)
    xpgrad.inverse(a).sum().backward()
    assert np.allclose(a.grad.tolist(), [[-0.25, -0.125], [-0.125, -0.0625]])


# ---------------------------------------------------------------------- shape and layout

LAYOUT = {
    "t": (lambda a: a.t(), (normal(2, 3),)),
    "t-1d": (lambda a: a.t() * a, (normal(3),)),
    "t-torch": (xpgrad.t, (normal(2, 3),)),
    "T-2d": (lambda a: a.T, (normal(2, 3),)),
    "T-3d": (lambda a: a.T, (normal(2, 3, 2),)),
    "mT-3d": (lambda a: a.mT, (normal(2, 3, 2),)),
    "matrix_transpose-xp": (xp.matrix_transpose, (normal(2, 2, 3),)),
    "transpose": (lambda a: a.transpose(0, 2), (normal(2, 3, 2),)),
    "transpose-negative": (lambda a: xpgrad.transpose(a, -1, 0), (normal(2, 3),)),
    "permute": (lambda a: a.permute(2, 0, 1), (normal(2, 3, 2),)),
    "permute-tuple": (lambda a: a.permute((1, 2, 0)), (normal(2, 3, 2),)),
    "permute_dims-xp": (lambda a: xp.permute_dims(a, (1, 0, 2)), (normal(2, 3, 2),)),
    "reshape": (lambda a: a.reshape(3, 2), (normal(2, 3),)),
    "reshape-tuple": (lambda a: a.reshape((6,)), (normal(2, 3),)),
    "reshape-infer": (lambda a: a.reshape(-1, 2), (normal(2, 3),)),
    "view": (lambda a: a.view(3, 2), (normal(6),)),
    "reshape-torch": (lambda a: xpgrad.reshape(a, (1, 6)), (normal(2, 3),)),
    "reshape-xp": (lambda a: xp.reshape(a, (3, 1, 2)), (normal(2, 3),)),
    "reshape-0d": (lambda a: a.reshape(1, 1), (normal(),)),
    "expand_dims": (lambda a: xp.expand_dims(a, axis=0), (normal(2, 3),)),
    "expand_dims-negative": (lambda a: xp.expand_dims(a, axis=-1), (normal(2, 3),)),
    "expand_dims-middle": (lambda a: xp.expand_dims(a, axis=1), (normal(2, 3),)),
    "squeeze": (lambda a: xp.squeeze(a, axis=1), (normal(2, 1, 3),)),
    "squeeze-tuple": (lambda a: xp.squeeze(a, axis=(0, 2)), (normal(1, 3, 1),)),
    "squeeze-negative": (lambda a: xp.squeeze(a, axis=-1), (normal(3, 1),)),
    "broadcast_to": (lambda a: xp.broadcast_to(a, (4, 2, 3)), (normal(2, 3),)),
    "broadcast_to-ones": (lambda a: xp.broadcast_to(a, (3, 4)), (normal(3, 1),)),
    "broadcast_to-0d": (lambda a: xp.broadcast_to(a, (2, 2)), (normal(),)),
    "astype-f64": (lambda a: xp.astype(a, xp.float64), (normal(2, 3),)),
    "to-f64": (lambda a: a.to(xpgrad.float64) * a, (normal(2, 3),)),
    "clone": (lambda a: a.clone(), (normal(2, 3),)),
    "clone-torch": (xpgrad.clone, (normal(2, 3),)),
    "chain": (lambda a: xp.expand_dims(a.T, axis=0).reshape(3, 2).permute(1, 0) * a, (normal(2, 3),)),
}


@pytest.mark.parametrize("fn, makers", cases(LAYOUT))
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_layout(fn, makers, device):
    check(fn, make_inputs(makers, device))


@pytest.mark.parametrize("cast", [
    pytest.param(lambda t: t.to(xpgrad.float64), id="to"),
    pytest.param(lambda t: t.double(), id="double"),
    pytest.param(lambda t: xp.astype(t, xp.float64), id="xp-astype"),
])
def test_astype_float32_to_float64(cast, device):
    x = xpgrad.tensor([1.0, -2.0, 0.5], dtype=F32, device=device, requires_grad=True)
    y = cast(x)
    assert y.dtype == xpgrad.tensor(0.0, dtype=F64, device=device).dtype
    # first order: d sum(y^3) / dx = 3 x^2, back in float32
    (g,) = xpgrad.autograd.grad((y ** 3).sum(), x, create_graph=True)
    assert g.dtype == x.dtype
    assert g.detach().tolist() == pytest.approx([3.0, 12.0, 0.75])
    # second order, through the cast twice: d sum(3 x^2) / dx = 6 x
    g.sum().backward()
    assert x.grad.dtype == x.dtype
    assert x.grad.tolist() == pytest.approx([6.0, -12.0, 3.0])


# ---------------------------------------------------------------------- indexing


def tensor_index(data):
    """An index given as an integer or bool Tensor on the test's device."""
    return lambda device: xpgrad.tensor(data, device=device)


INDEXING = {
    # ----- basic
    "int": (1, (4, 3)),
    "negative-int": (-1, (4, 3)),
    "int-pair": ((2, 1), (4, 3)),
    "slice": (slice(1, 3), (4, 3)),
    "slice-2d": ((slice(None), slice(0, 2)), (4, 3)),
    "negative-step": (slice(None, None, -1), (4, 3)),
    "negative-step-stride": ((slice(3, 0, -2), slice(None, None, -1)), (4, 3)),
    "int-and-slice": ((slice(1, None), 0), (4, 3)),
    "None": (None, (4, 3)),
    "None-middle": ((slice(None), None, 1), (4, 3)),
    "Ellipsis": ((Ellipsis, 1), (2, 3, 2)),
    "None-Ellipsis": ((None, Ellipsis, 0), (2, 3, 2)),
    "0d-empty-tuple": ((), ()),
    "0d-None": (None, ()),
    # ----- integer arrays, with repeated indices
    "int-array": ([2, 0, 1], (4,)),
    "int-array-duplicates": ([0, 0, 2], (4,)),
    "int-array-negative-duplicates": ([-1, 3, 0, -1], (4,)),
    "int-array-rows": ([1, 1, 3], (4, 3)),
    "int-array-2d-index": ([[0, 1], [1, 1]], (3,)),
    "int-array-tensor": (tensor_index([3, 0, 3]), (4,)),
    "int-arrays-tuple": (([0, 1, 1, 0], [2, 0, 0, 2]), (2, 3)),
    "int-arrays-tuple-tensor": ((tensor_index([1, 1]), tensor_index([2, 2])), (2, 3)),
    "int-array-and-slice": (([0, 0, 3], slice(1, None)), (4, 3)),
    "slice-and-int-array": ((slice(None), [2, 2, 0]), (4, 3)),
    "Ellipsis-and-int-array": ((Ellipsis, [1, 1]), (2, 2, 3)),
    # ----- boolean masks
    "bool-mask": (tensor_index([True, False, True, True]), (4,)),
    "bool-mask-2d": (tensor_index([[True, False, True], [False, True, True]]), (2, 3)),
    "bool-mask-rows": (tensor_index([False, True, True, False]), (4, 3)),
    "bool-mask-list": ([True, False, False, True], (4, 3)),
}


def resolve_key(key, device):
    if callable(key):
        return key(device)
    if isinstance(key, tuple):
        return tuple(resolve_key(k, device) for k in key)
    return key


LAZY_MASK = ("boolean-mask indexing has a data-dependent shape, which a lazy dask graph cannot "
             "know before it is computed; the dask backend raises instead (test_dask.py)")


def is_mask(k):
    if isinstance(k, xpgrad.Tensor):
        return k.device.xp.isdtype(k.dtype, "bool")
    return isinstance(k, list) and all(isinstance(v, bool) for v in k)


@pytest.mark.parametrize("key, shape", INDEXING.values(), ids=INDEXING.keys())
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_getitem(key, shape, device):
    key = resolve_key(key, device)
    if device == "dask" and any(is_mask(k) for k in (key if isinstance(key, tuple) else (key,))):
        pytest.skip(LAZY_MASK)
    x = normal(*shape)(device)
    check(lambda t: t[key], (x,))


def test_getitem_repeated_index_accumulates(device):
    x = xpgrad.tensor([1.0, 2.0, 3.0, 4.0], dtype=F64, device=device, requires_grad=True)
    w = xpgrad.tensor([10.0, 20.0, 30.0], dtype=F64, device=device)
    y = x[[0, 0, 2]]
    assert y.detach().tolist() == [1.0, 1.0, 3.0]
    (y * w).sum().backward()
    assert x.grad.tolist() == pytest.approx([30.0, 0.0, 30.0, 0.0])
    # the plain sum: element 0 gets twice the gradient
    x.grad = None
    x[[0, 0, 2]].sum().backward()
    assert x.grad.tolist() == pytest.approx([2.0, 0.0, 1.0, 0.0])


def test_getitem_repeated_index_second_order(device):
    # f = sum(x[[0, 0, 2]] ** 2) = 2 x0^2 + x2^2: gradient (4 x0, 0, 2 x2), Hessian diag (4, 0, 2)
    x = xpgrad.tensor([1.0, 2.0, 3.0], dtype=F64, device=device, requires_grad=True)
    (g,) = xpgrad.autograd.grad((x[[0, 0, 2]] ** 2).sum(), x, create_graph=True)
    assert g.detach().tolist() == pytest.approx([4.0, 0.0, 6.0])
    g.sum().backward()
    assert x.grad.tolist() == pytest.approx([4.0, 0.0, 2.0])


def test_getitem_repeated_pairs_accumulate(device):
    x = xpgrad.zeros(2, 3, dtype=F64, device=device, requires_grad=True)
    rows = xpgrad.tensor([0, 1, 1, 0, 1], device=device)
    cols = xpgrad.tensor([2, 0, 0, 2, 0], device=device)
    x[rows, cols].sum().backward()
    assert np.allclose(x.grad.tolist(), [[0.0, 0.0, 2.0], [3.0, 0.0, 0.0]])


def test_getitem_bool_mask_gradient(device):
    if device == "dask":
        pytest.skip(LAZY_MASK)
    x = xpgrad.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=F64, device=device, requires_grad=True)
    mask = x.detach() > 1.5
    (x[mask] * 2).sum().backward()
    assert x.grad.tolist() == [[0.0, 2.0], [2.0, 2.0]]


def test_generic_scatter_add_accumulates_repeats(device):
    # The generic (standard-only) adjoint of indexing, the one backends without their
    # own scatter_add use; the NumPy backend overrides it with add.at.
    from xpgrad.ops.indexing import scatter_add

    ns = xpgrad.device(device).xp
    g = ns.asarray([1.0, 2.0, 4.0, 8.0], dtype=ns.float64)
    out = scatter_add(ns, g, shape=(2, 3), key=(ns.asarray([0, 1, 1, 0]), ns.asarray([2, 0, 0, 2])))
    assert xpgrad.device(device).backend.to_numpy(out).tolist() == [[0.0, 0.0, 9.0], [6.0, 0.0, 0.0]]
    out = scatter_add(ns, g[:3], shape=(4,), key=ns.asarray([3, 3, 0]))
    assert xpgrad.device(device).backend.to_numpy(out).tolist() == [4.0, 0.0, 0.0, 3.0]


# ---------------------------------------------------------------------- dtypes

DTYPE_CASES = {
    "matmul": (operator.matmul, ((2, 3), (3, 2))),
    "matmul-1d": (operator.matmul, ((3,), (3,))),
    "sum": (lambda a: a.sum(), ((2, 3),)),
    "sum-axis": (lambda a: xp.sum(a, axis=1), ((2, 3),)),
    "mean": (lambda a: a.mean(), ((2, 3),)),
    "mean-axis": (lambda a: a.mean(dim=0, keepdim=True), ((2, 3),)),
    "add-broadcast": (operator.add, ((3, 1), (1, 4))),
    "multiply-broadcast": (operator.mul, ((2, 3), (3,))),
    "divide-broadcast": (operator.truediv, ((2, 3), ())),
    "pow": (operator.pow, ((2, 3), (2, 3))),
    "pow-scalar": (lambda a: a ** 1.5, ((2, 3),)),
    "scalar-base": (lambda a: 2.0 ** a, ((2, 3),)),
    "scalar-rsub": (lambda a: 2 - a, ((2, 3),)),
    "exp": (xp.exp, ((2, 3),)),
    "maximum": (xpgrad.maximum, ((2, 3), (3,))),
    "where": (lambda a, b: xp.where(a > b, a, b), ((2, 3), (2, 3))),
    "norm": (lambda a: a.norm(), ((2, 3),)),
    "norm-inf": (lambda a: xpgrad.linalg.vector_norm(a, ord=INF, dim=1), ((2, 3),)),
    "trace": (lambda a: a.trace(), ((3, 3),)),
    "inverse": (lambda a: xpgrad.inverse(a + 3 * xpgrad.eye(3, dtype=a.dtype, device=a.device)), ((3, 3),)),
    "getitem-duplicates": (lambda a: a[[0, 0, 1]], ((3,),)),
    "transpose-reshape": (lambda a: a.T.reshape(6), ((2, 3),)),
}


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("fn, shapes", DTYPE_CASES.values(), ids=DTYPE_CASES.keys())
def test_gradient_dtype_follows_input(fn, shapes, dtype, device):
    inputs = []
    for shape in shapes:
        x = xpgrad.rand(*shape, dtype=dtype, device=device) + 0.5
        inputs.append(x.detach().requires_grad_())
    out = fn(*inputs)
    assert out.dtype == inputs[0].dtype
    out.sum().backward()
    # the same computation in float64 gives the same gradient, up to float32 rounding
    wide = [x.detach().to(F64).requires_grad_() for x in inputs]
    fn(*wide).sum().backward()
    for x, w in zip(inputs, wide):
        assert x.grad.dtype == x.dtype
        assert x.grad.shape == x.shape
        assert np.allclose(x.grad.tolist(), w.grad.tolist(), rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------- not differentiable

COMPARISONS = {  # name: (the xpgrad spelling, the Python reference on numbers)
    "==": (operator.eq, operator.eq),
    "!=": (operator.ne, operator.ne),
    "<": (operator.lt, operator.lt),
    "<=": (operator.le, operator.le),
    ">": (operator.gt, operator.gt),
    ">=": (operator.ge, operator.ge),
    "xp.equal": (xp.equal, operator.eq),
    "xp.not_equal": (xp.not_equal, operator.ne),
    "xp.less": (xp.less, operator.lt),
    "xp.less_equal": (xp.less_equal, operator.le),
    "xp.greater": (xp.greater, operator.gt),
    "xp.greater_equal": (xp.greater_equal, operator.ge),
}


@pytest.mark.parametrize("op, ref", COMPARISONS.values(), ids=COMPARISONS.keys())
def test_comparisons_do_not_require_grad(op, ref, device):
    a = xpgrad.tensor([1.0, 2.0, 3.0], dtype=F64, device=device, requires_grad=True)
    b = xpgrad.tensor([3.0, 2.0, 1.0], dtype=F64, device=device, requires_grad=True)
    for out, expected in ((op(a, b), [ref(1, 3), ref(2, 2), ref(3, 1)]),
                          (op(a, 2.0), [ref(1, 2), ref(2, 2), ref(3, 2)]),
                          (op(2.0, a), [ref(2, 1), ref(2, 2), ref(2, 3)])):
        assert isinstance(out, xpgrad.Tensor)
        assert out.requires_grad is False
        assert out.grad_fn is None
        assert out.tolist() == expected


def test_sign_does_not_require_grad(device):
    a = xpgrad.tensor([-2.0, 0.0, 3.0], dtype=F64, device=device, requires_grad=True)
    for out in (xpgrad.sign(a), xp.sign(a)):
        assert out.requires_grad is False
        assert out.tolist() == [-1.0, 0.0, 1.0]


@pytest.mark.parametrize("make", [
    pytest.param(lambda device: xpgrad.tensor([1, 2, 3], device=device, requires_grad=True), id="tensor-int"),
    pytest.param(lambda device: xpgrad.tensor([1, 2], dtype=xpgrad.int32, device=device).requires_grad_(),
                 id="requires_grad_-int32"),
    pytest.param(lambda device: xpgrad.arange(3, device=device, requires_grad=True), id="arange"),
    pytest.param(lambda device: xpgrad.ones(2, dtype=xpgrad.int64, device=device, requires_grad=True),
                 id="ones-int64"),
    pytest.param(lambda device: xpgrad.tensor([True, False], device=device, requires_grad=True), id="bool"),
])
def test_integer_tensors_cannot_require_grad(make, device):
    with pytest.raises(RuntimeError, match="floating point"):
        make(device)


def test_setting_requires_grad_on_integer_tensor_fails(device):
    t = xpgrad.tensor([1, 2, 3], device=device)
    with pytest.raises(RuntimeError):
        t.requires_grad = True
    assert t.requires_grad is False
