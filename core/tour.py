"""The tutorial tour: each example of the five PyTorch autograd tutorials, run on xpgrad,
with the gradient xpgrad computes beside the one the tutorial shows or derives.

``python -m xpgrad`` runs it; every check returns ``(label, computed, expected)`` and the
tour fails if any pair differs. Expected values are computed independently of the
engine: from the tutorial's printed numbers, or from its closed-form derivative evaluated
with plain array code on the inputs' values.
"""
from array_api_compat import array_namespace

import xpgrad
from xpgrad.autograd import Variable

__all__ = ["CHECKS", "TUTORIALS", "run"]


def _raw(t):
    """The backend array of a Tensor, for closed-form references outside the graph."""
    return t.detach()._data


def _close(a, b, rtol=1e-4, atol=1e-5):
    a, b = list(_flat(a)), list(_flat(b))
    return len(a) == len(b) and all(abs(x - y) <= atol + rtol * abs(y) for x, y in zip(a, b))


def _flat(v):
    if isinstance(v, xpgrad.Tensor):
        v = v.tolist()
    elif hasattr(v, "shape"):
        v = xpgrad.tensor(v).tolist()
    if isinstance(v, (list, tuple)):
        for item in v:
            yield from _flat(item)
    else:
        yield float(v)


# ---------------------------------------------------------------------- 000: Variable


def variable_and_graph(device):
    v = Variable(xpgrad.randn(3, 3, device=device), requires_grad=True)
    y = v ** 2
    z = y + 3
    assert z.creator.previous_functions[0][0] is y.creator
    assert z.creator.previous_functions[0][0].previous_functions[0][0] is v
    f = z.mean()
    f.backward()
    return "d mean(v**2 + 3)/dv = 2v/9", v.grad, 2 * _raw(v) / 9


def dynamic_graph(device):
    x = Variable(xpgrad.randn(3, device=device), requires_grad=True)
    y = x * 2
    doublings = 1
    while y.data.norm() < 1000:
        y = y * 2
        doublings += 1
    weights = [1, 0.1, 0.01]
    y.backward(xpgrad.tensor(weights, device=device))
    return "while-loop doubling, weighted backward", x.grad, [2 ** doublings * w for w in weights]


# ---------------------------------------------------------------------- 001: scalar, matmul


def scalar_chain(device):
    x = Variable(xpgrad.tensor([2.0], device=device), requires_grad=True)
    z = (x + 2) ** 2 + 3
    z.backward()
    return "d((x+2)**2+3)/dx at 2 = 8", x.grad, [8.0]


def mean_of_matmul(device):
    x = Variable(xpgrad.randn(10, 20, device=device), requires_grad=True)
    y = Variable(xpgrad.randn(10, 5, device=device), requires_grad=True)
    w = Variable(xpgrad.randn(20, 5, device=device), requires_grad=True)
    out = xpgrad.mean(y - xpgrad.matmul(x, w))
    out.backward()
    xp = array_namespace(_raw(w))
    expected = -xp.matmul(xp.ones_like(_raw(y)), xp.matrix_transpose(_raw(w))) / 50
    return "d mean(y - x@w)/dx = -1 w^T / 50", x.grad, expected


# ---------------------------------------------------------------------- 002: higher order


def norm_gradient(device):
    x = Variable(xpgrad.randn(10, device=device), requires_grad=True)
    out = xpgrad.sqrt(xpgrad.sum(xpgrad.pow(x, 2), dim=0))
    out.backward(create_graph=True)
    raw = _raw(x)
    xp = array_namespace(raw)
    return "d ||x||/dx = x/||x||", x.grad, raw / xp.sqrt(xp.sum(raw * raw))


def per_row_gradients(device):
    x = Variable(xpgrad.tensor([[2.0, 1.0]], device=device), requires_grad=True)
    M = Variable(xpgrad.tensor([[1.0, 2.0], [3.0, 4.0]], device=device))
    y = xpgrad.mm(x, M)
    y.backward(xpgrad.tensor([[1.0, 0.0]], device=device), create_graph=True)
    first = x.grad.data.tolist()
    x.grad.data.zero_()
    y.backward(xpgrad.tensor([[0.0, 1.0]], device=device), create_graph=True)
    return "rows of M^T through grad_tensors", [first, x.grad.data.tolist()], [[[1, 3]], [[2, 4]]]


def second_derivative(device):
    x = Variable(xpgrad.randn(2, 2, device=device), requires_grad=True)
    y = Variable(xpgrad.randn(2, 2, device=device), requires_grad=True)
    out = x ** 2 + x * y + y ** 2
    out.backward(xpgrad.ones(2, 2, device=device), create_graph=True)
    x_grad = x.grad
    first_ok = _close(x_grad, 2 * _raw(x) + _raw(y))
    x.grad.data.zero_()
    x_grad.backward(xpgrad.ones(2, 2, device=device))
    return "d2(x^2 + xy + y^2)/dx2 = 2 (and first = 2x + y)", \
        [x.grad.tolist(), first_ok], [[[2, 2], [2, 2]], True]


# ---------------------------------------------------------------------- 003: Tensor


def mean_of_product(device):
    x = xpgrad.ones(2, 2, requires_grad=True, device=device)
    out = ((x + 2) * (x + 2) * 3).mean()
    out.backward()
    return "d mean(3(x+2)^2)/dx at 1 = 4.5", [out.item(), x.grad.tolist()], [27, [[4.5, 4.5], [4.5, 4.5]]]


def no_grad_block(device):
    x = xpgrad.randn(3, requires_grad=True, device=device)
    with xpgrad.no_grad():
        inside = (x ** 2).requires_grad
    return "requires_grad outside / inside no_grad", [float((x ** 2).requires_grad), float(inside)], [1, 0]


# ---------------------------------------------------------------------- 004: matrix calculus


def linear_form(device):
    a = Variable(xpgrad.rand(3, 1, device=device), requires_grad=True)
    x = Variable(xpgrad.rand(3, 1, device=device), requires_grad=True)
    xpgrad.mm(a.t(), x).backward()
    return "d a^T x: da = x, dx = a", [a.grad.tolist(), x.grad.tolist()], [x.tolist(), a.tolist()]


def bilinear_form(device):
    A, b, C, D, e = (xpgrad.rand(*s, device=device) for s in ((5, 5), (5, 1), (5, 5), (5, 5), (5, 1)))
    x = Variable(xpgrad.rand(5, 1, device=device), requires_grad=True)
    z = xpgrad.mm(xpgrad.mm((xpgrad.mm(A, x) + b).t(), C), xpgrad.mm(D, x) + e)
    z.backward()
    xp = array_namespace(_raw(x))
    rA, rb, rC, rD, re, rx = (_raw(t) for t in (A, b, C, D, e, x))
    T = xp.matrix_transpose
    expected = T(rD) @ T(rC) @ (rA @ rx + rb) + T(rA) @ rC @ (rD @ rx + re)
    return "d (Ax+b)^T C (Dx+e)/dx", x.grad, expected


def trace_of_inverse(device):
    X = Variable(xpgrad.rand(5, 5, device=device) + 5 * xpgrad.eye(5, device=device), requires_grad=True)
    A = Variable(xpgrad.rand(5, 5, device=device))
    xpgrad.trace(xpgrad.mm(xpgrad.inverse(X), A)).backward()
    xp = array_namespace(_raw(X))
    # The forward inverse, not xp.linalg.inv: dask's needs SciPy, xpgrad's dask inv does not.
    inv_t = xp.matrix_transpose(_raw(xpgrad.inverse(X.detach())))
    return "d tr(X^-1 A)/dX = -X^-T A^T X^-T", X.grad, -(inv_t @ xp.matrix_transpose(_raw(A)) @ inv_t)


WRITES = {per_row_gradients, second_derivative}  # skipped where arrays are immutable (JAX)
# Each tutorial's checks under a title that says what the tutorial teaches, in its order.
TUTORIALS = [
    ("Variables, the recorded graph and a data-dependent loop", [variable_and_graph, dynamic_graph]),
    ("Gradients of a scalar: a chain and a matrix product", [scalar_chain, mean_of_matmul]),
    ("Vector outputs and higher order: grad_tensors, create_graph", [norm_gradient, per_row_gradients,
                                                                     second_derivative]),
    ("Tensors that require grad, and no_grad", [mean_of_product, no_grad_block]),
    ("Matrix calculus: linear and bilinear forms, the trace of an inverse", [linear_form, bilinear_form,
                                                                             trace_of_inverse]),
]
CHECKS = [check for _, checks in TUTORIALS for check in checks]
_TITLE = {check: title for title, checks in TUTORIALS for check in checks}


def run(device=None, out=print):
    """Run every check on ``device``; print a line each under its tutorial's title; return the
    number that failed."""
    failed = 0
    title = None
    try:
        backend = xpgrad.device(device).backend
    except Exception:  # an unusable device: every check reports it below
        backend = None
    for check in CHECKS:
        if _TITLE.get(check, title) != title:
            title = _TITLE[check]
            out(f"  {title}:")
        if check in WRITES and backend is not None and not backend.mutable:
            out(f"    [skip] {check.__name__}: writes in place (x.grad.data.zero_()), which "
                f"{backend.library}'s immutable arrays cannot do")
            continue
        try:
            label, computed, expected = check(device)
            ok = _close(computed, expected)
            shown = f"xpgrad {_short(computed)}  expected {_short(expected)}"
        except Exception as exc:  # a crash is a failed check, reported, not a traceback
            label, ok, shown = check.__name__, False, f"raised {type(exc).__name__}: {exc}"
        failed += not ok
        out(f"    [{'ok' if ok else 'FAIL'}] {label}: {shown}")
    return failed


def _short(v, limit=4):
    vals = list(_flat(v))
    text = ", ".join(f"{x:.4g}" for x in vals[:limit])
    return f"[{text}{', ...' if len(vals) > limit else ''}]"
