"""The Tensor's PyTorch face: attributes, methods, operators, indexing, creation
helpers, dtypes, reprs, graph nodes and in-place ops with their version counter."""
import math

import numpy as np
import pytest

import xpgrad

from helpers import assert_close, dtype_name, values

M = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]


# ---------------------------------------------------------------------- attributes


def test_attributes(device):
    x = xpgrad.tensor(M, device=device, requires_grad=True)
    assert isinstance(x, xpgrad.Tensor)
    assert x.shape == (2, 3) and isinstance(x.shape, tuple)
    assert x.ndim == 2 and x.dim() == 2 and x.numel() == 6 and len(x) == 2
    assert x.size() == (2, 3) and x.size(1) == 3
    assert dtype_name(x.dtype) == "float32"
    assert x.device == device and str(x.device) == device
    assert x.requires_grad and x.is_leaf and x.grad is None and x.grad_fn is None
    y = x * 2.0
    assert y.requires_grad and not y.is_leaf and y.grad_fn is not None
    c = xpgrad.tensor(M, device=device)
    assert not c.requires_grad and c.is_leaf and c.grad_fn is None


def test_transposes(device):
    x = xpgrad.tensor(M, device=device, requires_grad=True)
    assert x.T.shape == (3, 2) and x.mT.shape == (3, 2) and x.t().shape == (3, 2)
    assert_close(x.T, np.array(M).T)
    assert_close(x.mT, np.array(M).T)
    assert_close(x.t(), np.array(M).T)
    w = xpgrad.tensor([[1.0, 0.0], [2.0, 1.0], [0.0, 3.0]], device=device)
    (x.T * w).sum().backward()
    assert_close(x.grad, np.array([[1.0, 0.0], [2.0, 1.0], [0.0, 3.0]]).T)
    b = xpgrad.ones(4, 2, 3, device=device)
    assert b.mT.shape == (4, 3, 2) and b.T.shape == (3, 2, 4)
    v = xpgrad.tensor([1.0, 2.0], device=device)
    assert v.t().shape == (2,)


def test_data_shares_storage_but_is_detached(device):
    x = xpgrad.tensor([1.0, 2.0], device=device, requires_grad=True)
    d = x.data
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    version = x._version
    d.mul_(3.0)  # allowed: d does not require grad
    assert_close(x, [3.0, 6.0])  # the change shows through x
    assert x._version == version  # changes through .data are not tracked
    (x * x).sum().backward()
    assert_close(x.grad, [6.0, 12.0])


def test_detach_shares_storage_and_cuts_graph(device):
    x = xpgrad.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x * 2.0
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    assert_close(d, [2.0, 4.0])
    d.add_(1.0)
    assert_close(y, [3.0, 5.0])
    z = (d * x).sum()
    z.backward()
    assert_close(x.grad, [3.0, 5.0])  # d is a constant


def test_requires_grad_and_setter(device):
    x = xpgrad.tensor([1.0], device=device)
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad_(False)
    assert not x.requires_grad
    x.requires_grad = True
    assert x.requires_grad
    (x * 3.0).backward()
    assert_close(x.grad, [3.0])


def test_grad_zero_(device):
    x = xpgrad.tensor([1.0, 2.0], device=device, requires_grad=True)
    (x * 5.0).sum().backward()
    g = x.grad
    assert x.grad.zero_() is g
    assert_close(x.grad, [0.0, 0.0])
    (x * 2.0).sum().backward()
    assert_close(x.grad, [2.0, 2.0])


def test_item_tolist_numpy(device):
    assert xpgrad.tensor([2.5], device=device).item() == 2.5
    assert isinstance(xpgrad.tensor(3, device=device).item(), int)
    assert xpgrad.tensor([[7.0]], device=device).item() == 7.0
    assert xpgrad.tensor(M, device=device).tolist() == M
    x = xpgrad.tensor(M, device=device, requires_grad=True)
    assert (x * 1.0).sum().item() == 21.0  # item() works on Tensors that require grad
    a = x.detach().numpy()
    assert isinstance(a, np.ndarray) and a.dtype == np.float32
    np.testing.assert_array_equal(a, np.array(M, dtype=np.float32))
    with pytest.raises(RuntimeError, match=r"requires grad.*detach\(\)\.numpy\(\)"):
        x.numpy()


def test_numpy_shares_memory_on_cpu():
    t = xpgrad.tensor([1.0, 2.0], device="cpu")
    a = t.numpy()
    a[0] = 10.0
    assert t.tolist() == [10.0, 2.0]


# ---------------------------------------------------------------------- methods


def test_sum_and_mean_with_dim_keepdim(device):
    x = xpgrad.tensor(M, device=device, requires_grad=True)
    a = np.array(M)
    assert_close(x.sum(), a.sum())
    assert x.sum().shape == ()
    assert_close(x.sum(0), a.sum(0))
    assert x.sum(dim=1, keepdim=True).shape == (2, 1)
    assert_close(x.sum(dim=1, keepdim=True), a.sum(1, keepdims=True))
    assert_close(x.mean(), a.mean())
    assert_close(x.mean(1), a.mean(1))
    assert x.mean(dim=0, keepdim=True).shape == (1, 3)
    assert_close(x.sum(dim=(0, 1)), a.sum())
    w = xpgrad.tensor([[1.0], [2.0]], device=device)
    (x.sum(dim=1, keepdim=True) * w).sum().backward()
    assert_close(x.grad, [[1.0] * 3, [2.0] * 3])
    x.grad = None
    (x.mean(0) * xpgrad.tensor([1.0, 2.0, 3.0], device=device)).sum().backward()
    assert_close(x.grad, [[0.5, 1.0, 1.5]] * 2)
    x.grad = None
    x.mean().backward()
    assert_close(x.grad, np.full((2, 3), 1 / 6))


def test_mm_matmul_and_at(device):
    a_np = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    b_np = np.array([[1.0, -1.0, 0.5], [2.0, 0.0, 1.0]])
    for how in ("mm", "matmul", "@"):
        a = xpgrad.tensor(a_np.tolist(), device=device, requires_grad=True)
        b = xpgrad.tensor(b_np.tolist(), device=device, requires_grad=True)
        c = a.mm(b) if how == "mm" else a.matmul(b) if how == "matmul" else a @ b
        assert c.shape == (3, 3)
        assert_close(c, a_np @ b_np)
        c.sum().backward()
        assert_close(a.grad, np.ones((3, 3)) @ b_np.T)
        assert_close(b.grad, a_np.T @ np.ones((3, 3)))
    v = xpgrad.tensor([1.0, 2.0], device=device, requires_grad=True)
    w = xpgrad.tensor([3.0, 4.0], device=device, requires_grad=True)
    d = v @ w
    assert d.shape == ()
    assert_close(d, 11.0)
    d.backward()
    assert_close(v.grad, [3.0, 4.0])
    assert_close(w.grad, [1.0, 2.0])


def test_pow_exp_log_sqrt_abs_norm(device):
    xs = np.array([0.5, 1.5, 4.0])
    x = xpgrad.tensor(xs.tolist(), device=device, requires_grad=True)
    cases = [
        (lambda t: t.pow(3), lambda v: v**3, lambda v: 3 * v**2),
        (lambda t: t ** 2.5, lambda v: v**2.5, lambda v: 2.5 * v**1.5),
        (lambda t: t.exp(), np.exp, np.exp),
        (lambda t: t.log(), np.log, lambda v: 1 / v),
        (lambda t: t.sqrt(), np.sqrt, lambda v: 0.5 / np.sqrt(v)),
        (lambda t: (t - 1.0).abs(), lambda v: np.abs(v - 1), lambda v: np.sign(v - 1)),
        (lambda t: abs(t - 1.0), lambda v: np.abs(v - 1), lambda v: np.sign(v - 1)),
    ]
    for f, fv, df in cases:
        x.grad = None
        y = f(x)
        assert_close(y, fv(xs), rtol=1e-5)
        y.sum().backward()
        assert_close(x.grad, df(xs), rtol=1e-5)
    x.grad = None
    n = x.norm()
    assert n.shape == ()
    assert_close(n, np.linalg.norm(xs), rtol=1e-6)
    n.backward()
    assert_close(x.grad, xs / np.linalg.norm(xs), rtol=1e-6)
    m = xpgrad.tensor(M, device=device, requires_grad=True)
    rows = m.norm(dim=1)
    assert_close(rows, np.linalg.norm(np.array(M), axis=1), rtol=1e-6)
    rows.sum().backward()
    assert_close(m.grad, np.array(M) / np.linalg.norm(np.array(M), axis=1, keepdims=True), rtol=1e-6)


def test_reshape_accepts_ints_and_tuple(device):
    x = xpgrad.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], device=device, requires_grad=True)
    a = x.reshape(2, 3)
    b = x.reshape((2, 3))
    c = x.reshape([3, 2])
    assert a.shape == (2, 3) and b.shape == (2, 3) and c.shape == (3, 2)
    assert a.tolist() == M == b.tolist()
    assert x.reshape(-1, 2).shape == (3, 2)
    (a * xpgrad.tensor(M, device=device)).sum().backward()
    assert_close(x.grad, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])


# ---------------------------------------------------------------------- operators


def test_arithmetic_operators_and_gradients(device):
    av, bv = np.array([1.0, 2.0, 4.0]), np.array([3.0, -1.0, 0.5])
    cases = [
        (lambda a, b: a + b, av + bv, (np.ones(3), np.ones(3))),
        (lambda a, b: a - b, av - bv, (np.ones(3), -np.ones(3))),
        (lambda a, b: a * b, av * bv, (bv, av)),
        (lambda a, b: a / b, av / bv, (1 / bv, -av / bv**2)),
        (lambda a, b: a ** b, av**bv, (bv * av ** (bv - 1), av**bv * np.log(av))),
    ]
    for f, expected, (da, db) in cases:
        a = xpgrad.tensor(av.tolist(), device=device, requires_grad=True)
        b = xpgrad.tensor(bv.tolist(), device=device, requires_grad=True)
        y = f(a, b)
        assert_close(y, expected, rtol=1e-5)
        y.sum().backward()
        assert_close(a.grad, da, rtol=1e-5)
        assert_close(b.grad, db, rtol=1e-5)


def test_scalar_and_reflected_operators(device):
    xs = np.array([1.0, 2.0, 4.0])
    cases = [
        (lambda t: t + 2, xs + 2, np.ones(3)),
        (lambda t: 2 + t, 2 + xs, np.ones(3)),
        (lambda t: t - 2, xs - 2, np.ones(3)),
        (lambda t: 2 - t, 2 - xs, -np.ones(3)),
        (lambda t: t * 3, xs * 3, np.full(3, 3.0)),
        (lambda t: 3 * t, 3 * xs, np.full(3, 3.0)),
        (lambda t: t / 4, xs / 4, np.full(3, 0.25)),
        (lambda t: 4 / t, 4 / xs, -4 / xs**2),
        (lambda t: t ** 2, xs**2, 2 * xs),
        (lambda t: 2 ** t, 2**xs, 2**xs * math.log(2)),
        (lambda t: -t, -xs, -np.ones(3)),
        (lambda t: +t, xs, np.ones(3)),
        (lambda t: 1.5 * t - 0.5 / t + 1, 1.5 * xs - 0.5 / xs + 1, 1.5 + 0.5 / xs**2),
    ]
    for f, expected, grad in cases:
        x = xpgrad.tensor(xs.tolist(), device=device, requires_grad=True)
        y = f(x)
        assert isinstance(y, xpgrad.Tensor)
        assert_close(y, expected, rtol=1e-5)
        y.sum().backward()
        assert_close(x.grad, grad, rtol=1e-5)


def test_comparison_operators(device):
    x = xpgrad.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    y = xpgrad.tensor([2.0, 2.0, 2.0], device=device)
    cases = [
        (x == y, [False, True, False]),
        (x != y, [True, False, True]),
        (x < y, [True, False, False]),
        (x <= y, [True, True, False]),
        (x > y, [False, False, True]),
        (x >= y, [False, True, True]),
        (x == 2, [False, True, False]),
        (x > 1.5, [False, True, True]),
        (2 < x, [False, False, True]),  # noqa: SIM300 (reflected: x > 2)
        (2 >= x, [True, True, False]),  # noqa: SIM300 (reflected: x <= 2)
    ]
    for result, expected in cases:
        assert dtype_name(result.dtype) == "bool"
        assert not result.requires_grad and result.grad_fn is None
        assert result.tolist() == expected


# ---------------------------------------------------------------------- indexing


def test_basic_indexing(device):
    x = xpgrad.tensor(M, device=device, requires_grad=True)
    assert x[1].tolist() == [4.0, 5.0, 6.0]
    assert x[0, 2].item() == 3.0
    assert x[:, 1:].tolist() == [[2.0, 3.0], [5.0, 6.0]]
    assert x[-1, ::2].tolist() == [4.0, 6.0]
    (x[0, 1:] * 2.0).sum().backward()
    assert_close(x.grad, [[0.0, 2.0, 2.0], [0.0, 0.0, 0.0]])
    x.grad = None
    x[..., -1].sum().backward()
    assert_close(x.grad, [[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])


def test_integer_array_indexing(device):
    x = xpgrad.tensor([10.0, 20.0, 30.0], device=device, requires_grad=True)
    y = x[[0, 0, 2]]
    assert y.tolist() == [10.0, 10.0, 30.0]
    (y * xpgrad.tensor([1.0, 2.0, 3.0], device=device)).sum().backward()
    assert_close(x.grad, [3.0, 0.0, 3.0])  # repeated indices accumulate
    m = xpgrad.tensor(M, device=device, requires_grad=True)
    idx = xpgrad.tensor([1, 1, 0], device=device)
    rows = m[idx]
    assert rows.shape == (3, 3)
    assert rows.tolist() == [M[1], M[1], M[0]]
    rows.sum().backward()
    assert_close(m.grad, [[1.0] * 3, [2.0] * 3])
    m.grad = None
    m[:, [2, 0]].sum().backward()
    assert_close(m.grad, [[1.0, 0.0, 1.0]] * 2)


# ---------------------------------------------------------------------- creation


def test_creation_helpers_accept_ints_and_tuples(device):
    for fn in (xpgrad.ones, xpgrad.zeros, xpgrad.rand, xpgrad.randn, xpgrad.empty):
        a = fn(2, 3, device=device)
        b = fn((2, 3), device=device)
        assert a.shape == (2, 3) == b.shape, fn.__name__
        assert dtype_name(a.dtype) == "float32" and a.device == device
        assert not a.requires_grad
    assert xpgrad.ones(2, 2, device=device).tolist() == [[1.0, 1.0], [1.0, 1.0]]
    assert xpgrad.zeros(3, device=device).tolist() == [0.0, 0.0, 0.0]
    assert xpgrad.ones(device=device).shape == ()


def test_creation_values(device):
    assert xpgrad.full((2, 2), 3.5, device=device).tolist() == [[3.5, 3.5], [3.5, 3.5]]
    assert dtype_name(xpgrad.full((2,), 1.0, device=device).dtype) == "float32"
    a = xpgrad.arange(5, device=device)
    assert a.tolist() == [0, 1, 2, 3, 4] and dtype_name(a.dtype) == "int64"
    f = xpgrad.arange(0.0, 1.0, 0.25, device=device)
    assert f.tolist() == [0.0, 0.25, 0.5, 0.75] and dtype_name(f.dtype) == "float32"
    assert xpgrad.arange(2, 8, 3, device=device).tolist() == [2, 5]
    assert xpgrad.eye(3, device=device).tolist() == np.eye(3).tolist()
    assert xpgrad.eye(2, 3, device=device).tolist() == np.eye(2, 3).tolist()
    assert dtype_name(xpgrad.eye(2, device=device).dtype) == "float32"
    r = values(xpgrad.rand(1000, device=device))
    assert r.min() >= 0.0 and r.max() < 1.0 and 0.4 < r.mean() < 0.6
    n = values(xpgrad.randn(4000, device=device))
    assert abs(n.mean()) < 0.1 and 0.9 < n.std() < 1.1


def test_creation_requires_grad_and_dtype(device):
    for t in (
        xpgrad.ones(2, device=device, requires_grad=True),
        xpgrad.zeros((2,), device=device, requires_grad=True),
        xpgrad.full((2,), 1.0, device=device, requires_grad=True),
        xpgrad.eye(2, device=device, requires_grad=True),
        xpgrad.rand(2, device=device, requires_grad=True),
        xpgrad.randn(2, device=device, requires_grad=True),
        xpgrad.arange(0.0, 2.0, device=device, requires_grad=True),
        xpgrad.tensor([1.0], device=device, requires_grad=True),
    ):
        assert t.requires_grad and t.is_leaf
    for fn in (xpgrad.ones, xpgrad.zeros, xpgrad.rand, xpgrad.randn):
        assert dtype_name(fn(2, dtype=xpgrad.float64, device=device).dtype) == "float64", fn.__name__
    assert dtype_name(xpgrad.ones(2, dtype=xpgrad.int64, device=device).dtype) == "int64"
    assert dtype_name(xpgrad.full((2,), 3, dtype=xpgrad.float64, device=device).dtype) == "float64"
    assert dtype_name(xpgrad.arange(3, dtype=xpgrad.float32, device=device).dtype) == "float32"
    assert dtype_name(xpgrad.eye(2, dtype=xpgrad.float64, device=device).dtype) == "float64"
    assert dtype_name(xpgrad.tensor([1, 2], dtype=xpgrad.float32, device=device).dtype) == "float32"


def test_like_helpers(device):
    x = xpgrad.tensor(M, dtype=xpgrad.float64, device=device, requires_grad=True)
    for fn in (xpgrad.ones_like, xpgrad.zeros_like, xpgrad.rand_like, xpgrad.randn_like,
               xpgrad.empty_like):
        t = fn(x)
        assert t.shape == (2, 3) and dtype_name(t.dtype) == "float64" and t.device == device
        assert not t.requires_grad, fn.__name__
    assert xpgrad.ones_like(x).tolist() == [[1.0] * 3] * 2
    assert xpgrad.zeros_like(x).tolist() == [[0.0] * 3] * 2
    assert xpgrad.full_like(x, 7.0).tolist() == [[7.0] * 3] * 2
    assert dtype_name(xpgrad.ones_like(x, dtype=xpgrad.float32).dtype) == "float32"
    assert xpgrad.zeros_like(x, requires_grad=True).requires_grad


def test_manual_seed_reproducible(device):
    xpgrad.manual_seed(1234)
    a, b = xpgrad.randn(5, device=device), xpgrad.rand(5, device=device)
    xpgrad.manual_seed(1234)
    c, d = xpgrad.randn(5, device=device), xpgrad.rand(5, device=device)
    assert a.tolist() == c.tolist() and b.tolist() == d.tolist()
    assert xpgrad.randn(5, device=device).tolist() != a.tolist()
    xpgrad.manual_seed(4321)
    assert xpgrad.randn(5, device=device).tolist() != a.tolist()


# ---------------------------------------------------------------------- dtypes


def test_default_dtypes(device):
    assert dtype_name(xpgrad.tensor(1.5, device=device).dtype) == "float32"
    assert dtype_name(xpgrad.tensor([1.0, 2.0], device=device).dtype) == "float32"
    assert dtype_name(xpgrad.tensor([1, 2.5], device=device).dtype) == "float32"
    assert dtype_name(xpgrad.tensor([[1.0], [2.0]], device=device).dtype) == "float32"
    assert dtype_name(xpgrad.tensor(3, device=device).dtype) == "int64"
    assert dtype_name(xpgrad.tensor([1, 2], device=device).dtype) == "int64"
    assert dtype_name(xpgrad.tensor([True, False], device=device).dtype) == "bool"
    # Python complex numbers: complex64, as in PyTorch (a float beside them too)
    assert dtype_name(xpgrad.tensor(1 + 2j, device=device).dtype) == "complex64"
    assert dtype_name(xpgrad.tensor([[1.0], [2j]], device=device).dtype) == "complex64"
    assert dtype_name(xpgrad.tensor([1, 2j], dtype=xpgrad.complex128, device=device).dtype) == "complex128"


def test_numpy_array_keeps_its_dtype():
    t = xpgrad.tensor(np.array([1.0, 2.0]))
    assert dtype_name(t.dtype) == "float64"
    assert dtype_name(xpgrad.tensor(np.array([1, 2], dtype=np.int32)).dtype) == "int32"
    assert dtype_name(xpgrad.tensor(np.array([1.0], dtype=np.float32)).dtype) == "float32"
    assert dtype_name(xpgrad.tensor(np.array([1.0]), dtype=xpgrad.float32).dtype) == "float32"
    x = xpgrad.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * x).sum().backward()
    assert dtype_name(x.grad.dtype) == "float64"
    assert_close(x.grad, [2.0, 4.0])


# ---------------------------------------------------------------------- repr and nodes


def test_repr_like_pytorch():
    x = xpgrad.tensor([2.0], requires_grad=True)
    z = (x + 2) ** 2 + 3
    assert repr(z) == "tensor([19.], grad_fn=<AddBackward>)"
    assert repr(x) == "tensor([2.], requires_grad=True)"
    assert str(x) == repr(x)
    assert repr(xpgrad.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(xpgrad.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(xpgrad.tensor([0.5, 1.25])) == "tensor([0.5000, 1.2500])"
    assert repr(xpgrad.tensor([1.0], dtype=xpgrad.float64)) == "tensor([1.], dtype=xpgrad.float64)"
    assert repr((x * 3.0).sum()) == "tensor(6., grad_fn=<SumBackward0>)"
    z.backward()
    assert repr(x.grad) == "tensor([8.])"


def test_node_names(device):
    x = xpgrad.tensor(M, device=device, requires_grad=True)
    names = {
        "AddBackward": x + 1,
        "SubBackward": x - 1,
        "MulBackward": x * 2,
        "DivBackward": x / 2,
        "NegBackward": -x,
        "PowBackward": x ** 2,
        "ExpBackward": x.exp(),
        "LogBackward": x.log(),
        "SqrtBackward": x.sqrt(),
        "AbsBackward": x.abs(),
        "SumBackward0": x.sum(),
        "MeanBackward1": x.mean(),
        "MmBackward": x @ x.T,
        "ViewBackward": x.reshape(3, 2),
        "IndexBackward": x[0, :],
        "NormBackward": x.norm(),
    }
    for name, t in names.items():
        assert type(t.grad_fn).__name__ == name
        assert t.grad_fn.name() == name
        assert name in repr(t.grad_fn)
        assert isinstance(t.grad_fn, xpgrad.Node)


def test_next_functions_and_accumulate_grad(device):
    x = xpgrad.tensor([1.0], device=device, requires_grad=True)
    w = xpgrad.tensor([2.0], device=device, requires_grad=True)
    c = xpgrad.tensor([3.0], device=device)
    h = x * w
    (acc_x, ix), (acc_w, iw) = h.grad_fn.next_functions
    assert ix == 0 and iw == 0
    assert isinstance(acc_x, xpgrad.AccumulateGrad) and type(acc_x).__name__ == "AccumulateGrad"
    assert acc_x.variable is x and acc_w.variable is w
    assert acc_x.next_functions == ()
    y = h + c
    assert y.grad_fn.next_functions == ((h.grad_fn, 0), (None, 0))
    z = y * 2.0
    assert z.grad_fn.next_functions[0] == (y.grad_fn, 0)
    assert z.grad_fn.next_functions[1] == (None, 0)
    # the same leaf always has the same AccumulateGrad node
    assert (x * 3.0).grad_fn.next_functions[0][0] is acc_x


def test_variable_returns_tensor(device):
    t = xpgrad.tensor([1.0, 2.0], device=device)
    v = xpgrad.autograd.Variable(t, requires_grad=True)
    assert isinstance(v, xpgrad.Tensor)
    assert type(v) is xpgrad.Tensor
    assert v.requires_grad and v.is_leaf and v.tolist() == [1.0, 2.0]
    (v * v).sum().backward()
    assert_close(v.grad, [2.0, 4.0])
    assert not xpgrad.autograd.Variable(t).requires_grad


# ---------------------------------------------------------------------- in place


@pytest.mark.parametrize(
    "op, expected",
    [
        (lambda t: t.add_(2.0), [3.0, 4.0]),
        (lambda t: t.sub_(0.5), [0.5, 1.5]),
        (lambda t: t.mul_(3.0), [3.0, 6.0]),
        (lambda t: t.div_(2.0), [0.5, 1.0]),
        (lambda t: t.zero_(), [0.0, 0.0]),
        (lambda t: t.fill_(7.0), [7.0, 7.0]),
        (lambda t: t.add_(xpgrad.tensor([1.0, 1.0], device=t.device)), [2.0, 3.0]),
        (lambda t: t.copy_(xpgrad.tensor([9.0, 8.0], device=t.device)), [9.0, 8.0]),
    ],
    ids=["add_", "sub_", "mul_", "div_", "zero_", "fill_", "add_tensor", "copy_"],
)
def test_inplace_methods_bump_version(device, op, expected):
    t = xpgrad.tensor([1.0, 2.0], device=device)
    before = t._version
    storage = t.numpy() if device == "cpu" else None
    result = op(t)
    assert result is t
    assert t._version > before
    assert t.tolist() == expected
    if storage is not None:
        assert storage.tolist() == expected  # written into the same storage


def test_augmented_assignment_bumps_version(device):
    t = xpgrad.tensor([1.0, 2.0], device=device)
    same = t
    versions = [t._version]
    t += 1.0
    versions.append(t._version)
    t -= 0.5
    versions.append(t._version)
    t *= 4.0
    versions.append(t._version)
    t /= 2.0
    versions.append(t._version)
    t **= 2
    versions.append(t._version)
    assert t is same
    assert versions == sorted(set(versions)), versions  # strictly increasing
    assert t.tolist() == [9.0, 25.0]


def test_detach_shares_version_counter(device):
    x = xpgrad.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x * 2.0
    d = y.detach()
    before = y._version
    d.add_(1.0)
    assert y._version > before and d._version == y._version


def test_backward_through_modified_saved_tensor_raises(device):
    x = xpgrad.tensor([1.0, 2.0], device=device, requires_grad=True)
    h = x * 2.0
    y = h * h  # saves h
    h.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()


def test_backward_through_modified_saved_output_keeps_it(device):
    # exp saves its output; the write gives the node a copy first, so z's gradient is
    # exp(x), exact (PyTorch raises here: docs/design.md, "Views and in-place writes").
    x = xpgrad.tensor([1.0, 2.0], dtype=xpgrad.float64, device=device, requires_grad=True)
    y = x.exp()
    z = y * 1.0
    y.mul_(2.0)
    z.sum().backward()
    np.testing.assert_allclose(values(x.grad), np.exp([1.0, 2.0]), rtol=1e-15)


def test_backward_through_a_saved_input_modified_in_place_raises(device):
    x = xpgrad.tensor([1.0, 2.0], device=device, requires_grad=True)
    h = x * 1.0
    z = h.log()  # saves h, an input
    h.mul_(2.0)
    with pytest.raises(RuntimeError, match="LogBackward saved for backward was modified by an in-place"):
        z.sum().backward()


def test_inplace_on_non_leaf_is_differentiable(device):
    x = xpgrad.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x * 2.0  # multiply by a scalar saves nothing of y
    y.add_(1.0)
    y.mul_(3.0)
    assert not y.is_leaf and type(y.grad_fn).__name__ == "MulBackward"
    assert_close(y, [9.0, 15.0])
    y.sum().backward()
    assert_close(x.grad, [6.0, 6.0])


def test_inplace_on_leaf_requiring_grad(device):
    w = xpgrad.tensor([1.0, 2.0], device=device, requires_grad=True)
    for op in (lambda: w.add_(1.0), lambda: w.mul_(2.0), lambda: w.sub_(1.0),
               lambda: w.div_(2.0), lambda: w.zero_()):
        with pytest.raises(RuntimeError, match=r"leaf Tensor that requires grad.*in-place.*no_grad"):
            op()
    with pytest.raises(RuntimeError, match="leaf Tensor that requires grad"):
        w += 1.0
    assert w.tolist() == [1.0, 2.0]
    (w * w).sum().backward()
    with xpgrad.no_grad():  # an optimizer step
        w -= 0.25 * w.grad
    assert_close(w, [0.5, 1.0])
    assert w.is_leaf and w.requires_grad and w.grad_fn is None
    with xpgrad.no_grad():
        w.grad.zero_()
        w.mul_(2.0)
    (w * w).sum().backward()
    assert_close(w.grad, [2.0, 4.0])


# ---------------------------------------------------------------------- NumPy interop


def test_numpy_scalars_are_constants_like_python_scalars():
    x = xpgrad.tensor([1.0, 2.0], requires_grad=True)
    y = np.float64(2) * x + x * np.float32(3) - np.int64(1)
    assert y.tolist() == [4.0, 9.0]
    y.sum().backward()
    assert x.grad.tolist() == [5.0, 5.0]


def test_ndarray_operand_is_an_error_not_a_silent_conversion():
    x = xpgrad.tensor([1.0, 2.0], requires_grad=True)
    # on either side, xpgrad's message: wrap the array
    with pytest.raises(TypeError, match="argument 'x1' must be a Tensor.*wrap"):
        np.ones(2) * x
    with pytest.raises(TypeError, match="wrap"):
        x * np.ones(2)


def test_tensor_copies_an_array_and_as_tensor_shares_it():
    a = np.ones(3)
    copied, shared = xpgrad.tensor(a), xpgrad.as_tensor(a)
    a[0] = 5.0
    assert copied.tolist() == [1.0, 1.0, 1.0]
    assert shared.tolist() == [5.0, 1.0, 1.0]


def test_zero_dimensional_results_hold_arrays_and_take_in_place_ops():
    # NumPy returns scalars from arithmetic on 0-d arrays; a Tensor must hold an array.
    x = xpgrad.tensor(3.0, dtype=xpgrad.float64, requires_grad=True)
    y = x * 2
    assert isinstance(y.detach().numpy(), np.ndarray) and y.shape == ()
    w = x.detach() * 2
    w.add_(1)
    assert w.item() == 7.0
    y.backward()
    g = x.grad
    g.data.zero_()  # shares storage with x.grad, as in the tutorials
    assert x.grad.item() == 0.0
    a = xpgrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (a.sum() * a[0]).backward()
    assert a.grad.tolist() == [7.0, 1.0, 1.0]


# ---------------------------------------------------------------------- array API object


def test_size_is_the_standard_property_and_pytorch_method(device):
    x = xpgrad.ones(2, 3, device=device)
    assert x.size == 6 and x.size + 1 == 7  # the standard: the number of elements
    assert x.size() == (2, 3) and x.size(0) == 2 and x.size(-1) == 3  # PyTorch's size()
    assert xpgrad.tensor(2.0, device=device).size == 1 and xpgrad.tensor(2.0, device=device).size() == ()


def test_floor_divide_and_remainder_operators_match_python(device):
    xs, ys = [7.0, -7.0, 7.5, -0.5], [2.0, 2.0, -2.0, 3.0]
    x = xpgrad.tensor(xs, dtype=xpgrad.float64, device=device)
    y = xpgrad.tensor(ys, dtype=xpgrad.float64, device=device)
    assert_close(x // y, [a // b for a, b in zip(xs, ys)])
    assert_close(x % y, [a % b for a, b in zip(xs, ys)])  # the sign of the divisor, as Python
    assert_close(10 // y, [10 // b for b in ys])
    assert_close(10 % y, [10 % b for b in ys])
    i = xpgrad.tensor([5, 6], device=device)
    i //= 2
    i %= 2
    assert i.tolist() == [0, 1]


def test_bitwise_operators_on_integers_and_bools(device):
    a = xpgrad.tensor([12, 10], device=device)
    assert (a & 6).tolist() == [4, 2] and (6 & a).tolist() == [4, 2]
    assert (a | 1).tolist() == [13, 11] and (a ^ 15).tolist() == [3, 5]
    assert (a << 1).tolist() == [24, 20] and (1 << xpgrad.tensor([2, 3], device=device)).tolist() == [4, 8]
    assert (a >> 2).tolist() == [3, 2] and (~a).tolist() == [-13, -11]
    m = xpgrad.tensor([True, False], device=device)
    assert (m & True).tolist() == [True, False] and (~m).tolist() == [False, True]
    a |= 1
    a <<= 1
    assert a.tolist() == [26, 22]


def test_dlpack_export(device):
    x = xpgrad.tensor([1.0, 2.0], dtype=xpgrad.float64, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"export t.detach\(\) instead"):
        x.__dlpack__()
    if device == "dask":
        with pytest.raises(BufferError, match="do not support DLPack"):
            x.detach().__dlpack__()
        return
    if device == "cpu":
        np.testing.assert_array_equal(np.from_dlpack(x.detach()), [1.0, 2.0])


def test_array_namespace_version_check():
    x = xpgrad.tensor([1.0])
    assert x.__array_namespace__(api_version="2024.12") is xpgrad.xp
    with pytest.raises(ValueError, match="not supported"):
        x.__array_namespace__(api_version="2020.10")


def test_pytorch_face_tril_triu_meshgrid_linspace(device):
    m = np.arange(9.0).reshape(3, 3)
    x = xpgrad.tensor(m.tolist(), dtype=xpgrad.float64, device=device, requires_grad=True)
    assert_close(xpgrad.tril(x), np.tril(m))
    assert_close(xpgrad.triu(x, 1), np.triu(m, 1))
    xpgrad.tril(x, -1).sum().backward()
    assert_close(x.grad, np.tril(np.ones((3, 3)), -1))
    a, b = xpgrad.arange(2.0, device=device), xpgrad.arange(3.0, device=device)
    ga, gb = xpgrad.meshgrid(a, b)  # "ij", as torch.meshgrid
    assert ga.shape == (2, 3) and gb.shape == (2, 3)
    assert_close(gb, np.meshgrid([0.0, 1.0], [0.0, 1.0, 2.0], indexing="ij")[1])
    assert xpgrad.meshgrid([a, b], indexing="xy")[0].shape == (3, 2)
    s = xpgrad.linspace(0, 1, 5, device=device)
    assert dtype_name(s.dtype) == "float32" and s.device == device
    assert_close(s, np.linspace(0, 1, 5))
    assert_close(xpgrad.floor_divide(xpgrad.tensor([7.0, -7.0], device=device), 2), [3.0, -4.0])
    assert_close(xpgrad.remainder(xpgrad.tensor([7.0, -7.0], device=device), 3), [1.0, 2.0])


def test_tensors_hash_by_identity_as_in_pytorch(device):
    """Tensors are dict keys and set members (an optimizer's state is keyed by its
    parameters): hashed by identity, never by value (== is elementwise)."""
    a = xpgrad.tensor([1.0, 2.0], device=device)
    b = xpgrad.tensor([1.0, 2.0], device=device)
    assert hash(a) == id(a)
    assert len({a, b, a}) == 2
    assert {a: "a", b: "b"}[b] == "b"


def test_deepcopy_of_a_leaf_copies_its_data_and_grad(device):
    import copy

    w = xpgrad.tensor([1.0, 2.0], dtype=xpgrad.float64, device=device, requires_grad=True)
    (w * w).sum().backward()
    state = {"w": w, "again": w}
    new = copy.deepcopy(state)
    assert new["w"] is new["again"] and new["w"] is not w  # shared once, as deepcopy does
    assert new["w"].requires_grad and new["w"].is_leaf and new["w"].device == w.device
    assert new["w"].tolist() == [1.0, 2.0] and new["w"].grad.tolist() == [2.0, 4.0]
    with xpgrad.no_grad():
        new["w"].add_(1.0)
    assert w.tolist() == [1.0, 2.0]  # memory of its own
    with pytest.raises(RuntimeError, match=r"Only Tensors created explicitly by the user \(graph leaves\) "
                                           r"support the deepcopy protocol"):
        copy.deepcopy(w * 2)


def test_manual_seed_before_anything_else_is_reproducible():
    """Seeding first thing in a fresh process (before any Tensor or op has loaded the
    backends) seeds them: the same seed gives the same numbers."""
    import subprocess
    import sys

    code = ("import xpgrad\n"
            "xpgrad.manual_seed(0); a = xpgrad.rand(4).tolist()\n"
            "xpgrad.manual_seed(0); b = xpgrad.rand(4).tolist()\n"
            "print(a == b)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True"
