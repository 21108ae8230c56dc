"""xpgrad.autograd.functional: vjp, jvp, jacobian, hessian, vhp and hvp in PyTorch's form.

Each function is compared with torch.autograd.functional on the same functions and
inputs (values, and the structure of the results: tuples, shapes), on every device;
create_graph=True results against PyTorch's second derivatives; strict mode and v's
checks with their messages. The analytic tests (f(x) = sum(x^3)) run without PyTorch.
"""
import re

import numpy as np
import pytest

import xpgrad
from xpgrad.autograd import functional as F

from helpers import assert_close

F64 = xpgrad.float64
X = [0.5, -1.25]
Y = [0.25, 1.5, -0.75]


def t64(data, device, requires_grad=False):
    return xpgrad.tensor(data, dtype=F64, device=device, requires_grad=requires_grad)


# The functions use only what xpgrad's and PyTorch's Tensors both have, so the same code
# runs on both.
def scalar(x):
    return (x ** 3).sum() + (x.sin() * x).sum()


def scalar2(x, y):
    return (x ** 2).sum() * (y ** 3).sum() + (x.sin() * x.sum()).sum() + y.cos().sum()


def vector(x):
    return x.sin() * x.sum()


def tuple_out(x, y):
    return x * y.sum(), (x ** 2).sum() + y.cos().sum()


def ignores_y(x, y):
    return x.exp(), (x * 2).sum()


# name: (function, inputs as data (a tuple: several inputs), output shapes)
CASES = {
    "scalar": (scalar, X, [()]),
    "scalar2": (scalar2, (X, Y), [()]),
    "vector": (vector, X, [(2,)]),
    "tuple_out": (tuple_out, (X, Y), [(2,), ()]),
    "ignores_y": (ignores_y, (X, Y), [(2,), ()]),
}
SCALAR_CASES = ["scalar", "scalar2"]


def _inputs(data, make):
    return tuple(make(d) for d in data) if isinstance(data, tuple) else make(data)


def _xp_inputs(data, device, requires_grad=False):
    return _inputs(data, lambda d: t64(d, device, requires_grad))


def _torch_inputs(torch, data, requires_grad=False):
    return _inputs(data, lambda d: torch.tensor(d, dtype=torch.float64, requires_grad=requires_grad))


def _v_for_shapes(shapes, factor):
    """Deterministic data of the given shapes (a tuple of them for several)."""
    out = [np.linspace(0.5, 1.5, int(np.prod(s))).reshape(s) * factor for s in shapes]
    return tuple(a.tolist() for a in out) if len(out) > 1 else out[0].tolist()


def _input_shapes(data):
    return [np.shape(d) for d in data] if isinstance(data, tuple) else [np.shape(data)]


def assert_same(actual, expected, device):
    """``actual`` (xpgrad) has ``expected``'s (PyTorch's) structure, shapes and values."""
    if isinstance(expected, tuple):
        assert isinstance(actual, tuple) and len(actual) == len(expected), (actual, expected)
        for a, e in zip(actual, expected):
            assert_same(a, e, device)
        return
    assert isinstance(actual, xpgrad.Tensor), type(actual)
    assert_close(actual, expected.detach().numpy(), dtype=F64, device=device, rtol=1e-10, atol=1e-12)


def assert_detached(tree):
    for t in tree if isinstance(tree, tuple) else (tree,):
        if isinstance(t, tuple):
            assert_detached(t)
        else:
            assert not t.requires_grad and t.grad_fn is None


# ---------------------------------------------------------------------- against PyTorch


@pytest.mark.parametrize("name", list(CASES))
def test_vjp_and_jvp_match_torch(device, name):
    torch = pytest.importorskip("torch")
    fn, data, out_shapes = CASES[name]
    in_shapes = _input_shapes(data)
    v_out = _v_for_shapes(out_shapes, 1.0) if len(out_shapes) > 1 or out_shapes[0] else None
    v_in = _v_for_shapes(in_shapes, -1.0)
    for which, v in (("vjp", v_out), ("jvp", v_in)):
        t_v = None if v is None else _torch_inputs(torch, v)
        expected = getattr(torch.autograd.functional, which)(fn, _torch_inputs(torch, data), t_v)
        got = getattr(F, which)(fn, _xp_inputs(data, device), None if v is None else _xp_inputs(v, device))
        assert_same(got, expected, device)
        assert_detached(got)


@pytest.mark.parametrize("name", list(CASES))
def test_jacobian_matches_torch_in_both_modes(device, name):
    torch = pytest.importorskip("torch")
    fn, data, _ = CASES[name]
    expected = torch.autograd.functional.jacobian(fn, _torch_inputs(torch, data))
    x = _xp_inputs(data, device)
    rev = F.jacobian(fn, x)
    assert_same(rev, expected, device)
    assert_detached(rev)
    # forward mode without vectorize (PyTorch needs vectorize=True for it), and with it
    assert_same(F.jacobian(fn, x, strategy="forward-mode"), expected, device)
    assert_same(F.jacobian(fn, x, vectorize=True, strategy="forward-mode"), expected, device)
    # vectorize=True in reverse mode: the same values, without vmap
    assert_same(F.jacobian(fn, x, vectorize=True), expected, device)


@pytest.mark.parametrize("name", SCALAR_CASES)
def test_hessian_vhp_hvp_match_torch(device, name):
    torch = pytest.importorskip("torch")
    fn, data, _ = CASES[name]
    t_x = _torch_inputs(torch, data)
    x = _xp_inputs(data, device)
    expected = torch.autograd.functional.hessian(fn, t_x)
    assert_same(F.hessian(fn, x), expected, device)
    assert_same(F.hessian(fn, x, outer_jacobian_strategy="forward-mode"), expected, device)
    v = _v_for_shapes(_input_shapes(data), 0.5)
    for which in ("vhp", "hvp"):
        want = getattr(torch.autograd.functional, which)(fn, t_x, _torch_inputs(torch, v))
        got = getattr(F, which)(fn, x, _xp_inputs(v, device))
        assert_same(got, want, device)
        assert_detached(got)


def test_hessian_of_tuple_inputs_is_a_tuple_of_tuples(device):
    torch = pytest.importorskip("torch")
    h = F.hessian(scalar2, _xp_inputs((X, Y), device))
    assert [[tuple(b.shape) for b in row] for row in h] == [[(2, 2), (2, 3)], [(3, 2), (3, 3)]]
    assert_same(h, torch.autograd.functional.hessian(scalar2, _torch_inputs(torch, (X, Y))), device)


def _leaves(tree):
    if isinstance(tree, tuple):
        return [leaf for t in tree for leaf in _leaves(t)]
    return [tree]


def _weighted_sum(tree, make):
    """sum(leaf * w) over every leaf of a (nested) result, w fixed data of the leaf's
    shape, made into a Tensor by ``make``."""
    total = None
    for leaf in _leaves(tree):
        shape = tuple(leaf.shape)
        w = make(np.linspace(-1.0, 2.0, int(np.prod(shape))).reshape(shape).tolist())
        term = (leaf * w).sum()
        total = term if total is None else total + term
    return total


@pytest.mark.parametrize("which, name", [
    ("vjp", "vector"), ("vjp", "tuple_out"), ("jvp", "vector"), ("jvp", "tuple_out"),
    ("jacobian", "tuple_out"), ("hessian", "scalar2"), ("vhp", "scalar2"), ("hvp", "scalar2"),
])
def test_create_graph_results_differentiate_as_torch(device, which, name):
    """With create_graph=True the results depend on the inputs: the gradient of a
    weighted sum of them is PyTorch's second (for hessian: third) derivative."""
    torch = pytest.importorskip("torch")
    fn, data, out_shapes = CASES[name]
    in_shapes = _input_shapes(data)
    t_x = _torch_inputs(torch, data, requires_grad=True)
    x = _xp_inputs(data, device, requires_grad=True)
    args_t, args_x = (), ()
    if which in ("vjp", "jvp", "vhp", "hvp"):  # v requires grad too: results depend on it
        v = _v_for_shapes(out_shapes if which == "vjp" else in_shapes, 0.75)
        args_t, args_x = (_torch_inputs(torch, v, True),), (_xp_inputs(v, device, True),)
    want = getattr(torch.autograd.functional, which)(fn, t_x, *args_t, create_graph=True)
    got = getattr(F, which)(fn, x, *args_x, create_graph=True)
    assert_same(got, want, device)
    t_leaves = _leaves((t_x,) + args_t)
    x_leaves = _leaves((x,) + args_x)
    t_loss = _weighted_sum(want, lambda d: torch.tensor(d, dtype=torch.float64))
    x_loss = _weighted_sum(got, lambda d: t64(d, device))
    expected = torch.autograd.grad(t_loss, t_leaves, allow_unused=True)
    grads = xpgrad.autograd.grad(x_loss, x_leaves, allow_unused=True)
    for g, e, xi in zip(grads, expected, x_leaves):
        if e is None:
            assert g is None or np.allclose(g.tolist(), 0.0)
        else:
            assert_close(g, e.numpy(), dtype=F64, device=device, rtol=1e-10, atol=1e-12)
        assert xi.grad is None  # the functions never accumulate into the inputs


def test_strict_messages_are_torchs(device):
    torch = pytest.importorskip("torch")
    tf = torch.autograd.functional
    t_x, t_y = (torch.tensor(X, dtype=torch.float64), torch.tensor(Y, dtype=torch.float64))
    x, y = t64(X, device), t64(Y, device)
    calls = [  # (function, its arguments after the inputs)
        ("jacobian", ignores_y, False),
        ("vjp", lambda x, y: x.exp().sum(), False),
        ("jvp", lambda x, y: x.exp().sum(), True),
        ("vhp", lambda x, y: (x ** 2).sum(), True),
        ("hvp", lambda x, y: (x ** 3).sum() + y.sum(), True),
        ("hessian", lambda x, y: (x ** 3).sum() + (y * 2).sum(), False),
    ]
    for which, fn, takes_v in calls:
        t_args, x_args = (((t_x, t_y),), ((x, y),)) if takes_v else ((), ())
        with pytest.raises(RuntimeError) as t_err:
            getattr(tf, which)(fn, (t_x, t_y), *t_args, strict=True)
        with pytest.raises(RuntimeError, match=re.escape(str(t_err.value))):
            getattr(F, which)(fn, (x, y), *x_args, strict=True)


# ---------------------------------------------------------------------- analytic (no torch)


def test_cube_sum_analytic(device):
    """f(x) = sum(x^3): gradient 3x^2, Hessian diag(6x), by every function."""
    data = [0.5, -1.0, 2.0]
    x = t64(data, device)
    a = np.array(data)
    f = lambda x: (x ** 3).sum()  # noqa: E731
    v = t64([1.0, 2.0, -1.0], device)
    vv = np.array([1.0, 2.0, -1.0])

    out, g = F.vjp(f, x)  # v may be left out: one output element
    assert_close(out, float((a ** 3).sum()), dtype=F64, device=device)
    assert_close(g, 3 * a ** 2, dtype=F64, device=device)
    out, jv = F.jvp(f, x, v)
    assert_close(jv, float((3 * a ** 2 * vv).sum()), dtype=F64, device=device)
    assert_close(F.jacobian(f, x), 3 * a ** 2, dtype=F64, device=device)
    assert_close(F.jacobian(lambda x: x ** 3, x), np.diag(3 * a ** 2), dtype=F64, device=device)
    assert_close(F.jacobian(lambda x: x ** 3, x, strategy="forward-mode"), np.diag(3 * a ** 2), dtype=F64,
                 device=device)
    for strategy in ("reverse-mode", "forward-mode"):
        h = F.hessian(f, x, outer_jacobian_strategy=strategy)
        assert_close(h, np.diag(6 * a), dtype=F64, device=device)
    for which in ("vhp", "hvp"):
        out, hv = getattr(F, which)(f, x, v)
        assert_close(out, float((a ** 3).sum()), dtype=F64, device=device)
        assert_close(hv, 6 * a * vv, dtype=F64, device=device)


def test_scalar_input_lets_v_be_left_out(device):
    x = t64(0.5, device)
    assert_close(F.jvp(lambda x: x.sin(), x)[1], np.cos(0.5), dtype=F64, device=device)
    assert_close(F.vhp(lambda x: x ** 4, x)[1], 12 * 0.5 ** 2, dtype=F64, device=device)
    assert_close(F.hvp(lambda x: x ** 4, x)[1], 12 * 0.5 ** 2, dtype=F64, device=device)


def test_structure_of_results(device):
    x, y = t64(X, device), t64(Y, device)
    # tuple in, tuple out: a tuple of tuples, J[i][j] of shape out_i + in_j
    jac = F.jacobian(tuple_out, (x, y))
    assert [[tuple(b.shape) for b in row] for row in jac] == [[(2, 2), (2, 3)], [(2,), (3,)]]
    # one Tensor in, tuple out: a tuple of Tensors
    jac = F.jacobian(lambda x: (x * 2, x.sum()), x)
    assert isinstance(jac, tuple) and [tuple(j.shape) for j in jac] == [(2, 2), (2,)]
    assert_close(jac[0], [[2.0, 0.0], [0.0, 2.0]], dtype=F64, device=device)
    assert_close(jac[1], [1.0, 1.0], dtype=F64, device=device)
    # tuple in, one Tensor out: a tuple of Tensors
    jac = F.jacobian(lambda x, y: x * y.sum(), (x, y))
    assert isinstance(jac, tuple) and [tuple(j.shape) for j in jac] == [(2, 2), (2, 3)]
    # a one-element tuple stays a tuple
    out, g = F.vjp(lambda x: (x.sum(),), (x,))
    assert isinstance(out, tuple) and isinstance(g, tuple) and len(g) == 1
    assert_close(g[0], [1.0, 1.0], dtype=F64, device=device)


def test_independent_input_gives_zeros(device):
    x, y = t64(X, device), t64(Y, device)
    jac = F.jacobian(ignores_y, (x, y))
    assert_close(jac[0][1], np.zeros((2, 3)), dtype=F64, device=device)
    assert_close(jac[1][1], np.zeros(3), dtype=F64, device=device)
    _, (gx, gy) = F.vjp(lambda x, y: x.exp().sum(), (x, y))
    assert_close(gy, np.zeros(3), dtype=F64, device=device)
    assert_close(gx, np.exp(X), dtype=F64, device=device)
    h = F.hessian(lambda x, y: (x ** 3).sum(), (x, y))
    assert_close(h[1][1], np.zeros((3, 3)), dtype=F64, device=device)
    assert_close(h[0][1], np.zeros((2, 3)), dtype=F64, device=device)


def test_create_graph_second_derivative_analytic(device):
    """d/dx of the create_graph Hessian-vector product of sum(x^4): 24 x v, elementwise."""
    x = t64(X, device, requires_grad=True)
    v = t64([1.0, 3.0], device)
    out, hv = F.hvp(lambda x: (x ** 4).sum(), x, v, create_graph=True)
    assert hv.requires_grad and out.requires_grad
    (g,) = xpgrad.autograd.grad(hv.sum(), x)
    assert_close(g, 24 * np.array(X) * np.array([1.0, 3.0]), dtype=F64, device=device)
    jac = F.jacobian(lambda x: x ** 3, x, create_graph=True)
    (g,) = xpgrad.autograd.grad(jac.sum(), x)
    assert_close(g, 6 * np.array(X), dtype=F64, device=device)
    assert x.grad is None


def test_inputs_are_left_alone(device):
    x = t64(X, device)
    for create_graph in (False, True):
        F.vjp(scalar, x, create_graph=create_graph)
        F.hessian(scalar, x, create_graph=create_graph)
        assert not x.requires_grad and x.grad is None
    # create_graph with an input that does not require grad: results differentiable
    # with respect to a private copy, as in PyTorch
    _, g = F.vjp(scalar, x, create_graph=True)
    assert g.requires_grad and not x.requires_grad
    w = t64(X, device, requires_grad=True)
    _, g = F.vjp(scalar, w)
    assert not g.requires_grad and w.grad is None


def test_strict_errors(device):
    x, y = t64(X, device), t64(Y, device)
    with pytest.raises(RuntimeError, match=re.escape(
            "Output 0 of the user-provided function is independent of input 1. This is not allowed in strict mode.")):
        F.jacobian(ignores_y, (x, y), strict=True)
    with pytest.raises(RuntimeError, match=re.escape(
            "Output 0 of the user-provided function does not require gradients. The outputs must be computed in a "
            "differentiable manner from the input when running in strict mode.")):
        F.vjp(lambda x: xpgrad.zeros_like(x), x, xpgrad.ones_like(x), strict=True)
    for which in ("vjp", "jvp"):
        v = None if which == "vjp" else (xpgrad.ones_like(x), xpgrad.ones_like(y))
        with pytest.raises(RuntimeError, match=re.escape(
                "The output of the user-provided function is independent of input 1. This is not allowed in "
                "strict mode.")):
            getattr(F, which)(lambda x, y: x.exp().sum(), (x, y), v, strict=True)
    with pytest.raises(RuntimeError, match=re.escape(
            "While computing the hessian, found that the jacobian of the user-provided function with respect to "
            "input 0 is independent of the input.")):
        F.hessian(lambda x: (x * 2).sum(), x, strict=True)
    with pytest.raises(RuntimeError, match=re.escape(
            "While computing the hessian, found that the jacobian of the user-provided function with respect to "
            "input 1 is independent of the input.")):
        F.vhp(lambda x, y: (x ** 3).sum() + y.sum(), (x, y), (xpgrad.ones_like(x), xpgrad.ones_like(y)),
              strict=True)
    with pytest.raises(RuntimeError, match=re.escape(
            "The jacobian of the user-provided function is independent of input 0. This is not allowed in strict "
            "mode when create_graph=True.")):
        F.vjp(lambda x: (x * 2).sum(), x, create_graph=True, strict=True)
    with pytest.raises(RuntimeError, match=re.escape(
            "The hessian of the user-provided function is independent of input 0. This is not allowed in strict "
            "mode when create_graph=True.")):
        F.hvp(lambda x: (x ** 2).sum(), x, xpgrad.ones_like(x), create_graph=True, strict=True)
    # strict passes where everything depends on everything
    assert_close(F.jacobian(lambda x: x ** 2, x, strict=True), np.diag(2 * np.array(X)), dtype=F64, device=device)


def test_v_errors(device):
    x, y = t64(X, device), t64(Y, device)
    with pytest.raises(RuntimeError, match=re.escape(
            "The vector v can only be None if the user-provided function returns a single Tensor with a single "
            "element.")):
        F.vjp(vector, x)
    with pytest.raises(RuntimeError, match=re.escape(
            "The vector v can only be None if the input to the user-provided function is a single Tensor with a "
            "single element.")):
        F.jvp(vector, x)
    with pytest.raises(RuntimeError, match=re.escape("v has invalid size: should be (2,) but got (3,).")):
        F.vjp(vector, x, y)
    with pytest.raises(RuntimeError, match=re.escape("Entry 1 in v has invalid size: should be (3,) but got (2,).")):
        F.hvp(scalar2, (x, y), (x, x))
    with pytest.raises(RuntimeError, match=re.escape("v is a tuple of invalid length: should be 2 but got 1.")):
        F.vhp(scalar2, (x, y), (x,))
    with pytest.raises(RuntimeError, match=re.escape("The given v should contain a single Tensor.")):
        F.jvp(vector, x, (x, x))
    with pytest.raises(TypeError, match=re.escape(
            "The v given to vjp must be either a Tensor or a tuple of Tensors but the given v has type "
            "<class 'list'>.")):
        F.vjp(vector, x, [1.0, 2.0])


def test_argument_errors(device):
    x = t64(X, device)
    with pytest.raises(TypeError, match=re.escape(
            "The inputs given to jacobian must be either a Tensor or a tuple of Tensors but the value at index 1 "
            "has type <class 'float'>.")):
        F.jacobian(vector, (x, 1.0))
    with pytest.raises(TypeError, match=re.escape(
            "The outputs of the user-provided function given to vjp must be either a Tensor or a tuple of Tensors "
            "but the given outputs of the user-provided function has type <class 'list'>.")):
        F.vjp(lambda x: [x], x, x)
    with pytest.raises(RuntimeError, match=re.escape("The function given to hessian should return a single Tensor")):
        F.hessian(lambda x: (x.sum(),), x)
    with pytest.raises(RuntimeError, match=re.escape(
            "The Tensor returned by the function given to vhp should contain a single element")):
        F.vhp(vector, x, x)
    with pytest.raises(ValueError, match=re.escape('Expected strategy to be either "forward-mode" or "reverse-mode".')):
        F.jacobian(vector, x, strategy="fwd")
    with pytest.raises(NotImplementedError, match=re.escape(
            '`create_graph=True` and `strategy="forward-mode"` are not supported together (yet).')):
        F.jacobian(vector, x, create_graph=True, strategy="forward-mode")
    with pytest.raises(RuntimeError, match=re.escape(
            '`strict=True` and `strategy="forward-mode"` are not supported together (yet).')):
        F.hessian(scalar, x, strict=True, outer_jacobian_strategy="forward-mode")
    with pytest.raises(RuntimeError, match=re.escape(
            "`strict=True` and `vectorized=True` are not supported together.")):
        F.jacobian(vector, x, strict=True, vectorize=True)


def test_reachable_as_xpgrad_autograd_functional():
    assert xpgrad.autograd.functional.jacobian is F.jacobian
    assert set(F.__all__) == {"vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"}
