"""``xpgrad.xp.linalg.eig`` and ``eigvals`` (array API 2025.12): the eigen decomposition
of general square matrices, whose results are complex for real input too.

Against PyTorch (``torch.linalg.eig``): the values (eigenvalues matched up to order,
eigenvectors up to a phase per column), the gradients and the second derivatives of
losses that do not depend on the eigenvectors' arbitrary phases or on the eigenvalues'
order, and forward mode. Against finite differences: first and second derivatives and
JVPs of real input. On every backend of the test matrix; one whose library lacks eig
must say so. Also: the refusal of a phase-dependent loss, the dtypes, non-square
input, ``vmap`` and a repeated eigenvalue.
"""
import math
import re

import numpy as np
import pytest

import xpgrad
from xpgrad import func, xp

from helpers import check

torch = pytest.importorskip("torch")

F32, F64 = xpgrad.float32, xpgrad.float64
NP = {"float32": np.float32, "float64": np.float64, "complex128": np.complex128}
COMPLEX_OF = {"float32": "complex64", "float64": "complex128", "complex128": "complex128"}


def _name(dtype):
    """``float64`` for any backend's float64 (``array_api_strict.float64``, ``torch.float64``)."""
    return str(dtype).rsplit(".", 1)[-1]


def _np(t):
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    return np.asarray(t.detach().tolist())


# ---------------------------------------------------------------------- inputs


def _similar_to(spectrum, seed, complex_):
    """``S B S^-1``: a matrix with the eigenvalues ``spectrum``, well separated. For real
    input ``B`` is real block diagonal (a complex pair ``a +- bi`` as ``[[a, b], [-b, a]]``)."""
    rng = np.random.default_rng(seed)
    n = len(spectrum)
    s = rng.standard_normal((n, n)) + 2 * np.eye(n)
    if complex_:
        s = s + 1j * rng.standard_normal((n, n))
        return s @ np.diag(spectrum) @ np.linalg.inv(s)
    b = np.zeros((n, n))
    k = 0
    while k < n:
        lam = spectrum[k]
        if np.imag(lam) == 0:
            b[k, k] = np.real(lam)
            k += 1
        else:
            b[k:k + 2, k:k + 2] = [[lam.real, lam.imag], [-lam.imag, lam.real]]
            k += 2
    return s @ b @ np.linalg.inv(s)


REAL_SPECTRA = ([1.0, -2.0, 0.5 + 1.5j, 0.5 - 1.5j], [3.0, 0.25 - 1j, 0.25 + 1j, -1.5])
COMPLEX_SPECTRA = ([1 + 1j, -2.0, 0.5 - 1.5j, 3j], [2.0 - 0.5j, -1 + 1j, 0.3, -2j])


def matrices(dtype, batch=True):
    """Two ``4 x 4`` matrices (or the first) with known, well-separated eigenvalues:
    complex pairs for real ``dtype``."""
    complex_ = dtype.startswith("complex")
    spectra = COMPLEX_SPECTRA if complex_ else REAL_SPECTRA
    stack = np.stack([_similar_to(s, seed, complex_) for seed, s in enumerate(spectra)])
    return (stack if batch else stack[0]).astype(NP[dtype])


def spectra(dtype, batch=True):
    out = np.array(COMPLEX_SPECTRA if dtype.startswith("complex") else REAL_SPECTRA)
    return out if batch else out[0]


def tensor(values, device, requires_grad=False):
    return xpgrad.tensor(values.tolist(), dtype=getattr(xpgrad, values.dtype.name), device=device,
                         requires_grad=requires_grad)


def _match(got, ref):
    """The permutations ``p`` (per matrix) with ``got[..., p] ~ ref``: the standard leaves
    the eigenvalues' order to the library."""
    got, ref = np.atleast_2d(got), np.atleast_2d(ref)
    perms = []
    for g, r in zip(got.reshape(-1, got.shape[-1]), ref.reshape(-1, ref.shape[-1])):
        p = np.argmin(np.abs(g[None, :] - r[:, None]), axis=1)
        assert sorted(p) == list(range(len(p))), (g, r)
        perms.append(p)
    return np.array(perms).reshape(ref.shape)


def _columns(v, perm):
    """The columns of ``v`` ``(..., n, n)`` in the order ``perm`` ``(..., n)``."""
    return np.take_along_axis(v, np.broadcast_to(perm[..., None, :], v.shape), axis=-1)


# ---------------------------------------------------------------------- a backend without eig

MISSING = ("linalg.eig is not available for this device: its array library ({lib}) has no linalg.eig; "
           "move the data to a device whose library has it (e.g. t.to('cpu'))")


def lacks_eig(device):
    """Whether ``device``'s array library has no eig that xpgrad can use (neither its
    namespace's nor a device-specific definition of the op)."""
    dev = xpgrad.device(device)
    own = dev.ops["eig_eigenvalues"].backends is not None
    return not own and getattr(getattr(dev.xp, "linalg", None), "eig", None) is None


def expect_missing(device):
    """On a device whose library lacks eig, every way in raises the error naming it (but
    eigvals with nothing to record, where the library has eigvals)."""
    xp_ = xpgrad.device(device).xp
    # the dispatcher names the op and its argument first
    message = ("^" + re.escape("op 'eig_eigenvalues' (plugin '") + r"[\w.]+" + re.escape("') failed on (x=Tensor(")
               + ".*" + re.escape(")): " + MISSING.format(lib=getattr(xp_, "__name__", xp_))) + "$")
    for grad in (False, True):
        a = tensor(matrices("float64"), device, requires_grad=grad)
        with pytest.raises(NotImplementedError, match=message):
            xp.linalg.eig(a)
        if not grad and getattr(xp_.linalg, "eigvals", None) is not None:
            assert _name(xp.linalg.eigvals(a).dtype) == "complex128"
            continue
        with pytest.raises(NotImplementedError, match=message):
            xp.linalg.eigvals(a)


@pytest.fixture
def device(backend):
    """The device of this run (the conftest's fixture, narrowed): where its library lacks
    eig, the test checks the error saying so, and ends there (skipped, with the reason)."""
    device = backend.device
    if lacks_eig(device):
        expect_missing(device)
        pytest.skip(f"{device}: its library has no eig (the error saying so is checked)")
    return device


def test_the_op_is_complex_where_the_library_returns_real():
    # NumPy's own eig (not the array API namespace's) is real where every eigenvalue is.
    forward = xpgrad.device("cpu").ops["eig_eigenvectors"].forward
    assert np.linalg.eig(np.eye(2, dtype=np.float32))[1].dtype == np.float32
    assert forward(np, np.eye(2, dtype=np.float32)).dtype == np.complex64
    assert xpgrad.device("cpu").ops["eig_eigenvalues"].forward(np, np.eye(2)).dtype == np.complex128


def test_the_op_names_a_library_without_eig():
    import types

    lacking = types.SimpleNamespace(__name__="somelib", linalg=types.SimpleNamespace())
    forward = xpgrad.device("cpu").ops["eig_eigenvectors"].forward
    with pytest.raises(NotImplementedError, match="^" + re.escape(MISSING.format(lib="somelib")) + "$"):
        forward(lacking, np.eye(2))


# ---------------------------------------------------------------------- values


@pytest.mark.parametrize("dtype", ["float32", "float64", "complex128"])
@pytest.mark.parametrize("grad", [False, True], ids=["no-grad", "grad"])
def test_values_against_torch(dtype, grad, device):
    m = matrices(dtype)
    a = tensor(m, device, requires_grad=grad)
    w, v = xp.linalg.eig(a)
    vals = xp.linalg.eigvals(a)
    for t in (w, v, vals):
        assert _name(t.dtype) == COMPLEX_OF[dtype] and t.device == a.device and t.requires_grad is grad
    assert tuple(w.shape) == (2, 4) and tuple(v.shape) == (2, 4, 4) and tuple(vals.shape) == (2, 4)
    tw, tv = torch.linalg.eig(torch.from_numpy(m))
    tw, tv = tw.numpy(), tv.numpy()
    tol = 1e-4 if dtype == "float32" else 1e-10
    w, v, vals = _np(w), _np(v), _np(vals)
    perm = _match(w, tw)
    np.testing.assert_allclose(np.take_along_axis(w, perm, axis=-1), tw, atol=tol)
    np.testing.assert_allclose(np.sort_complex(np.round(w, 3)), np.sort_complex(np.round(spectra(dtype), 3)))
    np.testing.assert_allclose(np.take_along_axis(vals, _match(vals, tw), axis=-1), tw, atol=tol)
    # Unit columns, x v = v w, and torch's eigenvectors up to one phase per column.
    np.testing.assert_allclose(np.linalg.norm(v, axis=-2), 1, atol=tol)
    np.testing.assert_allclose(m @ v, v * w[..., None, :], atol=10 * tol)
    overlap = np.sum(np.conj(tv) * _columns(v, perm), axis=-2)
    np.testing.assert_allclose(np.abs(overlap), 1, atol=tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_eigvals_of_a_rotation_are_complex(dtype, device):
    c, s = math.cos(math.pi / 3), math.sin(math.pi / 3)
    rotation = xpgrad.tensor([[c, -s], [s, c]], dtype=getattr(xpgrad, dtype), device=device)
    for grad in (False, True):
        got = xp.linalg.eigvals(rotation.detach().requires_grad_(grad))
        assert _name(got.dtype) == COMPLEX_OF[dtype]
        np.testing.assert_allclose(np.sort_complex(_np(got)), [complex(c, -s), complex(c, s)], atol=1e-6)


@pytest.mark.parametrize("grad", [False, True], ids=["no-grad", "grad"])
def test_real_eigenvalues_are_complex_too(grad, device):
    # NumPy's eig returns real arrays here; the standard's is complex.
    a = xpgrad.tensor([[2.0, 1.0], [0.0, 3.0]], dtype=F32, device=device, requires_grad=grad)
    w, v = xp.linalg.eig(a)
    assert _name(w.dtype) == _name(v.dtype) == _name(xp.linalg.eigvals(a).dtype) == "complex64"
    np.testing.assert_allclose(_np(w), [2, 3])
    np.testing.assert_allclose(np.abs(_np(v)), [[1, 2 ** -0.5], [0, 2 ** -0.5]], atol=1e-6)


def test_eigvals_is_eigs_eigenvalues_while_recording(device):
    a = tensor(matrices("float64"), device, requires_grad=True)
    vals = xp.linalg.eigvals(a)
    assert type(vals.grad_fn).__name__ == "LinalgEigBackward"
    np.testing.assert_array_equal(_np(vals), _np(xp.linalg.eig(a).eigenvalues))


def test_result_is_a_named_tuple():
    w, v = result = xp.linalg.eig(tensor(matrices("float64", batch=False), "cpu"))
    assert type(result) is xp.linalg.EigResult and result._fields == ("eigenvalues", "eigenvectors")
    assert result.eigenvalues is w and result.eigenvectors is v


# ---------------------------------------------------------------------- losses that have a gradient
# Each is a function of the eigenvalues as a set and of the eigenvectors through their
# moduli or through V f(L) V^-1, so that neither the order nor the phases matter. They are
# written against a namespace: xpgrad.xp, or torch (whose linalg.eig is the reference).


def _weights(ns, like, n=4):
    w = np.array([0.5, -1.0, 2.0, 1.5])[:n]
    if ns is xp:
        return xpgrad.tensor(w.tolist(), dtype=F64, device=like.device)
    return torch.tensor(w)


def _spectral_loss(ns, a):
    w = ns.linalg.eigvals(a)
    return ns.sum(ns.real(w) ** 3 - 2 * ns.imag(w) ** 2 + ns.real(w) * ns.imag(w))


def _eig_values_loss(ns, a):
    w = ns.linalg.eig(a)[0]
    return ns.sum(ns.real(w) ** 3 - 2 * ns.imag(w) ** 2 + ns.real(w) * ns.imag(w))


def _moduli_loss(ns, a):
    # sum_k Re(L_k) sum_i c_i |V_ik|^2: each column weighted by its own eigenvalue
    w, v = ns.linalg.eig(a)
    c = ns.reshape(_weights(ns, a), (4, 1))
    return ns.sum(ns.abs(v) ** 2 * c * ns.real(w)[..., None, :])


def _matrix_function(ns, a):
    """``exp(A / 2)`` as ``V diag(exp(L / 2)) V^-1``."""
    w, v = ns.linalg.eig(a)
    return (v * ns.exp(w / 2)[..., None, :]) @ ns.linalg.inv(v)


def _matrix_function_loss(ns, a):
    f = _matrix_function(ns, a)
    c = _weights(ns, a)
    return ns.sum(ns.real(f) * c + ns.imag(f) * ns.reshape(c, (4, 1)))


LOSSES = {"eigvals": _spectral_loss, "eig-eigenvalues": _eig_values_loss, "eigenvector-moduli": _moduli_loss,
          "matrix-function": _matrix_function_loss}


def _torch_input(m, requires_grad=True):
    return torch.tensor(m, requires_grad=requires_grad)


@pytest.mark.parametrize("dtype", ["float64", "complex128"])
@pytest.mark.parametrize("loss", LOSSES.values(), ids=LOSSES.keys())
def test_gradients_against_torch(loss, dtype, device):
    m = matrices(dtype)
    a = tensor(m, device, requires_grad=True)
    loss(xp, a).backward()
    ta = _torch_input(m)
    loss(torch, ta).backward()
    assert _name(a.grad.dtype) == dtype
    np.testing.assert_allclose(_np(a.grad), _np(ta.grad), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("dtype", ["float64", "complex128"])
@pytest.mark.parametrize("loss", LOSSES.values(), ids=LOSSES.keys())
def test_second_derivatives_against_torch(loss, dtype, device):
    """The gradient of ``Re sum(conj(u) * grad)`` for a fixed direction ``u``: the
    rules differentiated by recording themselves."""
    m = matrices(dtype)
    u = np.random.default_rng(5).standard_normal(m.shape)
    if dtype == "complex128":
        u = u + 1j * np.random.default_rng(6).standard_normal(m.shape)
    a = tensor(m, device, requires_grad=True)
    g, = xpgrad.autograd.grad(loss(xp, a), a, create_graph=True)
    h, = xpgrad.autograd.grad(xp.sum(xp.real(g * xp.conj(tensor(u, device)))), a)
    ta = _torch_input(m)
    tg, = torch.autograd.grad(loss(torch, ta), ta, create_graph=True)
    th, = torch.autograd.grad(torch.sum(torch.real(tg * torch.conj(torch.from_numpy(u)))), ta)
    np.testing.assert_allclose(_np(g), _np(tg), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(_np(h), _np(th), rtol=1e-8, atol=1e-8)


# Real functions of real input, for finite differences (order and phases left out).
REAL_FUNCTIONS = {
    "eigvals": lambda a: xp.sum(xp.real(xp.linalg.eigvals(a)) ** 3 + xp.imag(xp.linalg.eigvals(a)) ** 2, axis=-1),
    "eigenvector-moduli": lambda a: xp.sum(xp.abs(xp.linalg.eig(a).eigenvectors) ** 2
                                           * xp.real(xp.linalg.eig(a).eigenvalues)[..., None, :], axis=-1),
    "matrix-function": lambda a: xp.real(_matrix_function(xp, a)) + 2 * xp.imag(_matrix_function(xp, a)),
}


@pytest.mark.parametrize("fn", REAL_FUNCTIONS.values(), ids=REAL_FUNCTIONS.keys())
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_first_and_second_derivatives_against_finite_differences(fn, device):
    check(fn, (tensor(matrices("float64"), device, requires_grad=True),))


@pytest.mark.parametrize("fn", REAL_FUNCTIONS.values(), ids=REAL_FUNCTIONS.keys())
def test_forward_mode_against_finite_differences(fn):
    assert xpgrad.gradcheck(fn, (tensor(matrices("float64"), "cpu", requires_grad=True),),
                            check_forward_ad=True, check_backward_ad=False)


# ---------------------------------------------------------------------- forward mode


# torch.func's first forward-mode call loads decompositions through torch.jit.script
@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
@pytest.mark.parametrize("dtype", ["float64", "complex128"])
def test_forward_mode_against_torch(dtype, device):
    """``func.jvp`` of the phase-free ``V f(L) V^-1`` and of ``|V|^2`` weighted by ``L``
    against ``torch.func.jvp``; and the tangents of ``L`` and ``V`` themselves: ``V``'s
    is PyTorch's choice (unit columns, ``V^-1 dV`` with a real diagonal), which turns
    with ``V``'s phases, so it matches PyTorch's column by column up to the phase that
    turns PyTorch's ``V`` into ours."""
    m = matrices(dtype)
    rng = np.random.default_rng(8)
    t = rng.standard_normal(m.shape) + (1j * rng.standard_normal(m.shape) if dtype == "complex128" else 0)

    def phase_free(ns):
        return lambda a: (_matrix_function(ns, a), _moduli_loss(ns, a))

    _, ours = func.jvp(phase_free(xp), (tensor(m, device),), (tensor(t, device),))
    _, theirs = torch.func.jvp(phase_free(torch), (torch.from_numpy(m),), (torch.from_numpy(t),))
    for o, r in zip(ours, theirs):
        np.testing.assert_allclose(_np(o), _np(r), rtol=1e-9, atol=1e-9)

    (w, v), (dw, dv) = func.jvp(lambda a: tuple(xp.linalg.eig(a)), (tensor(m, device),), (tensor(t, device),))
    (tw, tv), (tdw, tdv) = torch.func.jvp(lambda a: tuple(torch.linalg.eig(a)), (torch.from_numpy(m),),
                                          (torch.from_numpy(t),))
    assert _name(dw.dtype) == _name(dv.dtype) == COMPLEX_OF[dtype]
    perm = _match(_np(w), _np(tw))
    v, dv = _columns(_np(v), perm), _columns(_np(dv), perm)
    np.testing.assert_allclose(np.take_along_axis(_np(dw), perm, axis=-1), _np(tdw), rtol=1e-9, atol=1e-9)
    phase = np.sum(np.conj(_np(tv)) * v, axis=-2)  # V = V_torch diag(phase)
    np.testing.assert_allclose(dv, _np(tdv) * phase[..., None, :], rtol=1e-9, atol=1e-9)
    # unit columns stay unit: Re(v_k^H dv_k) = 0
    np.testing.assert_allclose(np.real(np.sum(np.conj(v) * dv, axis=-2)), 0, atol=1e-12)


def test_jvp_of_eigvals_is_eigs():
    m, t = matrices("float64"), np.random.default_rng(3).standard_normal((2, 4, 4))
    _, dvals = func.jvp(xp.linalg.eigvals, (tensor(m, "cpu"),), (tensor(t, "cpu"),))
    _, (dw, _) = func.jvp(lambda a: tuple(xp.linalg.eig(a)), (tensor(m, "cpu"),), (tensor(t, "cpu"),))
    np.testing.assert_array_equal(_np(dvals), _np(dw))


# ---------------------------------------------------------------------- phases: refused losses

PHASE_ERROR = (
    "eig backward: the loss depends on the phases of the eigenvectors, which are arbitrary, for real input "
    "too (each column of V may be multiplied by e^(i phi)), so its gradient is not defined: "
    "Im(diag(V^H gV)) must be 0, and it is not (up to ")
PHASE_ADVICE = ("). Use a loss that does not depend on these phases, e.g. functions of the eigenvalues, "
                "of V diag(f(L)) V^-1 or of |V|.")
# The engine names the op whose rule raised (a device's own definition is its backend
# plugin's), the argument and the cotangent (dtypes as the backend spells them) first.
_NAME = r"[\w.]+"
PHASE_MESSAGE = ("^" + re.escape("the VJP rule of op 'eig_eigenvectors' (plugin '") + _NAME
                 + re.escape("') for argument 'x' failed on (x=(shape=(4, 4), dtype=") + _NAME
                 + re.escape("); cotangent shape=(4, 4), dtype=") + _NAME
                 + re.escape("): RuntimeError: " + PHASE_ERROR) + r"[0-9.e+-]+" + re.escape(PHASE_ADVICE) + "$")


def _parts_weighted(v):
    """``sum(Re(V) c + Im(V) d)``: turning any column's phase changes it."""
    rng = np.random.default_rng(2)
    c, d = (xpgrad.tensor(rng.standard_normal(tuple(v.shape)).tolist(), dtype=F64, device=v.device) for _ in "cd")
    return xp.sum(xp.real(v) * c + xp.imag(v) * d)


PHASE_DEPENDENT = {
    "weighted-parts": _parts_weighted,
    "imag-sum": lambda v: xp.sum(xp.imag(v)),
    "product": lambda v: xp.sum(xp.real(v @ v)),
}


@pytest.mark.parametrize("dtype", ["float64", "complex128"])
@pytest.mark.parametrize("loss", PHASE_DEPENDENT.values(), ids=PHASE_DEPENDENT.keys())
def test_phase_dependent_loss_is_refused(loss, dtype, device):
    a = tensor(matrices(dtype, batch=False), device, requires_grad=True)
    v = xp.linalg.eig(a).eigenvectors
    with pytest.raises(RuntimeError, match=PHASE_MESSAGE):
        loss(v).backward()
    assert a.grad is None
    with pytest.raises(RuntimeError, match=PHASE_MESSAGE):
        xpgrad.autograd.grad(loss(xp.linalg.eig(a).eigenvectors), a, create_graph=True)


def test_phase_check_in_single_precision():
    a = tensor(matrices("float32", batch=False), "cpu", requires_grad=True)
    with pytest.raises(RuntimeError, match=PHASE_MESSAGE):
        _parts_weighted(xp.linalg.eig(a).eigenvectors).backward()
    _moduli_loss(xp, a).backward()  # phase-free: passes in float32's tolerance
    assert _name(a.grad.dtype) == "float32"


# ---------------------------------------------------------------------- dtypes, shapes, vmap


def test_float32_gradients_are_float32_and_close_to_float64(device):
    grads = []
    for dtype in ("float32", "float64"):
        a = tensor(matrices(dtype), device, requires_grad=True)
        (_moduli_loss(xp, a) + _matrix_function_loss(xp, a)).backward()
        assert _name(a.grad.dtype) == dtype
        grads.append(_np(a.grad))
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("fn", [xp.linalg.eig, xp.linalg.eigvals], ids=["eig", "eigvals"])
@pytest.mark.parametrize("shape", [(2, 3), (3,), (2, 4, 3)])
@pytest.mark.parametrize("grad", [False, True], ids=["no-grad", "grad"])
def test_non_square_input_is_refused(fn, shape, grad):
    x = xpgrad.ones(*shape, dtype=F64, requires_grad=grad)
    message = f"{fn.__name__} takes square matrices (..., M, M), got shape {shape}"
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        fn(x)


def test_vmap_runs_the_batch_at_once(device):
    m = matrices("float64")
    batch = tensor(m, device, requires_grad=True)
    w = func.vmap(xp.linalg.eigvals)(batch)  # a fallback to a loop would warn (an error here)
    r = func.vmap(lambda a: _matrix_function(xp, a))(batch)
    np.testing.assert_allclose(_np(w), _np(xp.linalg.eigvals(batch)), atol=1e-12)
    np.testing.assert_allclose(_np(r), _np(_matrix_function(xp, batch)), atol=1e-12)
    g = func.vmap(func.grad(lambda a: _moduli_loss(xp, a)))(batch)
    ta = _torch_input(m)
    _moduli_loss(torch, ta).backward()  # a sum over the batch: the per-matrix gradients
    np.testing.assert_allclose(_np(g), _np(ta.grad), rtol=1e-9, atol=1e-9)


def test_function_of_eigenvalues_at_a_repeated_eigenvalue(device):
    # sum(L^2) = trace(A^2): gradient 2 A^T, exact at the identity (a triple eigenvalue).
    a = xpgrad.eye(3, dtype=F64, device=device).requires_grad_()
    xp.sum(xp.real(xp.linalg.eigvals(a) ** 2)).backward()
    np.testing.assert_allclose(_np(a.grad), 2 * np.eye(3), atol=1e-14)


def test_the_pytorch_face_has_eig_and_eigvals_under_torch_linalgs_names():
    torch = pytest.importorskip("torch")
    data = [[2.0, -1.0, 0.5], [1.0, 3.0, 0.0], [0.0, 0.5, 1.0]]
    a = xpgrad.tensor(data, dtype=xpgrad.float64, requires_grad=True)
    w, v = xpgrad.linalg.eig(a)
    t = torch.tensor(data, dtype=torch.float64, requires_grad=True)
    tw, tv = torch.linalg.eig(t)
    assert np.allclose(np.sort_complex(np.asarray(w.detach().tolist())), np.sort_complex(tw.detach().numpy()))
    assert isinstance(xpgrad.linalg.eig(a), xpgrad.linalg.EigResult)
    xpgrad.xp.sum(xpgrad.xp.real(xpgrad.linalg.eigvals(a)) ** 2).backward()
    (torch.linalg.eigvals(t).real ** 2).sum().backward()
    assert np.allclose(np.asarray(a.grad.tolist()), t.grad.numpy())
