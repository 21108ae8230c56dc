"""The backward engine: long graphs, gradient accumulation, retain/create_graph,
``autograd.grad``/``autograd.backward``, hooks, retain_grad and memory (no cycles)."""
import gc
import math
import sys
import weakref

import numpy as np
import pytest

import xpgrad

from helpers import assert_close, dtype_name, values


@pytest.fixture
def no_gc():
    """Cyclic garbage collection off: only reference counting may free anything."""
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@pytest.fixture
def default_recursion_limit():
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)  # CPython's default
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


# ---------------------------------------------------------------------- long graphs


# The walk is the engine's alone, the same on every backend: these run on NumPy, where a
# long chain is cheap (array-api-strict checks every call and takes 8x longer).
@pytest.mark.parametrize("n", [2 * 10**5, pytest.param(10**6, marks=pytest.mark.slow)])
@pytest.mark.parametrize("device", ["cpu"])
def test_long_chain_backward_without_recursion(n, device, no_gc, default_recursion_limit):
    factor = 1.0000001
    x = xpgrad.tensor([1.0], dtype=xpgrad.float64, device=device, requires_grad=True)
    y = x * factor
    first = weakref.ref(y.grad_fn)
    for _ in range(n - 1):
        y = y * factor
    y.backward()
    # d(x * c**n)/dx = c**n: the backward multiplies the same factors as the forward
    assert x.grad.item() == pytest.approx(factor**n, rel=1e-9)
    assert x.grad.item() == pytest.approx(y.item(), rel=1e-12)
    assert first().freed
    # Dropping the output frees the whole chain by reference counting alone, without
    # the cyclic collector and without overflowing the C stack.
    del y
    assert first() is None


@pytest.mark.parametrize("device", ["cpu"])
def test_long_chain_freed_without_backward(device, no_gc, default_recursion_limit):
    x = xpgrad.tensor([1.0], device=device, requires_grad=True)
    y = x + 1.0
    first = weakref.ref(y.grad_fn)
    for _ in range(10**5):
        y = y * 1.0
    assert first() is not None and not first().freed
    del y
    assert first() is None


# ---------------------------------------------------------------------- accumulation


def test_fan_out_sums_gradients(device):
    x = xpgrad.tensor([0.5, -1.0, 2.0], device=device, requires_grad=True)
    y = x * x + x * 3.0 + x.exp()  # x used by four consumers (x * x counts twice)
    y.sum().backward()
    xs = np.array([0.5, -1.0, 2.0])
    assert_close(x.grad, 2 * xs + 3.0 + np.exp(xs), rtol=1e-5)


def test_fan_out_through_intermediate(device):
    x = xpgrad.tensor([1.5], device=device, requires_grad=True)
    h = x * 2.0
    y = h * h + h.sin() + h  # h feeds three ops
    y.backward()
    hv = 3.0
    assert_close(x.grad, [2.0 * (2 * hv + math.cos(hv) + 1)], rtol=1e-5)


def test_backward_accumulates_into_grad(device):
    x = xpgrad.tensor([2.0], device=device, requires_grad=True)
    (x * 3.0).backward()
    (x * x).backward()
    assert_close(x.grad, [3.0 + 4.0])
    x.grad.zero_()
    (x * 5.0).backward()
    assert_close(x.grad, [5.0])


def test_broadcast_gradients_are_reduced(device):
    a_np = np.arange(24, dtype=np.float32).reshape(4, 2, 3) / 10
    a = xpgrad.tensor(a_np.tolist(), device=device, requires_grad=True)
    b = xpgrad.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)  # (3,)
    c = xpgrad.tensor([[0.5], [-1.0]], device=device, requires_grad=True)  # (2, 1)
    d = xpgrad.tensor(2.0, device=device, requires_grad=True)  # ()
    e = xpgrad.tensor([[[1.0, 1.0, 2.0]]], device=device, requires_grad=True)  # (1, 1, 3)
    out = a * b + c * d - e
    assert out.shape == (4, 2, 3)
    out.sum().backward()
    assert a.grad.shape == (4, 2, 3) and b.grad.shape == (3,) and c.grad.shape == (2, 1)
    assert d.grad.shape == () and e.grad.shape == (1, 1, 3)
    assert_close(a.grad, np.broadcast_to([1.0, 2.0, 3.0], (4, 2, 3)))
    assert_close(b.grad, a_np.sum(axis=(0, 1)), rtol=1e-5)
    assert_close(c.grad, [[2.0 * 12], [2.0 * 12]])
    assert_close(d.grad, (0.5 - 1.0) * 12)
    assert_close(e.grad, -np.full((1, 1, 3), 8.0))


def test_broadcast_with_weighted_gradient(device):
    a = xpgrad.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], device=device, requires_grad=True)
    b = xpgrad.tensor([[10.0, 20.0]], device=device, requires_grad=True)  # (1, 2)
    out = a * b
    w = xpgrad.tensor([[1.0, 0.0], [2.0, 1.0], [0.0, 3.0]], device=device)
    out.backward(w)
    assert_close(b.grad, [[1 * 1 + 3 * 2 + 5 * 0, 2 * 0 + 4 * 1 + 6 * 3]])
    assert_close(a.grad, [[10.0, 0.0], [20.0, 20.0], [0.0, 60.0]])


# ---------------------------------------------------------------------- dtypes


def test_float32_stays_float32_in_every_gradient(device):
    x = xpgrad.tensor([[0.5, 1.0, 1.5], [2.0, 2.5, 3.0]], device=device, requires_grad=True)
    w = xpgrad.tensor([[0.1], [0.2], [0.3]], device=device, requires_grad=True)
    seen = {}

    def watch(name):
        def hook(g):
            seen[name] = g.dtype
        return hook

    steps = {}
    steps["pow"] = x ** 0.5
    steps["div"] = steps["pow"] / 3
    steps["exp"] = steps["div"].exp()
    steps["log"] = (steps["exp"] + 1.0).log()
    steps["matmul"] = steps["log"] @ w
    steps["sqrt"] = (steps["matmul"] * steps["matmul"] + 1e-3).sqrt()
    steps["mean"] = steps["sqrt"].mean(dim=0)
    steps["tanh"] = steps["mean"].tanh() * 2.5
    steps["norm"] = steps["tanh"].norm()
    for name, t in steps.items():
        assert dtype_name(t.dtype) == "float32", name
        t.register_hook(watch(name))
    x.register_hook(watch("x"))
    steps["norm"].backward()
    assert set(seen) == set(steps) | {"x"}
    for name, dt in seen.items():
        assert dtype_name(dt) == "float32", (name, dt)
    assert dtype_name(x.grad.dtype) == "float32" and dtype_name(w.grad.dtype) == "float32"


def test_mixed_precision_gradients_take_each_inputs_dtype(device):
    x32 = xpgrad.tensor([1.0, 2.0], device=device, requires_grad=True)
    x64 = xpgrad.tensor([3.0, 4.0], dtype=xpgrad.float64, device=device, requires_grad=True)
    y = x32 * x64
    assert dtype_name(y.dtype) == "float64"
    y.sum().backward()
    assert dtype_name(x32.grad.dtype) == "float32" and dtype_name(x64.grad.dtype) == "float64"
    assert_close(x32.grad, [3.0, 4.0])
    assert_close(x64.grad, [1.0, 2.0])


# ---------------------------------------------------------------------- retain_graph


def test_second_backward_without_retain_graph_raises(device):
    x = xpgrad.tensor([3.0], device=device, requires_grad=True)
    y = x * x
    y.backward()
    assert_close(x.grad, [6.0])
    with pytest.raises(RuntimeError, match=r"second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward(device):
    x = xpgrad.tensor([3.0], device=device, requires_grad=True)
    y = (x * x).exp()
    y.backward(retain_graph=True)
    first = values(x.grad).copy()
    assert_close(x.grad, [6.0 * math.exp(9.0)], rtol=1e-5)
    y.backward()
    assert_close(x.grad, 2 * first, rtol=1e-6)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


# ---------------------------------------------------------------------- higher order


def test_create_graph_third_derivative(device):
    x = xpgrad.tensor([1.5, -2.0], device=device, requires_grad=True)
    y = (x**4).sum()
    (d1,) = xpgrad.autograd.grad(y, x, create_graph=True)
    assert d1.requires_grad and d1.grad_fn is not None
    assert_close(d1, 4 * np.array([1.5, -2.0]) ** 3)
    (d2,) = xpgrad.autograd.grad(d1.sum(), x, create_graph=True)
    assert_close(d2, 12 * np.array([1.5, -2.0]) ** 2)
    (d3,) = xpgrad.autograd.grad(d2.sum(), x, create_graph=True)
    assert_close(d3, 24 * np.array([1.5, -2.0]))
    (d4,) = xpgrad.autograd.grad(d3.sum(), x)
    assert_close(d4, [24.0, 24.0])
    assert x.grad is None  # grad() returns, it does not accumulate


def test_backward_with_create_graph_then_differentiate_grad(device):
    x = xpgrad.tensor([2.0], device=device, requires_grad=True)
    y = x.sin() * x
    y.backward(create_graph=True)
    g = x.grad  # sin(x) + x cos(x), itself differentiable
    assert g.requires_grad
    assert_close(g, [math.sin(2.0) + 2.0 * math.cos(2.0)], rtol=1e-5)
    (gg,) = xpgrad.autograd.grad(g, x)
    assert_close(gg, [2 * math.cos(2.0) - 2.0 * math.sin(2.0)], rtol=1e-5)


# ---------------------------------------------------------------------- autograd.grad


def test_grad_with_grad_outputs(device):
    x = xpgrad.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    y = x * x
    v = xpgrad.tensor([1.0, 0.5, -2.0], device=device)
    (g,) = xpgrad.autograd.grad(y, x, grad_outputs=v)
    assert_close(g, 2 * np.array([1.0, 2.0, 3.0]) * np.array([1.0, 0.5, -2.0]))
    assert not g.requires_grad
    assert x.grad is None


def test_grad_multiple_inputs_and_outputs(device):
    a = xpgrad.tensor([1.0, 2.0], device=device, requires_grad=True)
    b = xpgrad.tensor([3.0, -1.0], device=device, requires_grad=True)
    out1 = (a * b).sum()
    out2 = (a * a).sum()
    ga, gb = xpgrad.autograd.grad([out1, out2], [a, b])
    assert_close(ga, np.array([3.0, -1.0]) + 2 * np.array([1.0, 2.0]))
    assert_close(gb, [1.0, 2.0])
    w1 = xpgrad.tensor(2.0, device=device)
    w2 = xpgrad.tensor(-1.0, device=device)
    out1 = (a * b).sum()
    out2 = (a * a).sum()
    ga, gb = xpgrad.autograd.grad((out1, out2), (a, b), grad_outputs=(w1, w2))
    assert_close(ga, 2 * np.array([3.0, -1.0]) - 2 * np.array([1.0, 2.0]))
    assert_close(gb, [2.0, 4.0])


def test_grad_allow_unused(device):
    x = xpgrad.tensor([1.0], device=device, requires_grad=True)
    unused = xpgrad.tensor([5.0], device=device, requires_grad=True)
    gx, gu = xpgrad.autograd.grad((x * 4.0).sum(), [x, unused], allow_unused=True)
    assert gu is None
    assert_close(gx, [4.0])
    with pytest.raises(RuntimeError, match=r"inputs\[1\] was not used.*allow_unused=True"):
        xpgrad.autograd.grad((x * 4.0).sum(), [x, unused])


def test_grad_with_respect_to_intermediate(device):
    x = xpgrad.tensor([1.0, 2.0], device=device, requires_grad=True)
    h = x * 3.0
    y = (h * h).sum()
    gh, gx = xpgrad.autograd.grad(y, [h, x])
    assert_close(gh, 2 * np.array([3.0, 6.0]))
    assert_close(gx, 18 * np.array([1.0, 2.0]))
    assert x.grad is None and h.grad is None


def test_autograd_backward_with_grad_tensors(device):
    x = xpgrad.tensor([1.0, 2.0], device=device, requires_grad=True)
    y1 = x * 2.0
    y2 = x * x
    xpgrad.autograd.backward(
        [y1, y2], [xpgrad.tensor([1.0, 1.0], device=device), xpgrad.tensor([0.5, 3.0], device=device)]
    )
    assert_close(x.grad, [2.0 + 0.5 * 2.0, 2.0 + 3.0 * 4.0])
    z = (x * x).sum()
    xpgrad.autograd.backward(z)
    assert_close(x.grad, [3.0 + 2.0, 14.0 + 4.0])


def test_xpgrad_grad_is_autograd_grad():
    assert xpgrad.grad is xpgrad.autograd.grad


# ---------------------------------------------------------------------- backward(inputs=...)
# As in PyTorch: only the given Tensors receive a gradient, through either entry point; a
# non-leaf among them accumulates into its .grad too (and retains its gradient from then
# on, as retain_grad() makes it).


def _two_leaves(device):
    x = xpgrad.tensor([1.0, 2.0], device=device, requires_grad=True)
    w = xpgrad.tensor([3.0, 4.0], device=device, requires_grad=True)
    return x, w


@pytest.mark.parametrize("entry", ["method", "function"])
def test_backward_inputs_accumulates_only_into_inputs(device, entry):
    x, w = _two_leaves(device)
    run = (lambda t, **kw: t.backward(**kw)) if entry == "method" else \
        (lambda t, **kw: xpgrad.autograd.backward(t, **kw))
    loss = (x * w * x).sum()
    run(loss, inputs=[x], retain_graph=True)
    assert_close(x.grad, [6.0, 16.0])  # 2 x w
    assert w.grad is None
    run(loss, inputs=w, retain_graph=True)  # one Tensor as it is
    assert_close(w.grad, [1.0, 4.0])
    assert_close(x.grad, [6.0, 16.0])  # left alone this time
    run(loss, inputs=(x, w))
    assert_close(x.grad, [12.0, 32.0])
    assert_close(w.grad, [2.0, 8.0])


@pytest.mark.parametrize("entry", ["method", "function"])
def test_backward_inputs_non_leaf_accumulates_into_its_grad(device, entry):
    x, w = _two_leaves(device)
    run = (lambda t, **kw: t.backward(**kw)) if entry == "method" else \
        (lambda t, **kw: xpgrad.autograd.backward(t, **kw))
    y = x * w
    z = (y * y).sum()
    run(z, inputs=[y], retain_graph=True)
    assert_close(y.grad, [6.0, 16.0])  # 2 y
    assert x.grad is None and w.grad is None
    assert y.retains_grad
    run(z, inputs=[y], retain_graph=True)
    assert_close(y.grad, [12.0, 32.0])
    run(z, inputs=[y, x])  # the walk goes on below y for x; y gets its gradient once more
    assert_close(y.grad, [18.0, 48.0])
    assert_close(x.grad, [18.0, 64.0])  # 2 y w
    assert w.grad is None


def test_backward_inputs_leaves_the_graph_below_a_non_leaf_input_unwalked(device):
    x, _ = _two_leaves(device)
    y = x * 2.0
    (y * y).sum().backward(inputs=[y])
    assert_close(y.grad, [4.0, 8.0])
    assert x.grad is None
    assert not y.grad_fn.freed  # y's own node never ran (PyTorch leaves it as well)
    (y * 1.0).sum().backward()
    assert_close(x.grad, [2.0, 2.0])


def test_backward_inputs_with_retain_grad_counts_once(device):
    x, w = _two_leaves(device)
    y = x * w
    y.retain_grad()
    (y * y).sum().backward(inputs=[y])
    assert_close(y.grad, [6.0, 16.0])


def test_backward_inputs_runs_hooks_and_accepts_unused_and_repeated_inputs(device):
    x, w = _two_leaves(device)
    unused = xpgrad.tensor([5.0], device=device, requires_grad=True)
    x.register_hook(lambda g: g * 10.0)
    (x * w).sum().backward(inputs=[unused, x, x])
    assert_close(x.grad, [30.0, 40.0])  # once, through the hook
    assert unused.grad is None and w.grad is None
    z = (x * 2.0).sum()
    z.backward(inputs=[z])  # the output itself
    assert_close(z.grad, 1.0)
    assert_close(x.grad, [30.0, 40.0])


def test_backward_inputs_with_create_graph(device):
    x, _ = _two_leaves(device)
    (x * x * x).sum().backward(inputs=[x], create_graph=True)
    assert_close(x.grad, [3.0, 12.0])
    assert x.grad.grad_fn is not None
    (g,) = xpgrad.autograd.grad(x.grad.sum(), x)
    assert_close(g, [6.0, 12.0])


@pytest.mark.parametrize("entry", ["method", "function"])
def test_backward_inputs_errors(device, entry):
    x, _ = _two_leaves(device)
    run = (lambda t, **kw: t.backward(**kw)) if entry == "method" else \
        (lambda t, **kw: xpgrad.autograd.backward(t, **kw))
    loss = (x * x).sum()
    for empty in ([], ()):
        with pytest.raises(RuntimeError, match=r"`inputs` argument to `backward\(\)` cannot be empty"):
            run(loss, inputs=empty, retain_graph=True)
    constant = xpgrad.tensor([1.0], device=device)
    with pytest.raises(RuntimeError, match=r"inputs\[1\] does not require grad"):
        run(loss, inputs=[x, constant], retain_graph=True)
    with pytest.raises(RuntimeError, match=r"inputs\[0\] must be a Tensor, got float"):
        run(loss, inputs=[1.0], retain_graph=True)
    with pytest.raises(TypeError, match=r"inputs must be a Tensor or a sequence of Tensors, got int"):
        run(loss, inputs=5, retain_graph=True)
    assert x.grad is None  # nothing ran


# ---------------------------------------------------------------------- hooks


def test_hooks_run_in_registration_order(device):
    x = xpgrad.tensor([1.0], device=device, requires_grad=True)
    h = x * 2.0
    calls = []
    h.register_hook(lambda g: calls.append(("first", g.item())))
    h.register_hook(lambda g: calls.append(("second", g.item())))
    h.register_hook(lambda g: calls.append(("third", g.item())))
    (h * 5.0).backward()
    assert calls == [("first", 5.0), ("second", 5.0), ("third", 5.0)]


def test_hook_return_value_replaces_gradient_of_leaf(device):
    x = xpgrad.tensor([1.0, 2.0], device=device, requires_grad=True)
    seen = []
    x.register_hook(lambda g: g * 10.0)
    x.register_hook(lambda g: seen.append(values(g).copy()))  # sees the replacement
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(seen[0], [30.0, 30.0])
    assert_close(x.grad, [30.0, 30.0])


def test_hook_return_value_replaces_gradient_flowing_on(device):
    x = xpgrad.tensor([1.0, 2.0], device=device, requires_grad=True)
    h = x * 3.0
    h.register_hook(lambda g: g * 0.5)
    h.retain_grad()
    (h * h).sum().backward()
    # dL/dh = 2h, halved by the hook, then times 3 on the way to x
    assert_close(h.grad, [3.0, 6.0])
    assert_close(x.grad, [9.0, 18.0])


def test_hook_handle_remove(device):
    x = xpgrad.tensor([1.0], device=device, requires_grad=True)
    calls = []
    handle = x.register_hook(lambda g: calls.append(1) or g * 100.0)
    (x * 2.0).backward()
    assert calls == [1]
    assert_close(x.grad, [200.0])
    handle.remove()
    x.grad = None
    (x * 2.0).backward()
    assert calls == [1]
    assert_close(x.grad, [2.0])
    handle.remove()  # removing twice is harmless


def test_hook_handle_remove_on_intermediate(device):
    x = xpgrad.tensor([1.0], device=device, requires_grad=True)
    h = x * 2.0
    handle = h.register_hook(lambda g: g * 0.0)
    handle.remove()
    (h * 4.0).backward()
    assert_close(x.grad, [8.0])


def test_retain_grad_on_non_leaf(device):
    x = xpgrad.tensor([1.0, -2.0], device=device, requires_grad=True)
    h = x * x
    h.retain_grad()
    assert h.retains_grad and not h.is_leaf
    k = x * 4.0  # no retain_grad: .grad stays None
    (h * 3.0 + k).sum().backward()
    assert_close(h.grad, [3.0, 3.0])
    assert k.grad is None
    assert_close(x.grad, [3.0 * 2 * 1.0 + 4.0, 3.0 * 2 * -2.0 + 4.0])


# ---------------------------------------------------------------------- memory


def test_graph_has_no_reference_cycles(device, no_gc):
    x = xpgrad.tensor([1.0, 2.0], device=device, requires_grad=True)
    w = xpgrad.tensor([0.5, 0.5], device=device, requires_grad=True)
    h = x * w
    e = h.exp()
    y = (e + h).sum()
    refs = [weakref.ref(o) for o in (x, w, h, e, y, h.grad_fn, e.grad_fn, y.grad_fn,
                                    h.grad_fn.next_functions[0][0])]
    assert all(r() is not None for r in refs)
    del x, w, h, e, y
    assert [r() for r in refs] == [None] * len(refs)


def test_graph_freed_after_backward_without_cycles(device, no_gc):
    x = xpgrad.tensor([1.0, 2.0], device=device, requires_grad=True)
    h = x * 2.0
    h.retain_grad()
    h.register_hook(lambda g: g)
    y = (h.exp() * h).sum()
    y.backward()
    assert_close(x.grad, 2 * (np.exp([2.0, 4.0]) * (1 + np.array([2.0, 4.0]))), rtol=1e-5)
    refs = [weakref.ref(o) for o in (x, h, y, x.grad, h.grad, h.grad_fn, y.grad_fn)]
    del x, h, y
    assert [r() for r in refs] == [None] * len(refs)


def test_saved_values_freed_after_backward(device, no_gc):
    x = xpgrad.tensor([1.0, 2.0], device=device, requires_grad=True)
    h = x * 2.0
    y = h * h  # saves h
    node = y.grad_fn
    assert not node.freed
    h_ref = weakref.ref(h)
    del h
    assert h_ref() is not None  # the node keeps what its backward needs
    y.sum().backward()
    assert node.freed
    assert h_ref() is None  # ... and lets it go once backward is done


def test_retain_graph_keeps_saved_values(device):
    x = xpgrad.tensor([1.0], device=device, requires_grad=True)
    y = x * x
    y.backward(retain_graph=True)
    assert not y.grad_fn.freed
    y.backward()
    assert y.grad_fn.freed


def test_node_that_needs_its_output_does_not_keep_output_tensor(device, no_gc):
    x = xpgrad.tensor([1.0], device=device, requires_grad=True)
    y = x.exp()
    node = y.grad_fn
    z = y * 2.0
    y_ref = weakref.ref(y)
    del y
    assert y_ref() is None  # exp's node saved the result's values, not the Tensor
    assert not node.freed
    z.backward()
    assert_close(x.grad, [2.0 * math.e], rtol=1e-6)
    assert node.freed


# ---------------------------------------------------------------------- no aliasing


def test_leaf_gradients_never_share_memory(device):
    # add's rule hands the same cotangent to both inputs, and the root gradient is the
    # user's own Tensor: each .grad must still be its own array.
    a = xpgrad.tensor([1.0, 2.0], device=device, requires_grad=True)
    b = xpgrad.tensor([3.0, 4.0], device=device, requires_grad=True)
    weights = xpgrad.tensor([1.0, 1.0], device=device)
    (a + b).backward(weights)
    with xpgrad.no_grad():
        a.grad += 1
    assert a.grad.tolist() == [2.0, 2.0]
    assert b.grad.tolist() == [1.0, 1.0]
    assert weights.tolist() == [1.0, 1.0]
    leaf = xpgrad.tensor([5.0, 6.0], device=device, requires_grad=True)
    leaf.backward(weights)
    with xpgrad.no_grad():
        leaf.grad *= 3
    assert weights.tolist() == [1.0, 1.0]


# ---------------------------------------------------------------------- large gradients in place
# From 64 KiB on, the engine sums an input's gradients in place into a buffer no one else
# holds, and the hot rules multiply their fresh derivative in place. None of it may show:
# not in the values, not in arrays the user or the graph still holds.

LARGE = 100_000  # elements: 800 KB in float64, above both thresholds


def _large(device, dtype=xpgrad.float64, seed=0):
    xpgrad.manual_seed(seed)
    return xpgrad.randn(LARGE, dtype=dtype, device=device, requires_grad=True)


def test_large_fan_in_gradients_are_exact(device):
    x = _large(device)
    xv = values(x)
    (x.sin() * x + (-x * x).exp() + x.cos() * x.tanh()).sum().backward()
    t = np.tanh(xv)
    expected = (np.cos(xv) * xv + np.sin(xv) - 2 * xv * np.exp(-xv * xv)
                - np.sin(xv) * t + np.cos(xv) * (1 - t * t))
    assert_close(x.grad, expected, rtol=1e-12, atol=1e-12)
    assert_close(x, xv, rtol=0, atol=0)  # the input itself was never written


def test_large_shared_cotangent_is_not_written(device):
    # add sends one and the same cotangent array to both of its inputs; u then receives
    # a third gradient: summing into the shared array would double-count.
    x = _large(device)
    u = x * 2.0
    v = u + u
    ((v + u) * x).sum().backward()
    assert_close(x.grad, 12 * values(x), rtol=1e-12, atol=1e-12)


def test_large_gradient_a_hook_kept_is_not_written(device):
    x = _large(device)
    u = x * 3.0
    seen = []
    u.register_hook(lambda g: seen.append(g.detach()))
    (u * u + u.sin()).sum().backward()
    xv = values(x)
    assert_close(seen[0], 6 * xv + np.cos(3 * xv), rtol=1e-12, atol=1e-12)
    assert_close(x.grad, 3 * (6 * xv + np.cos(3 * xv)), rtol=1e-12, atol=1e-12)


def test_large_gradients_again_with_retain_graph(device):
    x = _large(device)
    y = (x.sin() * x + x.cos() * x).sum()
    (first,) = xpgrad.autograd.grad(y, x, retain_graph=True)
    first_values = values(first)
    (second,) = xpgrad.autograd.grad(y, x)
    assert_close(second, first_values, rtol=0, atol=0)
    assert_close(first, first_values, rtol=0, atol=0)  # the first result left alone


def test_large_backward_accumulates_into_an_existing_grad(device):
    x = _large(device)
    (x * x).sum().backward()
    held = x.grad
    (x.sin() * x).sum().backward()
    xv = values(x)
    assert_close(x.grad, 2 * xv + np.cos(xv) * xv + np.sin(xv), rtol=1e-12, atol=1e-12)
    assert held is x.grad  # accumulated into the same Tensor, as PyTorch does


def test_large_float32_gradients_stay_float32(device):
    x = _large(device, dtype=xpgrad.float32)
    (x.sin() * x + x.tanh() * x).sum().backward()
    assert dtype_name(x.grad.dtype) == "float32"
    xv = values(x)
    t = np.tanh(xv)
    assert_close(x.grad, np.cos(xv) * xv + np.sin(xv) + (1 - t * t) * xv + t, rtol=1e-5, atol=1e-5)


def test_numpy_tells_a_fresh_array_from_a_view_or_a_read_only_one():
    backend = xpgrad.device("cpu").backend
    fresh = np.ones(10) + 1
    assert backend.fresh(fresh)
    assert not backend.fresh(fresh[2:])  # a view
    assert not backend.fresh(np.broadcast_to(fresh, (3, 10)))  # read-only
    assert not backend.fresh(np.float64(1.0))  # a scalar: nothing to write into


def test_a_grad_the_user_assigned_over_their_own_array_is_never_written(device):
    data = np.zeros(3)
    x = xpgrad.tensor([1.0, 2.0, 3.0], dtype=xpgrad.float64, device=device, requires_grad=True)
    if device == "cpu":
        x.grad = xpgrad.as_tensor(data)
    else:
        x.grad = xpgrad.tensor(data, device=device)
    (x * x).sum().backward()
    np.testing.assert_array_equal(data, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(values(x.grad), [2.0, 4.0, 6.0])


def test_pytorch_adds_into_a_grad_over_the_users_array():
    # The other side of the difference above (docs/oracle.md): PyTorch writes into it.
    torch = pytest.importorskip("torch")
    data = np.zeros(3)
    x = torch.ones(3, dtype=torch.float64, requires_grad=True)
    x.grad = torch.from_numpy(data)
    (x * x).sum().backward()
    np.testing.assert_array_equal(data, [2.0, 2.0, 2.0])
