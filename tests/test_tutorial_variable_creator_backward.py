"""The tutorial "Autograd: automatic differentiation" (Variable, creator, backward).

Every cell of the tutorial, run on xpgrad the way the tutorial writes it (``Variable``,
``y.creator``, ``creator.previous_functions``, ``y.data.norm()``, ``torch.Tensor([...])``),
on every device. The tutorial's inputs are random, so each test checks the values the
tutorial derives (dz/dv = 2v/9, d(x**2)/dx = 2x, 2**k per doubling) against NumPy,
computed from the input values themselves.
"""
import numpy as np

import xpgrad as torch
from xpgrad.autograd import Variable

from helpers import ATOL, RTOL, is_float32, values

# ---------------------------------------------------------------------- Variable


def test_variable_wraps_a_tensor(device, shown):
    # In [2]-[4]
    x = torch.randn(3, 3, device=device)
    v = Variable(x, requires_grad=True)
    assert v.requires_grad
    assert not x.requires_grad
    assert v.is_leaf
    assert v.shape == (3, 3) == x.shape
    assert is_float32(v)
    np.testing.assert_array_equal(values(v), values(x))
    # A fresh leaf has no gradient and was made by no function.
    assert v.grad is None
    assert v.grad_fn is None
    assert v.creator is None
    assert shown(v).endswith(", requires_grad=True)")
    assert shown(v).startswith("tensor([[")


def test_variable_shares_storage_with_its_tensor(device):
    # Variable(x) was a view of x in old PyTorch: a change to x shows up in v.
    x = torch.randn(3, 3, device=device)
    v = Variable(x, requires_grad=True)
    before = values(v)
    x.add_(1)
    np.testing.assert_allclose(values(v), before + 1, rtol=RTOL, atol=ATOL)


def test_data(device, shown):
    # In [5]: v.data -- the same values, outside the graph.
    x = torch.randn(3, 3, device=device)
    v = Variable(x, requires_grad=True)
    d = v.data
    assert not d.requires_grad
    assert d.grad_fn is None
    assert is_float32(d)
    np.testing.assert_array_equal(values(d), values(v))
    # .data shares values with v: writing through it changes v.
    before = values(v)
    v.data.mul_(2)
    np.testing.assert_allclose(values(v), 2 * before, rtol=RTOL, atol=ATOL)
    # ... and printing it shows the values without requires_grad.
    assert shown(v.data) == shown(v).replace(", requires_grad=True)", ")")


# ---------------------------------------------------------------------- creator


def test_creator(device, shown):
    # In [6]-[8]
    x = torch.randn(3, 3, device=device)
    v = Variable(x, requires_grad=True)
    y = v ** 2
    np.testing.assert_allclose(values(y), values(v) ** 2, rtol=RTOL, atol=ATOL)
    assert y.creator is y.grad_fn
    assert y.creator is not None
    assert type(y.creator).__name__ == "PowBackward"
    assert shown(y.creator).startswith("<PowBackward object at 0x")
    assert shown(y).endswith(", grad_fn=<PowBackward>)")
    assert y.requires_grad and not y.is_leaf


def test_walking_the_graph_back(device):
    # In [9]-[11]
    x = torch.randn(3, 3, device=device)
    v = Variable(x, requires_grad=True)
    y = v ** 2
    z = y + 3
    assert type(z.creator).__name__ == "AddBackward"
    # z.creator.previous_functions[0][0] is y's creator, the very same object ...
    assert z.creator.previous_functions[0][0] is y.creator
    # ... and one step further back the old API shows the leaf Variable itself.
    leaf = z.creator.previous_functions[0][0].previous_functions[0][0]
    assert leaf is v
    np.testing.assert_array_equal(values(leaf), values(x))
    # The constant 3 needs no gradient.
    assert z.creator.previous_functions[1][0] is None
    # The current API (next_functions) ends at an AccumulateGrad holding the leaf.
    assert z.grad_fn.next_functions[0][0] is y.grad_fn
    acc = z.grad_fn.next_functions[0][0].next_functions[0][0]
    assert isinstance(acc, torch.AccumulateGrad)
    assert type(acc).__name__ == "AccumulateGrad"
    assert acc.variable is v
    assert z.grad_fn.next_functions[1] == (None, 0)


# ---------------------------------------------------------------------- gradient


def test_mean_gradient(device, shown):
    # In [12]-[15]: f = mean(v**2 + 3), df/dv = 2v/9.
    x = torch.randn(3, 3, device=device)
    v = Variable(x, requires_grad=True)
    y = v ** 2
    z = y + 3
    vn = values(v)
    np.testing.assert_allclose(values(z), vn ** 2 + 3, rtol=RTOL, atol=ATOL)
    f = z.mean()
    assert f.shape == ()
    assert type(f.grad_fn).__name__ == "MeanBackward1"
    assert shown(f).endswith(", grad_fn=<MeanBackward1>)")
    np.testing.assert_allclose(f.item(), np.mean(vn ** 2 + 3), rtol=RTOL)
    f.backward()
    assert v.grad is not None
    assert v.grad.shape == (3, 3)
    assert is_float32(v.grad)
    assert not v.grad.requires_grad
    np.testing.assert_allclose(values(v.grad), 2 * vn / 9, rtol=RTOL, atol=ATOL)
    # Only the leaf keeps a gradient.
    assert y.grad is None and z.grad is None


# ---------------------------------------------------------------------- backward


def test_non_scalar_backward_with_ones(device):
    # In [16]-[19]: y = x**2, y.backward(ones) gives 2x.
    x = Variable(torch.randn(2, 2, device=device), requires_grad=True)
    y = x ** 2
    xn = values(x)
    np.testing.assert_allclose(values(y), xn ** 2, rtol=RTOL, atol=ATOL)
    y.backward(torch.ones(2, 2, device=device))
    assert is_float32(x.grad)
    # 2 * x exactly: a power of two times a float32 value.
    np.testing.assert_array_equal(values(x.grad), 2 * xn)


def test_non_scalar_backward_check_gradients(device, shown):
    # The tutorial's hand check: -3.5450 = 2*-1.7725, 1.3747 = 2*0.6873, ...
    x = Variable(torch.tensor([[-1.7725, 0.6873], [-0.9166, 0.3835]], device=device),
                 requires_grad=True)
    y = x ** 2
    y.backward(torch.ones(2, 2, device=device))
    np.testing.assert_allclose(values(x.grad), [[-3.5450, 1.3746], [-1.8332, 0.7670]],
                               rtol=0, atol=1e-4)
    assert shown(x.grad) == "tensor([[-3.5450,  1.3746],\n        [-1.8332,  0.7670]])"


def test_non_scalar_backward_needs_a_gradient(device, shown):
    x = Variable(torch.randn(2, 2, device=device), requires_grad=True)
    y = x ** 2
    try:
        y.backward()
    except RuntimeError as exc:
        assert "scalar" in str(exc)
    else:
        raise AssertionError("backward() of a 2x2 result without a gradient must fail")


# ---------------------------------------------------------------------- dynamic graph


def _doubling(x):
    """In [20]: the tutorial's loop; returns y and the number of doublings."""
    y = x * 2
    k = 1
    while y.data.norm() < 1000:
        y = y * 2
        k += 1
    return y, k


def test_dynamic_graph(device, shown):
    # In [20]-[22]
    x = torch.randn(3, device=device)
    x = Variable(x, requires_grad=True)
    y, k = _doubling(x)
    xn = values(x)
    assert np.linalg.norm(xn * 2 ** k) >= 1000
    assert k == 1 or np.linalg.norm(xn * 2 ** (k - 1)) < 1000
    np.testing.assert_array_equal(values(y), xn * 2 ** k)
    assert type(y.grad_fn).__name__ == "MulBackward"
    assert shown(y).endswith(", grad_fn=<MulBackward>)")
    # The graph has exactly k multiplications between y and x.
    node, steps = y.grad_fn, 0
    while not isinstance(node, torch.AccumulateGrad):
        assert type(node).__name__ == "MulBackward"
        node = node.next_functions[0][0]
        steps += 1
    assert steps == k and node.variable is x

    weights = torch.Tensor([1, 0.1, 0.01], device=device)
    assert is_float32(weights)
    assert shown(weights) == "tensor([1.0000, 0.1000, 0.0100])"
    y.backward(weights)
    assert is_float32(x.grad)
    # dy/dx is 2**k on the diagonal: exact in float32.
    w32 = np.array([1, 0.1, 0.01], dtype=np.float32).astype(np.float64)
    np.testing.assert_array_equal(values(x.grad), 2 ** k * w32)


def test_dynamic_graph_tutorial_values(device, shown):
    # With the inputs that give the tutorial's 10 doublings, x.grad is 1024 * weights,
    # printed as in the tutorial.
    x = Variable(torch.tensor([0.4628, -0.3619, 1.6416], device=device), requires_grad=True)
    y, k = _doubling(x)
    assert k == 10
    np.testing.assert_allclose(values(y), [473.9072, -370.5856, 1680.9984], rtol=1e-6)
    y.backward(torch.Tensor([1, 0.1, 0.01], device=device))
    np.testing.assert_allclose(values(x.grad), [1024.0, 102.4, 10.24], rtol=1e-6)
    assert shown(x.grad) == "tensor([1024.0000,  102.4000,   10.2400])"
