"""The linear algebra extension (``xpgrad.xp.linalg``), ``tensordot``/``vecdot`` and the
PyTorch face (``xpgrad.linalg``): values, first and second derivatives against finite
differences, forward-mode (JVP) rules against finite differences, and the exact values
at the places finite differences cannot see (singular matrices, repeated eigen- and
singular values).
"""
import math

import numpy as np
import pytest

import xpgrad
from xpgrad import xp

from helpers import check

F32 = xpgrad.float32
F64 = xpgrad.float64
INF = math.inf

# Finite differences cost one dask computation per perturbed element: slow there.



# ---------------------------------------------------------------------- input makers


def normal(*shape):
    return lambda device: xpgrad.randn(*shape, dtype=F64, device=device, requires_grad=True)


def invertible(n, *batch):
    """Well-conditioned matrices: random + 3 I."""
    def make(device):
        x = xpgrad.randn(*batch, n, n, dtype=F64, device=device) + 3 * xpgrad.eye(n, dtype=F64, device=device)
        return x.detach().requires_grad_()
    return make


def from_values(values):
    return lambda device: xpgrad.tensor(values, dtype=F64, device=device, requires_grad=True)


def sym(a):
    """The symmetric matrix eigh is meant for, built symmetrically."""
    return (a + a.mT) / 2


def spd(a):
    """A well-conditioned symmetric positive-definite matrix from any square ``a``."""
    n = a.shape[-1]
    return a @ a.mT + n * xpgrad.eye(n, dtype=a.dtype, device=a.device)


# Sums of products with fixed weights make every output element matter in gradcheck's
# scalar checks while keeping one output (a sign-insensitive loss would hide sign bugs).


def _signfix(m):
    """Columns scaled by the sign of their first row: gauge-free singular vectors."""
    return m * xp.sign(m[..., :1, :])


CASES = {
    # ----- products
    "matmul-main": (xp.matmul, (normal(2, 3), normal(3, 2))),
    "matrix_transpose": (xp.linalg.matrix_transpose, (normal(2, 3),)),
    "outer": (xp.linalg.outer, (normal(3), normal(2))),
    "cross": (xp.linalg.cross, (normal(2, 3), normal(3))),
    "cross-axis0": (lambda a, b: xp.linalg.cross(a, b, axis=0), (normal(3, 2), normal(3, 2))),
    "tensordot-1": (lambda a, b: xp.linalg.tensordot(a, b, axes=1), (normal(2, 3), normal(3, 2))),
    "tensordot-pairs": (lambda a, b: xp.linalg.tensordot(a, b, axes=([0, 2], [1, 0])),
                        (normal(2, 3, 2), normal(2, 2))),
    "tensordot-0": (lambda a, b: xp.linalg.tensordot(a, b, axes=0), (normal(2), normal(3))),
    "vecdot": (xp.linalg.vecdot, (normal(2, 3), normal(3))),
    "vecdot-axis0": (lambda a, b: xp.linalg.vecdot(a, b, axis=0), (normal(3, 2), normal(3, 1))),
    # ----- trace, diagonal
    "trace-offset": (lambda a: xp.linalg.trace(a, offset=1), (normal(2, 3, 4),)),
    "trace-negative-offset": (lambda a: xp.linalg.trace(a, offset=-1), (normal(3, 3),)),
    "diagonal": (xp.linalg.diagonal, (normal(2, 3, 3),)),
    "diagonal-offset": (lambda a: xp.linalg.diagonal(a, offset=1), (normal(3, 4),)),
    "diagonal-negative-offset": (lambda a: xp.linalg.diagonal(a, offset=-1), (normal(4, 3),)),
    # ----- inverse, solve, determinants, powers
    "inv-batched": (xp.linalg.inv, (invertible(3, 2),)),
    "solve-matrix": (xp.linalg.solve, (invertible(3, 2), normal(3, 2))),
    "solve-vector": (xp.linalg.solve, (invertible(3), normal(3))),
    "det": (xp.linalg.det, (invertible(3, 2),)),
    "det-1x1": (xp.linalg.det, (normal(2, 1, 1),)),
    "slogdet": (lambda a: xp.linalg.slogdet(a).logabsdet, (invertible(3, 2),)),
    "matrix_power-3": (lambda a: xp.linalg.matrix_power(a, 3), (normal(2, 2, 2),)),
    "matrix_power-1": (lambda a: xp.linalg.matrix_power(a, 1), (normal(2, 2),)),
    "matrix_power-0": (lambda a: xp.linalg.matrix_power(a, 0), (normal(2, 2),)),
    "matrix_power-neg": (lambda a: xp.linalg.matrix_power(a, -2), (invertible(2, 2),)),
    "pinv-tall": (xp.linalg.pinv, (normal(3, 2),)),
    "pinv-wide-batched": (xp.linalg.pinv, (normal(2, 2, 3),)),
    # ----- decompositions
    "cholesky": (lambda a: xp.linalg.cholesky(spd(a)), (normal(2, 3, 3),)),
    "cholesky-upper": (lambda a: xp.linalg.cholesky(spd(a), upper=True), (normal(3, 3),)),
    "cholesky-lower-triangle-read": (xp.linalg.cholesky, (from_values([[4.0, 9.0], [1.0, 3.0]]),)),
    "eigh-values": (lambda a: xp.linalg.eigh(sym(a)).eigenvalues, (normal(2, 3, 3),)),
    "eigh-vectors": (lambda a: _signfix(xp.linalg.eigh(sym(a)).eigenvectors), (normal(2, 3, 3),)),
    "eigh-lower-triangle-read": (lambda a: xp.linalg.eigh(a).eigenvectors, (normal(3, 3),)),
    "eigvalsh": (lambda a: xp.linalg.eigvalsh(sym(a)), (normal(3, 3),)),
    "eigvalsh-lower-triangle-read": (xp.linalg.eigvalsh, (normal(3, 3),)),
    "qr-square-batched": (lambda a: (xp.linalg.qr(a).Q, xp.linalg.qr(a).R), (normal(2, 3, 3),)),
    "qr-tall": (lambda a: (xp.linalg.qr(a).Q, xp.linalg.qr(a).R), (normal(3, 2),)),
    "qr-wide": (lambda a: (xp.linalg.qr(a).Q, xp.linalg.qr(a).R), (normal(2, 3),)),
    "qr-complete-tall-R": (lambda a: xp.linalg.qr(a, mode="complete").R, (normal(3, 2),)),
    "svd-square": (lambda a: tuple(xp.linalg.svd(a)), (normal(3, 3),)),
    "svd-tall": (lambda a: tuple(xp.linalg.svd(a, full_matrices=False)), (normal(3, 2),)),
    "svd-wide-batched": (lambda a: tuple(xp.linalg.svd(a, full_matrices=False)), (normal(2, 2, 3),)),
    "svd-full-tall-first-columns": (lambda a: xp.linalg.svd(a).U[..., :, :2], (normal(3, 2),)),
    "svdvals": (xp.linalg.svdvals, (normal(2, 2, 3),)),
    # ----- norms
    "vector_norm-axes": (lambda a: xp.linalg.vector_norm(a, axis=(0, -1), keepdims=True), (normal(2, 2, 3),)),
    "vector_norm-ord-neg-axis": (lambda a: xp.linalg.vector_norm(a, axis=-2, ord=3), (normal(2, 3),)),
    "vector_norm-inf": (lambda a: xp.linalg.vector_norm(a, ord=INF), (normal(2, 3),)),
    "vector_norm-neg-inf": (lambda a: xp.linalg.vector_norm(a, ord=-INF, axis=1), (normal(2, 3),)),
    "vector_norm-0": (lambda a: a.sum() * xp.linalg.vector_norm(a, ord=0), (normal(2, 3),)),
    "matrix_norm-fro": (xp.linalg.matrix_norm, (normal(2, 2, 3),)),
    "matrix_norm-fro-keepdims": (lambda a: xp.linalg.matrix_norm(a, keepdims=True), (normal(2, 3),)),
    "matrix_norm-nuc": (lambda a: xp.linalg.matrix_norm(a, ord="nuc", keepdims=True), (normal(2, 3),)),
    "matrix_norm-2": (lambda a: xp.linalg.matrix_norm(a, ord=2), (normal(2, 2, 3),)),
    "matrix_norm--2": (lambda a: xp.linalg.matrix_norm(a, ord=-2), (normal(3, 2),)),
    "matrix_norm-1": (lambda a: xp.linalg.matrix_norm(a, ord=1), (normal(2, 3),)),
    "matrix_norm--1": (lambda a: xp.linalg.matrix_norm(a, ord=-1), (normal(2, 3),)),
    "matrix_norm-inf": (lambda a: xp.linalg.matrix_norm(a, ord=INF), (normal(2, 3),)),
    "matrix_norm--inf": (lambda a: xp.linalg.matrix_norm(a, ord=-INF, keepdims=True), (normal(2, 3),)),
    # ----- the PyTorch face
    "torch-norm-matrix": (lambda a: xpgrad.linalg.norm(a, ord="nuc", dim=(0, 2)), (normal(2, 2, 3),)),
    "torch-norm-flat": (xpgrad.linalg.norm, (normal(2, 3),)),
    "torch-solve-right": (lambda a, b: xpgrad.linalg.solve(a, b, left=False), (invertible(3), normal(2, 3))),
    "torch-solve-batched-vector": (xpgrad.linalg.solve, (invertible(3, 2), normal(2, 3))),
    "torch-diagonal-dims": (lambda a: xpgrad.linalg.diagonal(a, dim1=0, dim2=2), (normal(3, 2, 3),)),
    "torch-eigh-upper": (lambda a: xpgrad.linalg.eigh(a, UPLO="U").eigenvalues, (normal(3, 3),)),
    "torch-multi_dot": (lambda *ts: xpgrad.linalg.multi_dot(ts), ((normal(3), normal(3, 2), normal(2, 2)))),
    "torch-det-slogdet": (lambda a: xpgrad.linalg.det(a) * xpgrad.linalg.slogdet(a)[1], (invertible(2),)),
}


def _params():
    return [pytest.param(fn, makers, id=name) for name, (fn, makers) in CASES.items()]


@pytest.mark.parametrize("fn, makers", _params())
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_gradients(fn, makers, device):
    check(fn, tuple(make(device) for make in makers))


# ---------------------------------------------------------------------- JVP rules


def _raw_jvp_check(name, args, params=None, *, index=0, atol=1e-6):
    """The op's JVP rule for argument ``index`` on raw NumPy arrays, against the central
    difference of its forward along a random tangent."""
    dev = xpgrad.device("cpu")
    op = dev.ops[name]
    bxp = dev.xp
    params = {**op.defaults, **(params or {})}
    rule = op.jvp_rules[index]
    assert rule is not None, f"{name} has no JVP rule for argument {index}"
    rng = np.random.default_rng(1)
    args = [np.asarray(a, dtype=np.float64) for a in args]
    t = rng.standard_normal(args[index].shape)
    out = op.forward(bxp, *args, **params)
    values = []
    if rule.kind == "linear":  # declared linear: the op itself, on the tangent
        fn = lambda xp, t: op.forward(xp, t, **params)  # noqa: E731
    else:
        fn = rule.fn
    for n in rule.names:
        if n in op.argnames:
            values.append(args[op.argnames.index(n)])
        elif n == "out":
            values.append(out)
        elif n.endswith("_shape"):
            values.append(tuple(args[op.argnames.index(n[:-6])].shape))
        elif n.endswith("_dtype"):
            values.append(args[op.argnames.index(n[:-6])].dtype)
        else:
            values.append(params[n])
    analytic = np.broadcast_to(np.asarray(fn(bxp, t, *values)), np.shape(out))
    eps = 1e-6
    plus, minus = list(args), list(args)
    plus[index] = args[index] + eps * t
    minus[index] = args[index] - eps * t
    numeric = (np.asarray(op.forward(bxp, *plus, **params)) - np.asarray(op.forward(bxp, *minus, **params))) / (2 * eps)
    np.testing.assert_allclose(analytic, numeric, atol=atol, rtol=1e-5)


def _rand(*shape, shift=0.0):
    rng = np.random.default_rng(sum(shape) + 7)
    a = rng.standard_normal(shape)
    if shift:
        a = a + shift * np.eye(shape[-1])
    return a


def _spd(n, *batch):
    a = _rand(*batch, n, n)
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def _symm(n, *batch):
    a = _rand(*batch, n, n)
    return a + np.swapaxes(a, -1, -2)


JVP_CASES = {
    "matmul-x1": ("matmul", (_rand(2, 3), _rand(3,)), {}, 0),
    "matmul-x2": ("matmul", (_rand(3,), _rand(2, 3, 2)), {}, 1),
    "matrix_transpose": ("matrix_transpose", (_rand(2, 3),), {}, 0),
    "outer-x1": ("outer", (_rand(3), _rand(2)), {}, 0),
    "outer-x2": ("outer", (_rand(3), _rand(2)), {}, 1),
    "cross-x1": ("cross", (_rand(2, 3), _rand(3)), {"axis": -1}, 0),
    "cross-x2": ("cross", (_rand(3, 2), _rand(3, 2)), {"axis": 0}, 1),
    "trace": ("trace", (_rand(2, 3, 4),), {"offset": 1}, 0),
    "diagonal": ("diagonal", (_rand(2, 4, 3),), {"offset": -1}, 0),
    "inv": ("inv", (_rand(2, 3, 3, shift=3),), {}, 0),
    "solve-x1-vector": ("solve", (_rand(3, 3, shift=3), _rand(3)), {}, 0),
    "solve-x1-matrix": ("solve", (_rand(2, 3, 3, shift=3), _rand(3, 2)), {}, 0),
    "solve-x2": ("solve", (_rand(3, 3, shift=3), _rand(2, 3, 2)), {}, 1),
    "det": ("det", (_rand(2, 3, 3),), {}, 0),
    "det-singular": ("det", (np.array([[1.0, 2.0], [2.0, 4.0]]),), {}, 0),
    "slogdet": ("slogdet_logabsdet", (_rand(2, 3, 3),), {}, 0),
    "matrix_power-3": ("matrix_power", (_rand(2, 3, 3),), {"n": 3}, 0),
    "matrix_power-neg": ("matrix_power", (_rand(3, 3, shift=3),), {"n": -3}, 0),
    "matrix_power-0": ("matrix_power", (_rand(3, 3),), {"n": 0}, 0),
    "pinv": ("pinv", (_rand(2, 3, 2),), {}, 0),
    "vector_norm-2": ("vector_norm", (_rand(2, 3),), {"axis": -1}, 0),
    "vector_norm-inf": ("vector_norm", (_rand(2, 3),), {"ord": INF, "keepdims": True, "axis": 0}, 0),
    "vector_norm-p": ("vector_norm", (_rand(2, 3),), {"ord": 3}, 0),
    "cholesky": ("cholesky", (_spd(3, 2),), {}, 0),
    "cholesky-upper-nonsymmetric": ("cholesky", (_spd(3) + np.triu(_rand(3, 3), 1),), {"upper": True}, 0),
    "eigh-values": ("eigh_eigenvalues", (_symm(3, 2),), {}, 0),
    "eigh-vectors": ("eigh_eigenvectors", (_symm(3),), {}, 0),
    "eigh-vectors-nonsymmetric": ("eigh_eigenvectors", (_rand(3, 3),), {}, 0),
    "eigvalsh": ("eigvalsh", (_rand(2, 3, 3),), {}, 0),
    "qr-q-tall": ("qr_q", (_rand(3, 2),), {}, 0),
    "qr-r-tall": ("qr_r", (_rand(2, 3, 2),), {}, 0),
    "qr-q-wide": ("qr_q", (_rand(2, 3),), {}, 0),
    "qr-r-wide": ("qr_r", (_rand(2, 3),), {}, 0),
    "qr-r-complete-tall": ("qr_r", (_rand(3, 2),), {"mode": "complete"}, 0),
    "svd-u-tall": ("svd_u", (_rand(3, 2),), {"full_matrices": False}, 0),
    "svd-vh-tall": ("svd_vh", (_rand(3, 2),), {"full_matrices": False}, 0),
    "svd-u-wide": ("svd_u", (_rand(2, 3),), {"full_matrices": False}, 0),
    "svd-vh-wide": ("svd_vh", (_rand(2, 2, 3),), {"full_matrices": False}, 0),
    "svd-s": ("svd_s", (_rand(2, 3),), {}, 0),
    "svd-u-square-full": ("svd_u", (_rand(3, 3),), {"full_matrices": True}, 0),
    "svdvals": ("svdvals", (_rand(2, 3, 2),), {}, 0),
}


@pytest.mark.parametrize("name, args, params, index", JVP_CASES.values(), ids=JVP_CASES.keys())
def test_jvp_rules(name, args, params, index):
    _raw_jvp_check(name, args, params, index=index)


def test_every_differentiable_linalg_op_has_jvp_rules():
    from xpgrad.plugins import registry

    mine = {"xpgrad.ops.linalg", "xpgrad.ops.decompositions"}
    for name, defs in registry.all_ops().items():
        for op in defs:
            if op.plugin in mine and op.differentiable:
                assert op.jvp_rules is not None and all(r is not None for r in op.jvp_rules), name


# ---------------------------------------------------------------------- the hard places


def _grad(fn, values, device="cpu"):
    a = xpgrad.tensor(values, dtype=F64, device=device, requires_grad=True)
    fn(a).backward()
    return np.asarray(a.grad.to("cpu").numpy() if hasattr(a.grad, "numpy") else a.grad)


def _np(t):
    return np.asarray(xpgrad.tensor(t).to("cpu").tolist())


def test_det_gradient_of_zero_1x1_is_one(device):
    a = xpgrad.tensor([[0.0]], dtype=F64, device=device, requires_grad=True)
    xp.linalg.det(a).backward()
    assert _np(a.grad).tolist() == [[1.0]]


@pytest.mark.parametrize("m", [
    [[1.0, 2.0], [2.0, 4.0]],  # rank 1
    [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]],  # rank 2
    [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [3.0, 6.0, 9.0]],  # rank 1: adjugate 0
    [[0.0, 0.0], [0.0, 0.0]],
])
def test_det_gradient_at_singular_is_cofactor(m, device):
    a = xpgrad.tensor(m, dtype=F64, device=device, requires_grad=True)
    xp.linalg.det(a).backward()
    m = np.array(m)
    n = len(m)
    cof = np.array([[(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(m, i, 0), j, 1)) if n > 1 else 1.0
                     for j in range(n)] for i in range(n)])
    got = _np(a.grad)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, cof, atol=1e-12)


@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_det_second_order_at_singular(device):
    for m in ([[1.0, 2.0], [2.0, 4.0]], [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]], [[0.0]]):
        check(xp.linalg.det, (xpgrad.tensor(m, dtype=F64, device=device, requires_grad=True),))


def test_det_of_empty_matrix():
    a = xpgrad.zeros(0, 0, dtype=F64, requires_grad=True)
    d = xp.linalg.det(a)
    assert float(d) == 1.0
    d.backward()
    assert tuple(a.grad.shape) == (0, 0)


def test_eigh_of_identity_eigenvalue_gradient(device):
    for fn in (lambda a: xp.sum(xp.linalg.eigh(a).eigenvalues), lambda a: xp.sum(xp.linalg.eigvalsh(a))):
        a = xpgrad.eye(3, dtype=F64, device=device).requires_grad_()
        fn(a).backward()
        np.testing.assert_array_equal(_np(a.grad), np.eye(3))


def test_eigh_repeated_eigenvalues_are_nan_free(device):
    a = xpgrad.tensor(np.diag([2.0, 2.0, 1.0]), dtype=F64, device=device, requires_grad=True)
    w, v = xp.linalg.eigh(a)
    weights = xpgrad.tensor(np.arange(9.0).reshape(3, 3), dtype=F64, device=device)
    # V diag(w) V^T: gauge-free; its gradient is finite (its component inside the
    # degenerate eigenspace is dropped, as documented).
    xp.sum(((v * w[None, :]) @ v.mT) * weights).backward()
    g = _np(a.grad)
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g[2, 2], 8.0)  # the simple eigenvalue's part is exact
    # Second order through the eigenvalues at a repeated eigenvalue: finite too.
    b = xpgrad.tensor(np.eye(2), dtype=F64, device=device, requires_grad=True)
    (gb,) = xpgrad.autograd.grad(xp.sum(xp.linalg.eigvalsh(b) ** 2), b, create_graph=True)
    (hb,) = xpgrad.autograd.grad(xp.sum(gb), b)
    assert np.all(np.isfinite(_np(hb)))


def test_svd_repeated_singular_values_gradient_is_uv(device):
    rng = np.random.default_rng(3)
    q1, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    q2, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    m = q1 @ np.diag([2.0, 2.0, 1.0]) @ q2.T
    u, _, vh = np.linalg.svd(m)
    for fn in (lambda a: xp.sum(xp.linalg.svdvals(a)), lambda a: xp.sum(xp.linalg.svd(a).S),
               lambda a: xp.linalg.matrix_norm(a, ord="nuc")):
        a = xpgrad.tensor(m, dtype=F64, device=device, requires_grad=True)
        fn(a).backward()
        np.testing.assert_allclose(_np(a.grad), u @ vh, atol=1e-10)


def test_slogdet_negative_determinant(device):
    m = np.array([[1.0, 2.0], [3.0, 4.0]])  # det -2
    a = xpgrad.tensor(m, dtype=F64, device=device, requires_grad=True)
    sign, logabsdet = xp.linalg.slogdet(a)
    assert float(sign) == -1.0 and sign.requires_grad is False
    np.testing.assert_allclose(float(logabsdet), math.log(2.0))
    logabsdet.backward()
    np.testing.assert_allclose(_np(a.grad), np.linalg.inv(m).T)


@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_pinv_rank_deficient(device):
    """Along rank-preserving perturbations (A = B C with rank 2), the constant-rank
    formula is the derivative."""
    b, c = normal(4, 2)(device), normal(2, 3)(device)
    check(lambda b, c: xp.linalg.pinv(b @ c), (b, c))


def test_cholesky_and_qr_batched_values(device):
    m = np.stack([_spd(3), _spd(3) + np.eye(3)])
    a = xpgrad.tensor(m, dtype=F64, device=device)
    np.testing.assert_allclose(_np(xp.linalg.cholesky(a)), np.linalg.cholesky(m))
    np.testing.assert_allclose(_np(xp.linalg.cholesky(a, upper=True)), np.swapaxes(np.linalg.cholesky(m), -1, -2))
    q, r = xp.linalg.qr(a)
    np.testing.assert_allclose(_np(q @ r), m, atol=1e-12)


# ---------------------------------------------------------------------- values, dtypes, errors


def test_named_tuples_and_values(device):
    m = _rand(3, 3)
    for grad in (False, True):
        a = xpgrad.tensor(m, dtype=F64, device=device, requires_grad=grad)
        res = xp.linalg.svd(a)
        assert type(res).__name__ == "SVDResult" and res._fields == ("U", "S", "Vh")
        np.testing.assert_allclose(_np(res.S), np.linalg.svd(m)[1])
        np.testing.assert_allclose(_np((res.U * res.S[None, :]) @ res.Vh), m, atol=1e-12)
        e = xp.linalg.eigh(a)
        assert e._fields == ("eigenvalues", "eigenvectors")
        np.testing.assert_allclose(_np(e.eigenvalues), np.linalg.eigvalsh(m))
        assert xp.linalg.qr(a)._fields == ("Q", "R")
        s = xp.linalg.slogdet(a)
        assert s._fields == ("sign", "logabsdet")
        np.testing.assert_allclose(_np(xp.linalg.det(a)), np.linalg.det(m))
        np.testing.assert_allclose(_np(xp.linalg.pinv(a)), np.linalg.pinv(m), atol=1e-12)
        np.testing.assert_allclose(_np(xp.linalg.matrix_power(a, -2)), np.linalg.matrix_power(m, -2))
        np.testing.assert_allclose(_np(xp.linalg.matrix_norm(a, ord=-2)), np.linalg.norm(m, ord=-2))
        np.testing.assert_allclose(_np(xp.linalg.matrix_norm(a, ord=INF)), np.linalg.norm(m, ord=INF))
        np.testing.assert_allclose(_np(xp.linalg.tensordot(a, a, axes=([0], [1]))), np.tensordot(m, m, axes=([0], [1])))


def test_matrix_rank_is_not_differentiable(device):
    a = xpgrad.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=F64, device=device, requires_grad=True)
    r = xp.linalg.matrix_rank(a)
    assert int(r) == 1 and r.requires_grad is False


FLOAT32 = {
    "det": xp.linalg.det,
    "inv": xp.linalg.inv,
    "solve": lambda a: xp.linalg.solve(a, a),
    "slogdet": lambda a: xp.linalg.slogdet(a).logabsdet,
    "eigh": lambda a: xp.linalg.eigh(sym(a)).eigenvectors,
    "eigvalsh": lambda a: xp.linalg.eigvalsh(sym(a)),
    "cholesky": lambda a: xp.linalg.cholesky(spd(a)),
    "qr": lambda a: xp.linalg.qr(a).R,
    "svd": lambda a: xp.linalg.svd(a).U,
    "svdvals": xp.linalg.svdvals,
    "pinv": xp.linalg.pinv,
    "matrix_power": lambda a: xp.linalg.matrix_power(a, -2),
    "diagonal": lambda a: xp.linalg.diagonal(a, offset=1),
    "trace": xp.linalg.trace,
    "matrix_norm": lambda a: xp.linalg.matrix_norm(a, ord="nuc"),
    "cross": lambda a: xp.linalg.cross(a, a.mT),
}


@pytest.mark.parametrize("fn", FLOAT32.values(), ids=FLOAT32.keys())
def test_float32_stays_float32(fn, device):
    a = (xpgrad.randn(3, 3, dtype=F32, device=device) + 3 * xpgrad.eye(3, dtype=F32, device=device)).requires_grad_()
    out = fn(a)
    assert str(out.dtype).endswith("float32")
    xp.sum(out).backward()
    assert str(a.grad.dtype).endswith("float32")


def test_dask_supported_subset():
    pytest.importorskip("dask")
    a = (xpgrad.randn(3, 3, dtype=F64, device="dask") + 3 * xpgrad.eye(3, dtype=F64, device="dask")).requires_grad_()
    v = xpgrad.tensor([1.0, 2.0, 3.0], dtype=F64, device="dask", requires_grad=True)
    out = xp.sum(xp.linalg.inv(a) @ v) + xp.sum(xp.linalg.cross(a, v)) + xp.linalg.trace(a) \
        + xp.sum(xp.linalg.diagonal(a, offset=1)) + xp.sum(xp.linalg.matrix_power(a, 2)) \
        + xp.linalg.vecdot(v, v) + xp.sum(xp.linalg.outer(v, v)) + xp.linalg.matrix_norm(a, ord=1)
    out.backward()
    b = a.detach().to("cpu").requires_grad_()
    w = v.detach().to("cpu").requires_grad_()
    ref = xp.sum(xp.linalg.inv(b) @ w) + xp.sum(xp.linalg.cross(b, w)) + xp.linalg.trace(b) \
        + xp.sum(xp.linalg.diagonal(b, offset=1)) + xp.sum(xp.linalg.matrix_power(b, 2)) \
        + xp.linalg.vecdot(w, w) + xp.sum(xp.linalg.outer(w, w)) + xp.linalg.matrix_norm(b, ord=1)
    ref.backward()
    np.testing.assert_allclose(_np(a.grad), _np(b.grad))
    np.testing.assert_allclose(_np(v.grad), _np(w.grad))


def test_missing_backend_function_error():
    import types

    from xpgrad.ops.linalg import backend_linalg

    lacking = types.SimpleNamespace(__name__="somelib", linalg=types.SimpleNamespace())
    with pytest.raises(NotImplementedError, match=r"linalg.det is not available for this device: .*somelib"):
        backend_linalg(lacking, "det")


@pytest.mark.parametrize("call, error, message", [
    (lambda: xp.linalg.det(xpgrad.ones(2, 3)), ValueError, r"det takes square matrices"),
    (lambda: xp.linalg.inv(xpgrad.ones(3)), Exception, r"inv"),
    (lambda: xp.linalg.qr(xpgrad.ones(2, 2), mode="r"), ValueError, r"mode must be 'reduced' or 'complete'"),
    (lambda: xp.linalg.qr(xpgrad.ones(2, 2, requires_grad=True), mode="r"), ValueError, r"mode must be"),
    (lambda: xp.linalg.cross(xpgrad.ones(2), xpgrad.ones(2)), ValueError, r"axis -1 of size 3"),
    (lambda: xp.linalg.tensordot(xpgrad.ones(2, 3), xpgrad.ones(2, 3), axes=1), ValueError, r"same size"),
    (lambda: xp.linalg.vecdot(xpgrad.ones(2, 3), xpgrad.ones(2)), ValueError, r"same length"),
    (lambda: xp.linalg.matrix_norm(xpgrad.ones(2, 2), ord=3), ValueError, r"ord must be 'fro'"),
    (lambda: xp.linalg.matrix_power(xpgrad.ones(2, 2), 1.5), TypeError, r"n must be an integer"),
    (lambda: xp.linalg.outer(xpgrad.ones(2, 2), xpgrad.ones(2)), ValueError, r"must be 1-D"),
    (lambda: xp.linalg.eigh(xpgrad.ones(2, 3)), ValueError, r"square matrices"),
])
def test_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("fn, makers", _params())
def test_forward_mode(fn, makers):
    """The JVP rules through forward mode, against finite differences (NumPy)."""
    assert xpgrad.gradcheck(fn, tuple(make("cpu") for make in makers), check_forward_ad=True,
                            check_backward_ad=False)
