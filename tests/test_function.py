"""Custom autograd Functions: xpgrad.autograd.Function, as in the PyTorch tutorials."""
import re

import numpy as np
import pytest

import xpgrad
from xpgrad.autograd import Function, once_differentiable


def _close(a, b, tol=1e-10):
    return float(xpgrad.xp.max(xpgrad.xp.abs(a - b))) < tol


def _x(device, *shape, dtype=xpgrad.float64):
    return xpgrad.randn(*shape, dtype=dtype, device=device, requires_grad=True)


# ---------------------------------------------------------------------- the tutorial's Functions


class LegendrePolynomial3(Function):
    """P3(x) = (5x^3 - 3x) / 2, from the PyTorch tutorial "Defining new autograd Functions"."""

    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


class Exp(Function):
    """Saves its output, as the PyTorch docs' example does."""

    @staticmethod
    def forward(ctx, x):
        result = x.exp()
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, grad_output):
        (result,) = ctx.saved_tensors
        return grad_output * result


class ScaleAndArgmax(Function):
    """A non-Tensor argument, a float output marked non-differentiable and an integer one."""

    @staticmethod
    def forward(ctx, x, constant, note="unused"):
        ctx.constant = constant
        mask = xpgrad.xp.astype(x > 0, x.dtype)
        index = xpgrad.xp.argmax(x, axis=-1)
        ctx.mark_non_differentiable(mask, index)
        return x * constant, mask, index

    @staticmethod
    def backward(ctx, grad_scaled, grad_mask, grad_index):
        return grad_scaled * ctx.constant, None, None


class MulAdd(Function):
    """Two Tensor inputs (broadcasting), two outputs."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y, x + y

    @staticmethod
    def backward(ctx, grad_prod, grad_sum):
        x, y = ctx.saved_tensors
        return grad_prod * y + grad_sum, grad_prod * x + grad_sum


class NumpySquare(Function):
    """Leaves the array API (NumPy inside), so its backward is once differentiable."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        arr = x.detach().numpy()
        return xpgrad.tensor(np.square(arr), device=x.device)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        assert not xpgrad.is_grad_enabled() and not grad_output.requires_grad
        arr = 2 * x.numpy() * grad_output.numpy()
        return xpgrad.tensor(arr, device=x.device)


# ---------------------------------------------------------------------- values and gradchecks


@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_legendre_gradcheck(device):
    x = _x(device, 2, 3)
    y = LegendrePolynomial3.apply(x)
    assert type(y.grad_fn).__name__ == "LegendrePolynomial3Backward"
    assert _close(y, 0.5 * (5 * x ** 3 - 3 * x))
    assert xpgrad.gradcheck(LegendrePolynomial3.apply, (x,))
    assert xpgrad.gradgradcheck(LegendrePolynomial3.apply, (x,))


def test_legendre_tutorial_fit():
    # The tutorial's loop, a few steps: the loss goes down using the Function's gradient.
    x = xpgrad.xp.linspace(-1.0, 1.0, 200, dtype=xpgrad.float64) if hasattr(xpgrad.xp, "linspace") \
        else xpgrad.tensor(np.linspace(-1.0, 1.0, 200))
    y = xpgrad.sin(x)
    a, b, c, d = (xpgrad.full((), v, dtype=xpgrad.float64, requires_grad=True) for v in (0.0, -1.0, 0.0, 0.3))
    losses = []
    for _ in range(50):
        y_pred = a + b * LegendrePolynomial3.apply(c + d * x)
        loss = ((y_pred - y) ** 2).sum()
        losses.append(loss.item())
        loss.backward()
        with xpgrad.no_grad():
            for p in (a, b, c, d):
                p -= 5e-6 * p.grad
                p.grad = None
    assert losses[-1] < losses[0]


@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_exp_saving_output_gradcheck(device):
    x = _x(device, 2, 3)
    y = Exp.apply(x)
    y.sum().backward()
    assert _close(x.grad, x.detach().exp())
    assert xpgrad.gradcheck(Exp.apply, (x,))
    # Double backward differentiates through the saved output itself.
    assert xpgrad.gradgradcheck(Exp.apply, (x,))


def test_exp_0d_and_empty(device):
    for shape in ((), (0, 3)):
        x = _x(device, *shape)
        Exp.apply(x).sum().backward()
        assert tuple(x.grad.shape) == shape
        if shape == ():
            assert _close(x.grad, x.detach().exp())


def test_float32_in_float32_gradient(device):
    x = _x(device, 2, 3, dtype=xpgrad.float32)
    y = LegendrePolynomial3.apply(x)
    assert y.dtype == x.dtype
    y.sum().backward()
    assert x.grad.dtype == x.dtype


def test_non_tensor_args_and_non_differentiable_outputs(device):
    x = _x(device, 2, 3)
    scaled, mask, index = ScaleAndArgmax.apply(x, 3.0, note="kwargs reach forward")
    assert scaled.requires_grad
    assert mask.requires_grad is False and mask.grad_fn is None
    assert index.requires_grad is False
    assert scaled.grad_fn.constant == 3.0  # ctx attributes show through the node
    assert scaled.grad_fn.needs_input_grad == (True, False)
    (scaled * mask).sum().backward()
    assert _close(x.grad, 3.0 * mask)
    assert xpgrad.gradcheck(lambda t: ScaleAndArgmax.apply(t, 3.0)[0], (x,))


@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_two_outputs_gradcheck(device):
    x, y = _x(device, 2, 3), _x(device, 3)
    assert xpgrad.gradcheck(MulAdd.apply, (x, y))
    assert xpgrad.gradgradcheck(MulAdd.apply, (x, y))


def test_two_outputs_one_used():
    x, y = _x("cpu", 2, 3), _x("cpu", 3)
    prod, total = MulAdd.apply(x, y)
    assert type(prod.grad_fn).__name__ == type(total.grad_fn).__name__ == "MulAddBackward"
    prod.sum().backward()  # total's gradient is zeros: backward sees them materialized
    assert _close(x.grad, y.detach() * xpgrad.ones_like(x))


def test_materialize_grads_off_gives_none():
    seen = []

    class Split(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, ga, gb):
            seen.append((ga is None, gb is None))
            return (0 if ga is None else ga * 2) + (0 if gb is None else gb * 3)

    x = _x("cpu", 3)
    a, b = Split.apply(x)
    b.sum().backward()
    assert seen == [(True, False)]
    assert _close(x.grad, 3 * xpgrad.ones_like(x))


def test_broadcast_shaped_gradient_is_summed():
    class Broadcasting(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, g):
            return g, g  # y's gradient comes back in the broadcast shape (2, 3)

    x, y = _x("cpu", 2, 3), _x("cpu", 1, 3)
    Broadcasting.apply(x, y).sum().backward()
    assert tuple(y.grad.shape) == (1, 3)
    assert _close(y.grad, 2 * xpgrad.ones_like(y))


def test_forward_runs_without_recording():
    inside = []

    class Probe(Function):
        @staticmethod
        def forward(ctx, x):
            inside.append(xpgrad.is_grad_enabled())
            y = x * 2
            inside.append(y.requires_grad)
            return y

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = _x("cpu", 3)
    assert Probe.apply(x).requires_grad
    assert inside == [False, False]
    with xpgrad.no_grad():
        assert not Probe.apply(x).requires_grad
    assert not Probe.apply(x.detach()).requires_grad


def test_output_returned_as_input_gets_its_own_node():
    class Identity(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    x = _x("cpu", 3)
    y = Identity.apply(x)
    assert y is not x and x.is_leaf and not y.is_leaf
    (y * 2).sum().backward()
    assert _close(x.grad, 2 * xpgrad.ones_like(x))


def test_not_in_the_plugin_registry():
    from xpgrad.plugins import registry

    Exp.apply(_x("cpu", 2))
    assert "Exp" not in registry.ops() and "Exp" not in registry.all_ops()


def test_backward_runs_once_per_node_call():
    calls = []

    class Counted(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            calls.append(1)
            return g, g

    x, y = _x("cpu", 3), _x("cpu", 3)
    Counted.apply(x, y).sum().backward()
    assert len(calls) == 1  # two inputs, one call of the user's backward


# ---------------------------------------------------------------------- create_graph and once_differentiable


@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_once_differentiable_first_order(device):
    x = _x(device, 2, 3)
    NumpySquare.apply(x).sum().backward()
    assert _close(x.grad, 2 * x.detach())
    assert xpgrad.gradcheck(NumpySquare.apply, (x,))


def test_once_differentiable_refuses_double_backward():
    x = _x("cpu", 2, 3)
    (g,) = xpgrad.autograd.grad(NumpySquare.apply(x).sum(), x, create_graph=True)
    assert _close(g, 2 * x.detach())  # create_graph itself is fine
    with pytest.raises(RuntimeError, match=re.escape(
            "trying to differentiate twice a function that was marked with @once_differentiable: "
            "NumpySquare.backward ran without recording")):
        g.sum().backward()


def test_backward_under_create_graph_is_recorded():
    x = _x("cpu", 3)
    (g,) = xpgrad.autograd.grad(LegendrePolynomial3.apply(x).sum(), x, create_graph=True)
    (h,) = xpgrad.autograd.grad(g.sum(), x)
    assert _close(h, 15 * x.detach())  # d/dx 1.5 (5x^2 - 1) = 15x


# ---------------------------------------------------------------------- errors


class _Returns(Function):
    """Backward returns whatever ``ctx.result(x, g)`` makes."""

    @staticmethod
    def forward(ctx, x, make, extra=None):
        ctx.make = make
        ctx.save_for_backward(x)
        return x * 1

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return ctx.make(x, g)


def _backward_of(make, *extra):
    x = _x("cpu", 2, 3)
    _Returns.apply(x, make, *extra).sum().backward()


def test_wrong_number_of_gradients():
    with pytest.raises(RuntimeError, match=re.escape(
            "function _Returns.backward returned an incorrect number of gradients (expected 2, got 1)")):
        _backward_of(lambda x, g: g)


def test_extra_none_gradients_are_accepted():
    _backward_of(lambda x, g: (g, None, None, None))


def test_wrong_gradient_shape():
    with pytest.raises(RuntimeError, match=re.escape(
            "function _Returns.backward returned a gradient of shape (3,) for input 0, whose shape "
            "is (2, 3)")):
        _backward_of(lambda x, g: (g[0], None))


def test_non_tensor_gradient():
    with pytest.raises(TypeError, match=re.escape(
            "function _Returns.backward returned ndarray as the gradient of input 0; a gradient "
            "must be a Tensor (or None)")):
        _backward_of(lambda x, g: (g.numpy(), None))


def test_gradient_for_non_tensor_argument():
    with pytest.raises(RuntimeError, match=re.escape(
            "function _Returns.backward returned a gradient different from None for input 1, but "
            "that argument of forward is not a Tensor")):
        _backward_of(lambda x, g: (g, g))


def test_gradient_on_wrong_device():
    with pytest.raises(RuntimeError, match=re.escape(
            "function _Returns.backward returned a gradient on device array_api_strict for input 0, "
            "which is on cpu")):
        _backward_of(lambda x, g: (g.to("array_api_strict"), None))


def test_output_must_be_tensor():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x):
            return x.detach().numpy()

    with pytest.raises(TypeError, match=re.escape(
            "function Bad.forward returned ndarray as output 0; outputs must be Tensors")):
        Bad.apply(_x("cpu", 2))


def test_save_for_backward_only_tensors():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, 3)
            return x * 1

    with pytest.raises(TypeError, match=re.escape(
            "Bad: save_for_backward can only save Tensors (or None), got int at position 1")):
        Bad.apply(_x("cpu", 2))


def test_instance_call_is_refused():
    with pytest.raises(RuntimeError, match=re.escape("Exp is called through the class: Exp.apply(*args)")):
        Exp()(_x("cpu", 2))


def test_saved_tensors_after_free():
    x = _x("cpu", 3)
    y = Exp.apply(x)
    y.sum().backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.grad_fn.saved_tensors
    with pytest.raises(RuntimeError, match="ExpBackward already freed the values it saved"):
        y.sum().backward()


def test_retain_graph_allows_a_second_backward():
    x = _x("cpu", 3)
    y = Exp.apply(x)
    y.sum().backward(retain_graph=True)
    assert len(y.grad_fn.saved_tensors) == 1
    y.sum().backward()
    assert _close(x.grad, 2 * x.detach().exp())


def test_saved_input_modified_in_place():
    x = _x("cpu", 3)
    h = x * 1
    y = LegendrePolynomial3.apply(h)
    h.mul_(2)
    with pytest.raises(RuntimeError, match=(
            "LegendrePolynomial3Backward saved for"
            " backward was modified by an in-place")):
        y.sum().backward()


def test_saved_output_modified_in_place():
    x = _x("cpu", 3)
    y = Exp.apply(x)
    z = y * 1  # MultiplyBackward needs no output of Exp; Exp's own saved output is checked
    y.add_(1)
    with pytest.raises(RuntimeError, match="ExpBackward saved for backward was modified by an in-place"):
        (y + z).sum().backward()


# ---------------------------------------------------------------------- forward mode rules


class Cube(Function):
    """Forward mode only: its backward must not be called."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_forward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        raise AssertionError("forward mode uses jvp")

    @staticmethod
    def jvp(ctx, t):
        (x,) = ctx.saved_tensors
        return 3 * x ** 2 * t


def test_jvp_rules_call_the_users_jvp():
    x = _x("cpu", 3)
    seen = []

    def hook(node, out, args):  # what a forward-mode record hook sees
        if type(node).__name__ == "CubeBackward":
            seen.append(node._op.jvp_rules[0].call(node.dev.xp, xpgrad.ones_like(x)._data, node.saved, None, node))

    xpgrad.dispatch.RECORD_HOOKS.append(hook)
    try:
        Cube.apply(x)
    finally:
        xpgrad.dispatch.RECORD_HOOKS.remove(hook)
    assert np.allclose(seen[0], 3 * x.detach().numpy() ** 2)
    assert Exp.apply(x).grad_fn._op.jvp_rules is None  # no jvp: the engine derives one


def test_forward_mode_through_functions(device):
    func = pytest.importorskip("xpgrad.func")

    x = xpgrad.randn(2, 3, dtype=xpgrad.float64, device=device)
    y = xpgrad.randn(3, dtype=xpgrad.float64, device=device)
    t = xpgrad.ones_like(x)
    assert _close(func.jvp(Cube.apply, (x,), (t,))[1], 3 * x ** 2)
    assert _close(func.jvp(Exp.apply, (x,), (t,))[1], x.exp())  # derived from backward
    _, tangent = func.jvp(lambda a, b: MulAdd.apply(a, b)[0] + 2 * MulAdd.apply(a, b)[1],
                          (x, y), (t, xpgrad.ones_like(y)))
    assert _close(tangent, x + y + 4)
