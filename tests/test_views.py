"""Views and writes through them: every view-producing function x every in-place form.

Whether a function returns a view is the backend's business: on NumPy and
array-api-strict basic indexing, reshape, permute_dims, flip ... do, on dask nothing
does. Either way the gradient must be right, so each case runs one program,

    y = x * 1.0;  v = view(y);  write into v in place (w);  sum(y * cy) + sum(v * cv)

and checks its gradient with respect to ``x`` and ``w`` against finite differences on
the same backend (which see whatever the backend does with the write), and against
PyTorch where PyTorch makes the same view. Second order and forward mode are checked on
NumPy, where every one of these functions returns a view.
"""
import operator

import numpy as np
import pytest
from array_api_compat import numpy as np_xp

import xpgrad
from xpgrad import xp

from helpers import values

F64 = xpgrad.float64

# Finite differences on dask compute a graph per perturbed element: minutes for the
# table, so its dask cases run with -m slow (the small tests below run on dask always).

# name: (base shape, the view of y, whether PyTorch makes the same view)
VIEWS = {
    "slice": ((4, 3), lambda xp, y: y[1:3], True),
    "integer": ((4, 3), lambda xp, y: y[2], True),
    "step": ((6, 3), lambda xp, y: y[::2], True),
    "negative-step": ((5, 3), lambda xp, y: y[::-2], False),  # PyTorch refuses the key
    "column": ((4, 3), lambda xp, y: y[:, 1], True),
    "newaxis-ellipsis": ((4, 3), lambda xp, y: y[None, 1:3, ...], True),
    "element": ((4, 3), lambda xp, y: y[2, 1], True),
    "reshape": ((4, 3), lambda xp, y: xp.reshape(y, (2, 6)), True),
    "permute_dims": ((2, 3, 4), lambda xp, y: xp.permute_dims(y, (2, 0, 1)), True),
    "matrix_transpose": ((4, 3), lambda xp, y: xp.matrix_transpose(y), True),
    "mT": ((2, 4, 3), lambda xp, y: y.mT, True),
    "expand_dims": ((4, 3), lambda xp, y: xp.expand_dims(y, axis=1), True),
    "squeeze": ((4, 1, 3), lambda xp, y: xp.squeeze(y, axis=1), True),
    "flip": ((4, 3), lambda xp, y: xp.flip(y, axis=0), False),  # PyTorch's flip copies
    "moveaxis": ((2, 3, 4), lambda xp, y: xp.moveaxis(y, 0, -1), True),
    # PyTorch refuses writes into unbind's outputs; xpgrad's unstack is indexing (below)
    "unstack": ((4, 3), lambda xp, y: xp.unstack(y)[1], False),
    "view-of-view": ((6, 4), lambda xp, y: y[1:5][::2, 1:], True),
    "chain": ((4, 6), lambda xp, y: xp.permute_dims(xp.reshape(y[1:3], (2, 2, 3)), (2, 1, 0)), True),
}


def _at(method):
    def write(xp, v, w):
        import array_api_extra as xpx

        getattr(xpx.at(v, (slice(0, 1), Ellipsis)), method)(w, copy=False)
    return write


def _setitem_first(xp, v, w):
    v[0] = w


def _setitem_all(xp, v, w):
    v[...] = w


def _iadd(xp, v, w):
    v += w


def _isub(xp, v, w):
    v -= w


def _imul(xp, v, w):
    v *= w


def _idiv(xp, v, w):
    v /= w


def _ipow(xp, v, w):
    v **= 2


def _ipow_tensor(xp, v, w):
    v **= w


# name: (write, the shape of w for a view of shape s, whether a 0-d view can take it)
FORMS = {
    "setitem-all": (_setitem_all, lambda s: s, True),
    "setitem-first": (_setitem_first, lambda s: s[1:], False),
    "+=": (_iadd, lambda s: s, True),
    "-=": (_isub, lambda s: s, True),
    "*=": (_imul, lambda s: s, True),
    "/=": (_idiv, lambda s: s, True),
    "**=2": (_ipow, lambda s: s, True),
    "**=w": (_ipow_tensor, lambda s: s, True),
    "add_": (lambda xp, v, w: v.add_(w), lambda s: s, True),
    "mul_": (lambda xp, v, w: v.mul_(w), lambda s: s, True),
    "at-set": (_at("set"), lambda s: (1,) + s[1:], False),
    "at-add": (_at("add"), lambda s: (1,) + s[1:], False),
    "at-multiply": (_at("multiply"), lambda s: (1,) + s[1:], False),
    "at-max": (_at("max"), lambda s: (1,) + s[1:], False),
}

def _view_ndim(view_name):
    base, view, _ = VIEWS[view_name]
    return view(np_xp, np.zeros(base)).ndim


CASES = [pytest.param(v, f, id=f"{v}|{f}") for v in VIEWS for f in FORMS
         if FORMS[f][2] or _view_ndim(v) > 0]


def _shapes(view_name, form_name):
    base, view, _ = VIEWS[view_name]
    vshape = tuple(view(np_xp, np.zeros(base)).shape)
    return base, vshape, tuple(FORMS[form_name][1](vshape))


def _data(view_name, form_name, seed=0):
    """The inputs' values: x and w in [0.5, 1.5) (positive, away from 0 and from each
    other, so /, ** and max are smooth there), and the fixed weights cy, cv."""
    base, vshape, wshape = _shapes(view_name, form_name)
    rng = np.random.default_rng(seed)
    x = 0.5 + rng.random(base)
    w = 0.5 + rng.random(wshape) + 0.03 * np.arange(int(np.prod(wshape))).reshape(wshape)
    return x, w, rng.standard_normal(base), rng.standard_normal(vshape)


def _program(xp, view_name, form_name, cy, cv):
    view = VIEWS[view_name][1]
    write = FORMS[form_name][0]

    def program(x, w):
        y = x * 1.0  # a Tensor with a history, which owns its memory
        v = view(xp, y)
        write(xp, v, w)
        return xp.sum(y * cy) + xp.sum(v * cv)
    return program


def _tensors(device, *arrays, requires_grad=True):
    return [xpgrad.tensor(a, dtype=F64, device=device, requires_grad=requires_grad) for a in arrays]


@pytest.mark.parametrize("view_name, form_name", CASES)
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_gradient_of_a_write_through_a_view(device, view_name, form_name):
    x, w, cy, cv = _data(view_name, form_name)
    tx, tw = _tensors(device, x, w)
    ty, tv = _tensors(device, cy, cv, requires_grad=False)
    assert xpgrad.gradcheck(_program(xp, view_name, form_name, ty, tv), (tx, tw))


@pytest.mark.parametrize("view_name, form_name", CASES)
def test_second_order_and_forward_mode_through_a_view(view_name, form_name):
    x, w, cy, cv = _data(view_name, form_name)
    tx, tw = _tensors("cpu", x, w)
    ty, tv = _tensors("cpu", cy, cv, requires_grad=False)
    program = _program(xp, view_name, form_name, ty, tv)
    assert xpgrad.gradgradcheck(program, (tx, tw))
    # forward mode against a central difference along a random direction
    rng = np.random.default_rng(1)
    dx, dw = rng.standard_normal(x.shape), rng.standard_normal(w.shape)
    _, tangent = xpgrad.func.jvp(program, (tx, tw), tuple(_tensors("cpu", dx, dw, requires_grad=False)))
    eps = 1e-6
    with xpgrad.no_grad():
        plus = program(*_tensors("cpu", x + eps * dx, w + eps * dw, requires_grad=False))
        minus = program(*_tensors("cpu", x - eps * dx, w - eps * dw, requires_grad=False))
    np.testing.assert_allclose(float(tangent), (float(plus) - float(minus)) / (2 * eps), rtol=1e-6, atol=1e-8)


def _run_both(view_name, form_name):
    """The program's value and gradients on xpgrad (NumPy) and on PyTorch, or the
    exception PyTorch raised."""
    torch = pytest.importorskip("torch")
    import array_api_compat.torch as txp

    x, w, cy, cv = _data(view_name, form_name)
    results = []
    for space, make, grad in (
            (xp, lambda a, rg: xpgrad.tensor(a, dtype=F64, requires_grad=rg), xpgrad.autograd.grad),
            (txp, lambda a, rg: torch.tensor(a, dtype=torch.float64, requires_grad=rg), torch.autograd.grad)):
        ax, aw = make(x, True), make(w, True)
        try:
            out = _program(space, view_name, form_name, make(cy, False), make(cv, False))(ax, aw)
            gx, gw = grad(out, (ax, aw), allow_unused=True)
        except RuntimeError as exc:
            results.append(exc)
            continue
        gw = np.zeros(w.shape) if gw is None else np.asarray(gw.detach().tolist())
        results.append((float(out.detach()), np.asarray(gx.detach().tolist()), gw))
    return results


# Where xpgrad differs from PyTorch on purpose (docs/design.md, "Views"): PyTorch refuses
# these at backward; xpgrad's gradients are exact (test_gradient_of_a_write_through_a_view
# checks them against finite differences).
PYTORCH_REFUSES = {"at-max"}  # maximum saved the region the assignment overwrites


@pytest.mark.filterwarnings("ignore:torch.asarray:UserWarning")  # array_api_compat, at().max
@pytest.mark.parametrize("view_name, form_name", [c for c in CASES if VIEWS[c.values[0]][2]])
def test_a_write_through_a_view_against_pytorch(view_name, form_name):
    ours, theirs = _run_both(view_name, form_name)
    if form_name in PYTORCH_REFUSES:
        assert isinstance(theirs, RuntimeError) and "modified by an inplace operation" in str(theirs)
        assert not isinstance(ours, Exception)
        return
    (value, gx, gw), (t_value, t_gx, t_gw) = ours, theirs
    np.testing.assert_allclose(value, t_value, rtol=1e-12)
    np.testing.assert_allclose(gx, t_gx, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gw, t_gw, rtol=1e-12, atol=1e-14)


def test_writes_into_unstacked_pieces_where_pytorch_refuses():
    # PyTorch's unstack (unbind) returns views whose in-place writes it refuses;
    # xpgrad's pieces are ordinary indexing views, written like any other.
    ours, theirs = _run_both("unstack", "+=")
    assert isinstance(theirs, RuntimeError) and "returns multiple views" in str(theirs)
    assert not isinstance(ours, Exception)


# ---------------------------------------------------------------------- the history


def test_a_write_into_the_base_reaches_its_views(device):
    # PyTorch: x.grad == [3, 3, 0]
    x = xpgrad.tensor([1.0, 2.0, 3.0], dtype=F64, device=device, requires_grad=True)
    y = x * 1.0
    v = y[0:2]
    y.mul_(3.0)
    v.sum().backward()
    # dask has no views: v is a copy that the write does not reach
    np.testing.assert_array_equal(values(x.grad), [1.0, 1.0, 0.0] if device == "dask" else [3.0, 3.0, 0.0])


def test_a_write_through_a_view_reaches_the_base_and_the_other_views(device):
    # The first example; then a second, overlapping view made before the write.
    x = xpgrad.tensor([1.0, 2.0, 3.0], dtype=F64, device=device, requires_grad=True)
    y = x * 1.0
    u = y[0:2]
    v = y[0:1]
    v *= 3.0
    (xp.sum(y) + xp.sum(u * 10.0)).backward()
    # dask has no views: the write changes the copy v only, and nothing reads v again
    np.testing.assert_array_equal(values(x.grad), [11.0, 11.0, 1.0] if device == "dask" else [33.0, 11.0, 1.0])


def test_a_write_of_a_value_that_requires_grad_into_a_plain_tensor(device):
    # PyTorch: w.grad == [2, 40]; y becomes a non-leaf (CopySlices)
    y = xpgrad.zeros(3, dtype=F64, device=device)
    v = y[0:2]
    w = xpgrad.tensor([1.0, 2.0], dtype=F64, device=device, requires_grad=True)
    v.copy_(w * w)
    if device == "dask":  # no views: the copy v is written, y is not
        assert not y.requires_grad and v.requires_grad
        return
    assert y.requires_grad and type(y.grad_fn).__name__ == "CopySlices"
    (y * xpgrad.tensor([1.0, 10.0, 100.0], dtype=F64, device=device)).sum().backward()
    np.testing.assert_array_equal(values(w.grad), [2.0, 40.0])


def test_views_share_their_base_and_version(device):
    y = xpgrad.tensor([1.0, 2.0, 3.0], dtype=F64, device=device) * 1.0
    v = y[1:]
    u = xp.reshape(v, (2, 1))
    if device == "dask":  # no views: each Tensor owns its memory
        assert v._base is None and u._base is None
        return
    assert v._base is y and u._base is y and y._base is None
    before = y._version
    u[0, 0] = 7.0
    assert y._version > before and v._version == y._version == u._version
    np.testing.assert_array_equal(values(y), [1.0, 7.0, 3.0])


# ---------------------------------------------------------------------- refused, clearly


def test_a_saved_tensor_changed_through_a_view_raises_at_backward(device):
    # The second example: PyTorch raises "modified by an inplace operation".
    x = xpgrad.tensor([1.0, 2.0, 3.0], dtype=F64, device=device, requires_grad=True)
    z = x * 1.0
    v = z[0:2]
    p = v * v
    z[0:2] = 0.0
    if device == "dask":  # z[0:2] is a copy there: p's saved v is unchanged, the gradient exact
        xp.sum(p).backward()
        np.testing.assert_array_equal(values(x.grad), [2.0, 4.0, 0.0])
        return
    with pytest.raises(RuntimeError, match="MulBackward saved for backward was modified by an in-place"):
        xp.sum(p).backward()


def test_a_saved_output_changed_through_a_detached_alias_raises(device):
    x = xpgrad.tensor([1.0, 2.0, 3.0], dtype=F64, device=device, requires_grad=True)
    e = xp.exp(x)
    d = e.detach()
    d[0] = 5.0
    with pytest.raises(RuntimeError, match="ExpBackward saved for backward was modified"):
        e.sum().backward()


def test_a_view_of_a_leaf_that_requires_grad_cannot_be_written(device):
    x = xpgrad.tensor([1.0, 2.0, 3.0], dtype=F64, device=device, requires_grad=True)
    v = x[0:2]
    if device == "dask":
        pytest.skip("dask makes no views")
    with pytest.raises(RuntimeError, match="a view of a leaf Tensor that requires grad is being used in an in-place"):
        v *= 2.0
    with xpgrad.no_grad():
        v *= 2.0  # as an optimizer step does
    np.testing.assert_array_equal(values(x), [2.0, 4.0, 3.0])


def test_a_view_made_under_no_grad_cannot_be_written_with_grad_on(device):
    if device == "dask":
        pytest.skip("dask makes no views")
    x = xpgrad.tensor([1.0, 2.0, 3.0], dtype=F64, device=device, requires_grad=True)
    y = x * 1.0
    with xpgrad.no_grad():
        v = y[0:2]
    with pytest.raises(RuntimeError, match="a view made under no_grad is being modified in place"):
        v *= 2.0
    # a plain base and a value that requires grad: refused too, as in PyTorch
    plain = xpgrad.zeros(3, dtype=F64, device=device)
    with xpgrad.no_grad():
        u = plain[0:2]
    w = xpgrad.tensor([1.0, 2.0], dtype=F64, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="a view made under no_grad"):
        u.mul_(w)


def test_a_write_through_a_view_of_another_dtype_is_refused_under_grad():
    z = xpgrad.tensor([1 + 2j, 3 - 1j], dtype=xpgrad.complex128, requires_grad=True) * 1.0
    r = xp.real(z)
    with pytest.raises(RuntimeError, match="through a view of another dtype"):
        r *= 2.0
    plain = xpgrad.tensor([1 + 2j, 3 - 1j], dtype=xpgrad.complex128)
    xp.real(plain)[...] = 5.0  # nothing to record: NumPy's view semantics
    assert plain.tolist() == [5 + 2j, 5 - 1j]


def test_a_write_into_a_broadcast_view_is_refused():
    y = xpgrad.tensor([1.0, 2.0], dtype=F64, requires_grad=True) * 1.0
    b = xp.broadcast_to(y, (3, 2))
    with pytest.raises(RuntimeError, match=r"in-place \*= .*read-only"):
        b *= 2.0
    with pytest.raises(RuntimeError, match=r"item assignment .*read-only"):
        b[0, 0] = 1.0


def test_detach_in_place_of_a_view_is_refused():
    v = (xpgrad.tensor([1.0, 2.0], requires_grad=True) * 1.0)[0:1]
    with pytest.raises(RuntimeError, match="can't detach a view in place"):
        v.detach_()


# ---------------------------------------------------------------------- in-place ops whose rule reads self


INPLACE_OPS = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "**=": operator.ipow, "%=": operator.imod,
    "@=": operator.imatmul,  # in place on xpgrad; PyTorch has no in-place @ and rebinds
    "add_": lambda z, y: z.add_(y), "sub_": lambda z, y: z.sub_(y, alpha=2.0),
    "mul_": lambda z, y: z.mul_(y), "div_": lambda z, y: z.div_(y), "pow_": lambda z, y: z.pow_(y),
}


@pytest.mark.parametrize("name", list(INPLACE_OPS))
def test_an_in_place_op_whose_other_operand_requires_grad(device, name):
    # z a non-leaf, y requiring grad: the rules that read z's old values read a copy
    # made before the write (PyTorch saves the original self), so backward succeeds.
    rng = np.random.default_rng(3)
    a, b = 0.5 + rng.random((3, 3)), 0.5 + rng.random((3, 3))
    x, y = _tensors(device, a, b)

    def f(x, y):
        z = x * 1.5
        z = INPLACE_OPS[name](z, y)
        return z

    assert xpgrad.gradcheck(f, (x, y))
    assert xpgrad.gradgradcheck(f, (x, y))


@pytest.mark.parametrize("name", list(INPLACE_OPS))
def test_an_in_place_op_whose_other_operand_requires_grad_against_pytorch(name):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    a, b, c = 0.5 + rng.random((3, 3)), 0.5 + rng.random((3, 3)), rng.standard_normal((3, 3))
    grads = []
    for make, grad in ((lambda v: xpgrad.tensor(v, dtype=F64, requires_grad=True), xpgrad.autograd.grad),
                       (lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True), torch.autograd.grad)):
        x, y = make(a), make(b)
        z = x * 1.5
        z = INPLACE_OPS[name](z, y)
        weight = make(c).detach()
        grads.append([np.asarray(g.detach().tolist()) for g in grad((z * weight).sum(), (x, y))])
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)


def test_in_place_fill_zero_and_copy_are_recorded(device):
    # PyTorch: fill_ and zero_ give the replaced values a zero gradient; copy_ passes
    # the gradient to its source.
    x = xpgrad.tensor([1.0, 2.0, 3.0], dtype=F64, device=device, requires_grad=True)
    for method, value in ((lambda y: y.fill_(4.0), 4.0), (lambda y: y.zero_(), 0.0)):
        y = x * 2.0
        method(y)
        (g,) = xpgrad.autograd.grad(y.sum(), x)
        np.testing.assert_array_equal(values(g), [0.0, 0.0, 0.0])
        with xpgrad.no_grad():
            y = x * float("inf")
        method(y)  # the value itself, not inf * 0
        np.testing.assert_array_equal(values(y), [value] * 3)
    w = xpgrad.tensor([5.0, 6.0, 7.0], dtype=F64, device=device, requires_grad=True)
    y = x * 2.0
    y.copy_(w)
    gx, gw = xpgrad.autograd.grad((y * xpgrad.tensor([1.0, 2.0, 3.0], dtype=F64, device=device)).sum(),
                                  (x, w), allow_unused=True)
    np.testing.assert_array_equal(values(gx), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(values(gw), [1.0, 2.0, 3.0])


# ---------------------------------------------------------------------- kept, where PyTorch raises


def test_a_write_into_an_output_its_node_saved(device):
    # exp and sqrt save their output; a write into it gives the node a copy first.
    # (scikit-learn's StandardScaler writes into sqrt(var), its PCA into a view of eigh's
    # eigenvectors.) PyTorch raises at backward here.
    x0 = np.array([0.5, 1.0, 2.0])
    x, = _tensors(device, x0)

    def f(x):
        e = xp.exp(x)
        e += 1.0
        s = xp.sqrt(x * 1.0)
        if device != "dask":
            s[0:1] *= 3.0  # through a view of the saved output
        return xp.sum(e * e) + xp.sum(s)

    assert xpgrad.gradcheck(f, (x,))
    assert xpgrad.gradgradcheck(f, (x,))


def test_pytorch_refuses_a_write_into_a_saved_output():
    torch = pytest.importorskip("torch")
    x = torch.tensor([0.5, 1.0], dtype=torch.float64, requires_grad=True)
    e = torch.exp(x)
    e += 1.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        e.sum().backward()


def test_a_write_under_no_grad_into_a_saved_output_keeps_it_too(device):
    x = xpgrad.tensor([0.5, 1.0, 2.0], dtype=F64, device=device, requires_grad=True)
    e = xp.exp(x)
    with xpgrad.no_grad():
        e[0] = 7.0  # item assignment
        e += 1.0  # an operator
    (g,) = xpgrad.autograd.grad(xp.sum(e), x)
    np.testing.assert_allclose(values(g), np.exp([0.5, 1.0, 2.0]), rtol=1e-15)
