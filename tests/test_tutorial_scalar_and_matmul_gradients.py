"""The tutorial of scalar derivation, then mean(y - matmul(x, w)).

z = (x + 2)**2 + 3 at x = 2 gives 19 and dz/dx = 8, printed as the tutorial prints
them; for out = mean(y - x @ w) with random x (10x20), y (10x5), w (20x5) the gradients
are checked against the closed forms, computed with NumPy from the inputs:
dout/dx = -(1/50) ones(10,5) w^T, dout/dy = 1/50, dout/dw = -(1/50) x^T ones(10,5).
"""
import numpy as np

import xpgrad as torch
from xpgrad.autograd import Variable

from helpers import is_float32, values

# ---------------------------------------------------------------------- scalar


def test_scalar_forward(device, shown):
    # In [4]
    x = Variable(torch.Tensor([2], device=device), requires_grad=True)
    y = x + 2
    z = y ** 2 + 3
    assert is_float32(x) and is_float32(z)
    assert z.tolist() == [19.0]
    assert shown(z) == "tensor([19.], grad_fn=<AddBackward>)"
    assert shown(z) == "tensor([19.], grad_fn=<AddBackward>)"
    assert type(z.grad_fn).__name__ == "AddBackward"
    assert type(z.grad_fn.next_functions[0][0]).__name__ == "PowBackward"
    assert type(y.grad_fn).__name__ == "AddBackward"
    assert shown(x) == "tensor([2.], requires_grad=True)"


def test_scalar_backward(device, shown):
    # In [5]: dz/dx = 2 (x + 2) = 8
    x = Variable(torch.Tensor([2], device=device), requires_grad=True)
    y = x + 2
    z = y ** 2 + 3
    z.backward()
    assert x.grad.tolist() == [8.0]
    assert is_float32(x.grad)
    assert shown(x.grad) == "tensor([8.])"
    assert shown(x.grad) == "tensor([8.])"


def test_scalar_backward_float_list(device):
    # The same with xpgrad.tensor and a Python float.
    x = torch.tensor([2.0], device=device, requires_grad=True)
    z = (x + 2) ** 2 + 3
    z.backward()
    assert x.grad.tolist() == [8.0]


# ---------------------------------------------------------------------- matmul


def _matmul_example(device):
    # In [6]
    x = Variable(torch.randn(10, 20, device=device), requires_grad=True)
    y = Variable(torch.randn(10, 5, device=device), requires_grad=True)
    w = Variable(torch.randn(20, 5, device=device), requires_grad=True)
    out = torch.mean(y - torch.matmul(x, w))  # torch.matmul doing matrix multiplication
    return x, y, w, out


def test_matmul_forward(device):
    x, y, w, out = _matmul_example(device)
    assert out.shape == ()
    assert type(out.grad_fn).__name__ == "MeanBackward1"
    np.testing.assert_allclose(out.item(), np.mean(values(y) - values(x) @ values(w)), rtol=1e-4, atol=1e-5)


def test_matmul_grad_x(device):
    # In [7]
    x, y, w, out = _matmul_example(device)
    out.backward()
    assert x.grad.shape == (10, 20)
    assert is_float32(x.grad)
    expected = -(1 / 50) * np.ones((10, 5)) @ values(w).T
    np.testing.assert_allclose(values(x.grad), expected, rtol=1e-5, atol=1e-6)
    # Every row is the same, as the tutorial shows.
    g = values(x.grad)
    np.testing.assert_allclose(g, np.broadcast_to(g[0], g.shape), rtol=0, atol=1e-7)


def test_matmul_grad_y(device, shown):
    # In [8]
    x, y, w, out = _matmul_example(device)
    out.backward()
    assert is_float32(y.grad)
    np.testing.assert_allclose(values(y.grad), np.full((10, 5), 1 / 50), rtol=1e-6)
    row = "[0.0200, 0.0200, 0.0200, 0.0200, 0.0200]"
    assert shown(y.grad) == "tensor([" + (",\n        ").join([row] * 10) + "])"
    assert shown(y.grad) == shown(y.grad)


def test_matmul_grad_w(device):
    # In [9]
    x, y, w, out = _matmul_example(device)
    out.backward()
    assert w.grad.shape == (20, 5)
    assert is_float32(w.grad)
    expected = -(1 / 50) * values(x).T @ np.ones((10, 5))
    np.testing.assert_allclose(values(w.grad), expected, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------- printing

# The tutorial's printed gradients (cut short in the notebook export): the layout of a
# 10x20 and of a 20x5 Tensor, wrapped at 80 columns as PyTorch wraps them.
X_GRAD_ROW = [-0.0423, 0.0249, 0.0351, -0.0131, 0.0017, 0.0439, -0.0653, 0.0279, 0.0104,
              0.0057, 0.0304, 0.0337, -0.0452, -0.0746, -0.0282, -0.0258, -0.0400, 0.0103,
              0.0762, 0.1168]
X_GRAD_SHOWN = """\
tensor([[-0.0423,  0.0249,  0.0351, -0.0131,  0.0017,  0.0439, -0.0653,  0.0279,
          0.0104,  0.0057,  0.0304,  0.0337, -0.0452, -0.0746, -0.0282, -0.0258,
         -0.0400,  0.0103,  0.0762,  0.1168],
        [-0.0423,  0.0249,  0.0351, -0.0131,  0.0017,  0.0439, -0.0653,  0.0279,
          0.0104,  0.0057,  0.0304,  0.0337, -0.0452, -0.0746, -0.0282, -0.0258,
         -0.0400,  0.0103,  0.0762,  0.1168],
        [-0.0423,  0.0249,  0.0351, -0.0131,  0.0017,  0.0439, -0.0653,  0.0279,
          0.0104,  0.0057,  0.0304,  0.0337, -0.0452, -0.0746, -0.0282, -0.0258,
         -0.0400,  0.0103,  0.0762,  0.1168],
        [-0.0423,  0.0249,  0.0351, -0.0131,  0.0017,  0.0439, -0.0653,  0.0279,
          0.0104,  0.0057,  0.0304,  0.0337, -0.0452, -0.0746, -0.0282, -0.0258,
         -0.0400,  0.0103,  0.0762,  0.1168],
        [-0.0423,  0.0249,  0.0351, -0.0131,  0.0017,  0.0439, -0.0653,  0.0279,
          0.0104,  0.0057,  0.0304,  0.0337, -0.0452, -0.0746, -0.0282, -0.0258,
      """
W_GRAD_COL = [-0.0205, -0.0415, 0.0406, 0.0505, -0.0064, 0.0154, 0.1067, -0.0853, -0.1139,
              0.0826, -0.0833, 0.0150, -0.0652, 0.0135, -0.0435, 0.1030, 0.0537, -0.0519]
W_GRAD_SHOWN = """\
tensor([[-0.0205, -0.0205, -0.0205, -0.0205, -0.0205],
        [-0.0415, -0.0415, -0.0415, -0.0415, -0.0415],
        [ 0.0406,  0.0406,  0.0406,  0.0406,  0.0406],
        [ 0.0505,  0.0505,  0.0505,  0.0505,  0.0505],
        [-0.0064, -0.0064, -0.0064, -0.0064, -0.0064],
        [ 0.0154,  0.0154,  0.0154,  0.0154,  0.0154],
        [ 0.1067,  0.1067,  0.1067,  0.1067,  0.1067],
        [-0.0853, -0.0853, -0.0853, -0.0853, -0.0853],
        [-0.1139, -0.1139, -0.1139, -0.1139, -0.1139],
        [ 0.0826,  0.0826,  0.0826,  0.0826,  0.0826],
        [-0.0833, -0.0833, -0.0833, -0.0833, -0.0833],
        [ 0.0150,  0.0150,  0.0150,  0.0150,  0.0150],
        [-0.0652, -0.0652, -0.0652, -0.0652, -0.0652],
        [ 0.0135,  0.0135,  0.0135,  0.0135,  0.0135],
        [-0.0435, -0.0435, -0.0435, -0.0435, -0.0435],
        [ 0.1030,  0.1030,  0.1030,  0.1030,  0.1030],
        [ 0.0537,  0.0537,  0.0537,  0.0537,  0.0537],
        [-0.0519, -0.0519, -0.0519, -0.0519, -0.0519],
        [-"""


def test_printed_x_grad_layout(device, shown):
    t = torch.tensor([X_GRAD_ROW] * 10, device=device)
    assert shown(t).startswith(X_GRAD_SHOWN)


def test_printed_w_grad_layout(device, shown):
    # The notebook cut off the last two rows; any negative value completes the shown text.
    t = torch.tensor([[v] * 5 for v in W_GRAD_COL + [-0.0100, -0.0100]], device=device)
    assert shown(t).startswith(W_GRAD_SHOWN)
