"""The tutorial "Automatic differentiation" on a device; multivariate and higher order.

The tutorial puts its tensors on a GPU with ``.cuda()`` / ``th.cuda.FloatTensor``; xpgrad
chooses the device per Tensor, so every test builds its Tensors with ``device=device``.
Checked: f(x) = sqrt(sum(x**2, dim=0)) and df/dx = x / ||x||; .grad / .grad_fn / .data;
grad.data.zero_(); g = mean(log(x**2 + y**2) + z*x*y) with z a constant; y = x M (mm)
with per-row grad_tensors giving the rows of M^T ([1, 3] and [2, 4]); and, with
create_graph=True, d/dx (x**2 + xy + y**2) = 2x + y and its second derivative 2.
"""
import numpy as np

import xpgrad as th
from xpgrad.autograd import Variable

from helpers import ATOL, RTOL, is_float32, values

# ---------------------------------------------------------------------- f(x) = ||x||


def f(x):
    return th.sqrt(th.sum(th.pow(x, 2), dim=0))


def _point(device, n=10):
    # dtype = th.cuda.FloatTensor; x = th.randn(n).type(dtype)
    dtype = th.FloatTensor
    x = th.randn(n, device=device).type(dtype)
    return Variable(x, requires_grad=True)


def test_type_float_tensor(device):
    x = th.randn(10, device=device, dtype=th.float64).type(th.FloatTensor)
    assert is_float32(x)
    assert x.device == th.randn(1, device=device).device


def test_attributes_of_a_variable(device, shown):
    # In [12]
    x = _point(device)
    assert x.grad is None
    assert x.grad_fn is None
    d = x.data
    assert not d.requires_grad
    assert d.shape == (10,)
    assert is_float32(d)
    np.testing.assert_array_equal(values(d), values(x))
    assert shown(x.grad) == "None" and shown(x.grad_fn) == "None"


def test_f_forward(device, shown):
    # In [33]
    x = _point(device)
    out = f(x)
    assert out.shape == ()
    assert is_float32(out)
    np.testing.assert_allclose(out.item(), np.linalg.norm(values(x)), rtol=RTOL)
    assert type(out.grad_fn).__name__ == "SqrtBackward"
    assert shown(out).endswith(", grad_fn=<SqrtBackward>)")
    # the graph below: sqrt <- sum <- pow <- x
    s = out.grad_fn.next_functions[0][0]
    assert type(s).__name__ == "SumBackward0"
    p = s.next_functions[0][0]
    assert type(p).__name__ == "PowBackward"
    assert p.next_functions[0][0].variable is x


def test_f_backward(device, shown):
    # In [0], [35]: out.backward(create_graph=True); df/dx = x / ||x||
    x = _point(device)
    out = f(x)
    out.backward(create_graph=True)
    xn = values(x)
    assert is_float32(x.grad)
    np.testing.assert_allclose(values(x.grad), xn / np.linalg.norm(xn), rtol=RTOL, atol=ATOL)
    # create_graph=True records the gradient's own graph
    assert x.grad.requires_grad
    assert x.grad.grad_fn is not None
    assert type(out.grad_fn).__name__ == "SqrtBackward"
    assert shown(out.grad_fn).startswith("<SqrtBackward object at 0x")


def test_reset_grad_to_zero(device, shown):
    # In [36]: x.grad.data.zero_()
    x = _point(device)
    out = f(x)
    out.backward(create_graph=True)
    grad = x.grad
    zeroed = x.grad.data.zero_()
    assert shown(zeroed) == "tensor([0., 0., 0., 0., 0., 0., 0., 0., 0., 0.])"
    assert not zeroed.requires_grad
    # .data shares x.grad's values, so x.grad itself is now zero
    assert x.grad is grad
    assert x.grad.tolist() == [0.0] * 10
    assert is_float32(x.grad)


def test_reset_grad_to_zero_after_plain_backward(device):
    x = _point(device)
    f(x).backward()
    assert not x.grad.requires_grad
    x.grad.data.zero_()
    assert x.grad.tolist() == [0.0] * 10
    # and the next backward accumulates from zero
    f(x).backward()
    xn = values(x)
    np.testing.assert_allclose(values(x.grad), xn / np.linalg.norm(xn), rtol=RTOL, atol=ATOL)


# ---------------------------------------------------------------------- g(x, y, z)


def g(x, y, z):
    return (th.log(x ** 2 + y ** 2) + z * x * y).mean()


def test_multivariate(device):
    # In [0], [60]-[62]
    n = 10
    x = Variable(th.randn(n, device=device), requires_grad=True)
    y = Variable(th.randn(n, device=device), requires_grad=True)
    z = Variable(th.randn(n, device=device), requires_grad=False)
    assert x.requires_grad and y.requires_grad and not z.requires_grad
    out = g(x, y, z)
    xn, yn, zn = values(x), values(y), values(z)
    assert out.shape == ()
    assert type(out.grad_fn).__name__ == "MeanBackward1"
    np.testing.assert_allclose(out.item(), np.mean(np.log(xn ** 2 + yn ** 2) + zn * xn * yn),
                               rtol=1e-4, atol=1e-5)
    out.backward()
    r2 = xn ** 2 + yn ** 2
    # dg/dx = (2x / (x^2 + y^2) + z y) / n, and symmetrically for y
    np.testing.assert_allclose(values(x.grad), (2 * xn / r2 + zn * yn) / n, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(values(y.grad), (2 * yn / r2 + zn * xn) / n, rtol=1e-4, atol=1e-5)
    assert z.grad is None
    assert is_float32(x.grad) and is_float32(y.grad)


# ---------------------------------------------------------------------- y = x M


def test_non_scalar_mm(device, shown):
    # In [74]
    x = Variable(th.FloatTensor([[2, 1]], device=device), requires_grad=True)
    M = Variable(th.FloatTensor([[1, 2], [3, 4]], device=device))
    y = th.mm(x, M)
    assert is_float32(x) and is_float32(M) and is_float32(y)
    assert y.tolist() == [[5.0, 8.0]]
    assert shown(M) == "tensor([[1., 2.],\n        [3., 4.]])"
    assert not M.requires_grad
    assert y.requires_grad


def test_non_scalar_mm_backward_per_row(device, shown):
    # In [76]
    x = Variable(th.FloatTensor([[2, 1]], device=device), requires_grad=True)
    M = Variable(th.FloatTensor([[1, 2], [3, 4]], device=device))
    y = th.mm(x, M)

    # dy1/dx
    y.backward(th.FloatTensor([[1, 0]], device=device), create_graph=True)
    assert x.grad.data.tolist() == [[1.0, 3.0]]
    assert shown(x.grad.data) == "tensor([[1., 3.]])"
    assert is_float32(x.grad)
    x.grad.data.zero_()  # remove gradient in x.grad, or it will be accumulated
    assert x.grad.tolist() == [[0.0, 0.0]]

    # dy2/dx
    y.backward(th.FloatTensor([[0, 1]], device=device), create_graph=True)
    assert x.grad.data.tolist() == [[2.0, 4.0]]
    assert shown(x.grad.data) == "tensor([[2., 4.]])"
    zeroed = x.grad.data.zero_()
    assert shown(zeroed) == "tensor([[0., 0.]])"
    assert x.grad.tolist() == [[0.0, 0.0]]


def test_non_scalar_mm_accumulates_without_zero(device):
    # what the tutorial's zero_() prevents: [1, 3] + [2, 4]
    x = Variable(th.FloatTensor([[2, 1]], device=device), requires_grad=True)
    M = Variable(th.FloatTensor([[1, 2], [3, 4]], device=device))
    y = th.mm(x, M)
    y.backward(th.FloatTensor([[1, 0]], device=device), retain_graph=True)
    y.backward(th.FloatTensor([[0, 1]], device=device))
    assert x.grad.tolist() == [[3.0, 7.0]]


# ---------------------------------------------------------------------- higher order


def test_higher_order(device, shown):
    # In [34]-[38]
    x = Variable(th.randn(2, 2, device=device), requires_grad=True)
    y = Variable(th.randn(2, 2, device=device), requires_grad=True)
    out = x ** 2 + x * y + y ** 2
    xn, yn = values(x), values(y)
    np.testing.assert_allclose(values(out), xn ** 2 + xn * yn + yn ** 2, rtol=RTOL, atol=ATOL)

    out.backward(th.ones(2, 2, device=device), create_graph=True)
    x_grad = x.grad  # = 2*x+y
    assert x_grad.requires_grad and x_grad.grad_fn is not None
    assert is_float32(x_grad)
    np.testing.assert_allclose(values(x_grad), 2 * xn + yn, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(values(x_grad), values(2 * x + y), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(values(y.grad), xn + 2 * yn, rtol=RTOL, atol=ATOL)

    x.grad.data.zero_()  # If we don't use this, we will accumulate values
    x_grad.backward(th.ones(2, 2, device=device))
    assert x.grad.tolist() == [[2.0, 2.0], [2.0, 2.0]]
    assert shown(x.grad) == "tensor([[2., 2.],\n        [2., 2.]])"
    assert is_float32(x.grad)


def test_higher_order_with_autograd_grad(device):
    # The same second derivative by xpgrad.autograd.grad, leaving .grad alone.
    x = Variable(th.randn(2, 2, device=device), requires_grad=True)
    y = Variable(th.randn(2, 2, device=device), requires_grad=True)
    out = x ** 2 + x * y + y ** 2
    (dx,) = th.autograd.grad(out, x, th.ones(2, 2, device=device), create_graph=True)
    np.testing.assert_allclose(values(dx), 2 * values(x) + values(y), rtol=RTOL, atol=ATOL)
    ddx, ddy = th.autograd.grad(dx, (x, y), th.ones(2, 2, device=device))
    assert ddx.tolist() == [[2.0, 2.0], [2.0, 2.0]]
    assert ddy.tolist() == [[1.0, 1.0], [1.0, 1.0]]
    assert x.grad is None and y.grad is None
