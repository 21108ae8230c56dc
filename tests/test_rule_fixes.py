"""Gradient rules at the places where they are easy to get silently wrong.

Each case has known values (PyTorch's, or the exact derivative where PyTorch has none)
that the test checks to first order, second order (``create_graph=True``, or
``gradgradcheck`` where the point is smooth) and in forward mode (``xpgrad.func.jvp``),
on every device where the op exists. A separate test per case, skipped without PyTorch,
computes the same values with PyTorch in the test itself.

The cases: the conjugate in the complex gradients of ``prod`` and ``cumulative_prod``;
the second derivative of ``det`` at repeated singular values; ``logaddexp`` at large and
infinite inputs; ``divide``'s gradient for the divisor where ``x2 ** 2`` underflows;
``x ** 0`` with an array exponent at ``x = 0`` and at every base where ``x ** -1`` is
not finite, and the exponent's gradient at a zero base; ``vector_norm`` with ``ord < 1`` at a
zero entry; ``diff`` with ``n=0``; ``slogdet`` and ``qr`` at singular input; the
derivative of complex ``sign``; ``rtol`` given as a Tensor; and integer-array assignment
and scatter-add storing and summing exactly.
"""
import math
import warnings

import numpy as np
import pytest

import xpgrad
from xpgrad import func, xp

from helpers import check, complex_gradient_check, dtype_name

F32 = xpgrad.float32
F64 = xpgrad.float64
C128 = xpgrad.complex128



def tensor(data, device, dtype=F64, requires_grad=True):
    return xpgrad.tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)


def numpy(t):
    """A Tensor's values as a NumPy array (complex where the Tensor is)."""
    return np.asarray(t.detach().tolist())


def grads(loss, inputs, create_graph=False):
    return xpgrad.autograd.grad(loss, inputs, create_graph=create_graph)


def first_gradient(f, weights=None):
    """The recorded gradient of ``sum(real(f(*zs)) * w)`` (of ``sum(f * w)`` for a real
    result) with respect to every input, for a second differentiation."""
    def grad_fn(*zs):
        out = f(*zs)
        w = 1.0 if weights is None else xpgrad.tensor(weights, dtype=F64, device=zs[0].device)
        real = xp.real(out) if "complex" in str(out.dtype) else out
        return grads(xp.sum(real * w), zs, create_graph=True)
    return grad_fn


def torch_or_skip():
    return pytest.importorskip("torch")


def torch_grad(torch, loss_fn, *arrays, dtype=None):
    """PyTorch's gradient of the scalar ``loss_fn(*tensors)`` at ``arrays``, as NumPy."""
    dtype = dtype or torch.float64
    ts = [torch.tensor(np.asarray(a), dtype=dtype, requires_grad=True) for a in arrays]
    return [g.detach().numpy() for g in torch.autograd.grad(loss_fn(*ts), ts)]


# ---------------------------------------------------------------------- prod, cumulative_prod: complex


Z2 = [1 + 1j, 2 - 1j]
Z3_ZERO = [1 + 1j, 0j, 2 - 1j]


def _prod_cases():
    return {
        "prod": lambda z: xp.real(xp.prod(z)),
        "prod-axis": lambda z: xp.sum(xp.real(xp.prod(xp.reshape(z, (1, -1)), axis=1))),
        "cumulative_prod-last": lambda z: xp.real(xp.cumulative_prod(z))[-1],
        "cumulative_prod-sum": lambda z: xp.sum(xp.real(xp.cumulative_prod(z))),
        "cumulative_prod-initial": lambda z: xp.sum(xp.real(xp.cumulative_prod(z, include_initial=True))),
    }


def _others(z, i, upto, skip=()):
    """The product of ``z[0..upto]`` without ``z[i]`` (nor the indices in ``skip``)."""
    return np.prod([z[j] for j in range(upto + 1) if j != i and j not in skip])


def _prod_expected(name, z):
    """The exact gradient ``dL/dx + i dL/dy`` of these real losses ``L = Re f`` of a
    holomorphic ``f``: ``conj(f'(z))``."""
    z = np.asarray(z, dtype=complex)
    n = len(z)
    if name.startswith("prod") or name == "cumulative_prod-last":
        return np.conj([_others(z, i, n - 1) for i in range(n)])
    return np.conj([sum(_others(z, i, k) for k in range(i, n)) for i in range(n)])


def _prod_hessian(name, z):
    """``f''(z)``, the complex Hessian of the same ``f`` (``i != j`` only: every ``f``
    here is linear in each ``z_i``)."""
    z = np.asarray(z, dtype=complex)
    n = len(z)
    h = np.zeros((n, n), dtype=complex)
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            if name.startswith("prod") or name == "cumulative_prod-last":
                h[i, j] = _others(z, i, n - 1, skip=(j,))
            else:
                h[i, j] = sum(_others(z, i, k, skip=(j,)) for k in range(max(i, j), n))
    return h


@pytest.mark.parametrize("data", [Z2, Z3_ZERO], ids=["no-zero", "with-zero"])
@pytest.mark.parametrize("name", list(_prod_cases()))
def test_prod_complex_gradient_is_conjugate(name, data, device):
    fn = _prod_cases()[name]
    z = tensor(data, device, C128)
    (g,) = grads(fn(z), (z,), create_graph=True)
    np.testing.assert_allclose(numpy(g), _prod_expected(name, data), rtol=1e-12, atol=1e-12)
    # Second order: L2 = Re(sum(f'(z) c)) = Re(sum(conj(g) c)) has gradient conj(f''(z) c).
    c = np.array([0.5 - 1j, 2 + 0.25j, -1 + 1j][:len(data)])
    ct = xpgrad.tensor(c.tolist(), dtype=C128, device=device)
    (g2,) = grads(xp.sum(xp.real(xp.conj(g) * ct)), (z,))
    np.testing.assert_allclose(numpy(g2), np.conj(_prod_hessian(name, data) @ c), rtol=1e-12, atol=1e-12)
    # against finite differences in the real and imaginary parts (second order only where
    # no element is 0: there the rule's division-free path meets the dividing one, whose
    # rounding near 0 the differences magnify)
    complex_gradient_check(fn, (data,), device)
    if 0j not in data:
        complex_gradient_check(first_gradient(fn), (data,), device, differentiates=True, rtol=1e-5, atol=1e-6)


def test_prod_complex_known_values(device):
    z = tensor(Z2, device, C128)
    (g,) = grads(xp.real(xp.prod(z)), (z,))
    np.testing.assert_allclose(numpy(g), [2 + 1j, 1 - 1j])
    z = tensor(Z2, device, C128)
    (g,) = grads(xp.sum(xp.real(xp.cumulative_prod(z))), (z,))
    np.testing.assert_allclose(numpy(g), [3 + 1j, 1 - 1j])


@pytest.mark.parametrize("data", [Z2, Z3_ZERO], ids=["no-zero", "with-zero"])
def test_prod_complex_forward_mode(data, device):
    z = tensor(data, device, C128, requires_grad=False)
    t = xpgrad.tensor([0.5 - 2j] + [1.5 + 0.25j] * (len(data) - 1), dtype=C128, device=device)
    zn, tn = np.asarray(data), np.asarray(numpy(t))
    _, got = func.jvp(xp.prod, (z,), (t,))
    expected = sum(tn[i] * np.prod(np.delete(zn, i)) for i in range(len(zn)))  # holomorphic: no conjugate
    np.testing.assert_allclose(complex(got.item()), expected, rtol=1e-12)
    _, got = func.jvp(xp.cumulative_prod, (z,), (t,))
    expected = [sum(tn[i] * np.prod(np.delete(zn[:k + 1], i)) for i in range(k + 1)) for k in range(len(zn))]
    np.testing.assert_allclose(numpy(got), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("data", [Z2, Z3_ZERO], ids=["no-zero", "with-zero"])
@pytest.mark.parametrize("name", list(_prod_cases()))
def test_prod_complex_against_torch(name, data):
    torch = torch_or_skip()
    torch_fns = {
        "prod": lambda z: torch.prod(z).real,
        "prod-axis": lambda z: torch.prod(z.reshape(1, -1), dim=1).real.sum(),
        "cumulative_prod-last": lambda z: torch.cumprod(z, 0).real[-1],
        "cumulative_prod-sum": lambda z: torch.cumprod(z, 0).real.sum(),
        "cumulative_prod-initial": lambda z: 1 + torch.cumprod(z, 0).real.sum(),
    }
    (expected,) = torch_grad(torch, torch_fns[name], data, dtype=torch.complex128)
    z = tensor(data, "cpu", C128)
    (g,) = grads(_prod_cases()[name](z), (z,))
    np.testing.assert_allclose(numpy(g), expected, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------- det: second order at repeated singular values


def _np_cofactor(a):
    a = np.asarray(a, dtype=complex if np.iscomplexobj(a) else float)
    n = a.shape[-1]
    if n == 1:
        return np.ones_like(a)
    return np.array([[(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(a, i, 0), j, 1)) for j in range(n)]
                     for i in range(n)])


def _np_det_hvp(a, v, eps=1e-3):
    """d/dA sum(cofactor(A) * V) by central differences of the exact cofactor matrix:
    a polynomial of degree n - 1 <= 2 in each direction, so they are exact up to rounding."""
    a, v = np.asarray(a, dtype=float), np.asarray(v, dtype=float)
    out = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        e = np.zeros_like(a)
        e[idx] = eps
        out[idx] = (np.sum(_np_cofactor(a + e) * v) - np.sum(_np_cofactor(a - e) * v)) / (2 * eps)
    return out


def _rotation(theta):
    return [[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]]


# Matrices whose singular values repeat: the SVD's 1 / (s_i^2 - s_j^2) terms are dropped
# there, which the second derivative of det must not depend on.
REPEATED = {
    "I2": np.eye(2).tolist(),
    "2I3": (2 * np.eye(3)).tolist(),
    "rotation": _rotation(0.7),
    "reflection": [[0.0, 1.0], [1.0, 0.0]],
    "permutation3": [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]],
    "scaled-rotation-batch": [_rotation(0.3), (3 * np.array(_rotation(-1.2))).tolist()],
    "diag-1-0-0": np.diag([1.0, 0.0, 0.0]).tolist(),  # singular, zero singular value repeated
    "zero3": np.zeros((3, 3)).tolist(),
}


def _weights_like(a):
    shape = np.shape(a)
    return (np.arange(1, np.prod(shape) + 1, dtype=float).reshape(shape) / 10).tolist()


def test_det_second_derivative_at_identity(device):
    a = tensor(np.eye(2).tolist(), device)
    v = xpgrad.tensor([[0.1, 0.2], [0.3, 0.4]], dtype=F64, device=device)
    (g,) = grads(xp.linalg.det(a), (a,), create_graph=True)
    (h,) = grads(xp.sum(g * v), (a,))
    np.testing.assert_allclose(numpy(h), [[0.4, -0.3], [-0.2, 0.1]], atol=1e-14)  # tr(V) I - V^T
    # forward over reverse: the same Hessian-vector product
    _, tangent = func.jvp(func.grad(xp.linalg.det), (a.detach(),), (v,))
    np.testing.assert_allclose(numpy(tangent), [[0.4, -0.3], [-0.2, 0.1]], atol=1e-14)


@pytest.mark.parametrize("name", list(REPEATED))
def test_det_second_derivative_at_repeated_singular_values(name, device):
    data = REPEATED[name]
    a = tensor(data, device)
    w = _weights_like(data)
    v = xpgrad.tensor(w, dtype=F64, device=device)
    mats = np.asarray(data).reshape((-1,) + np.shape(data)[-2:])
    ws = np.asarray(w).reshape(mats.shape)
    expected = np.stack([_np_det_hvp(m, x) for m, x in zip(mats, ws)]).reshape(np.shape(data))
    (g,) = grads(xp.sum(xp.linalg.det(a)), (a,), create_graph=True)
    np.testing.assert_allclose(numpy(g), np.stack([_np_cofactor(m) for m in mats]).reshape(np.shape(data)),
                               atol=1e-12)
    (h,) = grads(xp.sum(g * v), (a,))
    np.testing.assert_allclose(numpy(h), expected, atol=1e-9)
    # forward mode: det's own tangent, and the tangent of its gradient (forward over reverse)
    _, dt = func.jvp(xp.linalg.det, (a.detach(),), (v,))
    np.testing.assert_allclose(numpy(dt), np.sum((np.stack([_np_cofactor(m) for m in mats]) * ws).reshape(
        np.shape(dt) + (-1,)), axis=-1), atol=1e-12)
    _, tangent = func.jvp(func.grad(lambda x: xp.sum(xp.linalg.det(x))), (a.detach(),), (v,))
    np.testing.assert_allclose(numpy(tangent), expected, atol=1e-9)
    # the Hessian against finite differences of the gradient (det is a polynomial)
    assert xpgrad.gradgradcheck(xp.linalg.det, (a,))


@pytest.mark.parametrize("data", [[[1j, 0], [0, 1]], [[0, 1j], [1j, 0]],
                                  (np.exp(0.4j) * np.array(_rotation(0.9))).tolist()],
                         ids=["diag-phase", "antidiag", "unitary"])
def test_det_complex_second_derivative_at_repeated_singular_values(data, device):
    complex_gradient_check(xp.linalg.det, (data,), device)
    complex_gradient_check(first_gradient(xp.linalg.det), (data,), device, differentiates=True,
                           rtol=1e-5, atol=1e-6)
    # forward over reverse: the tangent of the gradient of Re det (conj of the cofactor
    # matrix) against central differences of it
    grad_fn = func.grad(lambda z: xp.real(xp.linalg.det(z)))
    z = np.asarray(data, dtype=complex)
    t = np.array([[0.3 - 1j, 0.5], [-0.2j, 1 + 0.4j]])
    _, tangent = func.jvp(grad_fn, (xpgrad.tensor(data, dtype=C128, device=device),),
                          (xpgrad.tensor(t.tolist(), dtype=C128, device=device),))
    eps = 1e-6
    plus, minus = (numpy(grad_fn(xpgrad.tensor((z + s * eps * t).tolist(), dtype=C128, device=device)))
                   for s in (1, -1))
    np.testing.assert_allclose(numpy(tangent), (plus - minus) / (2 * eps), atol=1e-8)


@pytest.mark.parametrize("name", [n for n in REPEATED if n not in ("diag-1-0-0", "zero3")])
def test_det_second_derivative_against_torch(name):  # PyTorch's is NaN at singular matrices
    torch = torch_or_skip()
    data = REPEATED[name]
    w = _weights_like(data)
    a = torch.tensor(data, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(torch.linalg.det(a).sum(), a, create_graph=True)
    (h,) = torch.autograd.grad((g * torch.tensor(w, dtype=torch.float64)).sum(), a)
    x = tensor(data, "cpu")
    (gx,) = grads(xp.sum(xp.linalg.det(x)), (x,), create_graph=True)
    (hx,) = grads(xp.sum(gx * xpgrad.tensor(w, dtype=F64)), (x,))
    np.testing.assert_allclose(numpy(hx), h.numpy(), atol=1e-9)


# ---------------------------------------------------------------------- logaddexp at large and infinite inputs


# (x1, x2) and the exact sigmoid(x1 - x2) = d/dx1 logaddexp (d/dx2 is 1 - it).
LOGADDEXP = [(1e17, 1e17, 0.5), (float("inf"), 0.0, 1.0), (0.0, float("inf"), 0.0),
             (-float("inf"), 3.0, 0.0), (1e300, -1e300, 1.0), (-1e17, 1e17, 0.0),
             (0.3, -1.2, 1 / (1 + np.exp(-1.5))), (2.0, 2.0, 0.5)]


def test_logaddexp_gradients(device):
    x1 = tensor([c[0] for c in LOGADDEXP], device)
    x2 = tensor([c[1] for c in LOGADDEXP], device)
    s = np.array([c[2] for c in LOGADDEXP])
    g1, g2 = grads(xp.sum(xp.logaddexp(x1, x2)), (x1, x2), create_graph=True)
    np.testing.assert_allclose(numpy(g1), s, rtol=1e-15)
    np.testing.assert_allclose(numpy(g2), 1 - s, rtol=1e-15)
    # second order: d2/dx1^2 = s (1 - s) = -d2/dx1dx2
    h1, h2 = grads(xp.sum(g1), (x1, x2))
    np.testing.assert_allclose(numpy(h1), s * (1 - s), rtol=1e-15)
    np.testing.assert_allclose(numpy(h2), -s * (1 - s), rtol=1e-15)
    # forward mode
    t1 = xpgrad.full((len(s),), 2.0, dtype=F64, device=device)
    t2 = xpgrad.full((len(s),), -3.0, dtype=F64, device=device)
    _, tangent = func.jvp(xp.logaddexp, (x1.detach(), x2.detach()), (t1, t2))
    np.testing.assert_allclose(numpy(tangent), 2 * s - 3 * (1 - s), rtol=1e-15)
    # finite differences where the values are moderate, equal ones included
    a = tensor([0.3, 2.0, -4.0, 10.0], device)
    b = tensor([-1.2, 2.0, 1.0, 10.0], device)
    check(xp.logaddexp, (a, b))
    assert xpgrad.gradcheck(xp.logaddexp, (a, b), check_forward_ad=True, check_backward_ad=False)


def test_logaddexp_against_torch():
    torch = torch_or_skip()
    x1, x2 = [c[0] for c in LOGADDEXP], [c[1] for c in LOGADDEXP]
    a = torch.tensor(x1, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(x2, dtype=torch.float64, requires_grad=True)
    ta, tb = torch.autograd.grad(torch.logaddexp(a, b).sum(), (a, b), create_graph=True)
    ha, hb = torch.autograd.grad(ta.sum(), (a, b))
    ua, ub = tensor(x1, "cpu"), tensor(x2, "cpu")
    ga, gb = grads(xp.sum(xp.logaddexp(ua, ub)), (ua, ub), create_graph=True)
    ka, kb = grads(xp.sum(ga), (ua, ub))
    for got, want in ((ga, ta), (gb, tb)):
        np.testing.assert_allclose(numpy(got), want.detach().numpy(), rtol=1e-15)
    # PyTorch's second derivative is nan where exp(x2 - x1) overflows; the exact one, 0, there
    for got, want in ((ka, ha), (kb, hb)):
        want = want.numpy()
        finite = np.isfinite(want)
        assert finite.sum() >= 5
        np.testing.assert_allclose(numpy(got)[finite], want[finite], rtol=1e-15)
        np.testing.assert_array_equal(numpy(got)[~finite], 0.0)


# ------------------------------------------------------------------- divide: the divisor's gradient without underflow


# (dtype, x1, x2, d/dx2 = -x1 / x2^2, d2/dx2^2 = 2 x1 / x2^3): x2 * x2 underflows in each
# but the last, which the gradient must not go through. The second derivative of the first
# float32 case overflows (2e60): it is checked to first order only.
DIVIDE = [
    ("float64", [0.0, 1e-200, 3.0], [1e-200, 1e-160, 2.0], [-0.0, -1e120, -0.75], [0.0, 2e280, 0.75]),
    ("float32", [1e-30, 0.0, 1e-30, 3.0], [1e-30, 1e-20, 1e-20, 2.0], [-1e30, -0.0, -1e10, -0.75],
     [None, 0.0, 2e30, 0.75]),
]


@pytest.mark.parametrize("dtype, a, b, d2, dd2", DIVIDE, ids=[c[0] for c in DIVIDE])
def test_divide_divisor_gradient_does_not_underflow(dtype, a, b, d2, dd2, device):
    dt = getattr(xpgrad, dtype)
    rtol = 1e-6 if dtype == "float32" else 1e-15
    x1, x2 = tensor(a, device, dt), tensor(b, device, dt)
    g1, g2 = grads(xp.sum(x1 / x2), (x1, x2))
    assert dtype_name(g2.dtype) == dtype
    np.testing.assert_allclose(numpy(g2), d2, rtol=rtol)
    assert list(np.signbit(numpy(g2))) == list(np.signbit(d2))  # -0.0 where x1 == 0, as PyTorch
    np.testing.assert_allclose(numpy(g1), 1 / np.asarray(b, dtype=dtype), rtol=rtol)
    k = dd2.count(None)
    y1, y2 = tensor(a[k:], device, dt), tensor(b[k:], device, dt)
    (g2,) = grads(xp.sum(y1 / y2), (y2,), create_graph=True)
    (h2,) = grads(xp.sum(g2), (y2,))
    np.testing.assert_allclose(numpy(h2), dd2[k:], rtol=rtol)
    for fn in (xp.divide, lambda p, q: p / q):
        t = xpgrad.full((len(a),), 2.0, dtype=dt, device=device)
        _, tangent = func.jvp(fn, (x1.detach(), x2.detach()), (xpgrad.zeros_like(t), t))
        np.testing.assert_allclose(numpy(tangent), 2 * np.asarray(d2), rtol=rtol)


# (dtype, x1, x2, t2, the tangent -t2 x1 / x2 / x2): x1 / x2 / x2 overflows, the tangent does not
DIVIDE_JVP = [("float32", [1e38, 3.0], [0.5, 2.0], [0.5, 1.0], [-2e38, -0.75]),
              ("float64", [1e300, 3.0], [1e-5, 2.0], [1e-6, 1.0], [-1e304, -0.75])]


@pytest.mark.parametrize("dtype, a, b, t, expected", DIVIDE_JVP, ids=[c[0] for c in DIVIDE_JVP])
def test_divide_divisor_tangent_does_not_overflow(dtype, a, b, t, expected, device):
    dt = getattr(xpgrad, dtype)
    rtol = 1e-6 if dtype == "float32" else 1e-15
    x1, x2 = tensor(a, device, dt, requires_grad=False), tensor(b, device, dt, requires_grad=False)
    t2 = tensor(t, device, dt, requires_grad=False)
    for fn in (xp.divide, lambda p, q: p / q):
        _, tangent = func.jvp(fn, (x1, x2), (xpgrad.zeros_like(t2), t2))
        np.testing.assert_allclose(numpy(tangent), expected, rtol=rtol)
        _, tangent = func.jvp(lambda q: fn(x1, q), (x2,), (t2,))
        np.testing.assert_allclose(numpy(tangent), expected, rtol=rtol)
    # both tangents at once: t1 / x2 - t2 x1 / x2 / x2
    t1 = tensor([1.0, -1.0], device, dt, requires_grad=False)
    _, tangent = func.jvp(xp.divide, (x1, x2), (t1, t2))
    np.testing.assert_allclose(numpy(tangent), np.asarray([1.0, -1.0]) / np.asarray(b) + expected, rtol=rtol)


def test_divide_tangent_against_torch():
    torch = torch_or_skip()
    for dtype, a, b, t, _ in DIVIDE_JVP:
        tdt = getattr(torch, dtype)
        ta, tb, tt = (torch.tensor(v, dtype=tdt) for v in (a, b, t))
        with warnings.catch_warnings():  # torch.func's first use warns of its own internals
            warnings.simplefilter("ignore", DeprecationWarning)
            _, want = torch.func.jvp(lambda q: ta / q, (tb,), (tt,))
        dt = getattr(xpgrad, dtype)
        x1, x2, t2 = (tensor(v, "cpu", dt, requires_grad=False) for v in (a, b, t))
        _, got = func.jvp(lambda q: x1 / q, (x2,), (t2,))
        np.testing.assert_allclose(numpy(got), want.numpy().astype(np.float64), rtol=1e-6)


def test_divide_against_torch():
    torch = torch_or_skip()
    for dtype, a, b, _, dd2 in DIVIDE:
        tdt = getattr(torch, dtype)
        k = dd2.count(None)
        ta = torch.tensor(a, dtype=tdt, requires_grad=True)
        tb = torch.tensor(b, dtype=tdt, requires_grad=True)
        wa, wb = torch.autograd.grad((ta / tb).sum(), (ta, tb))
        ta, tb = ta.detach()[k:].requires_grad_(), tb.detach()[k:].requires_grad_()
        (wb2,) = torch.autograd.grad((ta / tb).sum(), (tb,), create_graph=True)
        (wbb,) = torch.autograd.grad(wb2.sum(), (tb,))
        x1, x2 = tensor(a, "cpu", getattr(xpgrad, dtype)), tensor(b, "cpu", getattr(xpgrad, dtype))
        g1, g2 = grads(xp.sum(x1 / x2), (x1, x2))
        y1, y2 = tensor(a[k:], "cpu", getattr(xpgrad, dtype)), tensor(b[k:], "cpu", getattr(xpgrad, dtype))
        (h,) = grads(xp.sum(y1 / y2), (y2,), create_graph=True)
        (h2,) = grads(xp.sum(h), (y2,))
        for got, want in ((g1, wa), (g2, wb), (h2, wbb)):
            np.testing.assert_allclose(numpy(got), want.detach().numpy().astype(np.float64), rtol=1e-6)
            assert list(np.signbit(numpy(got))) == list(np.signbit(want.detach().numpy()))


# ---------------------------------------------------------------------- pow: x ** 0 at x = 0, array exponent


# x, the array exponent, d/dx x ** e, d2/dx2 x ** e (0 ** 0 is 1, a constant in x)
POW_X = [0.0, 2.0, 0.0, 0.0, 0.0, 0.7]
POW_E = [0.0, 0.0, 1.0, 2.0, 3.0, 0.0]
POW_D = [0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
POW_DD = [0.0, 0.0, 0.0, 2.0, 0.0, 0.0]


@pytest.mark.parametrize("spelling", ["operator", "xp.pow"])
def test_pow_zero_exponent_at_zero(spelling, device):
    fn = (lambda a, b: a ** b) if spelling == "operator" else xp.pow
    x, e = tensor(POW_X, device), tensor(POW_E, device)
    gx, ge = grads(xp.sum(fn(x, e)), (x, e), create_graph=True)
    np.testing.assert_array_equal(numpy(gx), POW_D)
    (hx,) = grads(xp.sum(gx), (x,), create_graph=True)
    np.testing.assert_array_equal(numpy(hx), POW_DD)
    # where x != 0 the mixed derivative d/de (e x ** (e - 1)) = 1 / x at e = 0 is kept
    (he,) = grads(xp.sum(gx), (e,))
    np.testing.assert_allclose(numpy(he)[1], 0.5)
    # forward mode, and the exponent a constant
    t = xpgrad.full((len(POW_X),), 3.0, dtype=F64, device=device)
    _, tangent = func.jvp(lambda a: fn(a, e.detach()), (x.detach(),), (t,))
    np.testing.assert_array_equal(numpy(tangent), 3 * np.asarray(POW_D))
    _, tangent = func.jvp(func.grad(lambda a: xp.sum(fn(a, e.detach()))), (x.detach(),), (t,))
    np.testing.assert_array_equal(numpy(tangent), 3 * np.asarray(POW_DD))
    # and the smooth places still match finite differences
    check(fn, (tensor([0.5, 2.0, 1.5], device), tensor([0.0, 0.0, 1.0], device)))


def test_pow_zero_exponent_against_torch():
    torch = torch_or_skip()
    x = torch.tensor(POW_X, dtype=torch.float64, requires_grad=True)
    e = torch.tensor(POW_E, dtype=torch.float64)
    (gx,) = torch.autograd.grad((x ** e).sum(), x, create_graph=True)
    (hx,) = torch.autograd.grad(gx.sum(), x)
    ux, ue = tensor(POW_X, "cpu"), tensor(POW_E, "cpu", requires_grad=False)
    (gu,) = grads(xp.sum(ux ** ue), (ux,), create_graph=True)
    (hu,) = grads(xp.sum(gu), (ux,))
    np.testing.assert_array_equal(numpy(gu), gx.detach().numpy())
    # PyTorch's second derivative is nan at 0 ** 0 and 0 ** 1; the exact one is 0
    hx = hx.numpy()
    finite = np.isfinite(hx)
    np.testing.assert_array_equal(numpy(hu)[finite], hx[finite])
    np.testing.assert_array_equal(numpy(hu)[~finite], 0.0)


# x ** 0 at bases where x ** -1 is not finite (0 * inf): the derivative in x is 0, as at any base
POW0_X = [5e-324, -5e-324, float("nan"), 0.0, float("inf"), 1e-310, 2.0]


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # d/de: log of a negative base
def test_pow_zero_exponent_at_every_base(device):
    x, e = tensor(POW0_X, device), tensor([0.0] * len(POW0_X), device)
    gx, ge = grads(xp.sum(x ** e), (x, e), create_graph=True)
    np.testing.assert_array_equal(numpy(gx), 0.0)
    # d/dx of x ** 0 is held at 0 where x ** -1 is not finite: so are its derivatives; at a
    # normal base the mixed derivative d/de (e x ** (e - 1)) = 1 / x stays (at inf it is
    # 0 + 0 * log(inf), nan)
    hx, he = grads(xp.sum(gx), (x, e))
    np.testing.assert_array_equal(numpy(hx), 0.0)
    np.testing.assert_array_equal(numpy(he), [0.0, 0.0, 0.0, 0.0, np.nan, 0.0, 0.5])
    t = xpgrad.full((len(POW0_X),), 3.0, dtype=F64, device=device)
    _, tangent = func.jvp(lambda a: a ** e.detach(), (x.detach(),), (t,))
    np.testing.assert_array_equal(numpy(tangent), 0.0)


# d/de of 0 ** e: 0 where e >= 0 (the limit), out * log(0) = -inf where e < 0 (the value is
# inf), nan at e = nan; its derivatives are 0 where it is held, not 0 * inf = nan
POW_ZERO_E = [-1.0, -0.5, float("nan"), 0.0, 0.5, 2.0]
POW_ZERO_DE = [-np.inf, -np.inf, np.nan, 0.0, 0.0, 0.0]


@pytest.mark.filterwarnings("ignore:divide by zero encountered:RuntimeWarning")  # the forward: 0 ** -1
def test_pow_exponent_gradient_at_zero_base(device):
    for base in ("array", "scalar"):
        e = tensor(POW_ZERO_E, device)
        if base == "array":
            x = tensor([0.0] * len(POW_ZERO_E), device)
            (ge,) = grads(xp.sum(x ** e), (e,), create_graph=True)
        else:
            (ge,) = grads(xp.sum(0.0 ** e), (e,))
        np.testing.assert_array_equal(numpy(ge), POW_ZERO_DE)
        _, tangent = func.jvp(lambda a: (x.detach() if base == "array" else 0.0) ** a, (e.detach(),),
                              (xpgrad.ones_like(e),))
        np.testing.assert_array_equal(numpy(tangent), POW_ZERO_DE)
    held = [i for i, v in enumerate(POW_ZERO_E) if v >= 0]
    x, e = tensor([0.0] * len(held), device), tensor([POW_ZERO_E[i] for i in held], device)
    (ge,) = grads(xp.sum(x ** e), (e,), create_graph=True)
    hx, he = grads(xp.sum(ge), (x, e))
    np.testing.assert_array_equal(numpy(hx), 0.0)
    np.testing.assert_array_equal(numpy(he), 0.0)


@pytest.mark.filterwarnings("ignore:divide by zero encountered:RuntimeWarning")
def test_pow_at_every_base_against_torch():
    torch = torch_or_skip()
    x = torch.tensor(POW0_X, dtype=torch.float64, requires_grad=True)
    (wx,) = torch.autograd.grad((x ** torch.zeros(len(POW0_X), dtype=torch.float64)).sum(), x)
    ux = tensor(POW0_X, "cpu")
    (gx,) = grads(xp.sum(ux ** tensor([0.0] * len(POW0_X), "cpu", requires_grad=False)), (ux,))
    np.testing.assert_array_equal(numpy(gx), wx.numpy())
    for base in (torch.zeros(len(POW_ZERO_E), dtype=torch.float64), 0.0):
        e = torch.tensor(POW_ZERO_E, dtype=torch.float64, requires_grad=True)
        (we,) = torch.autograd.grad((base ** e).sum(), e)
        np.testing.assert_array_equal(we.numpy(), POW_ZERO_DE)


# ---------------------------------------------------------------------- vector_norm, ord < 1, at a zero entry


def _np_norm_partials(x, p):
    """d ||x||_p / dx for real x with p < 1: 0 at the zero entries (the subgradient), and
    where a zero entry makes a negative-order norm 0, 0 everywhere."""
    x = np.asarray(x, dtype=float)
    nz = x != 0
    out = np.zeros_like(x)
    if p < 0 and not nz.all():
        return out
    s = np.sum(np.abs(x[nz]) ** p)
    out[nz] = s ** (1 / p - 1) * np.abs(x[nz]) ** (p - 1) * np.sign(x[nz])
    return out


def _np_norm_hessian(x, p):
    """The Hessian of ``||x||_p`` over the nonzero entries, 0 in the rows and columns of
    the zero ones (and everywhere for p < 0 with a zero entry: the norm is 0 while it is)."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    h = np.zeros((n, n))
    nz = np.flatnonzero(x)
    if p < 0 and len(nz) < n:
        return h
    s = np.sum(np.abs(x[nz]) ** p)
    d = np.zeros(n)
    d[nz] = np.abs(x[nz]) ** (p - 1) * np.sign(x[nz])
    for i in nz:
        for j in nz:
            h[i, j] = (1 - p) * s ** (1 / p - 2) * d[i] * d[j]
            if i == j:
                h[i, j] += s ** (1 / p - 1) * (p - 1) * np.abs(x[i]) ** (p - 2)
    return h


NORM_ORDS = [-1, 0.5, -2, 0.3]
NORM_X = [0.0, 1.0, -2.0]
NORM_W = [0.3, -1.0, 2.0]


@pytest.mark.filterwarnings("ignore:divide by zero encountered:RuntimeWarning")  # the forward: |0| ** -1
@pytest.mark.parametrize("ord", NORM_ORDS)
def test_vector_norm_below_one_at_a_zero_entry(ord, device):
    x = tensor(NORM_X, device)
    (g,) = grads(xp.linalg.vector_norm(x, ord=ord), (x,), create_graph=True)
    np.testing.assert_allclose(numpy(g), _np_norm_partials(NORM_X, ord), rtol=1e-13, atol=0)
    w = xpgrad.tensor(NORM_W, dtype=F64, device=device)
    (h,) = grads(xp.sum(g * w), (x,))
    np.testing.assert_allclose(numpy(h), _np_norm_hessian(NORM_X, ord) @ NORM_W, rtol=1e-12, atol=1e-14)
    _, tangent = func.jvp(lambda a: xp.linalg.vector_norm(a, ord=ord), (x.detach(),), (w,))
    np.testing.assert_allclose(float(tangent), _np_norm_partials(NORM_X, ord) @ NORM_W, rtol=1e-13)
    # an all-zero vector: gradient 0, held (second derivative 0, not 0 * inf = nan)
    zero = tensor([0.0, 0.0], device)
    (g0,) = grads(xp.linalg.vector_norm(zero, ord=ord), (zero,), create_graph=True)
    np.testing.assert_array_equal(numpy(g0), [0.0, 0.0])
    (h0,) = grads(xp.sum(g0 * xpgrad.tensor([0.3, -1.0], dtype=F64, device=device)), (zero,))
    np.testing.assert_array_equal(numpy(h0), [0.0, 0.0])
    if ord > 0:  # the nonzero entries, the zero one held at 0: against finite differences
        const = xpgrad.zeros(1, dtype=F64, device=device)
        check(lambda y: xp.linalg.vector_norm(xp.concat([const, y]), ord=ord), (tensor(NORM_X[1:], device),))


@pytest.mark.filterwarnings("ignore:divide by zero encountered:RuntimeWarning")
@pytest.mark.parametrize("ord", NORM_ORDS)
def test_vector_norm_below_one_against_torch(ord):
    torch = torch_or_skip()
    tx = torch.tensor(NORM_X, dtype=torch.float64, requires_grad=True)
    (tg,) = torch.autograd.grad(torch.linalg.vector_norm(tx, ord=ord), tx, create_graph=True)
    (th,) = torch.autograd.grad((tg * torch.tensor(NORM_W, dtype=torch.float64)).sum(), tx)
    x = tensor(NORM_X, "cpu")
    (g,) = grads(xp.linalg.vector_norm(x, ord=ord), (x,), create_graph=True)
    (h,) = grads(xp.sum(g * xpgrad.tensor(NORM_W, dtype=F64)), (x,))
    np.testing.assert_allclose(numpy(g), tg.detach().numpy(), rtol=1e-13, atol=0)
    th = th.numpy()  # nan in the zero entry's row (PyTorch); 0 here
    finite = np.isfinite(th)
    np.testing.assert_allclose(numpy(h)[finite], th[finite], rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(numpy(h)[~finite], 0.0)
    # complex input, a zero entry
    z = [0j, 1 + 1j, 2 - 1j]
    (tz,) = torch_grad(torch, lambda a: torch.linalg.vector_norm(a, ord=ord), z, dtype=torch.complex128)
    uz = tensor(z, "cpu", C128)
    (gz,) = grads(xp.linalg.vector_norm(uz, ord=ord), (uz,))
    np.testing.assert_allclose(numpy(gz), tz, rtol=1e-13, atol=0)


# ---------------------------------------------------------------------- diff with n=0


DIFF_X = [[1.0, 2.0, 4.0], [-3.0, 0.5, 7.0]]
DIFF_PRE = [[0.0], [10.0]]
DIFF_APP = [[5.0, 6.0], [-1.0, -2.0]]


@pytest.mark.parametrize("where", ["prepend", "append", "both"])
def test_diff_n0_is_x_unchanged(where, device):
    x = tensor(DIFF_X, device)
    kw = {}
    if where in ("prepend", "both"):
        kw["prepend"] = tensor(DIFF_PRE, device)
    if where in ("append", "both"):
        kw["append"] = tensor(DIFF_APP, device)
    out = xp.diff(x, axis=1, n=0, **kw)
    expected = np.diff(np.asarray(DIFF_X), axis=1, n=0, **{k: np.asarray(numpy(v)) for k, v in kw.items()})
    np.testing.assert_array_equal(numpy(out), expected)
    w = xpgrad.tensor([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]], dtype=F64, device=device)
    (g,) = grads(xp.sum(xp.diff(x * x, axis=1, n=0, **kw) * w), (x,), create_graph=True)
    np.testing.assert_allclose(numpy(g), 2 * np.asarray(DIFF_X) * numpy(w))
    (h,) = grads(xp.sum(g), (x,))
    np.testing.assert_allclose(numpy(h), 2 * numpy(w))
    _, tangent = func.jvp(lambda a: xp.diff(a, axis=1, n=0, **kw), (x.detach(),), (w,))
    np.testing.assert_array_equal(numpy(tangent), numpy(w))
    consts = {k: v.detach() for k, v in kw.items()}
    check(lambda a: xp.diff(a * a, axis=1, n=0, **consts), (x,))


def test_diff_n0_against_torch():
    torch = torch_or_skip()
    x = torch.tensor(DIFF_X, dtype=torch.float64)
    expected = torch.diff(x, dim=1, n=0, prepend=torch.tensor(DIFF_PRE, dtype=torch.float64),
                          append=torch.tensor(DIFF_APP, dtype=torch.float64))
    got = xp.diff(tensor(DIFF_X, "cpu"), axis=1, n=0, prepend=tensor(DIFF_PRE, "cpu"),
                  append=tensor(DIFF_APP, "cpu"))
    np.testing.assert_array_equal(numpy(got), expected.numpy())


# ---------------------------------------------------------------------- slogdet and qr at singular input


SINGULAR = {"rank1": [[1.0, 2.0], [2.0, 4.0]], "zero": [[0.0, 0.0], [0.0, 0.0]], "diag": [[1.0, 0.0], [0.0, 0.0]]}
REGULAR = [[2.0, 1.0], [0.5, 3.0]]


def _all_nan(a):
    return bool(np.all(np.isnan(a)))


@pytest.mark.parametrize("name", list(SINGULAR))
def test_slogdet_at_singular_matrix_gives_nan_not_an_error(name, device):
    batch = [SINGULAR[name], REGULAR]  # one singular matrix, one regular
    a = tensor(batch, device)
    sign, logabsdet = xp.linalg.slogdet(a)
    assert numpy(logabsdet)[0] == -np.inf
    (g,) = grads(xp.sum(logabsdet), (a,), create_graph=True)
    assert _all_nan(numpy(g)[0])
    np.testing.assert_allclose(numpy(g)[1], np.linalg.inv(REGULAR).T, rtol=1e-14)
    (h,) = grads(xp.sum(g * xpgrad.tensor(np.ones((2, 2, 2)).tolist(), dtype=F64, device=device)), (a,))
    assert _all_nan(numpy(h)[0]) and np.all(np.isfinite(numpy(h)[1]))
    t = xpgrad.tensor([[[0.3, 0.1], [-0.2, 0.5]]] * 2, dtype=F64, device=device)
    _, tangent = func.jvp(lambda m: xp.linalg.slogdet(m).logabsdet, (a.detach(),), (t,))
    assert np.isnan(numpy(tangent)[0])
    np.testing.assert_allclose(numpy(tangent)[1], np.sum(np.linalg.inv(REGULAR).T * numpy(t)[1]), rtol=1e-14)
    check(lambda m: xp.linalg.slogdet(m).logabsdet, (tensor(REGULAR, device),))


def test_complex_slogdet_at_singular_matrix_gives_nan_not_an_error():
    for device in ("cpu", "array_api_strict"):
        a = tensor([[[1 + 1j, 2 + 2j], [1.0, 2.0]], [[2.0, 1j], [0.5, 3.0]]], device, C128)
        for part in (lambda r: xp.real(r.sign), lambda r: xp.imag(r.sign), lambda r: r.logabsdet):
            (g,) = grads(xp.sum(part(xp.linalg.slogdet(a))), (a,), create_graph=True)
            assert _all_nan(numpy(g)[0]) and np.all(np.isfinite(numpy(g)[1]))
            (h,) = grads(xp.sum(xp.real(g)), (a,))
            assert _all_nan(numpy(h)[0]) and np.all(np.isfinite(numpy(h)[1]))
        t = xpgrad.ones((2, 2, 2), dtype=C128, device=device)
        _, (ts, tl) = func.jvp(lambda m: tuple(xp.linalg.slogdet(m)), (a.detach(),), (t,))
        assert np.isnan(numpy(ts)[0]) and np.isnan(numpy(tl)[0])
        assert np.isfinite(numpy(ts)[1]) and np.isfinite(numpy(tl)[1])


# Inputs whose R has an exact zero on its diagonal (rank-deficient), with the mode.
QR_SINGULAR = {
    "square": ([[1.0, 2.0], [0.0, 0.0]], "reduced"),
    "zero-column": ([[0.0, 1.0], [0.0, 1.0]], "reduced"),
    "zero": ([[0.0, 0.0], [0.0, 0.0]], "reduced"),
    "tall-complete": ([[1.0, 2.0], [0.0, 0.0], [0.0, 0.0]], "complete"),
    "tall": ([[0.0, 1.0], [0.0, 2.0], [0.0, 3.0]], "reduced"),
    "wide": ([[1.0, 2.0, 3.0], [0.0, 0.0, 1.0]], "reduced"),
}
QR_REGULAR = {2: [[2.0, 1.0], [0.5, 3.0]], 3: [[2.0, 1.0], [0.5, 3.0], [1.0, -1.0]]}


def _qr_batch(name):
    m, mode = QR_SINGULAR[name]
    regular = np.asarray(m) + np.asarray(QR_REGULAR[3] if len(m) == 3 else [[2.0, 1.0, 0.0], [0.5, 3.0, 1.0]]
                                         if len(m[0]) == 3 else QR_REGULAR[2])
    return [m, regular.tolist()], mode


@pytest.mark.parametrize("name", list(QR_SINGULAR))
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_qr_at_rank_deficient_input_gives_nan_not_an_error(name, device):
    batch, mode = _qr_batch(name)
    a = tensor(batch, device)
    r = numpy(xp.linalg.qr(a, mode=mode).R)
    k = min(r.shape[-2:])
    assert np.any(r[0, np.arange(k), np.arange(k)] == 0) and np.all(r[1, np.arange(k), np.arange(k)] != 0)
    for part in ("Q", "R"):
        # NaN for the first k columns (a wide input's others, Y = Q V, have Q's cotangent)
        (g,) = grads(xp.sum(getattr(xp.linalg.qr(a, mode=mode), part)), (a,), create_graph=True)
        assert _all_nan(numpy(g)[0][:, :k]) and np.all(np.isfinite(numpy(g)[1]))
        (h,) = grads(xp.sum(g), (a,))
        assert _all_nan(numpy(h)[0][:, :k]) and np.all(np.isfinite(numpy(h)[1]))
        t = xpgrad.ones(tuple(a.shape), dtype=F64, device=device)
        _, tangent = func.jvp(lambda m: getattr(xp.linalg.qr(m, mode=mode), part), (a.detach(),), (t,))
        assert np.any(np.isnan(numpy(tangent)[0])) and np.all(np.isfinite(numpy(tangent)[1]))
    check(lambda m: xp.linalg.qr(m, mode=mode).Q @ xp.linalg.qr(m, mode=mode).R ** 2, (tensor(batch[1], device),))


def test_slogdet_and_qr_at_singular_input_against_torch():
    torch = torch_or_skip()
    for name in SINGULAR:
        batch = [SINGULAR[name], REGULAR]
        (want,) = torch_grad(torch, lambda m: torch.linalg.slogdet(m).logabsdet.sum(), batch)
        a = tensor(batch, "cpu")
        (got,) = grads(xp.sum(xp.linalg.slogdet(a).logabsdet), (a,))
        assert not np.all(np.isfinite(want[0])) and _all_nan(numpy(got)[0])  # inf/nan in PyTorch, nan here
        np.testing.assert_allclose(numpy(got)[1], want[1], rtol=1e-14)
    for name in QR_SINGULAR:
        batch, mode = _qr_batch(name)
        if mode == "complete":
            continue  # PyTorch refuses complete mode for M > N
        for part in (0, 1):
            (want,) = torch_grad(torch, lambda m: torch.linalg.qr(m, mode=mode)[part].sum(), batch)
            a = tensor(batch, "cpu")
            (got,) = grads(xp.sum(xp.linalg.qr(a, mode=mode)[part]), (a,))
            bad = ~np.isfinite(want[0])
            assert bad.any() and np.all(np.isnan(numpy(got)[0][bad]))  # NaN wherever PyTorch has inf/nan
            np.testing.assert_allclose(numpy(got)[0][~np.isnan(numpy(got)[0])], want[0][~np.isnan(numpy(got)[0])])
            np.testing.assert_allclose(numpy(got)[1], want[1], rtol=1e-12, atol=1e-14)


# -------------------------------------------------------------- sign of complex input: differentiable (PyTorch's sgn)


SGN_Z = [1 + 1j, 2 - 1j, 3j, -2 + 0j, 0.5 - 0.25j]
SGN_A = [0.5, -1.0, 2.0, 0.25, 1.5]  # L = sum(real(sign(z)) * a + imag(sign(z)) * b)
SGN_B = [1.0, 0.3, -0.7, 2.0, -1.0]


def _np_sgn_grad(z, a, b):
    """dL/dx + i dL/dy of that L: with s = z / |z|, ds = (dz - s Re(conj(s) dz)) / |z|,
    a map that is its own adjoint, so the gradient is (w - s Re(conj(s) w)) / |z| with
    w = a + ib; 0 at z = 0."""
    z, w = np.asarray(z), np.asarray(a) + 1j * np.asarray(b)
    out = np.zeros_like(z)
    nz = z != 0
    s = z[nz] / np.abs(z[nz])
    out[nz] = (w[nz] - s * np.real(np.conj(s) * w[nz])) / np.abs(z[nz])
    return out


def _sign_spellings():
    return {"xp.sign": xp.sign, "xpgrad.sign": xpgrad.sign, "Tensor.sign": lambda z: z.sign()}


@pytest.mark.parametrize("spelling", list(_sign_spellings()))
def test_complex_sign_is_differentiable(spelling, device):
    sign = _sign_spellings()[spelling]
    z = tensor(SGN_Z + [0j], device, C128)
    a = xpgrad.tensor(SGN_A + [1.0], dtype=F64, device=device)
    b = xpgrad.tensor(SGN_B + [1.0], dtype=F64, device=device)
    s = sign(z)
    assert s.requires_grad
    np.testing.assert_allclose(numpy(s), np.sign(np.asarray(SGN_Z + [0j])), rtol=1e-15)
    (g,) = grads(xp.sum(xp.real(s) * a + xp.imag(s) * b), (z,))
    np.testing.assert_allclose(numpy(g), _np_sgn_grad(SGN_Z + [0j], SGN_A + [1.0], SGN_B + [1.0]),
                               rtol=1e-13, atol=1e-15)
    # first and second order against finite differences, away from 0
    complex_gradient_check(sign, (SGN_Z,), device)
    complex_gradient_check(first_gradient(sign, weights=SGN_A), (SGN_Z,), device, differentiates=True,
                           rtol=1e-5, atol=1e-6)
    # forward mode: ds = (t - s Re(conj(s) t)) / |z|, 0 at 0
    t = xpgrad.tensor([0.3 - 1j] * 6, dtype=C128, device=device)
    _, tangent = func.jvp(sign, (z.detach(),), (t,))
    zn, tn = np.asarray(SGN_Z), 0.3 - 1j
    sn = zn / np.abs(zn)
    np.testing.assert_allclose(numpy(tangent), list((tn - sn * np.real(np.conj(sn) * tn)) / np.abs(zn)) + [0],
                               rtol=1e-13, atol=1e-15)


def test_real_sign_stays_a_constant(device):
    x = tensor([-2.0, 0.0, 3.0], device)
    for s in (xp.sign(x), xpgrad.sign(x), x.sign()):
        assert not s.requires_grad and s.tolist() == [-1.0, 0.0, 1.0]
    (g,) = grads(xp.sum(xp.sign(x) * x * x), (x,))  # sign is a constant: d/dx = 2 x sign(x)
    np.testing.assert_array_equal(numpy(g), [4.0, 0.0, 6.0])


def test_complex_sign_against_torch():
    torch = torch_or_skip()
    z = SGN_Z + [0j]
    a, b = SGN_A + [1.0], SGN_B + [1.0]
    ta, tb = torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)
    tz = torch.tensor(z, dtype=torch.complex128, requires_grad=True)
    (tg,) = torch.autograd.grad((torch.sgn(tz).real * ta + torch.sgn(tz).imag * tb).sum(), tz, create_graph=True)
    (th,) = torch.autograd.grad((tg.real * ta).sum(), tz)
    uz = tensor(z, "cpu", C128)
    ua, ub = xpgrad.tensor(a, dtype=F64), xpgrad.tensor(b, dtype=F64)
    (g,) = grads(xp.sum(xp.real(xp.sign(uz)) * ua + xp.imag(xp.sign(uz)) * ub), (uz,), create_graph=True)
    (h,) = grads(xp.sum(xp.real(g) * ua), (uz,))
    np.testing.assert_allclose(numpy(g), tg.detach().numpy(), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(numpy(h)[:-1], th.numpy()[:-1], rtol=1e-12, atol=1e-14)


# abs and sign of complex input at tiny moduli: sign(z) = z / |z| divides each part by |z|
# (a complex division scales by 1 / |z|, which rounds, and overflows at 1e-320)
TINY_Z = [1e-300 + 0j, 1e-300j, 3e-300 - 4e-300j, 1e-320 + 0j, 0j, 3 + 4j]


def _np_sign_by_parts(z):
    """Each part of z over |z| (one rounding each), 0 at 0."""
    z = np.asarray(z)
    a = np.where(z == 0, 1.0, np.abs(z))
    return np.where(z == 0, 0j, z.real / a + 1j * (z.imag / a))


TINY_S = _np_sign_by_parts(TINY_Z)  # 1, 1j at 1e-300 and 1e-320 (a complex division rounds, or overflows)


def test_complex_abs_and_sign_at_tiny_moduli(device):
    z = tensor(TINY_Z, device, C128)
    np.testing.assert_array_equal(numpy(xp.sign(z)), TINY_S)
    assert list(TINY_S[[0, 1, 3]]) == [1, 1j, 1]
    # abs: gradient sign(z), exactly
    (g,) = grads(xp.sum(xp.abs(z)), (z,), create_graph=True)
    np.testing.assert_array_equal(numpy(g), TINY_S)
    # second derivative: with s = z / |z|, the gradient of sum(Re(conj(v) s)) is
    # (v - s Re(conj(s) v)) / |z| (0 at 0); exactly i Im(v) / |z| on the real axis
    k = 3  # 1e-320: the second derivative overflows; checked up to there
    v = [0.3 - 0.7j, -1.2 + 0.4j, 0.5 + 0.5j]
    zk = tensor(TINY_Z[:k], device, C128)
    (gk,) = grads(xp.sum(xp.abs(zk)), (zk,), create_graph=True)
    vk = xpgrad.tensor(v, dtype=C128, device=device)
    (h,) = grads(xp.sum(xp.real(gk) * xp.real(vk) + xp.imag(gk) * xp.imag(vk)), (zk,))
    zn, sn, vn = np.asarray(TINY_Z[:k]), TINY_S[:k], np.asarray(v)
    expected = (vn - sn * np.real(np.conj(sn) * vn)) / np.abs(zn)
    np.testing.assert_allclose(numpy(h), expected, rtol=1e-15, atol=0)
    assert numpy(h)[0].real == 0.0 and numpy(h)[1].imag == 0.0
    # forward mode: d|z| = Re(conj(s) dz)
    t = xpgrad.tensor([0.3 - 1j] * len(TINY_Z), dtype=C128, device=device)
    _, tangent = func.jvp(xp.abs, (z.detach(),), (t,))
    np.testing.assert_array_equal(numpy(tangent), np.real(np.conj(TINY_S) * (0.3 - 1j)))
    # and against finite differences at an ordinary point
    complex_gradient_check(xp.abs, ([1 + 2j, -0.5 + 0.1j],), device)
    complex_gradient_check(first_gradient(xp.abs), ([1 + 2j, -0.5 + 0.1j],), device, differentiates=True,
                           rtol=1e-5, atol=1e-6)


def test_complex_abs_at_tiny_moduli_against_torch():
    torch = torch_or_skip()
    v = [0.3 - 0.7j, -1.2 + 0.4j, 0.5 + 0.5j]
    tz = torch.tensor(TINY_Z[:3], dtype=torch.complex128, requires_grad=True)
    (tg,) = torch.autograd.grad(torch.abs(tz).sum(), tz, create_graph=True)
    tv = torch.tensor(v, dtype=torch.complex128)
    (th,) = torch.autograd.grad((tg.real * tv.real + tg.imag * tv.imag).sum(), tz)
    z = tensor(TINY_Z[:3], "cpu", C128)
    (g,) = grads(xp.sum(xp.abs(z)), (z,), create_graph=True)
    vk = xpgrad.tensor(v, dtype=C128)
    (h,) = grads(xp.sum(xp.real(g) * xp.real(vk) + xp.imag(g) * xp.imag(vk)), (z,))
    # PyTorch's gradient divides z by |z| and rounds (0.9999999999999999 at 1e-300): within an ulp
    np.testing.assert_allclose(numpy(g), tg.detach().numpy(), rtol=1e-15, atol=1e-16)
    # its second derivative is finite, and differs from the exact one by rounding: the
    # real part it gives on the real axis (exactly 0) is eps |h|
    th = th.numpy()
    assert np.all(np.isfinite(th))
    np.testing.assert_allclose(numpy(h), th, rtol=0, atol=1e-15 * np.max(np.abs(th)))


def test_complex_sign_special_values_against_array_api_strict():
    """The standard's special cases of sign for complex input: 0 + 0j at a zero of either
    sign, NaN + NaN j where a part is NaN, and otherwise x / |x| by the rules of division
    (array-api-strict: NaN + NaN j where a part is infinite)."""
    strict = pytest.importorskip("array_api_strict")
    inf, nan = math.inf, math.nan
    zeros = [complex(a, b) for a in (0.0, -0.0) for b in (0.0, -0.0)]
    nans = [complex(nan, 0.0), complex(0.0, nan), complex(nan, nan), complex(nan, inf), complex(inf, nan),
            complex(-1.0, nan)]
    infs = [complex(inf, 0.0), complex(-inf, 0.0), complex(0.0, inf), complex(0.0, -inf), complex(inf, inf),
            complex(-inf, 2.0), complex(3.0, -inf)]
    finite = [3 + 4j, -1e-300 + 0j, 2.5 - 1e-300j, 1e300 + 1e300j, -0.0 + 2j]
    data = zeros + nans + infs + finite
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # strict divides inf by inf
        want = np.asarray(strict.sign(strict.asarray(np.asarray(data))))
    for device in ("cpu", "array_api_strict"):
        got = numpy(xp.sign(tensor(data, device, C128, requires_grad=False)))
        parts = np.stack([got.real, got.imag])
        n = len(zeros)
        # zeros: the standard's 0 + 0j (strict's parts keep the division's signs of zero)
        assert np.all(parts[:, :n] == 0) and not np.any(np.signbit(parts[:, :n]))
        assert np.all(want[:n] == 0)
        # a NaN part, or an infinite one: nan + nanj, as strict
        m = n + len(nans) + len(infs)
        assert np.all(np.isnan(parts[:, n:m])) and np.all(np.isnan(want.real[n:m]) & np.isnan(want.imag[n:m]))
        np.testing.assert_allclose(got[m:], want[m:], rtol=1e-15, atol=0)
        # differentiable where it is finite, 0 at the zeros; the result requires grad
        z = tensor(data, device, C128)
        assert xp.sign(z).requires_grad


# ---------------------------------------------------------------------- rtol as a Tensor that requires grad


RANK_A = [[[1.0, 2.0], [2.0, 4.001]], [[3.0, 1.0], [1.0, 2.0]]]  # singular values ~5 and ~2e-4; ~3.6 and ~1.4
RANK_RTOL = [1e-3, 1e-6]  # per matrix: the first counts its small singular value as zero


def test_rtol_tensor_is_unwrapped(device):
    a = tensor(RANK_A, device)
    rtol = tensor(RANK_RTOL, device)  # requires grad: gets none (as in PyTorch)
    ranks = xp.linalg.matrix_rank(a, rtol=rtol)
    assert ranks.tolist() == [1, 2] and not ranks.requires_grad
    assert xpgrad.linalg.matrix_rank(a, rtol=rtol).tolist() == [1, 2]
    p = xp.linalg.pinv(a, rtol=rtol)
    expected = np.linalg.pinv(np.asarray(RANK_A), rtol=np.asarray(RANK_RTOL))
    np.testing.assert_allclose(numpy(p), expected, rtol=1e-9, atol=1e-12)
    w = xpgrad.tensor(np.arange(8.0).reshape(2, 2, 2).tolist(), dtype=F64, device=device)
    (g,) = grads(xp.sum(p * w), (a,), create_graph=True)
    (g_float,) = grads(xp.sum(xp.linalg.pinv(a[1], rtol=1e-6) * w[1]), (a,))
    np.testing.assert_allclose(numpy(g)[1], numpy(g_float)[1], rtol=1e-12)
    (h,) = grads(xp.sum(g * w), (a,))
    assert np.all(np.isfinite(numpy(h)))
    assert rtol.grad is None
    _, tangent = func.jvp(lambda m: xp.linalg.pinv(m, rtol=rtol), (a.detach(),), (w,))
    _, tangent_float = func.jvp(lambda m: xp.linalg.pinv(m, rtol=1e-6), (a.detach()[1],), (w[1],))
    np.testing.assert_allclose(numpy(tangent)[1], numpy(tangent_float), rtol=1e-12)
    check(lambda m: xp.linalg.pinv(m, rtol=xpgrad.tensor(1e-6, dtype=F64, device=device, requires_grad=True)),
          (tensor(RANK_A[1], device),))


def test_rtol_tensor_against_torch():
    torch = torch_or_skip()
    ta = torch.tensor(RANK_A, dtype=torch.float64, requires_grad=True)
    trtol = torch.tensor(RANK_RTOL, dtype=torch.float64, requires_grad=True)
    w = torch.arange(8.0, dtype=torch.float64).reshape(2, 2, 2)
    assert torch.linalg.matrix_rank(ta, rtol=trtol).tolist() == [1, 2]
    # PyTorch's pinv refuses an rtol that requires grad ("not differentiable with respect to
    # argument 'rtol'"); here it is taken as a constant
    tp = torch.linalg.pinv(ta, rtol=trtol.detach())
    (tg,) = torch.autograd.grad((tp * w).sum(), ta)
    a, rtol = tensor(RANK_A, "cpu"), tensor(RANK_RTOL, "cpu")
    assert xp.linalg.matrix_rank(a, rtol=rtol).tolist() == [1, 2]
    p = xp.linalg.pinv(a, rtol=rtol)
    (g,) = grads(xp.sum(p * xpgrad.tensor(w.tolist(), dtype=F64)), (a,))
    np.testing.assert_allclose(numpy(p), tp.detach().numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(numpy(g), tg.numpy(), rtol=1e-7, atol=1e-9)


# ---------------------------------------------------------------------- integer-array assignment and scatter-add, exact




def test_setitem_permutation_is_exact(device):
    n = 10 ** 6
    rng = np.random.default_rng(0)
    idx = rng.permutation(n)
    v = rng.standard_normal(n).astype(np.float32)
    v[:3] = [-0.0, np.inf, np.nan]  # signed zero and non-finite values, stored as they are
    expected = np.zeros(n, dtype=np.float32)
    expected[idx] = v
    t = xpgrad.zeros(n, dtype=F32, device=device)
    t[xpgrad.tensor(idx, device=device)] = xpgrad.tensor(v, device=device)
    got = np.asarray(t.tolist(), dtype=np.float32)
    np.testing.assert_array_equal(got, expected)
    assert np.array_equal(np.signbit(got), np.signbit(expected))


@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_integer_array_assignment_and_gradients_are_exact(device):
    # every position holds exactly the value written last to it, in the key's order
    # (float32 values next to large ones, which arithmetic on them would round), as
    # NumPy's assignment does
    rng = np.random.default_rng(1)
    n = 1000
    base = rng.standard_normal(n).astype(np.float32) * np.float32(1e-3)
    base[::7] = 1e6
    idx = rng.permutation(n)[:600]
    key = np.concatenate([idx, [idx[0], idx[5], idx[0]]])
    vals = np.concatenate([base[:600], np.float32([3.0, 5.0, -7.0])])
    expected = np.zeros(n, dtype=np.float32)
    expected[key] = vals  # NumPy: the last write wins
    assert expected[idx[0]] == -7.0 and expected[idx[5]] == 5.0
    x = xpgrad.zeros(n, dtype=F32, device=device)
    v = xpgrad.tensor(vals, device=device, requires_grad=True)
    y = x.clone()
    y[xpgrad.tensor(key, device=device)] = v
    got = np.asarray(y.tolist(), dtype=np.float32)
    np.testing.assert_array_equal(got, expected)
    # the gradient of each value: the cotangent at its position where it is the last
    # write there, 0 where a later one overwrote it
    w = rng.standard_normal(n).astype(np.float32)
    (gv,) = grads(xp.sum(y * xpgrad.tensor(w, device=device)), (v,))
    expected_gv = w[key].copy()
    expected_gv[[0, 5, 600]] = 0.0
    np.testing.assert_array_equal(np.asarray(gv.tolist(), dtype=np.float32), expected_gv)
    # forward mode: the tangent of the value at its positions, exactly
    _, tangent = func.jvp(lambda a: _assign(x, key, a, device), (v.detach(),), (xpgrad.tensor(vals, device=device),))
    np.testing.assert_array_equal(np.asarray(tangent.tolist(), dtype=np.float32), expected)
    # the adjoint of indexing (scatter-add) at a permutation: exact too
    p = rng.permutation(n)
    xs = xpgrad.zeros(n, dtype=F32, device=device, requires_grad=True)
    (gx,) = grads(xp.sum(xs[xpgrad.tensor(p, device=device)] * xpgrad.tensor(base, device=device)), (xs,))
    expected_gx = np.zeros(n, dtype=np.float32)
    expected_gx[p] = base
    np.testing.assert_array_equal(np.asarray(gx.tolist(), dtype=np.float32), expected_gx)
    # first and second order of assignment with a repeated index, float64
    small_key = xpgrad.tensor([2, 0, 2, 3], device=device)
    check(lambda a, b: _assign(a * a, small_key, b * b, device), (tensor([1.0, -2.0, 0.5, 3.0], device),
                                                              tensor([0.7, 1.5, -1.1, 2.0], device)))


# y[[1, 1]] = [1., 2.] and its variants: (x, key, value, what y holds, d sum(y * w) / d value)
ASSIGN_REPEATED = {
    "pair": ([0.0, 0.0, 0.0], [1, 1], [1.0, 2.0], [0.0, 2.0, 0.0]),
    "three": ([5.0, 6.0, 7.0, 8.0], [3, 0, 3, 0, 3], [1.0, 2.0, 3.0, 4.0, 5.0], [4.0, 6.0, 7.0, 5.0]),
    "negative": ([5.0, 6.0, 7.0], [-1, 2, 0], [1.0, 2.0, 3.0], [3.0, 6.0, 2.0]),
}
ASSIGN_W = [0.5, -1.0, 2.0, 3.0]


def _np_last_write_grad(key, value, size):
    """d sum(y * w) / d value: w at the value's position where it is the last write there."""
    key = [k % size for k in key]
    last = {k: i for i, k in enumerate(key)}
    return [ASSIGN_W[k] if last[k] == i else 0.0 for i, k in enumerate(key)]


@pytest.mark.parametrize("name", list(ASSIGN_REPEATED))
def test_integer_array_assignment_keeps_the_last_value(name, device):
    x0, key, value, held = ASSIGN_REPEATED[name]
    k = xpgrad.tensor(key, device=device)
    x = tensor(x0, device)
    v = tensor(value, device)
    y = x * 1.0
    y[k] = v
    np.testing.assert_array_equal(numpy(y), held)
    w = xpgrad.tensor(ASSIGN_W[:len(x0)], dtype=F64, device=device)
    gx, gv = grads(xp.sum(y * w), (x, v))
    assigned = np.zeros(len(x0), dtype=bool)
    assigned[key] = True
    np.testing.assert_array_equal(numpy(gx), np.where(assigned, 0.0, ASSIGN_W[:len(x0)]))
    np.testing.assert_array_equal(numpy(gv), _np_last_write_grad(key, value, len(x0)))
    # second order through a value that is squared: only the last write's square counts
    (g2,) = grads(xp.sum(_assign(x.detach(), k, v * v, device) * w), (v,), create_graph=True)
    (h2,) = grads(xp.sum(g2), (v,))
    np.testing.assert_array_equal(numpy(h2), 2 * np.asarray(_np_last_write_grad(key, value, len(x0))))
    # forward mode
    t = xpgrad.tensor([10.0 * (i + 1) for i in range(len(value))], dtype=F64, device=device)
    _, tangent = func.jvp(lambda a: _assign(x.detach(), k, a, device), (v.detach(),), (t,))
    expected = np.zeros(len(x0))
    expected[np.asarray(key) % len(x0)] = numpy(t)  # NumPy: the last write wins
    np.testing.assert_array_equal(numpy(tangent), expected)


def test_integer_array_assignment_keeps_the_last_value_against_torch():
    torch = torch_or_skip()
    for _name, (x0, key, value, held) in ASSIGN_REPEATED.items():
        tv = torch.tensor(value, dtype=torch.float64, requires_grad=True)
        ty = torch.tensor(x0, dtype=torch.float64)
        # PyTorch's index_put_ on the CPU with accumulate=False writes in the index's order
        ty = ty.index_put((torch.tensor(key),), tv)
        (tg,) = torch.autograd.grad((ty * torch.tensor(ASSIGN_W[:len(x0)], dtype=torch.float64)).sum(), tv)
        np.testing.assert_array_equal(ty.detach().numpy(), held)
        a = np.asarray(x0)
        a[key] = value
        np.testing.assert_array_equal(a, held)  # NumPy's
        # PyTorch's gradient gives the cotangent at a position to every value written
        # there, the overwritten ones too, which do not reach the result: xpgrad gives them 0
        w = np.asarray(ASSIGN_W[:len(x0)])
        np.testing.assert_array_equal(tg.numpy(), w[np.asarray(key) % len(x0)])
        y = tensor(x0, "cpu", requires_grad=False) * 1.0
        v = tensor(value, "cpu")
        y[xpgrad.tensor(key)] = v
        (gv,) = grads(xp.sum(y * xpgrad.tensor(w, dtype=F64)), (v,))
        np.testing.assert_array_equal(numpy(y), held)
        np.testing.assert_array_equal(numpy(gv), _np_last_write_grad(key, value, len(x0)))


def _assign(x, key, value, device):
    y = x.clone()
    y[xpgrad.tensor(key, device=device) if isinstance(key, np.ndarray) else key] = value
    return y


def test_integer_array_assignment_of_integers_and_bools(device):
    t = xpgrad.tensor([1, 2, 3, 4], device=device)
    t[xpgrad.tensor([0, 0, 2], device=device)] = xpgrad.tensor([5, 8, -7], device=device)
    assert t.tolist() == [8, 2, -7, 4]  # the last value written, as NumPy
    b = xpgrad.tensor([True, False, True, False], device=device)
    b[xpgrad.tensor([0, 1, 1, 3], device=device)] = xpgrad.tensor([False, True, False, False], device=device)
    assert b.tolist() == [False, False, True, False]
    big = xpgrad.tensor([0, 0], dtype=xpgrad.int64, device=device)
    big[xpgrad.tensor([1, 1], device=device)] = xpgrad.tensor([2 ** 62 + 1, 2 ** 62 + 3], dtype=xpgrad.int64,
                                                                device=device)
    assert big.tolist() == [0, 2 ** 62 + 3]  # exact: a gather, no arithmetic


def test_scatter_add_float32_precision(device):
    """10^6 float32 values into 4 bins by the adjoint of indexing: each bin's sum within
    the bound of pairwise summation, (log2(n) + 1) eps sum(|v|) (a difference of running
    sums misses it by orders of magnitude). NumPy's own scatter-add is ``add.at``, a
    sequential sum (n eps sum(|v|)): the generic rule is checked on the other backends."""
    if device == "cpu":
        pytest.skip("NumPy's scatter-add is its add.at, a sequential float32 sum")
    n, bins = 10 ** 6, 4
    rng = np.random.default_rng(2)
    idx = rng.integers(0, bins, n)
    v = rng.lognormal(0.0, 2.0, n).astype(np.float32)
    reference = np.zeros(bins)
    np.add.at(reference, idx, v.astype(np.float64))
    magnitude = np.zeros(bins)
    np.add.at(magnitude, idx, np.abs(v).astype(np.float64))
    x = xpgrad.zeros(bins, dtype=F32, device=device, requires_grad=True)
    (g,) = grads(xp.sum(x[xpgrad.tensor(idx, device=device)] * xpgrad.tensor(v, device=device)), (x,))
    err = np.abs(np.asarray(g.tolist(), dtype=np.float64) - reference)
    bound = (np.log2(n) + 1) * np.finfo(np.float32).eps * magnitude
    assert np.all(err <= bound), (err / magnitude, bound / magnitude)
    # forward mode: the tangent of scatter-add is the same sum
    _, tangent = func.jvp(lambda t: xpgrad.dispatch.apply("scatter_add", (t,), {"shape": (bins,), "key": (
        xpgrad.tensor(idx, device=device)._data,)}), (xpgrad.tensor(v, device=device),),
        (xpgrad.tensor(v, device=device),))
    assert np.all(np.abs(np.asarray(tangent.tolist()) - reference) <= bound)


# ------------------------------------------------------- var and std: complex tangents, empty slices, constant slices


VAR_Z = [[1 + 2j, -0.5 + 0.25j, 3 - 1j], [0.5j, 2.0 + 0j, -1 - 1j]]
VAR_DZ = [[0.3 - 1j, 1 + 0.5j, -2 + 0.1j], [1j, -0.7 + 0j, 0.2 + 0.4j]]
VAR_PARAMS = [{}, {"axis": 1}, {"axis": 0, "correction": 1}, {"axis": (0, 1), "keepdims": True}]


def _np_var_tangent(z, dz, axis=None, correction=0, keepdims=False):
    """d var = 2 Re(sum(conj(z - mean) dz)) / (N - correction); d std = d var / (2 std)."""
    z, dz = np.asarray(z), np.asarray(dz)
    c = z - np.mean(z, axis=axis, keepdims=True)
    n = z.size if axis is None else np.prod([z.shape[a] for a in np.atleast_1d(axis)])
    dvar = 2 * np.sum(np.real(np.conj(c) * dz), axis=axis, keepdims=keepdims) / (n - correction)
    std = np.sqrt(np.var(z, axis=axis, ddof=correction, keepdims=keepdims))
    return dvar, dvar / (2 * std)


@pytest.mark.parametrize("params", VAR_PARAMS, ids=["all", "axis1", "axis0-correction", "axes-keepdims"])
def test_var_std_complex_forward_mode(params, device):
    if device.startswith("array_api_strict"):
        pytest.skip("the standard's var and std take real floating-point input only")
    z = tensor(VAR_Z, device, C128, requires_grad=False)
    dz = tensor(VAR_DZ, device, C128, requires_grad=False)
    dvar, dstd = _np_var_tangent(VAR_Z, VAR_DZ, **params)
    for name, expected in (("var", dvar), ("std", dstd)):
        fn = lambda a, name=name: getattr(xp, name)(a, **params)  # noqa: E731
        value, tangent = func.jvp(fn, (z,), (dz,))
        assert dtype_name(tangent.dtype) == "float64"
        np.testing.assert_allclose(numpy(tangent), expected, rtol=1e-13)
        # forward over reverse, and reverse: the gradient's own tangent against finite differences
        complex_gradient_check(fn, (VAR_Z,), device)
        complex_gradient_check(first_gradient(fn), (VAR_Z,), device, differentiates=True, rtol=1e-5, atol=1e-6)
    # the real loss Re(...) of a complex product: the tangent of the gradient by forward over reverse
    f = lambda a: xp.var(a * a, **params)  # noqa: E731
    _, tangent = func.jvp(f, (z,), (dz,))
    zz = np.asarray(VAR_Z)
    expected, _ = _np_var_tangent(zz * zz, 2 * zz * np.asarray(VAR_DZ), **params)
    np.testing.assert_allclose(numpy(tangent), expected, rtol=1e-13)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the forward: the variance of nothing
def test_var_std_forward_mode_over_an_empty_slice(device):
    for shape, axis in (((0,), None), ((0, 3), 0)):
        x = xpgrad.zeros(shape, dtype=F64, device=device)
        t = xpgrad.ones(shape, dtype=F64, device=device)
        out_shape = () if axis is None else shape[1:]
        _, tv = func.jvp(lambda a: xp.var(a, axis=axis), (x,), (t,))
        np.testing.assert_array_equal(numpy(tv), np.zeros(out_shape))  # a sum of no terms, as PyTorch
        _, ts = func.jvp(lambda a: xp.std(a, axis=axis), (x,), (t,))
        assert numpy(ts).shape == out_shape and np.all(np.isnan(numpy(ts)))  # NaN, as its value


# dask's warnings come when the graph is computed, after xpgrad's
@pytest.mark.filterwarnings("ignore:(invalid value|divide by zero) encountered:RuntimeWarning")
def test_var_std_without_degrees_of_freedom_warn_alike(device):
    # xpgrad's RuntimeWarning on every backend: the libraries' own differ (PyTorch's is a
    # UserWarning), and none of them is let through at the call
    x = xpgrad.tensor([1.0, 2.0], dtype=F64, device=device)
    for name in ("var", "std"):
        with pytest.warns(RuntimeWarning, match=rf"^{name}: degrees of freedom <= 0 for slice \(2 elements, "
                                                r"correction=2\)") as caught:
            out = getattr(xp, name)(x, correction=2)
        assert [w.category for w in caught] == [RuntimeWarning]
        assert not np.isfinite(numpy(out))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert numpy(xp.var(x, correction=1)) == 0.5  # degrees of freedom left: no warning


def test_std_second_derivative_at_a_constant_slice(device):
    data = [[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]]
    w = [0.7, -1.3]
    v = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]]
    x = tensor(data, device)
    (g,) = grads(xp.sum(xp.std(x, axis=1) * xpgrad.tensor(w, dtype=F64, device=device)), (x,), create_graph=True)
    (h,) = grads(xp.sum(g * xpgrad.tensor(v, dtype=F64, device=device)), (x,))
    # the Hessian of std(y) = sqrt(c . c / n), c = y - mean: P / (n std) - c c^T / (n^2 std^3)
    y, vy = np.asarray(data[1]), np.asarray(v[1])
    n, c = len(y), y - y.mean()
    s = np.sqrt(c @ c / n)
    row = (vy - vy.mean()) / (n * s) - c * (c @ vy) / (n ** 2 * s ** 3)
    np.testing.assert_array_equal(numpy(g)[0], 0.0)
    np.testing.assert_array_equal(numpy(h)[0], 0.0)  # the subgradient 0 is held: no derivative of it
    np.testing.assert_allclose(numpy(h)[1], w[1] * row, rtol=1e-13)
    # forward over reverse gives the same
    _, th = func.jvp(lambda a: grads(xp.sum(xp.std(a, axis=1) * xpgrad.tensor(w, dtype=F64, device=device)),
                                     (a,), create_graph=True)[0], (x.detach(),),
                     (xpgrad.tensor(v, dtype=F64, device=device),))
    np.testing.assert_allclose(numpy(th), numpy(h), rtol=1e-13, atol=0)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_var_std_against_torch():
    torch = torch_or_skip()
    with warnings.catch_warnings():  # torch.func's first use warns of its internals, var() of nothing
        warnings.simplefilter("ignore")
        z, dz = torch.tensor(VAR_Z, dtype=torch.complex128), torch.tensor(VAR_DZ, dtype=torch.complex128)
        for params in VAR_PARAMS:
            tparams = {"dim": params.get("axis"), "correction": params.get("correction", 0),
                       "keepdim": params.get("keepdims", False)}
            for name in ("var", "std"):
                _, want = torch.func.jvp(lambda a: getattr(torch, name)(a, **tparams), (z,), (dz,))
                _, got = func.jvp(lambda a: getattr(xp, name)(a, **params), (tensor(VAR_Z, "cpu", C128, False),),
                                  (tensor(VAR_DZ, "cpu", C128, False),))
                np.testing.assert_allclose(numpy(got), want.numpy(), rtol=1e-13)
        empty = torch.zeros(0, dtype=torch.float64)
        _, tv = torch.func.jvp(torch.var, (empty,), (empty,))
        _, ts = torch.func.jvp(torch.std, (empty,), (empty,))
    x = xpgrad.zeros(0, dtype=F64)
    assert float(func.jvp(xp.var, (x,), (x,))[1]) == float(tv) == 0.0
    assert np.isnan(float(func.jvp(xp.std, (x,), (x,))[1])) and np.isnan(float(ts))
    tx = torch.tensor([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]], dtype=torch.float64, requires_grad=True)
    (tg,) = torch.autograd.grad(torch.std(tx, dim=1, correction=0).sum(), tx, create_graph=True)
    (th,) = torch.autograd.grad(tg.sum(), tx)
    x = tensor([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]], "cpu")
    (g,) = grads(xp.sum(xp.std(x, axis=1)), (x,), create_graph=True)
    (h,) = grads(xp.sum(g), (x,))
    np.testing.assert_allclose(numpy(h), th.numpy(), rtol=1e-13, atol=1e-15)


# ---------------------------------------------------------------------- vector_norm without under- or overflow


def _np_scaled(x, p=2):
    """||x||_p, its gradient and (for p = 2) its Hessian, from x / max|x| (no under- or overflow)."""
    x = np.asarray(x, dtype=float)
    m = np.max(np.abs(x))
    y = x / m
    n = m * np.sum(np.abs(y) ** p) ** (1 / p)
    g = np.sign(x) * (np.abs(x) / n) ** (p - 1)
    u = x / n
    return n, g, (np.eye(len(x)) - np.outer(u, u)) / n


NORM_SCALES = [("tiny", [1e-300, -3e-300, 2e-301], "float64"), ("huge", [1e300, -3e300, 2e299], "float64"),
               ("tiny-float32", [1e-30, -3e-30, 2e-31], "float32"), ("huge-float32", [1e30, -3e30, 2e29], "float32")]


@pytest.mark.parametrize("name, data, dtype", NORM_SCALES, ids=[c[0] for c in NORM_SCALES])
def test_vector_norm_does_not_underflow_or_overflow(name, data, dtype, device):
    dt = getattr(xpgrad, dtype)
    rtol = 1e-5 if dtype == "float32" else 1e-14
    v = [0.5, -1.0, 2.0]
    for p in (2, 3):
        n, g_want, h_want = _np_scaled(data, p)
        x = tensor(data, device, dt)
        out = xp.linalg.vector_norm(x, ord=p)
        np.testing.assert_allclose(float(out), n, rtol=rtol)
        (g,) = grads(out, (x,), create_graph=True)
        np.testing.assert_allclose(numpy(g), g_want, rtol=rtol)
        _, tangent = func.jvp(lambda a: xp.linalg.vector_norm(a, ord=p), (x.detach(),),
                              (xpgrad.tensor(v, dtype=dt, device=device),))
        np.testing.assert_allclose(float(tangent), g_want @ v, rtol=rtol)
        if p == 2:
            (h,) = grads(xp.sum(g * xpgrad.tensor(v, dtype=dt, device=device)), (x,))
            np.testing.assert_allclose(numpy(h), h_want @ v, rtol=rtol)
    # along an axis, with keepdims, and complex: the same, row by row
    rows = tensor([data, [0.0, 0.0, 0.0], data[::-1]], device, dt)
    out = xp.linalg.vector_norm(rows, axis=1, keepdims=True)
    np.testing.assert_allclose(numpy(out)[:, 0], [_np_scaled(data)[0], 0.0, _np_scaled(data)[0]], rtol=rtol)
    if dtype == "float64":
        z = tensor([c * (0.6 + 0.8j) for c in data], device, C128)
        np.testing.assert_allclose(float(xp.linalg.vector_norm(z)), _np_scaled(data)[0], rtol=rtol)


def test_vector_norm_scaling_leaves_ordinary_values_as_they_were(device):
    """The scale is a power of two: where nothing under- or overflows, the 2-norm is the
    backend's, bit for bit."""
    a = np.random.default_rng(3).standard_normal((6, 5)) * np.logspace(-5, 5, 5)
    got = numpy(xp.linalg.vector_norm(tensor(a, device, requires_grad=False), axis=0))
    np.testing.assert_array_equal(got, np.linalg.vector_norm(a, axis=0))


def test_vector_norm_scaling_against_torch():
    torch = torch_or_skip()
    x = torch.tensor([1e-300, -3e-300, 2e-301], dtype=torch.float64, requires_grad=True)
    out = torch.linalg.vector_norm(x)
    (g,) = torch.autograd.grad(out, x, create_graph=True)
    (h,) = torch.autograd.grad(g[0], x)
    # PyTorch squares x: the norm underflows to 0, the gradient to 0, the Hessian to NaN
    assert float(out.detach()) == 0.0 and not g.detach().any() and torch.isnan(h).all()
    n, g_want, h_want = _np_scaled([1e-300, -3e-300, 2e-301])
    u = tensor([1e-300, -3e-300, 2e-301], "cpu")
    (gu,) = grads(xp.linalg.vector_norm(u), (u,), create_graph=True)
    (hu,) = grads(gu[0], (u,))
    np.testing.assert_allclose(numpy(gu), g_want, rtol=1e-14)
    np.testing.assert_allclose(numpy(hu), h_want[0], rtol=1e-14)
    # and at ordinary scales the two agree
    a = np.random.default_rng(4).standard_normal(5)
    ta = torch.tensor(a, requires_grad=True)
    (tg,) = torch.autograd.grad(torch.linalg.vector_norm(ta, ord=3), ta)
    ua = tensor(a, "cpu")
    (ug,) = grads(xp.linalg.vector_norm(ua, ord=3), (ua,))
    np.testing.assert_allclose(numpy(ug), tg.numpy(), rtol=1e-14)
