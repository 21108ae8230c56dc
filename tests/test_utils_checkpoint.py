"""xpgrad.utils.checkpoint: checkpoint and checkpoint_sequential in PyTorch's form.

Gradients equal those without checkpointing (and PyTorch's), the function runs again
in backward, keyword arguments pass through, and the options xpgrad cannot honour are
refused, on every device.
"""
import re

import numpy as np
import pytest

import xpgrad
import xpgrad.utils.checkpoint
from xpgrad.utils.checkpoint import checkpoint, checkpoint_sequential

from helpers import assert_close

F64 = xpgrad.float64
X = [0.5, -1.0, 2.0]
W = [1.5, 0.25, -0.5]


def t64(data, device, requires_grad=False):
    return xpgrad.tensor(data, dtype=F64, device=device, requires_grad=requires_grad)


class Counted:
    """A function that counts its calls: ``(tanh(x * w) * x).sum() * scale + bias``."""

    def __init__(self):
        self.calls = 0

    def __call__(self, x, w, scale=1.0, bias=0.0):
        self.calls += 1
        return ((x * w).tanh() * x).sum() * scale + bias


def _analytic_grads(scale):
    x, w = np.array(X), np.array(W)
    th = np.tanh(x * w)
    d = 1 - th ** 2
    return scale * (th + x * w * d), scale * x * x * d


@pytest.mark.parametrize("use_reentrant", [None, True, False])
def test_gradient_equals_plain_and_function_runs_again_in_backward(device, use_reentrant):
    f = Counted()
    x, w = t64(X, device, True), t64(W, device, True)
    y = checkpoint(f, x, w, use_reentrant=use_reentrant)
    assert f.calls == 1
    assert type(y.grad_fn).__name__ == "CheckpointBackward"  # one node: no intermediate kept
    y.backward()
    assert f.calls == 2  # recomputed in backward
    gx, gw = x.grad, w.grad
    x.grad = w.grad = None
    f(x, w).backward()
    assert_close(gx, x.grad)
    assert_close(gw, w.grad)
    ex, ew = _analytic_grads(1.0)
    assert_close(gx, ex, dtype=F64, device=device)
    assert_close(gw, ew, dtype=F64, device=device)


def test_matches_torch(device):
    torch = pytest.importorskip("torch")
    from torch.utils.checkpoint import checkpoint as torch_checkpoint

    f = Counted()
    tx = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    tw = torch.tensor(W, dtype=torch.float64, requires_grad=True)
    torch_checkpoint(f, tx, tw, scale=3.0, use_reentrant=False).backward()
    x, w = t64(X, device, True), t64(W, device, True)
    y = checkpoint(f, x, w, scale=3.0, use_reentrant=False)
    assert_close(y, f(tx, tw, scale=3.0).detach().numpy(), dtype=F64, device=device)
    y.backward()
    assert_close(x.grad, tx.grad.numpy(), dtype=F64, device=device)
    assert_close(w.grad, tw.grad.numpy(), dtype=F64, device=device)


def test_keyword_arguments_pass_through(device):
    f = Counted()
    x, w = t64(X, device, True), t64(W, device, True)
    bias = t64(0.5, device, True)
    y = checkpoint(f, x, w, scale=2.0, bias=bias)
    ex, ew = _analytic_grads(2.0)
    assert_close(y, 2 * float((np.tanh(np.array(X) * W) * X).sum()) + 0.5, dtype=F64, device=device)
    y.backward()
    assert f.calls == 2
    assert_close(x.grad, ex, dtype=F64, device=device)
    assert_close(w.grad, ew, dtype=F64, device=device)
    assert_close(bias.grad, 1.0, dtype=F64, device=device)  # a Tensor keyword argument gets its gradient


def test_second_order_through_checkpoint(device):
    x = t64(X, device, True)
    y = checkpoint(lambda x: (x ** 3).sum(), x)
    (g,) = xpgrad.autograd.grad(y, x, create_graph=True)
    (gg,) = xpgrad.autograd.grad(g.sum(), x)
    assert_close(g, 3 * np.array(X) ** 2, dtype=F64, device=device)
    assert_close(gg, 6 * np.array(X), dtype=F64, device=device)


def test_only_a_closure_weight_requires_grad(device):
    """No argument requires grad, a weight read from a closure does: the checkpoint
    still saves no intermediate, and the weight gets its gradient. Where nothing the
    function reads requires grad, it runs once and its result has no graph."""
    w = t64(W, device, True)
    calls = []
    y = checkpoint(lambda x: calls.append(1) or (x * w).sin().sum(), t64(X, device))
    assert type(y.grad_fn).__name__ == "CheckpointBackward"
    y.backward()
    assert len(calls) == 2
    assert_close(w.grad, np.array(X) * np.cos(np.array(X) * W), dtype=F64, device=device)
    calls.clear()
    z = checkpoint(lambda x: calls.append(1) or x.sin().sum(), t64(X, device))
    assert len(calls) == 1 and z.grad_fn is None and not z.requires_grad


def test_weight_from_a_closure_gets_its_gradient(device):
    """A weight read from a closure gets its gradient, as in PyTorch's non-reentrant
    checkpoint, and the function still runs again in backward."""
    x, w = t64(X, device, True), t64(W, device, True)
    calls = []
    y = checkpoint(lambda x: calls.append(1) or (x * w).sin().sum(), x, use_reentrant=False)
    y.backward()
    assert len(calls) == 2
    assert_close(w.grad, np.array(X) * np.cos(np.array(X) * W), dtype=F64, device=device)
    assert_close(x.grad, W * np.cos(np.array(X) * W), dtype=F64, device=device)


def test_determinism_check(device):
    x = t64(X, device, True)
    runs = []

    def changes(x):
        runs.append(1)
        return x.sin() if len(runs) == 1 else x.sin()[:2]

    y = checkpoint(changes, x)
    with pytest.raises(RuntimeError, match=re.escape(
            "checkpoint: recomputed values for the following tensors have different metadata than during the "
            "forward pass.\noutput 0: shape (3,), dtype float64")):
        y.sum().backward()
    y = checkpoint(lambda x: x.exp(), x, determinism_check="none")
    y.sum().backward()
    assert_close(x.grad, np.exp(X), dtype=F64, device=device)


def test_refused_options(device):
    x = t64(X, device, True)
    f = Counted()
    with pytest.raises(NotImplementedError, match=re.escape("checkpoint: context_fn is not supported")):
        checkpoint(f, x, x, use_reentrant=False, context_fn=lambda: (None, None))
    with pytest.raises(NotImplementedError, match=re.escape("checkpoint: debug=True is not supported")):
        checkpoint(f, x, x, use_reentrant=False, debug=True)
    for reentrant in (None, True):
        with pytest.raises(ValueError, match=re.escape(
                "Passing `context_fn` or `debug` is only supported when use_reentrant=False.")):
            checkpoint(f, x, x, use_reentrant=reentrant, debug=True)
    with pytest.raises(ValueError, match=re.escape(
            "determinism_check should be one of ['default', 'none'], but got strict")):
        checkpoint(f, x, x, determinism_check="strict")
    with pytest.raises(TypeError, match=re.escape("use_reentrant must be True, False or None, got 'no'")):
        checkpoint(f, x, x, use_reentrant="no")
    assert f.calls == 0
    # accepted, and without effect on the result
    y = checkpoint(f, x, x, use_reentrant=False, early_stop=False, preserve_rng_state=False)
    assert_close(y, float((np.tanh(np.array(X) ** 2) * X).sum()), dtype=F64, device=device)


def _chain(calls):
    def make(k, fn):
        def step(t):
            calls[k] += 1
            return fn(t)
        return step

    return [make(0, lambda t: t * 2), make(1, lambda t: t.sin()), make(2, lambda t: t.exp()),
            make(3, lambda t: (t * t).sum())]


def test_checkpoint_sequential(device):
    calls = [0] * 4
    x = t64(X, device, True)
    y = checkpoint_sequential(_chain(calls), 2, x, use_reentrant=False)
    y.backward()
    assert calls == [2, 2, 1, 1]  # the first segment runs again in backward, the last does not
    a = np.array(X)
    s = np.exp(np.sin(2 * a))
    assert_close(y, float((s * s).sum()), dtype=F64, device=device)
    assert_close(x.grad, 2 * s * s * np.cos(2 * a) * 2, dtype=F64, device=device)
    with pytest.raises(ValueError, match=re.escape("Unexpected keyword arguments: foo,bar")):
        checkpoint_sequential(_chain(calls), 2, x, foo=1, bar=2)
    with pytest.raises(ValueError, match=re.escape(
            "checkpoint_sequential: segments must be an int from 1 to the number of functions (4), got 5")):
        checkpoint_sequential(_chain(calls), 5, x)


def test_checkpoint_sequential_matches_torch(device):
    torch = pytest.importorskip("torch")
    tx = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    torch.utils.checkpoint.checkpoint_sequential(_chain([0] * 4), 3, tx, use_reentrant=False).backward()
    x = t64(X, device, True)
    checkpoint_sequential(_chain([0] * 4), 3, x, use_reentrant=False).backward()
    assert_close(x.grad, tx.grad.numpy(), dtype=F64, device=device)


def test_module_path():
    assert xpgrad.utils.checkpoint.checkpoint is checkpoint
    assert set(xpgrad.utils.checkpoint.__all__) == {"checkpoint", "checkpoint_sequential"}
