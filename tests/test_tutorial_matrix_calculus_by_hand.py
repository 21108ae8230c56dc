"""The tutorial "Autograd in Pytorch" -- matrix calculus checked by hand.

Example 1: y = a^T x (mm, t): dy/da = x, dy/dx = a.
Example 2: y = (Ax + b)^T C (Dx + e): dy/dx = D^T C^T (Ax + b) + A^T C (Dx + e).
Example 3: y = tr(X^-1 A): dy/dX = -(X^-1)^T A^T (X^-1)^T.
Each gradient is compared with the tutorial's own formula evaluated in xpgrad (its
``ggg`` cell) and with the formula evaluated independently in NumPy from the inputs.
"""
import numpy as np

import xpgrad as torch
from xpgrad.autograd import Variable

from helpers import is_float32, values


def _close(got, expected, rtol=1e-4):
    """float32 against a float64 reference, relative to the reference's scale."""
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * max(1.0, np.abs(expected).max()))


# ---------------------------------------------------------------------- Example 1


def test_example_1_a_transpose_x(device, shown):
    # In [2]-[3]
    a = Variable(torch.rand(3, 1, device=device), requires_grad=True)
    x = Variable(torch.rand(3, 1, device=device), requires_grad=True)
    an, xn = values(a), values(x)
    assert ((an >= 0) & (an < 1)).all() and ((xn >= 0) & (xn < 1)).all()
    assert a.shape == (3, 1) and x.shape == (3, 1)
    assert a.t().shape == (1, 3)
    y = torch.mm(a.t(), x)
    assert y.shape == (1, 1)
    _close(values(y), an.T @ xn, rtol=1e-5)
    y.backward()
    # gradients of a and x
    assert a.grad.shape == (3, 1) and x.grad.shape == (3, 1)
    assert is_float32(a.grad) and is_float32(x.grad)
    assert a.grad.tolist() == x.tolist()  # a.grad = x, exactly
    assert x.grad.tolist() == a.tolist()  # x.grad = a, exactly
    assert shown(a.grad) == shown(x.data)
    assert shown(x.grad) == shown(a.data)


def test_example_1_graph(device):
    a = Variable(torch.rand(3, 1, device=device), requires_grad=True)
    x = Variable(torch.rand(3, 1, device=device), requires_grad=True)
    y = torch.mm(a.t(), x)
    mm = y.grad_fn
    t = mm.next_functions[0][0]
    assert t.next_functions[0][0].variable is a
    assert mm.next_functions[1][0].variable is x
    assert mm.previous_functions[1][0] is x


# ---------------------------------------------------------------------- Example 2


def test_example_2_quadratic_form(device):
    # In [4]-[5]
    A = torch.rand(5, 5, device=device)
    b = torch.rand(5, 1, device=device)
    C = torch.rand(5, 5, device=device)
    D = torch.rand(5, 5, device=device)
    e = torch.rand(5, 1, device=device)
    x = torch.rand(5, 1, device=device)
    A = Variable(A, requires_grad=False)
    b = Variable(b, requires_grad=False)
    C = Variable(C, requires_grad=False)
    D = Variable(D, requires_grad=False)
    e = Variable(e, requires_grad=False)
    x = Variable(torch.rand(5, 1, device=device), requires_grad=True)
    z = torch.mm(torch.mm((torch.mm(A, x) + b).t(), C), torch.mm(D, x) + e)
    assert z.shape == (1, 1)
    z.backward()
    assert x.grad.shape == (5, 1)
    assert is_float32(x.grad)
    for t in (A, b, C, D, e):
        assert t.grad is None and not t.requires_grad

    # the tutorial's check, in xpgrad
    ggg = torch.mm(torch.mm(D.t(), C.t()), torch.mm(A, x) + b) + torch.mm(torch.mm(A.t(), C), torch.mm(D, x) + e)
    assert ggg.shape == (5, 1)
    _close(values(x.grad), values(ggg))

    # and independently, in NumPy
    An, bn, Cn, Dn, en, xn = (values(t) for t in (A, b, C, D, e, x))
    _close(values(z), (An @ xn + bn).T @ Cn @ (Dn @ xn + en))
    expected = Dn.T @ Cn.T @ (An @ xn + bn) + An.T @ Cn @ (Dn @ xn + en)
    _close(values(x.grad), expected)


# ---------------------------------------------------------------------- Example 3


def test_example_3_trace_of_inverse(device):
    # In [10]-[11]
    X = Variable(torch.rand(5, 5, device=device), requires_grad=True)
    A = Variable(torch.rand(5, 5, device=device), requires_grad=False)
    y = torch.trace(torch.mm(torch.inverse(X), A))
    assert y.shape == ()
    y.backward()
    assert X.grad.shape == (5, 5)
    assert is_float32(X.grad)
    assert A.grad is None

    Xn, An = values(X), values(A)
    Xi = np.linalg.inv(Xn)
    _close(y.item(), np.trace(Xi @ An), rtol=1e-3)

    # the tutorial's check, in xpgrad
    ggg = -torch.mm(torch.mm(torch.inverse(X).t(), A.t()), torch.inverse(X).t())
    assert type(ggg.grad_fn).__name__ == "NegBackward"
    _close(values(X.grad), values(ggg), rtol=1e-3)

    # and independently, in NumPy
    _close(values(X.grad), -Xi.T @ An.T @ Xi.T, rtol=1e-3)


def test_example_3_well_conditioned(device):
    # A fixed, well-conditioned X: the same identity to float32 precision.
    X = Variable(torch.tensor([[4.0, 1.0, 0.5], [0.2, 3.0, 1.0], [0.5, 0.3, 2.0]], device=device),
                 requires_grad=True)
    A = Variable(torch.tensor([[1.0, 2.0, 0.0], [0.5, 1.0, 3.0], [2.0, 0.0, 1.0]], device=device))
    y = torch.trace(torch.mm(torch.inverse(X), A))
    y.backward()
    Xi = np.linalg.inv(values(X))
    _close(y.item(), np.trace(Xi @ values(A)), rtol=1e-6)
    _close(values(X.grad), -Xi.T @ values(A).T @ Xi.T, rtol=1e-5)
    assert is_float32(X.grad)
