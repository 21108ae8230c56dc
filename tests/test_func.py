"""xpgrad.func: grad, value_and_grad, vjp, jvp, jacobian (both modes), hessian, hvp,
elementwise_grad and checkpoint, their compositions, pytrees, and their errors.

Values are checked against analytic derivatives and finite differences on every device;
the transforms must leave the caller's Tensors (``.grad``, ``requires_grad``) alone.
"""
import gc
import math
import weakref

import numpy as np
import pytest

import xpgrad
from xpgrad import func, xp

from helpers import assert_close, values

F32 = xpgrad.float32
F64 = xpgrad.float64



def t64(data, device, requires_grad=False):
    return xpgrad.tensor(data, dtype=F64, device=device, requires_grad=requires_grad)


# ---------------------------------------------------------------------- grad


def test_third_derivative_of_tanh(device):
    x = t64([-0.7, 0.2, 1.1], device)
    d3 = func.grad(func.grad(func.grad(lambda x: xp.tanh(x).sum())))
    # Not elementwise: grad of a sum keeps the shape; the chain differentiates sums again.
    d = func.elementwise_grad
    third = d(d(d(xp.tanh)))(x)
    th = np.tanh(values(x))
    expected = -2 * (1 - th ** 2) * (1 - 3 * th ** 2)
    assert_close(third, expected)
    for _k, v in enumerate([-0.7, 0.2, 1.1]):
        t = math.tanh(v)
        assert d3(t64(v, device)).item() == pytest.approx(-2 * (1 - t * t) * (1 - 3 * t * t))


def test_grad_argnums_pytrees_and_aux(device):
    x = t64([1.0, 2.0], device)
    params = {"w": t64([[0.5, -1.0], [2.0, 0.0]], device), "b": [t64(0.25, device)]}

    def loss(params, x, scale):
        y = xp.matmul(params["w"], x) + params["b"][0]
        return scale * (y * y).sum(), y

    g, aux = func.grad(loss, argnums=0, has_aux=True)(params, x, 2.0)
    y = values(params["w"]) @ values(x) + 0.25
    assert_close(g["w"], 4 * np.outer(y, values(x)))
    assert_close(g["b"][0], 4 * y.sum())
    assert_close(aux, y)
    assert aux.requires_grad is False
    gp, gx = func.grad(lambda p, x: loss(p, x, 1.0)[0], argnums=(0, -1))(params, x)
    assert_close(gx, 2 * values(params["w"]).T @ y)
    assert_close(gp["w"], 2 * np.outer(y, values(x)))
    (value, aux2), g2 = func.value_and_grad(loss, has_aux=True)(params, x, 2.0)
    assert value.item() == pytest.approx(2 * (y * y).sum())
    assert_close(g2["b"][0], 4 * y.sum())


def test_callers_tensors_are_untouched(device):
    x = t64([0.3, 0.4], device)
    w = t64([1.5, -2.0], device, requires_grad=True)
    g = func.grad(lambda x, w: (x * w).sin().sum(), argnums=(0, 1))(x, w)
    assert x.requires_grad is False and x.grad is None and w.grad is None
    assert_close(g[0], values(w) * np.cos(values(x) * values(w)))
    # The argument that requires grad keeps the result connected: it is differentiable
    # with plain autograd.
    assert g[0].requires_grad is True and g[1].requires_grad is True
    g[1].sum().backward()
    assert_close(w.grad, -(values(x) ** 2) * np.sin(values(x) * values(w)))
    assert x.grad is None


def test_results_do_not_require_grad_without_outside_dependency(device):
    x = t64([0.3, 0.4], device)
    value, g = func.value_and_grad(lambda x: (x ** 3).sum())(x)
    assert value.requires_grad is False and g.requires_grad is False
    w = t64([0.3, 0.4], device, requires_grad=True)
    with xpgrad.no_grad():
        g = func.grad(lambda w: (w ** 3).sum())(w)
    assert g.requires_grad is False
    assert_close(g, 3 * values(w) ** 2)


def test_unused_argument_has_zero_gradient(device):
    x, y = t64([1.0, 2.0], device), t64(3.0, device)
    gx, gy = func.grad(lambda x, y: x.sum() * 2, argnums=(0, 1))(x, y)
    assert_close(gx, [2.0, 2.0])
    assert gy.item() == 0.0


def test_grad_composes_with_jvp(device):
    # d/dx of the directional derivative (jvp inside grad) = H v
    x = t64([0.5, -1.0], device)
    v = t64([1.0, 2.0], device)
    f = lambda x: (x ** 3).sum() + (x[0] * x[1])  # noqa: E731
    hv = func.grad(lambda x: func.jvp(f, (x,), (v,))[1])(x)
    H = np.diag(6 * values(x)) + np.array([[0.0, 1.0], [1.0, 0.0]])
    assert_close(hv, H @ values(v))


# ---------------------------------------------------------------------- vjp and jvp


def test_vjp_pytree_output_and_repeated_pullback(device):
    x, y = t64([1.0, 2.0], device), t64([3.0, 4.0], device)
    out, pullback = func.vjp(lambda x, y: {"p": x * y, "s": (x + y).sum()}, x, y)
    assert_close(out["p"], [3.0, 8.0])
    gx, gy = pullback({"p": t64([1.0, 1.0], device), "s": t64(0.0, device)})
    assert_close(gx, [3.0, 4.0])
    assert_close(gy, [1.0, 2.0])
    gx, gy = pullback({"p": t64([0.0, 0.0], device), "s": t64(2.0, device)})
    assert_close(gx, [2.0, 2.0])


def test_jvp_pytrees(device):
    x = {"a": t64([1.0, 2.0], device), "b": (t64(0.5, device),)}
    v = {"a": t64([1.0, 0.0], device), "b": (t64(2.0, device),)}
    out, t = func.jvp(lambda p: [p["a"] * p["b"][0], xp.exp(p["b"][0])], (x,), (v,))
    assert_close(t[0], [1.0 * 0.5 + 1.0 * 2.0, 0.0 * 0.5 + 2.0 * 2.0])
    assert t[1].item() == pytest.approx(2 * math.exp(0.5))
    assert isinstance(out, list) and out[1].requires_grad is False


def test_jvp_has_aux(device):
    x = t64([1.0, 2.0], device)
    out, t, aux = func.jvp(lambda x: (x * x, x.sum()), (x,), (xpgrad.ones_like(x),), has_aux=True)
    assert_close(t, [2.0, 4.0])
    assert aux.item() == 3.0


# ---------------------------------------------------------------------- jacobians


@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_jacobian_pytrees_both_modes(device):
    x, y = t64([0.5, -1.0, 2.0], device), t64([[1.0, 2.0], [3.0, 4.0]], device)

    def f(x, y):
        return {"xy": x[:2] * y[0], "s": xp.sin(x).sum() + y.sum()}

    for mode in ("rev", "fwd"):
        jac = func.jacobian(f, argnums=(0, 1), mode=mode)(x, y)
        assert tuple(jac["xy"][0].shape) == (2, 3) and tuple(jac["xy"][1].shape) == (2, 2, 2)
        assert tuple(jac["s"][0].shape) == (3,) and tuple(jac["s"][1].shape) == (2, 2)
        assert_close(jac["xy"][0], [[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
        expected = np.zeros((2, 2, 2))
        expected[0, 0, 0], expected[1, 0, 1] = 0.5, -1.0
        assert_close(jac["xy"][1], expected)
        assert_close(jac["s"][0], np.cos(values(x)))
        assert_close(jac["s"][1], np.ones((2, 2)))
    single = func.jacfwd(lambda x: x * 2)(x)
    assert_close(single, 2 * np.eye(3))


@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_hessian_three_ways(device):
    x = t64([0.3, -0.8], device)

    def f(x):
        return (x[0] ** 2 * x[1] + xp.sin(x[1])).sum()

    a, b = 0.3, -0.8
    expected = [[2 * b, 2 * a], [2 * a, -math.sin(b)]]
    assert_close(func.hessian(f)(x), expected)
    assert_close(func.jacfwd(func.jacrev(f))(x), expected)
    assert_close(func.jacrev(func.jacrev(f))(x), expected)
    assert_close(func.jacfwd(func.jacfwd(f))(x), expected)
    v = t64([1.0, -2.0], device)
    (hv,) = func.hvp(f, (x,), (v,))
    assert_close(hv, np.array(expected) @ values(v))


def test_jacobian_of_empty_input(device):
    x = xpgrad.zeros(0, dtype=F64, device=device)
    for mode in ("rev", "fwd"):
        jac = func.jacobian(lambda x: x * 2, mode=mode)(x)
        assert tuple(jac.shape) == (0, 0)


@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_transforms_pass_gradcheck(device):
    # The results of the transforms are differentiable functions of their inputs.
    x = xpgrad.randn(3, dtype=F64, device=device, requires_grad=True)
    f = lambda x: (xp.tanh(x) * x).sum()  # noqa: E731
    assert xpgrad.gradcheck(func.grad(f), (x,))
    assert xpgrad.gradcheck(lambda x: func.jacfwd(lambda x: xp.sin(x) * x)(x), (x,))
    assert xpgrad.gradcheck(func.grad(f), (x,), check_forward_ad=True, check_backward_ad=False)


# ---------------------------------------------------------------------- checkpoint


def _block(x, w, kept):
    y = xp.sin(x * w)
    kept.append(weakref.ref(y))
    z = y * y  # multiply saves y for backward: without checkpointing, y is kept
    return z.sum() + xp.exp(y).sum()


def test_checkpoint_keeps_no_intermediates(device):
    x = xpgrad.randn(2, 3, dtype=F64, device=device, requires_grad=True)
    w = xpgrad.randn(3, dtype=F64, device=device, requires_grad=True)
    kept = []
    plain = _block(x, w, kept)
    gc.collect()
    assert kept[-1]() is not None  # the plain graph holds the intermediate
    ckpt = func.checkpoint(_block)(x, w, kept)
    gc.collect()
    assert kept[-1]() is None  # the checkpointed one does not
    assert type(ckpt.grad_fn).__name__ == "CheckpointBackward"
    assert ckpt.item() == pytest.approx(plain.item())
    g1 = xpgrad.autograd.grad(plain, (x, w), create_graph=True)
    g2 = xpgrad.autograd.grad(ckpt, (x, w), create_graph=True)
    for a, b in zip(g1, g2):
        assert_close(b, values(a))
    # Second order through the recomputation.
    h1 = xpgrad.autograd.grad((g1[0] ** 2).sum() + g1[1].sum(), (x, w))
    h2 = xpgrad.autograd.grad((g2[0] ** 2).sum() + g2[1].sum(), (x, w))
    for a, b in zip(h1, h2):
        assert_close(b, values(a))


def test_checkpoint_differentiates_a_weight_read_from_a_closure(device):
    """A Tensor the function reads from elsewhere (a closure's weight, a non-leaf made
    from one) gets its gradient as if it were an argument: the first run is recorded to
    find it, and the checkpoint's node has an edge to it. With grad() and backward(), to
    second order, and without keeping the function's intermediates."""
    x = xpgrad.randn(3, dtype=F64, device=device, requires_grad=True)
    w = xpgrad.randn(3, dtype=F64, device=device, requires_grad=True)
    w2 = w * 2  # a non-leaf read from the closure: the gradient flows on to w
    kept = []

    def f(x):
        y = xp.sin(x * w2)
        kept.append(weakref.ref(y))
        return (y * y).sum()

    plain = f(x)
    ckpt = func.checkpoint(f)(x)
    gc.collect()
    assert kept[-1]() is None  # not kept by the checkpoint
    assert type(ckpt.grad_fn).__name__ == "CheckpointBackward"
    g1 = xpgrad.autograd.grad(plain, (x, w), create_graph=True)
    g2 = xpgrad.autograd.grad(ckpt, (x, w), create_graph=True)
    for a, b in zip(g1, g2):
        assert_close(b, values(a))
    h1 = xpgrad.autograd.grad((g1[0] * g1[1]).sum(), (x, w), retain_graph=True)
    h2 = xpgrad.autograd.grad((g2[0] * g2[1]).sum(), (x, w), retain_graph=True)
    for a, b in zip(h1, h2):
        assert_close(b, values(a))
    func.checkpoint(f)(x).backward()
    assert_close(w.grad, values(g1[1]))
    assert_close(x.grad, values(g1[0]))


def test_checkpoint_refuses_a_recomputation_that_reads_another_weight(device):
    """f must compute the same thing when it runs again: a weight it did not read the
    first time would get no gradient, so backward raises."""
    x = xpgrad.randn(3, dtype=F64, device=device, requires_grad=True)
    w = xpgrad.randn(3, dtype=F64, device=device, requires_grad=True)
    runs = []

    def f(x):
        runs.append(1)
        return (x * w).sum() if len(runs) > 1 else x.sum()

    y = func.checkpoint(f)(x)
    with pytest.raises(RuntimeError, match=r"checkpoint: recomputed in backward, the checkpointed function "
                                           r"used a Tensor that requires grad \(a leaf of shape \(3,\)\) "
                                           r"that it did not use in the forward pass"):
        y.backward()


def test_checkpoint_several_outputs_and_forward_mode(device):
    x = t64([0.2, 0.9], device, requires_grad=True)
    calls = []

    def f(x, scale):
        calls.append(1)
        return {"s": xp.sin(x) * scale, "c": [xp.cos(x).sum()]}

    out = func.checkpoint(f)(x, 2.0)
    (out["s"].sum() + out["c"][0]).backward()
    assert len(calls) == 2  # forward, and one recomputation for both outputs
    assert_close(x.grad, 2 * np.cos(values(x)) - np.sin(values(x)))
    v = t64([1.0, 1.0], device)
    _, t = func.jvp(lambda x: func.checkpoint(f)(x, 2.0)["s"], (x.detach(),), (v,))
    assert_close(t, 2 * np.cos(values(x)))


def test_checkpoint_without_grad_just_calls(device):
    x = t64([0.2, 0.9], device)
    out = func.checkpoint(lambda x: x * 2)(x)
    assert out.grad_fn is None and out.requires_grad is False


# ---------------------------------------------------------------------- errors


def test_grad_of_non_scalar_function(device):
    x = t64([1.0, 2.0], device)
    with pytest.raises(ValueError, match=r"^grad: f returned a Tensor of shape \(2,\), but the gradient "
                                         r"is defined for scalar \(one-element\) outputs only; use "
                                         r"xpgrad.func.jacobian or xpgrad.func.vjp"):
        func.grad(lambda x: x * 2)(x)


def test_argnums_out_of_range(device):
    x = t64([1.0, 2.0], device)
    with pytest.raises(ValueError, match=r"^grad: argnums=\(0, 2\) is out of range: f was called with "
                                         r"2 positional argument\(s\), so argnums must be in \[-2, 2\)$"):
        func.grad(lambda x, y: (x * y).sum(), argnums=(0, 2))(x, x)
    with pytest.raises(TypeError, match=r"^jacrev: argnums must be an int or a non-empty tuple of ints, got 'x'$"):
        func.jacrev(lambda x: x, argnums="x")


def test_non_tensor_output(device):
    x = t64([1.0, 2.0], device)
    with pytest.raises(TypeError, match=r"^vjp: the output of f\[1\] is a float, not a Tensor"):
        func.vjp(lambda x: (x, 2.0), x)
    with pytest.raises(TypeError, match=r"^grad: f must return a single Tensor with one element, got tuple"):
        func.grad(lambda x: (x.sum(), x.sum()))(x)
    with pytest.raises(TypeError, match=(
            r"^grad\(..., has_aux=True\): f must return "
            r"a pair \(output, aux\), got Tensor$")):
        func.grad(lambda x: x.sum(), has_aux=True)(x)


def test_non_tensor_and_integer_primals(device):
    with pytest.raises(TypeError, match=r"^grad: argument 0 is a float, not a Tensor: xpgrad.func "
                                        r"differentiates with respect to Tensors only \(Python numbers"):
        func.grad(lambda x: x * 2)(3.0)
    i = xpgrad.tensor([1, 2], device=device)
    with pytest.raises(TypeError, match=r"^jvp: primals\[0\] has dtype .*int.*: only floating-point or complex"):
        func.jvp(lambda x: x, (i,), (i,))
    with pytest.raises(TypeError, match=r"^jvp: primals must be a tuple of f's positional arguments, got Tensor"):
        func.jvp(lambda x: x, t64([1.0], device), t64([1.0], device))


def test_vjp_cotangent_errors(device):
    x = t64([1.0, 2.0], device)
    out, pullback = func.vjp(lambda x: (x * 2, x.sum()), x)
    with pytest.raises(ValueError, match=r"^vjp pullback: cotangents have structure \(\*,\) but the "
                                         r"output of f has structure \(\*, \*\)"):
        pullback((t64([1.0, 1.0], device),))
    with pytest.raises(ValueError, match=r"^vjp pullback: cotangents\[1\] has shape \(1,\) but output\[1\] "
                                         r"has shape \(\): they must match$"):
        pullback((t64([1.0, 1.0], device), t64([1.0], device)))
    with pytest.raises(TypeError, match=r"^vjp pullback: cotangents\[0\] has dtype .*float32 but "
                                        r"output\[0\] has dtype .*float64: they must match"):
        pullback((xpgrad.tensor([1.0, 1.0], dtype=F32, device=device), t64(1.0, device)))


def test_jvp_tangent_errors(device):
    x = {"a": t64([1.0, 2.0], device)}
    with pytest.raises(ValueError, match=r"^jvp: tangents have structure \(\*,\) but primals have "
                                         r"structure \(\{'a': \*\},\)"):
        func.jvp(lambda p: p["a"], (x,), (t64([1.0, 2.0], device),))
    with pytest.raises(ValueError, match=r"^jvp: tangents\[0\]\['a'\] has shape \(3,\) but "
                                         r"primals\[0\]\['a'\] has shape \(2,\): they must match$"):
        func.jvp(lambda p: p["a"], (x,), ({"a": t64([1.0, 2.0, 3.0], device)},))
    with pytest.raises(TypeError, match=r"^jvp: tangents\[0\]\['a'\] has dtype .*float32 but "
                                        r"primals\[0\]\['a'\] has dtype .*float64"):
        func.jvp(lambda p: p["a"], (x,), ({"a": xpgrad.tensor([1.0, 2.0], dtype=F32, device=device)},))


# ---------------------------------------------------------------------- the documentation
