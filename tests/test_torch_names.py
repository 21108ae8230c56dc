"""The PyTorch-face names a PyTorch user reaches for: ``xpgrad.cat``, ``softmax``,
``Tensor.unsqueeze`` and the rest, with PyTorch's argument names (``dim``, ``keepdim``),
on every backend; values against PyTorch where it is installed and against the formulas
everywhere, gradients against finite differences, first and second order."""
import re

import numpy as np
import pytest

import xpgrad
from xpgrad.testing import check_grads

from helpers import assert_close

F64 = xpgrad.float64


def _t(data, device, requires_grad=False):
    return xpgrad.tensor(np.asarray(data, dtype=np.float64), dtype=F64, device=device,
                         requires_grad=requires_grad)


def _np(t):
    return np.asarray(t.detach().cpu().numpy())


# ---------------------------------------------------------------------- joining, shapes


def test_cat_and_stack_take_dim(device):
    a = _t([[1.0, 2.0], [3.0, 4.0]], device, True)
    b = _t([[5.0, 6.0]], device, True)
    assert_close(xpgrad.cat([a, b], dim=0), [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert_close(xpgrad.cat((a, a), dim=1), [[1.0, 2.0, 1.0, 2.0], [3.0, 4.0, 3.0, 4.0]])
    assert xpgrad.concat is xpgrad.cat and xpgrad.concatenate is xpgrad.cat
    assert tuple(xpgrad.stack([a, a], dim=2).shape) == (2, 2, 2)
    assert tuple(xpgrad.stack([a, a]).shape) == (2, 2, 2)
    check_grads(lambda a, b: xpgrad.cat([a, b * b], dim=0), a, b)
    check_grads(lambda a: xpgrad.stack([a, a * a], dim=-1), a)
    with pytest.raises(TypeError, match=re.escape("xpgrad.cat() takes a list or tuple of Tensors, got Tensor")):
        xpgrad.cat(a)


def test_flatten_unsqueeze_squeeze_expand_permute_shapes(device):
    x = _t(np.arange(24.0).reshape(2, 3, 4), device, True)
    assert tuple(xpgrad.flatten(x).shape) == (24,)
    assert tuple(x.flatten(1).shape) == (2, 12)
    assert tuple(x.flatten(0, 1).shape) == (6, 4)
    assert tuple(x.flatten(-2, -1).shape) == (2, 12)
    assert tuple(xpgrad.flatten(_t(3.0, device)).shape) == (1,)
    assert_close(x.flatten(1), np.arange(24.0).reshape(2, 12))
    assert tuple(x.unsqueeze(0).shape) == (1, 2, 3, 4)
    assert tuple(xpgrad.unsqueeze(x, -1).shape) == (2, 3, 4, 1)
    y = _t(np.ones((1, 3, 1)), device)
    assert tuple(y.squeeze().shape) == (3,)
    assert tuple(y.squeeze(0).shape) == (3, 1)
    assert tuple(y.squeeze(1).shape) == (1, 3, 1)  # not of size 1: left alone, as in PyTorch
    assert tuple(xpgrad.squeeze(y, (0, 2)).shape) == (3,)
    row = _t([[1.0, 2.0, 3.0]], device, True)
    assert_close(row.expand(2, 3), [[1.0, 2.0, 3.0]] * 2)
    assert tuple(row.expand(4, -1, -1).shape) == (4, 1, 3)
    assert tuple(row.expand_as(_t(np.zeros((5, 3)), device)).shape) == (5, 3)
    assert tuple(xpgrad.permute(x, (2, 0, 1)).shape) == (4, 2, 3)
    check_grads(lambda r: r.expand(3, 3) * r.expand(3, 3), row)
    check_grads(lambda x: x.flatten(1).unsqueeze(0).squeeze(0), x, order=1)


def test_shape_errors_say_what_is_wrong(device):
    x = _t(np.zeros((2, 3)), device)
    with pytest.raises(RuntimeError, match=re.escape(
            "flatten() has invalid args: start_dim cannot come after end_dim")):
        x.flatten(1, 0)
    with pytest.raises(IndexError, match=re.escape(
            "flatten(): Dimension out of range (expected to be in range of [-2, 1], but got 2)")):
        x.flatten(2)
    with pytest.raises(RuntimeError, match=re.escape(
            "expand: the number of sizes provided (1) must be greater or equal to the number of "
            "dimensions in the tensor (2)")):
        x.expand(3)


def test_shapes_match_pytorch(device):
    torch = pytest.importorskip("torch")
    data = np.arange(24.0).reshape(2, 1, 3, 4)
    x, tx = _t(data, device), torch.tensor(data)
    for fn in (lambda m, t: m.flatten(t, 1, 2), lambda m, t: m.squeeze(t), lambda m, t: m.squeeze(t, 1),
               lambda m, t: m.squeeze(t, 0), lambda m, t: m.unsqueeze(t, 2), lambda m, t: m.permute(t, (3, 1, 0, 2))):
        assert_close(fn(xpgrad, x), fn(torch, tx).numpy())
    assert_close(x.expand(5, 2, 3, 3, 4), tx.expand(5, 2, 3, 3, 4).numpy())


# ---------------------------------------------------------------------- activations


def test_clamp_and_clip(device):
    x = _t([-2.0, -0.5, 0.5, 2.0], device, True)
    assert_close(xpgrad.clamp(x, min=-1.0, max=1.0), [-1.0, -0.5, 0.5, 1.0])
    assert_close(xpgrad.clip(x, max=0.0), [-2.0, -0.5, 0.0, 0.0])
    assert_close(x.clip(min=0.0), [0.0, 0.0, 0.5, 2.0])
    xpgrad.clamp(x, -1.0, 1.0).sum().backward()
    assert_close(x.grad, [0.0, 1.0, 1.0, 0.0])
    with pytest.raises(RuntimeError, match=re.escape("clamp(): at least one of 'min' or 'max' must not be None")):
        xpgrad.clamp(x)


def test_sigmoid_is_stable_and_precise(device):
    x = _t([-1000.0, -40.0, -1.0, 0.0, 2.0, 1000.0], device, True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # not even in a branch not taken
        y = xpgrad.sigmoid(x)
    expected = np.array([0.0, np.exp(-40.0) / (1 + np.exp(-40.0)), 1 / (1 + np.e), 0.5,
                         1 / (1 + np.exp(-2.0)), 1.0])
    assert_close(y, expected, rtol=1e-15, atol=0.0)  # e^-40 keeps its digits: not 1 - 1
    assert type(y.grad_fn).__name__ == "SigmoidBackward0"
    y.sum().backward()
    assert_close(x.grad, expected * (1 - expected), rtol=1e-14, atol=0.0)
    assert_close(x.sigmoid(), expected, rtol=1e-15, atol=0.0)
    check_grads(xpgrad.sigmoid, _t([-3.0, -0.2, 0.4, 5.0], device, True))
    _, t = xpgrad.func.jvp(xpgrad.sigmoid, (_t([0.3], device),), (_t([2.0], device),))
    s = 1 / (1 + np.exp(-0.3))
    assert_close(t, [2.0 * s * (1 - s)])


def test_relu_gradient_is_zero_at_zero(device):
    x = _t([-1.0, 0.0, 2.0], device, True)
    y = xpgrad.relu(x)
    assert_close(y, [0.0, 0.0, 2.0])
    y.sum().backward()
    assert_close(x.grad, [0.0, 0.0, 1.0])  # PyTorch's: 0 at 0
    assert_close(x.relu(), [0.0, 0.0, 2.0])
    check_grads(xpgrad.relu, _t([-1.5, 0.5, 3.0], device, True))


def _softmax(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def test_softmax_log_softmax_logsumexp_at_huge_logits(device):
    data = np.array([[1e4, 0.0, -1e4], [1.0, 2.0, 3.0]])
    x = _t(data, device, True)
    assert_close(xpgrad.softmax(x, dim=1), _softmax(data, 1))
    assert_close(x.softmax(0), _softmax(data, 0))
    assert_close(xpgrad.log_softmax(x, 1), np.array([[0.0, -1e4, -2e4], np.log(_softmax(data[1:], 1))[0]]))
    assert_close(xpgrad.logsumexp(x, dim=1), [1e4, 3 + np.log(1 + np.exp(-1) + np.exp(-2))])
    assert tuple(x.logsumexp(1, keepdim=True).shape) == (2, 1)
    assert_close(xpgrad.logsumexp(x, (0, 1)), 1e4)
    minus_inf = _t([-np.inf, -np.inf], device)
    with np.errstate(divide="ignore"):  # log(0), as in NumPy
        assert_close(xpgrad.logsumexp(minus_inf, 0), -np.inf)  # not NaN
    (g,) = xpgrad.autograd.grad(xpgrad.logsumexp(x, 1).sum(), x)
    assert_close(g, _softmax(data, 1))  # the gradient of logsumexp is the softmax
    small = _t([[0.3, -1.2, 2.0], [0.5, 0.1, -0.7]], device, True)
    check_grads(lambda s: xpgrad.softmax(s, 1), small)
    check_grads(lambda s: xpgrad.log_softmax(s, 0), small)
    check_grads(lambda s: xpgrad.logsumexp(s, 1), small)


def test_activations_match_pytorch(device):
    torch = pytest.importorskip("torch")
    data = np.array([[0.3, -1.2, 2.0, 0.0], [1e3, -1e3, 7.0, -0.5]])
    for name in ("sigmoid", "relu", "softmax", "log_softmax", "logsumexp"):
        x = _t(data, device, True)
        tx = torch.tensor(data, requires_grad=True)
        args = () if name in ("sigmoid", "relu") else (1,)
        y, ty = getattr(xpgrad, name)(x, *args), getattr(torch, name)(tx, *args)
        assert_close(y, ty.detach().numpy(), rtol=1e-13, atol=1e-300)
        w = np.linspace(-1.0, 1.0, ty.numel()).reshape(ty.shape)
        (g,) = xpgrad.autograd.grad((y * _t(w, device)).sum(), x)
        (tg,) = torch.autograd.grad((ty * torch.tensor(w)).sum(), tx)
        assert_close(g, tg.numpy(), rtol=1e-12, atol=1e-300)


# ---------------------------------------------------------------------- data


def test_from_numpy_shares_memory():
    a = np.array([1.0, 2.0, 3.0])
    t = xpgrad.from_numpy(a)
    a[0] = 10.0
    assert t[0].item() == 10.0
    assert t.dtype == xpgrad.float64  # the array's dtype, not the default float32
    with pytest.raises(TypeError, match=re.escape("expected np.ndarray (got list)")):
        xpgrad.from_numpy([1.0, 2.0])


def test_allclose(device):
    a = _t([1.0, 2.0, np.inf], device)
    assert xpgrad.allclose(a, _t([1.0 + 1e-9, 2.0, np.inf], device)) is True
    assert xpgrad.allclose(a, _t([1.1, 2.0, np.inf], device)) is False
    assert a.allclose(_t([1.05, 2.0, np.inf], device), rtol=0.1)
    n = _t([np.nan, 1.0], device)
    assert xpgrad.allclose(n, n) is False
    assert xpgrad.allclose(n, n, equal_nan=True) is True


# ---------------------------------------------------------------------- unknown names


@pytest.mark.parametrize("name, message", [
    ("cumsum", "module 'xpgrad' has no attribute 'cumsum'; use xpgrad.xp.cumulative_sum (the array API namespace)"),
    ("arccos", "module 'xpgrad' has no attribute 'arccos'; use xpgrad.xp.acos (the array API namespace)"),
    ("roll", "module 'xpgrad' has no attribute 'roll'; use xpgrad.xp.roll (the array API namespace)"),
    ("outer", "module 'xpgrad' has no attribute 'outer'; use xpgrad.xp.linalg.outer (the array API namespace)"),
    ("det", "module 'xpgrad' has no attribute 'det'; use xpgrad.linalg.det"),
    ("no_such_thing", "module 'xpgrad' has no attribute 'no_such_thing'"),
])
def test_an_unknown_name_says_where_its_equivalent_is(name, message):
    with pytest.raises(AttributeError, match=f"^{re.escape(message)}$"):
        getattr(xpgrad, name)


def test_the_pytorch_modules_load_on_first_use():
    """``import xpgrad`` does not import nn, optim, special or utils (start-up pays
    nothing for them); ``xpgrad.optim.SGD`` and ``from xpgrad import nn`` load them."""
    import subprocess
    import sys

    code = ("import sys, xpgrad\n"
            "names = ('xpgrad.nn', 'xpgrad.optim', 'xpgrad.special', 'xpgrad.utils')\n"
            "print([m for m in names if m in sys.modules])\n"
            "from xpgrad import nn\n"
            "print(xpgrad.optim.SGD.__name__, nn.functional.relu.__name__, xpgrad.special.erf.__name__,\n"
            "      xpgrad.utils.checkpoint.checkpoint.__name__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[:2] == ["[]", "SGD relu erf checkpoint"]
