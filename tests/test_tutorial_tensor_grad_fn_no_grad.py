"""The PyTorch 0.4 "Autograd" tutorial (Tensor, grad_fn, no_grad).

ones(2, 2, requires_grad=True) -> y = x + 2 -> z = y*y*3 -> out = z.mean() = 27, and
out.backward() gives 4.5 everywhere, printed as the tutorial prints them; the node names
(AddBackward, MulBackward, MeanBackward1, SumBackward0); requires_grad_(); the doubling
loop, whose gradient is 2**k times the weights after k doublings; no_grad().
"""
import numpy as np
import pytest

import xpgrad as torch

from helpers import ATOL, RTOL, is_float32, values

# ---------------------------------------------------------------------- Tensor


def test_ones_requires_grad(device, shown):
    # In [46]
    x = torch.ones(2, 2, requires_grad=True, device=device)
    assert shown(x) == "tensor([[1., 1.],\n        [1., 1.]], requires_grad=True)"
    assert shown(x) == shown(x)
    assert x.requires_grad and x.is_leaf
    assert x.grad is None and x.grad_fn is None
    assert is_float32(x)


def test_add(device, shown):
    # In [47]-[48]
    x = torch.ones(2, 2, requires_grad=True, device=device)
    y = x + 2
    assert shown(y) == "tensor([[3., 3.],\n        [3., 3.]], grad_fn=<AddBackward>)"
    assert type(y.grad_fn).__name__ == "AddBackward"
    assert shown(y.grad_fn).startswith("<AddBackward object at 0x")
    assert shown(y.grad_fn) == shown(y.grad_fn)
    assert not y.is_leaf


def test_mul_and_mean(device, shown):
    # In [49]-[50]
    x = torch.ones(2, 2, requires_grad=True, device=device)
    y = x + 2
    z = y * y * 3
    assert shown(z) == "tensor([[27., 27.],\n        [27., 27.]], grad_fn=<MulBackward>)"
    assert type(z.grad_fn).__name__ == "MulBackward"
    out = z.mean()
    assert shown(out) == "tensor(27., grad_fn=<MeanBackward1>)"
    assert type(out.grad_fn).__name__ == "MeanBackward1"
    assert out.shape == ()
    assert out.item() == 27.0
    # print(z, out)
    assert f"{shown(z)} {shown(out)}" == (
        "tensor([[27., 27.],\n        [27., 27.]], grad_fn=<MulBackward>) "
        "tensor(27., grad_fn=<MeanBackward1>)"
    )


def test_requires_grad_(device, shown):
    # In [51]-[53]
    a = torch.randn(2, 2, device=device)
    a = ((a * 3) / (a - 1))
    assert a.requires_grad is False
    assert a.grad_fn is None
    r = a.requires_grad_(True)
    assert r is a
    assert a.requires_grad is True
    assert a.is_leaf
    b = (a * a).sum()
    assert type(b.grad_fn).__name__ == "SumBackward0"
    assert shown(b.grad_fn).startswith("<SumBackward0 object at 0x")
    assert shown(b).endswith(", grad_fn=<SumBackward0>)")
    b.backward()
    np.testing.assert_allclose(values(a.grad), 2 * values(a), rtol=RTOL, atol=ATOL)


def test_requires_grad_default_is_true(device):
    a = torch.randn(2, 2, device=device)
    a.requires_grad_()
    assert a.requires_grad


# ---------------------------------------------------------------------- Gradients


def _out(device):
    x = torch.ones(2, 2, requires_grad=True, device=device)
    y = x + 2
    z = y * y * 3
    return x, z.mean()


def test_backward(device, shown):
    # In [54]-[56]: do/dx = 3/2 (x + 2) = 4.5 at x = 1
    x, out = _out(device)
    assert shown(out) == "tensor(27., grad_fn=<MeanBackward1>)"
    out.backward()
    assert shown(out) == "tensor(27., grad_fn=<MeanBackward1>)"
    assert x.grad.tolist() == [[4.5, 4.5], [4.5, 4.5]]
    assert shown(x.grad) == "tensor([[4.5000, 4.5000],\n        [4.5000, 4.5000]])"
    assert is_float32(x.grad)
    assert not x.grad.requires_grad


@pytest.mark.parametrize("one", [1, 1.0])
def test_backward_with_explicit_one(device, one):
    # "out.backward() is equivalent to out.backward(torch.tensor(1))"
    x, out = _out(device)
    out.backward(torch.tensor(one, device=device))
    assert x.grad.tolist() == [[4.5, 4.5], [4.5, 4.5]]
    assert is_float32(x.grad)


# ---------------------------------------------------------------------- the doubling loop


def _doubling(x, shown=repr):
    """In [71]: the tutorial's loop; returns y, the Tensors printed, and the doublings."""
    y = x * 2
    printed = [shown(y)]
    k = 1
    while y.data.norm() < 1000:
        y = y * 2
        printed.append(shown(y))
        k += 1
    return y, printed, k


def test_random_start(device, shown):
    # In [65]
    x = torch.randn(3, requires_grad=True, device=device)
    assert x.shape == (3,)
    assert shown(x).startswith("tensor([") and shown(x).endswith("], requires_grad=True)")
    assert x.grad is None


def test_doubling_loop(device, shown):
    # In [65], [71]-[73]
    x = torch.randn(3, requires_grad=True, device=device)
    y, printed, k = _doubling(x)
    xn = values(x)
    assert len(printed) == k
    assert all(p.endswith(", grad_fn=<MulBackward>)") for p in printed)
    assert np.linalg.norm(xn * 2 ** k) >= 1000
    assert k == 1 or np.linalg.norm(xn * 2 ** (k - 1)) < 1000
    np.testing.assert_array_equal(values(y), xn * 2 ** k)

    gradients = torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float, device=device)
    assert is_float32(gradients)
    assert shown(gradients) == "tensor([1.0000e-01, 1.0000e+00, 1.0000e-04])"
    y.backward(gradients)
    assert shown(y).endswith(", grad_fn=<MulBackward>)")
    assert x.requires_grad
    assert is_float32(x.grad)
    # 2**k times a float32 value is exact
    w32 = np.array([0.1, 1.0, 0.0001], dtype=np.float32).astype(np.float64)
    np.testing.assert_array_equal(values(x.grad), 2 ** k * w32)


def test_doubling_loop_tutorial_values(device, shown):
    # The tutorial's x: ten doublings, then x.grad = 1024 * gradients.
    x = torch.tensor([-1.0617, 1.1143, 0.9000], requires_grad=True, device=device)
    assert shown(x) == "tensor([-1.0617,  1.1143,  0.9000], requires_grad=True)"
    assert x.grad is None
    y, printed, k = _doubling(x, shown)
    assert k == 10
    assert printed[0] == "tensor([-2.1234,  2.2286,  1.8000], grad_fn=<MulBackward>)"
    y.backward(torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float, device=device))
    np.testing.assert_allclose(values(x.grad), [102.4, 1024.0, 0.1024], rtol=1e-6)
    # PyTorch's current rule (max / min > 1000) prints these in scientific notation; the
    # notebook, made with PyTorch 0.4, shows "tensor([ 204.8000, 2048.0000,    0.2048])".
    assert shown(x.grad) == "tensor([1.0240e+02, 1.0240e+03, 1.0240e-01])"


# The tensors the tutorial prints in its loop, re-made from the printed values: xpgrad
# lays them out as the tutorial does.
LOOP_PRINTED = [
    "tensor([-2.1235,  2.2286,  1.8000], grad_fn=<MulBackward>)",
    "tensor([-4.2470,  4.4571,  3.5999], grad_fn=<MulBackward>)",
    "tensor([-8.4940,  8.9143,  7.1998], grad_fn=<MulBackward>)",
    "tensor([-16.9880,  17.8285,  14.3997], grad_fn=<MulBackward>)",
    "tensor([-33.9760,  35.6570,  28.7994], grad_fn=<MulBackward>)",
    "tensor([-67.9519,  71.3141,  57.5988], grad_fn=<MulBackward>)",
    "tensor([-135.9038,  142.6281,  115.1976], grad_fn=<MulBackward>)",
    "tensor([-271.8076,  285.2562,  230.3951], grad_fn=<MulBackward>)",
    "tensor([-543.6153,  570.5125,  460.7903], grad_fn=<MulBackward>)",
    "tensor([-1087.2306,  1141.0249,   921.5806], grad_fn=<MulBackward>)",
]


@pytest.mark.parametrize("line", LOOP_PRINTED)
def test_loop_printing(device, line, shown):
    values = [float(v) for v in line[len("tensor(["):line.index("]")].split(",")]
    t = torch.tensor(values, requires_grad=True, device=device) * 1
    assert shown(t) == line


# ---------------------------------------------------------------------- printing rule


@pytest.mark.parametrize("values, printed", [
    ([0.1, 1.0, 0.0001], "tensor([1.0000e-01, 1.0000e+00, 1.0000e-04])"),  # min < 1e-4
    ([1.0, 0.1, 0.01], "tensor([1.0000, 0.1000, 0.0100])"),
    ([1.0, 1000.0], "tensor([   1., 1000.])"),  # max / min == 1000: not scientific
    ([1.0, 1001.0], "tensor([1.0000e+00, 1.0010e+03])"),  # whole, but max / min > 1000
    ([0.5, 600.0], "tensor([5.0000e-01, 6.0000e+02])"),  # max / min > 1000
    ([0.0, 1e9], "tensor([0.0000e+00, 1.0000e+09])"),  # max > 1e8
    ([-1e-5, 1.0], "tensor([-1.0000e-05,  1.0000e+00])"),  # padded to one width
    ([0.0, 0.0], "tensor([0., 0.])"),
    ([1e-4, 0.05], "tensor([1.0000e-04, 5.0000e-02])"),  # float32 1e-4 is below 1e-4
])
def test_scientific_notation_rule(device, values, printed, shown):
    assert shown(torch.tensor(values, device=device)) == printed


def test_scientific_notation_scalar_and_matrix(device, shown):
    assert shown(torch.tensor(1e-5, device=device)) == "tensor(1.0000e-05)"
    t = torch.tensor([[1e-5, 1.0], [-2.0, 3.0]], device=device)
    assert shown(t) == "tensor([[ 1.0000e-05,  1.0000e+00],\n        [-2.0000e+00,  3.0000e+00]])"


# ---------------------------------------------------------------------- no_grad


def test_no_grad(device):
    # In [74]
    x = torch.randn(3, requires_grad=True, device=device)
    assert x.requires_grad
    assert (x ** 2).requires_grad
    with torch.no_grad():
        r = x ** 2
        assert r.requires_grad is False
        assert r.grad_fn is None
    np.testing.assert_allclose(values(r), values(x) ** 2, rtol=RTOL, atol=ATOL)
    # grad mode comes back after the block
    assert (x ** 2).requires_grad
