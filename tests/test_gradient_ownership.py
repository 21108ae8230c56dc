"""Gradients the engine hands out are its own arrays.

A gradient returned by ``autograd.grad``, ``func.grad`` or ``func.vjp``, one passed to a
hook, and one stored into ``.grad`` may be changed in place by the user. That must never
change a weight, an input, a forward output, the user's ``grad_outputs`` or another
gradient, whatever the rules returned: a rule may hand back its cotangent itself
(positive, add), a view of it (reshape), a broadcast view (sum), or even a saved
argument (multiply's rule returns ``w`` itself where the cotangent is a broadcast 1 of a
large array). Each program of the table below is run at a small size and at a size where
the rules' large-array shortcuts apply.
"""
import numpy as np
import pytest

import xpgrad
from xpgrad import xp

from helpers import values

F64 = xpgrad.float64
# large: above 512 KiB of float64, where multiply's rule returns w itself for a unit cotangent
SIZES = [pytest.param(6, id="small"), pytest.param(70_000, id="large")]


@pytest.fixture(autouse=True)
def _large_on_strided_backends_only(request):
    """The rules' large-array shortcuts are taken on arrays with strides only (NumPy,
    CuPy); elsewhere a large case would repeat the small one, slowly (dask)."""
    callspec = getattr(request.node, "callspec", None)
    params = callspec.params if callspec else {}
    if params.get("n", 0) > 1000 and params.get("device") not in ("cpu", "cuda"):
        pytest.skip("large arrays take the shortcuts on NumPy and CuPy only")


def _leaf(device, n, start, requires_grad=True, shape=None):
    data = np.linspace(start, start + 1.0, n)
    t = xpgrad.tensor(data if shape is None else data.reshape(shape), dtype=F64, device=device)
    return t.requires_grad_() if requires_grad else t


# Each program: (device, n) -> (outputs, grad_outputs or None, inputs, watched), where
# ``inputs`` are what gradients are taken with respect to (leaves and intermediates) and
# ``watched`` every other Tensor the user holds: weights, inputs, forward outputs and
# their own grad_outputs.


def multiply(device, n):
    x, w = _leaf(device, n, 0.5), _leaf(device, n, 2.0, requires_grad=False)
    y = x * w
    loss = y.sum()
    return loss, None, [x], {"x": x, "w": w, "y": y, "loss": loss}


def multiply_both(device, n):
    x, w = _leaf(device, n, 0.5), _leaf(device, n, 2.0)
    y = w * x
    loss = y.sum()
    return loss, None, [x, w], {"x": x, "w": w, "y": y, "loss": loss}


def add(device, n):
    x, w = _leaf(device, n, 0.5), _leaf(device, n, 2.0)
    y = x + w
    return y, xpgrad.ones_like(y), [x, w], {"x": x, "w": w, "y": y}


def add_weighted(device, n):
    x, w = _leaf(device, n, 0.5), _leaf(device, n, 2.0)
    v = _leaf(device, n, -1.0, requires_grad=False)
    y = x + w
    return y, v, [x, w], {"x": x, "w": w, "y": y, "v": v}


def reshape(device, n):
    x, w = _leaf(device, n, 0.5), _leaf(device, n, 2.0, requires_grad=False, shape=(n // 2, 2))
    y = x.reshape(n // 2, 2)
    z = y * w
    loss = z.sum()
    return loss, None, [x, y], {"x": x, "w": w, "y": y, "z": z, "loss": loss}


def getitem(device, n):
    x, w = _leaf(device, n, 0.5), _leaf(device, n, 2.0)
    y = x[1:]
    z = y * w[1:]
    loss = z.sum()
    return loss, None, [x, y, w], {"x": x, "w": w, "y": y, "z": z, "loss": loss}


def positive(device, n):
    x, w = _leaf(device, n, 0.5), _leaf(device, n, 2.0, requires_grad=False)
    y = +x
    z = y * w
    loss = z.sum()
    return loss, None, [x, y], {"x": x, "w": w, "y": y, "z": z, "loss": loss}


def positive_weighted(device, n):
    x = _leaf(device, n, 0.5)
    v = _leaf(device, n, -1.0, requires_grad=False)
    y = +x
    return y, v, [x, y], {"x": x, "y": y, "v": v}


def astype_same_dtype(device, n):
    x, w = _leaf(device, n, 0.5), _leaf(device, n, 2.0)
    y = xp.astype(x, F64)
    z = y * w
    loss = z.sum()
    return loss, None, [x, y, w], {"x": x, "w": w, "y": y, "z": z, "loss": loss}


def summed(device, n):
    x = _leaf(device, n, 0.5)
    loss = x.sum()
    return loss, None, [x], {"x": x, "loss": loss}


def broadcast(device, n):
    w = _leaf(device, n, 2.0)
    x = _leaf(device, 2 * n, 0.5, shape=(2, n))
    y = xp.broadcast_to(w, (2, n))
    z = y * x
    loss = z.sum()
    return loss, None, [w, y, x], {"x": x, "w": w, "y": y, "z": z, "loss": loss}


def output_is_input(device, n):
    x = _leaf(device, n, 0.5)
    v = _leaf(device, n, -1.0, requires_grad=False)
    return x, v, [x], {"x": x, "v": v}


def repeated_input(device, n):
    x, w = _leaf(device, n, 0.5), _leaf(device, n, 2.0, requires_grad=False)
    y = x * w
    loss = y.sum()
    return loss, None, [x, x], {"x": x, "w": w, "y": y, "loss": loss}


PROGRAMS = [multiply, multiply_both, add, add_weighted, reshape, getitem, positive,
            positive_weighted, astype_same_dtype, summed, broadcast, output_is_input,
            repeated_input]


def _snapshot(tensors):
    return {name: values(t) for name, t in tensors.items()}


def _assert_unchanged(tensors, before, what):
    for name, t in tensors.items():
        np.testing.assert_array_equal(values(t), before[name], err_msg=f"{name} changed by {what}")


def _zero_in_place(g, how):
    with xpgrad.no_grad():
        if how == "mul_":
            g.mul_(0)
        else:
            g[...] = 0


def _check_each_gradient_alone(grads, watched, how):
    """Zero each gradient in place in turn: nothing else may change."""
    before = _snapshot(watched)
    others = {f"gradient {i}": g for i, g in enumerate(grads)}
    kept = _snapshot(others)
    for i, g in enumerate(grads):
        _zero_in_place(g, how)
        assert not values(g).any()
        del others[f"gradient {i}"]
        _assert_unchanged(watched, before, f"writing gradient {i}")
        _assert_unchanged(others, kept, f"writing gradient {i}")


# ---------------------------------------------------------------------- autograd.grad


@pytest.mark.parametrize("create_graph, how", [(False, "mul_"), (True, "setitem")],
                         ids=["plain", "create_graph"])
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("program", PROGRAMS)
def test_grad_returns_gradients_of_its_own(program, n, how, create_graph, device):
    outputs, grad_outputs, inputs, watched = program(device, n)
    grads = xpgrad.autograd.grad(outputs, inputs, grad_outputs, create_graph=create_graph)
    _check_each_gradient_alone(grads, watched, how)


# ---------------------------------------------------------------------- func.grad, func.vjp


@pytest.mark.parametrize("n", SIZES)
def test_func_grad_returns_gradients_of_its_own(n, device):
    x = _leaf(device, n, 0.5, requires_grad=False)
    w = _leaf(device, n, 2.0, requires_grad=False)
    watched = {"x": x, "w": w}
    grads = xpgrad.func.grad(lambda x, w: (x * w).sum(), argnums=(0, 1))(x, w)
    _check_each_gradient_alone(grads, watched, "mul_")
    g = xpgrad.func.grad(lambda x: (x * w).sum())(x)  # w itself, for a large unit cotangent
    _check_each_gradient_alone([g], watched, "mul_")


@pytest.mark.parametrize("n", SIZES)
def test_func_vjp_returns_gradients_of_its_own(n, device):
    x = _leaf(device, n, 0.5, requires_grad=False)
    w = _leaf(device, n, 2.0, requires_grad=False)
    v = _leaf(device, n, -1.0, requires_grad=False)
    ones = xpgrad.ones_like(v)
    out, pullback = xpgrad.func.vjp(lambda x: +x, x)
    watched = {"x": x, "w": w, "v": v, "ones": ones, "out": out}
    _check_each_gradient_alone(pullback(v), watched, "mul_")  # the cotangent passed on
    out, pullback = xpgrad.func.vjp(lambda x: x * w, x)
    watched["out"] = out
    _check_each_gradient_alone(pullback(ones), watched, "setitem")  # w, for a unit cotangent
    out, pullback = xpgrad.func.vjp(lambda x, w: (x + w, w.sum()), x, w)
    watched["out0"], watched["out1"] = out
    _check_each_gradient_alone(pullback((v, xpgrad.tensor(1.0, dtype=F64, device=device))),
                               watched, "mul_")


# ---------------------------------------------------------------------- hooks


def _backward(outputs, grad_outputs, create_graph=False):
    outputs.backward(grad_outputs, create_graph=create_graph)


def _leaf_grads(inputs):
    return [values(t.grad) for t in inputs if t.is_leaf and t.grad is not None]


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("program", PROGRAMS)
def test_a_hook_that_writes_its_gradient_changes_nothing_else(program, n, device):
    # The reference doubles out of place (a hook returning a new Tensor); writing the
    # gradient in place must give the same .grad and leave everything else alone.
    outputs, grad_outputs, inputs, _ = program(device, n)
    for t in inputs:
        t.register_hook(lambda g: g * 2)
    _backward(outputs, grad_outputs)
    expected = _leaf_grads(inputs)

    outputs, grad_outputs, inputs, watched = program(device, n)
    before = _snapshot(watched)

    def double_in_place(g):
        g.mul_(2)

    for t in inputs:
        t.register_hook(double_in_place)
    _backward(outputs, grad_outputs)
    _assert_unchanged(watched, before, "a hook writing its gradient")
    got = _leaf_grads(inputs)
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------- .grad


@pytest.mark.parametrize("create_graph", [False, True], ids=["plain", "create_graph"])
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("program", PROGRAMS)
def test_each_grad_is_its_own_array(program, n, create_graph, device):
    outputs, grad_outputs, inputs, watched = program(device, n)
    _backward(outputs, grad_outputs, create_graph)
    leaves = {name: t for name, t in watched.items() if t.is_leaf and t.grad is not None}
    before = _snapshot(watched)
    grads = {f"{name}.grad": t.grad for name, t in leaves.items()}
    kept = _snapshot(grads)
    for name in list(grads):
        _zero_in_place(grads.pop(name), "mul_")
        _assert_unchanged(watched, before, f"writing {name}")
        _assert_unchanged(grads, kept, f"writing {name}")
