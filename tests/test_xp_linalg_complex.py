"""Complex gradients of the linear algebra extension (``xpgrad.xp.linalg``, ``tensordot``,
``vecdot`` and the PyTorch face ``xpgrad.linalg``), in PyTorch's convention: for a real
loss ``L`` of ``z = x + iy`` the gradient is ``dL/dx + i dL/dy``.

Every function is checked on complex128 inputs (NumPy and array-api-strict) against
central differences in the real and imaginary part of every input element, for the real
loss ``sum(real(out) * a + imag(out) * b)``. The decompositions whose complex factors
have arbitrary phases (eigh's eigenvectors, svd's singular vectors) are checked through
functions that do not depend on those phases; a loss that does is refused with an error.
Also: forward mode (``xpgrad.func.jvp``) against directional differences, second
derivatives (the gradient of a gradient), complex64 gradients staying complex64, and the
ops' own JVP rules where the phases make finite differences of the op itself meaningless.
"""
import re

import numpy as np
import pytest

import xpgrad
from xpgrad import func, xp

from helpers import check, complex_gradient_check

C64 = xpgrad.complex64
C128 = xpgrad.complex128
F64 = xpgrad.float64
INF = float("inf")

DEVICES = [pytest.param("cpu", id="numpy"), pytest.param("array_api_strict", id="array_api_strict")]


# ---------------------------------------------------------------------- inputs


def cdata(*shape, seed=0, shift=0.0):
    """Complex values (a nested list), real and imaginary parts standard normal;
    ``shift`` adds ``shift * I`` to square matrices (well conditioned)."""
    rng = np.random.default_rng(seed + 11 * len(shape) + sum(shape))
    a = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    if shift:
        a = a + shift * np.eye(shape[-1])
    return a.tolist()


def H(a):
    """The conjugate transpose of the last two axes."""
    return xp.conj(xp.linalg.matrix_transpose(a))


def herm(a):
    """The Hermitian matrix eigh is meant for, built symmetrically."""
    return (a + H(a)) / 2


def hpd(a):
    """A well-conditioned Hermitian positive-definite matrix from any square ``a``."""
    n = a.shape[-1]
    return a @ H(a) + n * xpgrad.eye(n, dtype=a.dtype, device=a.device)


def _weights(n, seed=3):
    """Fixed positive weights for functions of eigen/singular values."""
    return np.random.default_rng(seed).uniform(0.5, 1.5, n).tolist()


def spectral(v, w, vh=None):
    """``V diag(w) V^H`` (``V diag(w) Vh``): does not depend on the phases of ``V``'s
    columns (of the singular vectors' pairs). ``w`` may be a list of weights."""
    if isinstance(w, list):
        w = xpgrad.tensor(w, dtype=F64, device=v.device)
    return (v * xp.expand_dims(w, axis=-2)) @ (H(v) if vh is None else vh)


# ---------------------------------------------------------------------- the cases
# name: (fn of complex Tensors, input values); every output is a function of the inputs
# that does not depend on the arbitrary phases of eigen/singular vectors.

PRODUCTS = {
    "matmul": (xp.matmul, (cdata(2, 3), cdata(3, 2, seed=1))),
    "matmul-operator-batched": (lambda a, b: a @ b, (cdata(2, 2, 3), cdata(3, 2, seed=1))),
    "matmul-vector-matrix": (xp.matmul, (cdata(3), cdata(2, 3, 2, seed=1))),
    "matmul-matrix-vector": (xp.matmul, (cdata(2, 3), cdata(3, seed=1))),
    "matmul-dot": (xp.matmul, (cdata(3), cdata(3, seed=1))),
    "tensordot-1": (lambda a, b: xp.linalg.tensordot(a, b, axes=1), (cdata(2, 3), cdata(3, 2, seed=1))),
    "tensordot-pairs": (lambda a, b: xp.linalg.tensordot(a, b, axes=([0, 2], [1, 0])),
                        (cdata(2, 3, 2), cdata(2, 2, seed=1))),
    "tensordot-0": (lambda a, b: xp.linalg.tensordot(a, b, axes=0), (cdata(2), cdata(3, seed=1))),
    "vecdot": (xp.linalg.vecdot, (cdata(2, 3), cdata(3, seed=1))),
    "vecdot-axis0": (lambda a, b: xp.linalg.vecdot(a, b, axis=0), (cdata(3, 2), cdata(3, 1, seed=1))),
    "vecdot-main-namespace": (xp.vecdot, (cdata(3), cdata(2, 3, seed=1))),
    "outer": (xp.linalg.outer, (cdata(3), cdata(2, seed=1))),
    "matrix_transpose": (xp.linalg.matrix_transpose, (cdata(2, 3),)),
    "trace-offset": (lambda a: xp.linalg.trace(a, offset=1), (cdata(2, 3, 4),)),
    "diagonal-negative-offset": (lambda a: xp.linalg.diagonal(a, offset=-1), (cdata(4, 3),)),
    "cross": (xp.linalg.cross, (cdata(2, 3), cdata(3, seed=1))),
    "cross-axis0": (lambda a, b: xp.linalg.cross(a, b, axis=0), (cdata(3, 2), cdata(3, 2, seed=1))),
    # A real operand (the real part of an input) with a complex one: the real one's
    # gradient is the real part of the complex rule's.
    "matmul-real-complex": (lambda a, b: xp.real(a) @ b, (cdata(2, 3), cdata(3, 2, seed=1))),
    "matmul-complex-real": (lambda a, b: a @ xp.imag(b), (cdata(3,), cdata(3, 2, seed=1))),
    "outer-real-complex": (lambda a, b: xp.linalg.outer(xp.real(a), b), (cdata(3), cdata(2, seed=1))),
    "cross-complex-real": (lambda a, b: xp.linalg.cross(a, xp.real(b)), (cdata(2, 3), cdata(3, seed=1))),
    "vecdot-real-complex": (lambda a, b: xp.linalg.vecdot(xp.real(a), b), (cdata(2, 3), cdata(3, seed=1))),
}

MATRIX_FUNCTIONS = {
    "inv": (xp.linalg.inv, (cdata(2, 3, 3, shift=3),)),
    "solve-matrix": (xp.linalg.solve, (cdata(2, 3, 3, shift=3), cdata(3, 2, seed=1))),
    "solve-vector": (xp.linalg.solve, (cdata(3, 3, shift=3), cdata(3, seed=1))),
    "solve-real-complex": (lambda a, b: xp.linalg.solve(xp.real(a), b), (cdata(3, 3, shift=3), cdata(3, 2, seed=1))),
    "solve-complex-real": (lambda a, b: xp.linalg.solve(a, xp.real(b)), (cdata(3, 3, shift=3), cdata(3, seed=1))),
    "det": (xp.linalg.det, (cdata(2, 3, 3),)),
    "det-1x1": (xp.linalg.det, (cdata(2, 1, 1),)),
    "det-singular": (xp.linalg.det, ([[1 + 1j, 2 - 1j], [2 + 2j, 3 + 1j]],)),  # rank 1
    "slogdet-logabsdet": (lambda a: xp.linalg.slogdet(a).logabsdet, (cdata(2, 3, 3),)),
    "slogdet-sign": (lambda a: xp.linalg.slogdet(a).sign, (cdata(2, 3, 3),)),
    "slogdet-both": (lambda a: tuple(xp.linalg.slogdet(a)), (cdata(3, 3),)),
    "matrix_power-3": (lambda a: xp.linalg.matrix_power(a, 3), (cdata(2, 2, 2),)),
    "matrix_power-1": (lambda a: xp.linalg.matrix_power(a, 1), (cdata(2, 2),)),
    "matrix_power-0": (lambda a: xp.linalg.matrix_power(a, 0), (cdata(2, 2),)),
    "matrix_power-neg": (lambda a: xp.linalg.matrix_power(a, -2), (cdata(2, 2, 2, shift=3),)),
    "pinv-tall": (xp.linalg.pinv, (cdata(3, 2),)),
    "pinv-wide-batched": (xp.linalg.pinv, (cdata(2, 2, 3),)),
    "pinv-rank-deficient": (lambda b, c: xp.linalg.pinv(b @ c), (cdata(4, 2), cdata(2, 3, seed=1))),
}

NORMS = {
    "vector_norm-2": (xp.linalg.vector_norm, (cdata(2, 3),)),
    "vector_norm-axes-keepdims": (lambda a: xp.linalg.vector_norm(a, axis=(0, -1), keepdims=True),
                                  (cdata(2, 2, 3),)),
    "vector_norm-1": (lambda a: xp.linalg.vector_norm(a, ord=1, axis=-1), (cdata(2, 3),)),
    "vector_norm-3": (lambda a: xp.linalg.vector_norm(a, axis=-2, ord=3), (cdata(2, 3),)),
    "vector_norm-0.5": (lambda a: xp.linalg.vector_norm(a, ord=0.5), (cdata(2, 3),)),
    "vector_norm-inf": (lambda a: xp.linalg.vector_norm(a, ord=INF), (cdata(2, 3),)),
    "vector_norm--inf": (lambda a: xp.linalg.vector_norm(a, ord=-INF, axis=1), (cdata(2, 3),)),
    "vector_norm-0": (lambda a: xp.sum(a) * xp.linalg.vector_norm(a, ord=0), (cdata(2, 3),)),
    "matrix_norm-fro": (xp.linalg.matrix_norm, (cdata(2, 2, 3),)),
    "matrix_norm-nuc": (lambda a: xp.linalg.matrix_norm(a, ord="nuc", keepdims=True), (cdata(2, 3),)),
    "matrix_norm-2": (lambda a: xp.linalg.matrix_norm(a, ord=2), (cdata(2, 2, 3),)),
    "matrix_norm--2": (lambda a: xp.linalg.matrix_norm(a, ord=-2), (cdata(3, 2),)),
    "matrix_norm-1": (lambda a: xp.linalg.matrix_norm(a, ord=1), (cdata(2, 3),)),
    "matrix_norm--1": (lambda a: xp.linalg.matrix_norm(a, ord=-1), (cdata(2, 3),)),
    "matrix_norm-inf": (lambda a: xp.linalg.matrix_norm(a, ord=INF), (cdata(2, 3),)),
    "matrix_norm--inf": (lambda a: xp.linalg.matrix_norm(a, ord=-INF, keepdims=True), (cdata(2, 3),)),
    "torch-norm-flat": (xpgrad.linalg.norm, (cdata(2, 3),)),
    "torch-norm-nuc-dims": (lambda a: xpgrad.linalg.norm(a, ord="nuc", dim=(0, 2)), (cdata(2, 2, 3),)),
}


def _qr(mode="reduced"):
    return lambda a: tuple(xp.linalg.qr(a, mode=mode))


DECOMPOSITIONS = {
    "cholesky": (lambda a: xp.linalg.cholesky(hpd(a)), (cdata(2, 3, 3),)),
    "cholesky-upper": (lambda a: xp.linalg.cholesky(hpd(a), upper=True), (cdata(3, 3),)),
    # The input itself: the lower triangle and the real part of the diagonal are read.
    "cholesky-lower-triangle-read": (xp.linalg.cholesky, ([[4 + 0.5j, 9 - 2j], [1 - 2j, 5 + 3j]],)),
    "eigvalsh": (lambda a: xp.linalg.eigvalsh(herm(a)), (cdata(2, 3, 3),)),
    "eigvalsh-lower-triangle-read": (xp.linalg.eigvalsh, (cdata(3, 3),)),
    "eigh-eigenvalues": (lambda a: xp.linalg.eigh(herm(a)).eigenvalues, (cdata(3, 3),)),
    "eigh-spectral": (lambda a: spectral(xp.linalg.eigh(herm(a)).eigenvectors, _weights(3)),
                      (cdata(2, 3, 3),)),
    "eigh-reconstruct": (lambda a: spectral(*reversed(tuple(xp.linalg.eigh(herm(a))))), (cdata(3, 3),)),
    "eigh-lower-triangle-read": (lambda a: spectral(xp.linalg.eigh(a).eigenvectors, _weights(3)),
                                 (cdata(3, 3),)),
    "eigh-abs-eigenvectors": (lambda a: xp.abs(xp.linalg.eigh(herm(a)).eigenvectors), (cdata(3, 3),)),
    "qr-square-batched": (_qr(), (cdata(2, 3, 3),)),
    "qr-tall": (_qr(), (cdata(3, 2),)),
    "qr-wide": (_qr(), (cdata(2, 3),)),
    "qr-complete-tall-R": (lambda a: xp.linalg.qr(a, mode="complete").R, (cdata(3, 2),)),
    "qr-complete-wide": (_qr("complete"), (cdata(2, 3),)),
    "svdvals": (xp.linalg.svdvals, (cdata(2, 2, 3),)),
    "svd-S": (lambda a: xp.linalg.svd(a).S, (cdata(3, 3),)),
    "svd-reconstruct": (lambda a: spectral(*xp.linalg.svd(a)), (cdata(3, 3),)),
    "svd-weighted-square": (lambda a: (lambda r: spectral(r.U, _weights(3), r.Vh))(xp.linalg.svd(a)),
                            (cdata(2, 3, 3),)),
    "svd-polar": (lambda a: (lambda r: r.U @ r.Vh)(xp.linalg.svd(a)), (cdata(3, 3),)),
    "svd-tall-reduced": (lambda a: (lambda r: spectral(r.U, r.S ** 2, r.Vh))(xp.linalg.svd(a, full_matrices=False)),
                         (cdata(3, 2),)),
    "svd-wide-reduced": (lambda a: (lambda r: spectral(r.U, r.S ** 2, r.Vh))(xp.linalg.svd(a, full_matrices=False)),
                         (cdata(2, 2, 3),)),
    "svd-full-tall-first-columns": (lambda a: (lambda r: spectral(r.U[..., :, :2], r.S, r.Vh))(xp.linalg.svd(a)),
                                    (cdata(3, 2),)),
    "svd-U-only": (lambda a: spectral(xp.linalg.svd(a).U, _weights(3)), (cdata(3, 3),)),
    "svd-Vh-only": (lambda a: (lambda vh: spectral(H(vh), _weights(2)))(xp.linalg.svd(a, full_matrices=False).Vh),
                    (cdata(2, 3),)),
    "svd-abs-U": (lambda a: xp.abs(xp.linalg.svd(a).U), (cdata(3, 3),)),
    "torch-eigh-upper": (lambda a: spectral(*reversed(tuple(xpgrad.linalg.eigh(a, UPLO="U")))), (cdata(3, 3),)),
    "torch-eigvalsh-upper": (lambda a: xpgrad.linalg.eigvalsh(a, UPLO="U"), (cdata(3, 3),)),
    "torch-solve-right": (lambda a, b: xpgrad.linalg.solve(a, b, left=False),
                          (cdata(3, 3, shift=3), cdata(2, 3, seed=1))),
    "torch-multi_dot": (lambda *ts: xpgrad.linalg.multi_dot(ts), (cdata(3), cdata(3, 2, seed=1), cdata(2, 2, seed=2))),
    "torch-vecdot": (xpgrad.linalg.vecdot, (cdata(2, 3), cdata(2, 3, seed=1))),
}

TABLES = {**PRODUCTS, **MATRIX_FUNCTIONS, **NORMS, **DECOMPOSITIONS}
# Decompositions amplify the finite differences' rounding: a looser absolute tolerance.
LOOSE = {name: 1e-6 for name in DECOMPOSITIONS} | {"pinv-rank-deficient": 1e-6}


def _params():
    return [pytest.param(fn, datas, LOOSE.get(name, 1e-7), id=name) for name, (fn, datas) in TABLES.items()]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, datas, atol", _params())
def test_complex_gradients(fn, datas, atol, device):
    complex_gradient_check(fn, datas, device, atol=atol)


# ---------------------------------------------------------------------- forward mode


def _tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _np(t):
    return np.asarray(t.detach().tolist())


def complex_jvp_check(fn, datas, device, eps=1e-6, atol=1e-6):
    """``xpgrad.func.jvp`` along a random complex tangent against the central difference
    ``(f(z + eps t) - f(z - eps t)) / (2 eps)``."""
    rng = np.random.default_rng(4)
    base = [np.asarray(d, dtype=np.complex128) for d in datas]
    tangents = [rng.standard_normal(b.shape) + 1j * rng.standard_normal(b.shape) for b in base]

    def tensors(arrays):
        return tuple(xpgrad.tensor(a.tolist(), dtype=C128, device=device) for a in arrays)

    _, jvps = func.jvp(lambda *zs: _tuple(fn(*zs)), tensors(base), tensors(tangents))
    with xpgrad.no_grad():
        plus = _tuple(fn(*tensors([b + eps * t for b, t in zip(base, tangents)])))
        minus = _tuple(fn(*tensors([b - eps * t for b, t in zip(base, tangents)])))
    for j, p, m in zip(jvps, plus, minus):
        assert j.dtype == p.dtype
        np.testing.assert_allclose(_np(j), (_np(p) - _np(m)) / (2 * eps), rtol=1e-5, atol=atol)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, datas, atol", _params())
def test_complex_forward_mode(fn, datas, atol, device):
    complex_jvp_check(fn, datas, device)


# ---------------------------------------------------------------------- second order


def _first_gradient(f):
    """The gradient (recorded, for a second differentiation) of the real loss
    ``sum(real(f) * a + imag(f) * b)`` with fixed weights, w.r.t. every input."""
    def grad_fn(*zs):
        out = f(*zs)
        rng = np.random.default_rng(7)
        shape = tuple(out.shape)
        a = xpgrad.tensor(rng.standard_normal(shape).tolist(), dtype=F64, device=out.device)
        b = xpgrad.tensor(rng.standard_normal(shape).tolist(), dtype=F64, device=out.device)
        loss = xp.sum(xp.real(out) * a + xp.imag(out) * b) if "complex" in str(out.dtype) else xp.sum(out * a)
        return xpgrad.autograd.grad(loss, zs, create_graph=True)
    return grad_fn


SECOND_ORDER = {
    "matmul": (xp.matmul, (cdata(2, 3), cdata(3, 2, seed=1))),
    "inv": (xp.linalg.inv, (cdata(3, 3, shift=3),)),
    "solve": (xp.linalg.solve, (cdata(3, 3, shift=3), cdata(3, 2, seed=1))),
    "det": (xp.linalg.det, (cdata(3, 3),)),
    "det-singular": (xp.linalg.det, ([[1 + 1j, 2 - 1j], [2 + 2j, 3 + 1j]],)),
    "slogdet-both": (lambda a: xp.linalg.slogdet(a).sign * xp.linalg.slogdet(a).logabsdet, (cdata(3, 3),)),
    "matrix_power-neg": (lambda a: xp.linalg.matrix_power(a, -2), (cdata(2, 2, shift=3),)),
    "pinv": (xp.linalg.pinv, (cdata(3, 2),)),
    "vector_norm": (lambda a: xp.linalg.vector_norm(a, ord=3), (cdata(2, 3),)),
    "cholesky": (lambda a: xp.linalg.cholesky(hpd(a)), (cdata(3, 3),)),
    "eigvalsh": (lambda a: xp.linalg.eigvalsh(herm(a)), (cdata(3, 3),)),
    "eigh-spectral": (lambda a: spectral(xp.linalg.eigh(herm(a)).eigenvectors, _weights(3)),
                      (cdata(3, 3),)),
    "qr": (lambda a: xp.linalg.qr(a).Q @ xp.linalg.qr(a).R ** 2, (cdata(3, 2),)),
    "svdvals": (xp.linalg.svdvals, (cdata(2, 3),)),
    "svd-polar": (lambda a: (lambda r: r.U @ r.Vh)(xp.linalg.svd(a)), (cdata(3, 3),)),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, datas", SECOND_ORDER.values(), ids=SECOND_ORDER.keys())
def test_complex_second_order(fn, datas, device):
    complex_gradient_check(_first_gradient(fn), datas, device, differentiates=True,
                           rtol=1e-4, atol=1e-6)


def test_gradcheck_takes_real_inputs_only():
    # xpgrad.gradcheck compares real Jacobians: complex inputs are refused (the complex
    # checks here are finite differences in the real and imaginary parts instead).
    z = xpgrad.tensor(cdata(2, 2), dtype=C128, requires_grad=True)
    with pytest.raises(ValueError, match="finite differences need float64"):
        xpgrad.gradcheck(xp.linalg.inv, (z,))


@pytest.mark.parametrize("x2_shape", [(3,), (3, 2), (2, 3, 2)])
def test_solve_with_a_constant_right_hand_side(x2_shape):
    # Only x1 requires grad: its rules tell a vector x2 from the result, not from x2.
    a, b = np.array(cdata(2, 3, 3, shift=3)), np.array(cdata(*x2_shape, seed=1))
    const = xpgrad.tensor(b.tolist(), dtype=C128)
    complex_gradient_check(lambda z: xp.linalg.solve(z, const), (a.tolist(),), "cpu")
    complex_gradient_check(_first_gradient(lambda z: xp.linalg.solve(z, const)), (a.tolist(),), "cpu",
                           differentiates=True, rtol=1e-4, atol=1e-6)
    real = xpgrad.tensor(np.real(b).tolist(), dtype=F64)
    check(lambda x: xp.linalg.solve(x, real), (xpgrad.tensor(np.real(a).tolist(), dtype=F64, requires_grad=True),))


# ---------------------------------------------------------------------- values at the hard places


def test_det_gradient_is_conjugate_cofactor_at_singular(device="cpu"):
    m = np.array([[1 + 1j, 2 - 1j, 0.5j], [2 + 2j, 3 + 1j, 1], [3 + 3j, 5 + 0j, 1 + 0.5j]])
    m[2] = m[0] + m[1]  # rank 2: the cofactor matrix is nonzero
    a = xpgrad.tensor(m.tolist(), dtype=C128, requires_grad=True)
    xp.real(xp.linalg.det(a)).backward()
    cof = np.array([[(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(m, i, 0), j, 1)) for j in range(3)]
                    for i in range(3)])
    got = _np(a.grad)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, np.conj(cof), atol=1e-12)


def test_slogdet_values_and_gradient():
    m = np.array(cdata(3, 3))
    a = xpgrad.tensor(m.tolist(), dtype=C128, requires_grad=True)
    sign, logabsdet = xp.linalg.slogdet(a)
    assert "complex" in str(sign.dtype) and "float" in str(logabsdet.dtype)
    assert sign.requires_grad and logabsdet.requires_grad
    ref_sign, ref_log = np.linalg.slogdet(m)
    np.testing.assert_allclose(_np(sign), ref_sign)
    np.testing.assert_allclose(_np(logabsdet), ref_log)
    logabsdet.backward()
    np.testing.assert_allclose(_np(a.grad), np.conj(np.linalg.inv(m)).T)  # A^-H
    # The real path is unchanged: sign is +-1 and does not require grad.
    r = xpgrad.tensor(np.real(m).tolist(), dtype=F64, requires_grad=True)
    assert xp.linalg.slogdet(r).sign.requires_grad is False


def test_matrix_rank_is_not_differentiable():
    a = xpgrad.tensor([[1 + 1j, 2 + 2j], [2 - 1j, 3 - 1j]], dtype=C128, requires_grad=True)
    r = xp.linalg.matrix_rank(a)
    assert int(r) == 2 and r.requires_grad is False


def test_eigh_and_svd_values_of_complex_input_requiring_grad():
    m = np.array(cdata(2, 3, 3))
    for grad in (False, True):
        a = xpgrad.tensor(m.tolist(), dtype=C128, requires_grad=grad)
        u, s, vh = xp.linalg.svd(a)
        ru, rs, rvh = np.linalg.svd(m)
        np.testing.assert_allclose(_np(u), ru)
        np.testing.assert_allclose(_np(s), rs)
        np.testing.assert_allclose(_np(vh), rvh)
        assert "float" in str(s.dtype)
        w, v = xp.linalg.eigh(a)
        rw, rv = np.linalg.eigh(m)
        np.testing.assert_allclose(_np(w), rw)
        np.testing.assert_allclose(_np(v), rv)
        q, r = xp.linalg.qr(a)
        np.testing.assert_allclose(_np(q @ r), m, atol=1e-12)
        np.testing.assert_allclose(_np(xp.linalg.cholesky(a @ H(a), upper=True)),
                                   np.conj(np.swapaxes(np.linalg.cholesky(m @ np.conj(np.swapaxes(m, -1, -2))),
                                                       -1, -2)))


# ---------------------------------------------------------------------- the phases: refused losses


EIGH_PHASE_ERROR = (
    "eigh backward: the loss depends on the phases of the eigenvectors, which are arbitrary for "
    "complex input (each column of V may be multiplied by e^(i phi)), so its gradient is not "
    "defined: Im(diag(V^H gV)) must be 0, and it is not (up to ")
EIGH_PHASE_ADVICE = ("). Use a loss that does not depend on these phases, e.g. functions of the "
                     "eigenvalues, of V diag(f(w)) V^H or of |V|.")
SVD_PHASE_ERROR = (
    "svd backward: the loss depends on the phases of the singular vectors, which are arbitrary "
    "for complex input (each column of U (and the matching row of Vh) may be multiplied by "
    "e^(i phi)), so its gradient is not defined: Im(diag(U^H gU)) + Im(diag(V^H gV)) must be 0, "
    "and it is not (up to ")
SVD_PHASE_ADVICE = ("). Use a loss that does not depend on these phases, e.g. functions of the "
                    "singular values, of U diag(f(S)) Vh, U Vh, U diag(f(S)) U^H or of |U|.")


def _phase_error(start, end):
    return re.escape(start) + r"[0-9.e+-]+" + re.escape(end)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("loss", [
    pytest.param(lambda v: xp.real(v[1, 0]), id="real-entry"),
    pytest.param(lambda v: xp.sum(xp.imag(v)), id="imag-sum"),
    pytest.param(lambda v: xp.sum(xp.real(v @ v)), id="product"),
])
def test_eigh_phase_dependent_loss_is_refused(loss, device):
    a = xpgrad.tensor(cdata(3, 3), dtype=C128, device=device, requires_grad=True)
    v = xp.linalg.eigh(herm(a)).eigenvectors
    with pytest.raises(RuntimeError, match=_phase_error(EIGH_PHASE_ERROR, EIGH_PHASE_ADVICE)):
        loss(v).backward()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("loss", [
    pytest.param(lambda r: xp.real(r.U[1, 0]), id="real-entry-of-U"),
    pytest.param(lambda r: xp.sum(xp.imag(r.Vh)), id="imag-sum-of-Vh"),
    pytest.param(lambda r: xp.sum(xp.real(r.U @ H(r.Vh))), id="U-times-V"),
])
def test_svd_phase_dependent_loss_is_refused(loss, device):
    a = xpgrad.tensor(cdata(3, 3), dtype=C128, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match=_phase_error(SVD_PHASE_ERROR, SVD_PHASE_ADVICE)):
        loss(xp.linalg.svd(a)).backward()


def test_phase_check_also_under_create_graph():
    a = xpgrad.tensor(cdata(3, 3), dtype=C128, requires_grad=True)
    v = xp.linalg.eigh(herm(a)).eigenvectors
    with pytest.raises(RuntimeError, match=re.escape(EIGH_PHASE_ERROR)):
        xpgrad.autograd.grad(xp.real(v[1, 0]), a, create_graph=True)
    r = xp.linalg.svd(a)
    with pytest.raises(RuntimeError, match=re.escape(SVD_PHASE_ERROR)):
        xpgrad.autograd.grad(xp.real(r.U[1, 0]), a, create_graph=True)


@pytest.mark.parametrize("dtype", [C64, C128])
def test_phase_check_in_both_precisions(dtype):
    a = xpgrad.tensor(cdata(3, 3), dtype=dtype, requires_grad=True)
    with pytest.raises(RuntimeError, match=re.escape(EIGH_PHASE_ERROR)):
        xp.real(xp.linalg.eigh(herm(a)).eigenvectors[1, 0]).backward()
    with pytest.raises(RuntimeError, match=re.escape(SVD_PHASE_ERROR)):
        xp.real(xp.linalg.svd(a).U[1, 0]).backward()
    w, v = xp.linalg.eigh(herm(a))
    u, s, vh = xp.linalg.svd(a)
    (xp.sum(xp.real(spectral(v, w ** 2))) + xp.sum(xp.real(spectral(u, s ** 2, vh)))).backward()
    assert a.grad.dtype == dtype


def test_phase_check_ignores_a_cotangent_of_rounding_noise():
    # The imaginary parts of a Hermitian matrix sum to 0: this loss does not depend on V
    # at all, and its cotangent is rounding noise, not a dependence on the phases.
    a = xpgrad.tensor(cdata(3, 3), dtype=C128, requires_grad=True)
    w, v = xp.linalg.eigh(herm(a))
    xp.sum(xp.imag(spectral(v, w))).backward()
    np.testing.assert_allclose(_np(a.grad), 0, atol=1e-12)


def test_phase_invariant_losses_of_one_factor_pass_the_check():
    # U diag(w) U^H and |Vh| read one factor each, and do not depend on the phases.
    a = xpgrad.tensor(cdata(3, 3), dtype=C128, requires_grad=True)
    r = xp.linalg.svd(a)
    loss = xp.sum(xp.real(spectral(r.U, r.S))) + xp.sum(xp.abs(r.Vh) ** 3)
    loss.backward()
    assert np.all(np.isfinite(_np(a.grad)))


# ---------------------------------------------------------------------- dtypes


COMPLEX64 = {
    "matmul": lambda a: a @ a,
    "inv": xp.linalg.inv,
    "solve": lambda a: xp.linalg.solve(a, a @ a),
    "det": xp.linalg.det,
    "slogdet": lambda a: xp.linalg.slogdet(a).sign * xp.linalg.slogdet(a).logabsdet,
    "matrix_power": lambda a: xp.linalg.matrix_power(a, -2),
    "pinv": xp.linalg.pinv,
    "outer": lambda a: xp.linalg.outer(a[0], a[1]),
    "cross": lambda a: xp.linalg.cross(a, a.mT),
    "vecdot": lambda a: xp.linalg.vecdot(a, a.mT),
    "trace": xp.linalg.trace,
    "diagonal": lambda a: xp.linalg.diagonal(a, offset=1),
    "vector_norm": lambda a: xp.linalg.vector_norm(a, ord=3),
    "matrix_norm": lambda a: xp.linalg.matrix_norm(a, ord="nuc"),
    "cholesky": lambda a: xp.linalg.cholesky(hpd(a)),
    "eigh": lambda a: spectral(*reversed(tuple(xp.linalg.eigh(herm(a))))),
    "eigvalsh": lambda a: xp.linalg.eigvalsh(herm(a)),
    "qr": lambda a: xp.linalg.qr(a).R,
    "svd": lambda a: (lambda r: r.U @ r.Vh)(xp.linalg.svd(a)),
    "svdvals": xp.linalg.svdvals,
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn", COMPLEX64.values(), ids=COMPLEX64.keys())
def test_complex64_stays_complex64(fn, device):
    m = np.array(cdata(3, 3, shift=3))
    grads = []
    for dtype in (C64, C128):
        a = xpgrad.tensor(m.tolist(), dtype=dtype, device=device, requires_grad=True)
        out = fn(a)
        assert str(out.dtype).rsplit(".", 1)[-1] in (str(dtype).rsplit(".", 1)[-1],
                                                     "float32" if dtype is C64 else "float64")
        loss = xp.sum(xp.real(out) + xp.imag(out)) if "complex" in str(out.dtype) else xp.sum(out)
        loss.backward()
        assert a.grad.dtype == a.dtype
        grads.append(_np(a.grad))
    np.testing.assert_allclose(grads[0], grads[1], rtol=2e-3, atol=2e-3)


def test_real_input_of_complex_valued_function_gets_real_gradient():
    # A real matrix times a complex one: the real input's gradient is the real part.
    x = xpgrad.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=F64, requires_grad=True)
    w = xpgrad.tensor(cdata(2, 2), dtype=C128)
    xp.sum(xp.imag(xp.linalg.det(x @ w) * (1 + 2j))).backward()
    assert str(x.grad.dtype).endswith("float64")
    complex_gradient_check(lambda z: xp.linalg.det(xp.real(z) @ w), (np.array(cdata(2, 2, seed=5)).tolist(),),
                           "cpu")


# ---------------------------------------------------------------------- JVP rules of the ops


def _rule_jvp(name, args, tangent, params=None, index=0):
    """An op's JVP rule for argument ``index`` on raw NumPy arrays."""
    dev = xpgrad.device("cpu")
    op = dev.ops[name]
    params = {**op.defaults, **(params or {})}
    out = op.forward(dev.xp, *args, **params)
    rule = op.jvp_rules[index]
    named = {"out": out, **params}
    for n, a in zip(op.argnames, args):
        named[n] = a
        named[f"{n}_shape"] = tuple(a.shape)
        named[f"{n}_dtype"] = a.dtype
    return out, rule.fn(dev.xp, tangent, *(named[n] for n in rule.names))


def _forward(name, x, params=None):
    dev = xpgrad.device("cpu")
    op = dev.ops[name]
    return op.forward(dev.xp, x, **{**op.defaults, **(params or {})})


PHASE_FREE_JVP = {
    # (op, input, params): ops whose output has no arbitrary phase, rule against differences
    "slogdet_phase": ("slogdet_phase", np.array(cdata(2, 3, 3)), {}),
    "slogdet_logabsdet": ("slogdet_logabsdet", np.array(cdata(2, 3, 3)), {}),
    "det": ("det", np.array(cdata(3, 3)), {}),
    "eigvalsh": ("eigvalsh", np.array(cdata(2, 3, 3)), {}),
    "eigh_eigenvalues": ("eigh_eigenvalues", np.array(cdata(3, 3)), {}),
    "cholesky-upper": ("cholesky", np.array(cdata(3, 3)) @ np.conj(np.array(cdata(3, 3))).T + 3 * np.eye(3),
                       {"upper": True}),
    "qr_q-tall": ("qr_q", np.array(cdata(3, 2)), {}),
    "qr_r-wide": ("qr_r", np.array(cdata(2, 3)), {}),
    "svd_s": ("svd_s", np.array(cdata(2, 3)), {}),
    "svdvals": ("svdvals", np.array(cdata(3, 2)), {}),
    "vector_norm-inf": ("vector_norm", np.array(cdata(2, 3)), {"ord": INF, "axis": 0}),
    "pinv": ("pinv", np.array(cdata(2, 3, 2)), {}),
}


@pytest.mark.parametrize("name, x, params", PHASE_FREE_JVP.values(), ids=PHASE_FREE_JVP.keys())
def test_jvp_rules_without_phases(name, x, params):
    rng = np.random.default_rng(9)
    t = rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape)
    _, got = _rule_jvp(name, [x], t, params)
    eps = 1e-6
    expected = (_forward(name, x + eps * t, params) - _forward(name, x - eps * t, params)) / (2 * eps)
    assert np.asarray(got).dtype == np.asarray(expected).dtype
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("shape, full", [((3, 3), True), ((3, 2), False), ((2, 3), False), ((3, 2), True),
                                         ((2, 2, 3), True)])
def test_svd_jvp_rules_reconstruct_the_tangent(shape, full):
    """The per-output rules (svd_u, svd_s, svd_vh) and the packed one: the tangent of
    U diag(S) Vh is the input's tangent; that of the phase-free U Vh (square) matches
    finite differences; and the phases' part is split evenly (Im diag(U^H dU) =
    -Im diag(V^H dV))."""
    from xpgrad.ops.decompositions import unpack_svd

    x = np.array(cdata(*shape))
    rng = np.random.default_rng(2)
    t = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    params = {"full_matrices": full}
    m, n = shape[-2:]
    k = min(m, n)
    (u, du), (s, ds), (vh, dvh) = (_rule_jvp(op, [x], t, params) for op in ("svd_u", "svd_s", "svd_vh"))
    packed, dpacked = _rule_jvp("svd_packed", [x], t, params)
    pu, ps, pvh = unpack_svd(np, dpacked, m, n, full)
    np.testing.assert_allclose(pu, du)
    np.testing.assert_allclose(ps, ds)
    np.testing.assert_allclose(pvh, dvh)
    u, du, vh, dvh = u[..., :, :k], du[..., :, :k], vh[..., :k, :], dvh[..., :k, :]
    recon = (du * s[..., None, :]) @ vh + (u * ds[..., None, :]) @ vh + (u * s[..., None, :]) @ dvh
    np.testing.assert_allclose(recon, t, atol=1e-10)
    uh_du = np.diagonal(np.conj(np.swapaxes(u, -1, -2)) @ du, axis1=-2, axis2=-1)
    vh_dv = np.diagonal(vh @ np.conj(np.swapaxes(dvh, -1, -2)), axis1=-2, axis2=-1)
    np.testing.assert_allclose(uh_du.imag, -vh_dv.imag, atol=1e-12)
    if m == n:
        eps = 1e-6

        def polar(a):
            r = np.linalg.svd(a)
            return r[0] @ r[2]
        np.testing.assert_allclose(du @ vh + u @ dvh, (polar(x + eps * t) - polar(x - eps * t)) / (2 * eps),
                                   atol=1e-7)


def test_eigh_jvp_rule_keeps_the_phases_fixed():
    # dV = V (F o (V^H dA V)): Im diag(V^H dV) = 0, and d(V diag(w) V^H) = dA (Hermitian).
    a = np.array(cdata(3, 3))
    a = (a + np.conj(a.T)) / 2
    rng = np.random.default_rng(5)
    t = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    t = (t + np.conj(t.T)) / 2
    v, dv = _rule_jvp("eigh_eigenvectors", [a], t)
    w, dw = _rule_jvp("eigh_eigenvalues", [a], t)
    assert np.asarray(dw).dtype == np.float64
    np.testing.assert_allclose(np.diagonal(np.conj(v.T) @ dv).imag, 0, atol=1e-12)
    vh, dvh = np.conj(v.T), np.conj(dv.T)
    np.testing.assert_allclose(dv @ np.diag(w) @ vh + v @ np.diag(dw) @ vh + v @ np.diag(w) @ dvh, t, atol=1e-10)


def test_dask_matches_numpy():
    pytest.importorskip("dask")
    m = np.array(cdata(3, 3, shift=3))
    v = np.array(cdata(3, seed=1))

    def loss(a, b):
        u, s, vh = xp.linalg.svd(a)
        w, q = xp.linalg.eigh(herm(a))
        sign, logabsdet = xp.linalg.slogdet(a)
        out = (xp.sum(xp.real(xp.linalg.inv(a) @ b)) + xp.sum(xp.imag(xp.linalg.cross(a, b)))
               + xp.real(xp.linalg.trace(a @ a)) + xp.abs(xp.linalg.vecdot(b, b @ a))
               + xp.sum(xp.real(spectral(u, s ** 2, vh))) + xp.sum(xp.imag(spectral(q, w)))
               + xp.real(sign) + logabsdet + xp.real(xp.linalg.det(a)) + xp.sum(xp.linalg.svdvals(a))
               + xp.sum(xp.abs(xp.linalg.cholesky(hpd(a), upper=True))) + xp.sum(xp.abs(xp.linalg.qr(a).R))
               + xp.linalg.matrix_norm(a, ord=1) + xp.sum(xp.real(xp.linalg.pinv(a))))
        out.backward()
        return _np(a.grad), _np(b.grad)

    results = []
    for device in ("dask", "cpu"):
        a = xpgrad.tensor(m.tolist(), dtype=C128, device=device, requires_grad=True)
        b = xpgrad.tensor(v.tolist(), dtype=C128, device=device, requires_grad=True)
        results.append(loss(a, b))
    for got, expected in zip(*results):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    # Real-valued results of complex input have a real dtype on dask too.
    a = xpgrad.tensor(m.tolist(), dtype=C128, device="dask")
    for out in (xp.linalg.slogdet(a).logabsdet, xp.linalg.svd(a).S, xp.linalg.svdvals(a), xp.linalg.eigvalsh(a),
                xp.linalg.eigh(a).eigenvalues):
        assert str(out.dtype).endswith("float64") and str(out._data.compute().dtype) == "float64"
