"""``xpgrad.func.vmap`` and its batching machinery, against the per-example loop.

``vmap(f)(xs)`` must equal ``stack([f(x) for x in xs])``. The op case tables of the op
test modules (the ones tests/test_forward_mode.py reuses) are run batched, every array
argument given a batch of 3 examples: the values, the gradient of a weighted sum of the
output (reverse mode through the vmapped graph) and the JVP of the vmapped function
(forward mode) against the loop's. The ops that have no batching rule, and run once per
example with a ``VmapFallbackWarning``, are a known, listed set. Then in_axes/out_axes
and chunk_size, nesting with vmap and the other transforms, the vectorised jacobians
(``vectorize=True``, the default) against the loop (``vectorize=False``), the errors for
bad input, and a plugin op's ``batch=`` rule.
"""
import contextlib
import re
import warnings

import numpy as np
import pytest
from test_forward_mode import CASES as OP_CASES

import xpgrad
from xpgrad import func, xp
from xpgrad.func import VmapError, VmapFallbackWarning, _batching, vmap
from xpgrad.func._pytree import flatten, unflatten
from xpgrad.plugins import Op, OpDefinitionError

from helpers import assert_close, ops_plugin

F64 = xpgrad.float64
B = 3


@pytest.fixture(autouse=True)
def _fresh_fallback_warnings(monkeypatch):
    """The ops that have warned are remembered module-wide (one warning per op per
    process): each test starts with none, so that it sees the warnings of its own calls."""
    monkeypatch.setattr(_batching, "_WARNED", set())


# ---------------------------------------------------------------------- helpers


def _leaves(tree):
    return flatten(tree)[0]


def _is_float(t):
    return isinstance(t, xpgrad.Tensor) and ("float" in str(t.dtype) or "complex" in str(t.dtype))


def _loop(fn, args, in_axes=0):
    """``stack([fn(example i) for i])`` leaf by leaf: the reference vmap must match.
    ``in_axes`` is 0 or a tuple of 0/None per argument."""
    axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
    size = next(a.shape[0] for a, ax in zip(args, axes) if ax is not None)
    outs = [fn(*(a if ax is None else a[i] for a, ax in zip(args, axes))) for i in range(size)]
    _, _, treedef = flatten(outs[0])
    return unflatten(treedef, [xp.stack(list(column)) for column in zip(*(_leaves(o) for o in outs))])


def _assert_trees_close(got, want, **tol):
    g, w = _leaves(got), _leaves(want)
    assert len(g) == len(w), (got, want)
    for a, b in zip(g, w):
        if b is None:
            assert a is None
        else:
            assert_close(a, b, **tol)


def _fallbacks(caught):
    """The op names of the VmapFallbackWarnings among ``caught``; any other warning fails."""
    ops = set()
    for w in caught:
        if not issubclass(w.category, VmapFallbackWarning):
            raise AssertionError(f"unexpected warning: {w.category.__name__}: {w.message}")
        ops.add(re.search(r"op '(\w+)' has no batching rule", str(w.message)).group(1))
    return ops


@contextlib.contextmanager
def _recording():
    """Every warning recorded, as a list (the suite's filter would make them errors)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


# ---------------------------------------------------------------------- every op against the loop

SCALES = (1.0, 0.8, 1.25)  # for an input whose maker gives the same values each call


def _batch(makers, device, case):
    """The arguments and in_axes of a case: per argument, a batch of B examples stacked
    along a new axis 0, from B independent draws of the maker (random makers keep the
    op's domain); a deterministic float maker's copies are scaled by positive factors, so
    that the examples differ; an integer or boolean constant (a where() condition,
    indices) is the same in every example, or, in the UNBATCHED_CONSTANTS cases, given
    once, with in_axes None."""
    batch, in_axes = [], []
    for make in makers:
        copies = [make(device).detach() for _ in range(B)]
        if case in UNBATCHED_CONSTANTS and not _is_float(copies[0]):
            batch.append(copies[0])
            in_axes.append(None)
            continue
        in_axes.append(0)
        first = np.asarray(copies[0].tolist())
        if _is_float(copies[0]) and all(np.array_equal(first, np.asarray(c.tolist())) for c in copies[1:]):
            copies = [c * s for c, s in zip(copies, SCALES)]
        stacked = xp.stack(copies)
        batch.append(stacked.requires_grad_() if _is_float(stacked) else stacked)
    return batch, (0 if None not in in_axes else tuple(in_axes))


def _loss(out, weights):
    """A real weighted sum of the floating outputs (real and imaginary parts of complex ones)."""
    total = None
    for leaf, (a, b) in zip(_leaves(out), weights):
        if leaf is None or not _is_float(leaf):
            continue
        if "complex" in str(leaf.dtype):
            part = xp.sum(xp.real(leaf) * a + xp.imag(leaf) * b)
        else:
            part = xp.sum(leaf * a)
        total = part if total is None else total + part
    return total


def _weights(out):
    return [(xpgrad.randn(*leaf.shape, dtype=F64, device=leaf.device),
             xpgrad.randn(*leaf.shape, dtype=F64, device=leaf.device)) if _is_float(leaf) else (None, None)
            for leaf in _leaves(out)]


# The built-in ops with no batching rule, which vmap runs once per example (with a
# VmapFallbackWarning) on this table. An op that gains a rule leaves this set; one that
# loses its rule joins it, and the tests below fail until the set is updated.
FALLBACK_OPS = {"outer", "cross", "solve"}

# Cases of the table that vmap cannot run yet: the case id (without the table module's
# prefix) -> why. Marked xfail(strict=True): a case that starts to work fails here until
# its entry is removed. These are gaps of vmap, reported, not tested around.
_UNSUPPORTED_ERRORS = (VmapError, TypeError, ValueError, AttributeError)
KNOWN_UNSUPPORTED: dict[str, str] = {}

# ... and the cases vmap runs only where the inputs require grad (their function takes
# another path when nothing is recorded): case -> (backends, why), checked to raise on
# those backends, so that a fix shows as a failure until the entry is removed.
KNOWN_UNSUPPORTED_WITHOUT_GRAD: dict[str, tuple[tuple[str, ...], str]] = {}

# ... and the cases that fail on one backend only: case -> (backends, why), xfail(strict)
# on those backends.
KNOWN_UNSUPPORTED_ON = {
    "FUNCTIONS-reshape-empty": (("dask",), "dask cannot reshape an empty batch chunked along its batch axis (the "
                                           "stacked examples) even in two passes: NotImplementedError from dask"),
    "GRADIENTS-sort-0-length": (("dask",), "sort's VJP on an empty (3, 0, 2) dask array chunked along axis 0 "
                                           "(the stacked examples): reduce() of empty iterable"),
}


def _backend_name(device):
    return "numpy" if device == "cpu" else str(device).split(":")[0]


def _expect_backend_gap(request, case, device):
    known = KNOWN_UNSUPPORTED_ON.get(case)
    if known is not None and _backend_name(device) in known[0]:
        request.applymarker(pytest.mark.xfail(reason=known[1], strict=True, raises=Exception))


# Cases whose integer argument decides the result's shape (repeat counts): batched, it
# would make examples of different shapes, so it is given in_axes None (the same counts
# for every example).
UNBATCHED_CONSTANTS = {"FUNCTIONS-repeat-counts", "FUNCTIONS-repeat-counts-flat"}


def _short(case_id):
    return case_id.split("-", 1)[1]  # without the table module's name


def _vmap_cases(known):
    params = []
    for p in OP_CASES:
        fn, makers = p.values
        marks = list(p.marks)
        why = known.get(_short(p.id))
        if why is not None:
            marks.append(pytest.mark.xfail(reason=why, strict=True, raises=_UNSUPPORTED_ERRORS))
        params.append(pytest.param(fn, makers, _short(p.id), id=p.id, marks=marks))
    return params


def _vmapped(fn, in_axes, *args):
    """``vmap(fn, in_axes)(*args)`` and the ops that fell back to the loop on the way,
    which must be listed in FALLBACK_OPS."""
    with _recording() as caught:
        out = vmap(fn, in_axes=in_axes)(*args)
    fell_back = _fallbacks(caught)
    assert fell_back <= FALLBACK_OPS, f"ops that lost their batching rule: {sorted(fell_back - FALLBACK_OPS)}"
    return out


@pytest.mark.parametrize("fn, makers, case", _vmap_cases(KNOWN_UNSUPPORTED))
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_op_matches_the_loop(fn, makers, case, device, request):
    """The values, for inputs that do not require grad (what the op runs when nothing is
    recorded) and for inputs that do; the gradient of a weighted sum of the outputs with
    respect to each batched input (reverse mode through the vmapped graph); the JVP of
    the vmapped function along random tangents (forward mode). All against the loop."""
    _expect_backend_gap(request, case, device)
    args, in_axes = _batch(makers, device, case)
    plain = [a.detach() for a in args]
    gap = KNOWN_UNSUPPORTED_WITHOUT_GRAD.get(case)
    if gap is not None and _backend_name(device) in gap[0]:  # a known gap: it must still fail until it is unlisted
        with pytest.raises(_UNSUPPORTED_ERRORS):
            _vmapped(fn, in_axes, *plain)
    else:
        _assert_trees_close(_vmapped(fn, in_axes, *plain), _loop(fn, plain, in_axes))

    got = _vmapped(fn, in_axes, *args)
    want = _loop(fn, args, in_axes)
    _assert_trees_close(got, want)

    floats = [a for a in args if _is_float(a)]
    weights = _weights(want)
    loss_got, loss_want = _loss(got, weights), _loss(want, weights)
    if loss_want is not None and loss_want.requires_grad:
        g_got = xpgrad.autograd.grad(loss_got, floats, allow_unused=True)
        g_want = xpgrad.autograd.grad(loss_want, floats, allow_unused=True)
        _assert_trees_close(list(g_got), list(g_want))

    where = [i for i, a in enumerate(args) if _is_float(a)]

    def of_floats(g):
        """``g`` as a function of the float arguments (the others fixed): what jvp takes."""
        def h(*fs):
            full = list(args)
            for i, f in zip(where, fs):
                full[i] = f
            return g(*full)
        return h

    primals = tuple(a.detach() for a in floats)
    tangents = tuple(xpgrad.randn(*a.shape, dtype=a.dtype, device=a.device) for a in floats)
    out_got, t_got = func.jvp(of_floats(lambda *a: _vmapped(fn, in_axes, *a)), primals, tangents)
    out_want, t_want = func.jvp(of_floats(lambda *a: _loop(fn, a, in_axes)), primals, tangents)
    _assert_trees_close(out_got, out_want)
    _assert_trees_close(t_got, t_want)


def test_op_cases_were_found():
    assert len(OP_CASES) > 300
    listed = set(KNOWN_UNSUPPORTED) | set(KNOWN_UNSUPPORTED_WITHOUT_GRAD) | set(KNOWN_UNSUPPORTED_ON)
    stale = listed - {_short(p.id) for p in OP_CASES}
    assert not stale, f"KNOWN_UNSUPPORTED names cases that are not in the table: {sorted(stale)}"


def test_the_ops_that_fall_back_are_the_listed_ones():
    """Over the whole table (values only, NumPy), the ops that emit VmapFallbackWarning
    are exactly FALLBACK_OPS: a lost rule adds one, a new rule makes an entry stale."""
    seen = set()
    for p in OP_CASES:
        fn, makers = p.values
        case = _short(p.id)
        if case in KNOWN_UNSUPPORTED:
            continue
        args, in_axes = _batch(makers, "cpu", case)  # requiring grad, as the derivatives test's
        _batching._WARNED.clear()
        with _recording() as caught:
            vmap(fn, in_axes=in_axes)(*args)
        seen |= _fallbacks(caught)
    assert seen == FALLBACK_OPS


# Every matmul promotion (1-D operands, broadcasting batch axes) with either operand, or
# both, batched: the rule's own case analysis, beyond the table's shapes.
MATMUL_SHAPES = [((4,), (4,)), ((4,), (4, 2)), ((2, 4), (4,)), ((2, 4), (4, 3)), ((2, 2, 4), (2, 4, 3)),
                 ((2, 2, 4), (4, 3)), ((2, 4), (2, 4, 3)), ((4,), (2, 4, 3)), ((2, 2, 4), (4,)), ((1, 2, 4), (3, 4, 2))]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=lambda s: "@".join("x".join(map(str, p)) or "0d" for p in s))
@pytest.mark.parametrize("in_axes", [(0, 0), (0, None), (None, 0)], ids=["both", "left", "right"])
def test_matmul_against_the_loop(shapes, in_axes, device):
    args = [xpgrad.randn(*((B,) + s if ax == 0 else s), dtype=F64, device=device, requires_grad=True)
            for s, ax in zip(shapes, in_axes)]
    got = _vmapped(xp.matmul, in_axes, *args)
    want = _loop(xp.matmul, args, in_axes)
    assert_close(got, want)
    w = xpgrad.randn(*want.shape, dtype=F64, device=device)
    g_got = xpgrad.autograd.grad(xp.sum(got * w), args)
    g_want = xpgrad.autograd.grad(xp.sum(want * w), args)
    _assert_trees_close(list(g_got), list(g_want))


EINSUMS = {
    "outer": ("i,j->ij", (4,), (3,)),
    "matvec": ("ij,j->i", (2, 4), (4,)),
    "implicit-output": ("ij,jk", (2, 4), (4, 3)),
    "ellipsis": ("...j,jk->...k", (2, 4), (4, 3)),
    "trace": ("ii->", (3, 3), None),
    "spaces": ("ij, j -> i", (2, 4), (4,)),
}


def _einsum_params():
    params = []
    for name, (equation, first, second) in EINSUMS.items():
        shapes = (first,) if second is None else (first, second)
        choices = [("all", (0,) * len(shapes))] + ([("left", (0, None)), ("right", (None, 0))] if second else [])
        params += [pytest.param(equation, shapes, axes, id=f"{name}-{which}") for which, axes in choices]
    return params


@pytest.mark.parametrize("equation, shapes, axes", _einsum_params())
def test_einsum_against_the_loop(equation, shapes, axes, device):
    """xpgrad.einsum inside vmap: the rule rewrites the equation with a batch letter (or
    falls back for what it does not rewrite, still correct)."""
    args = [xpgrad.randn(*((B,) + s if ax == 0 else s), dtype=F64, device=device, requires_grad=True)
            for s, ax in zip(shapes, axes)]
    f = lambda *ops: xpgrad.einsum(equation, *ops)  # noqa: E731
    with _recording() as caught:
        got = vmap(f, in_axes=axes)(*args)
    assert _fallbacks(caught) <= {"einsum"}
    want = _loop(f, args, axes)
    assert_close(got, want)
    w = xpgrad.randn(*want.shape, dtype=F64, device=device)
    _assert_trees_close(list(xpgrad.autograd.grad(xp.sum(got * w), args)),
                        list(xpgrad.autograd.grad(xp.sum(want * w), args)))


# ---------------------------------------------------------------------- in_axes, out_axes, chunk_size


def _randn(*shape, device):
    return xpgrad.randn(*shape, dtype=F64, device=device)


def test_in_axes_int_moves_that_axis_to_the_batch(device):
    x = _randn(4, 3, 2, device=device)  # the batch along axis 1
    got = vmap(lambda a: xp.sum(a * a, axis=0), in_axes=1)(x)
    assert_close(got, xp.stack([xp.sum(x[:, i] * x[:, i], axis=0) for i in range(3)]))


def test_in_axes_negative_counts_from_the_end(device):
    x = _randn(4, 2, 3, device=device)  # the batch along the last axis
    got = vmap(lambda a: a @ xp.ones((2,), dtype=F64, device=device), in_axes=-1)(x)
    assert_close(got, xp.stack([x[..., i] @ xp.ones((2,), dtype=F64, device=device) for i in range(3)]))


def test_in_axes_tuple_with_none_for_an_unbatched_argument(device):
    w = _randn(2, 4, device=device)
    x = _randn(4, 3, device=device)  # the batch along axis 1
    f = lambda w, a, s: xp.tanh(w @ a) * s  # noqa: E731
    got = vmap(f, in_axes=(None, 1, None))(w, x, 0.5)
    assert_close(got, xp.stack([f(w, x[:, i], 0.5) for i in range(3)]))


def test_in_axes_as_a_list_is_a_tuple(device):
    x, y = _randn(3, 2, device=device), _randn(2, device=device)
    assert_close(vmap(lambda a, b: a * b, in_axes=[0, None])(x, y), x * y)


def test_in_axes_nested_pytree(device):
    """A dict and a tuple argument, each given a pytree of axes of its own structure, and
    an int for a whole subtree."""
    x = _randn(3, 4, device=device)      # batch axis 0
    y = _randn(4, 3, device=device)      # batch axis 1
    z = _randn(2, 4, device=device)      # unbatched
    u = _randn(3, 4, device=device)      # batch axis 0, given as the int for a subtree

    def f(d, t):
        return d["x"] * d["y"] + xp.sum(t[0][0] @ t[1]) * t[0][1]

    in_axes = ({"x": 0, "y": 1}, ((None, 0), 0))
    got = vmap(f, in_axes=in_axes)({"x": x, "y": y}, ((z, u), x))
    want = xp.stack([f({"x": x[i], "y": y[:, i]}, ((z, u[i]), x[i])) for i in range(3)])
    assert_close(got, want)


def test_out_axes_int_negative_and_per_output(device):
    x = _randn(3, 4, 2, device=device)
    double = lambda a: a * 2  # noqa: E731
    assert_close(vmap(double, out_axes=1)(x), xp.permute_dims(x * 2, (1, 0, 2)))
    assert_close(vmap(double, out_axes=-1)(x), xp.permute_dims(x * 2, (1, 2, 0)))
    assert_close(vmap(double, out_axes=-2)(x), xp.permute_dims(x * 2, (1, 0, 2)))
    s, d = vmap(lambda a: (xp.sum(a, axis=0), a * 2), out_axes=(0, 2))(x)
    assert_close(s, xp.sum(x, axis=1))
    assert_close(d, xp.permute_dims(x * 2, (1, 2, 0)))
    out = vmap(lambda a: {"s": xp.sum(a), "t": a.T}, out_axes={"s": 0, "t": -1})(x)
    assert_close(out["s"], xp.sum(x, axis=(1, 2)))
    assert_close(out["t"], xp.permute_dims(x, (2, 1, 0)))


def test_an_output_that_does_not_depend_on_the_batch_is_broadcast(device):
    x, w = _randn(3, 4, device=device), _randn(2, device=device)
    y, c = vmap(lambda a: (a * 2, w * 3))(x)
    assert_close(y, x * 2)
    assert_close(c, xp.stack([w * 3] * 3))
    c1 = vmap(lambda a: w, out_axes=1)(x)
    assert_close(c1, xp.stack([w] * 3, axis=1))
    # out_axes None keeps it as it is (and a non-array output too)
    y, c, k = vmap(lambda a: (a, w, 7), out_axes=(0, None, None))(x)
    assert_close(c, w)
    assert k == 7


def test_chunk_size_gives_the_same_results(device):
    x = _randn(7, 4, device=device, ).requires_grad_()
    w = _randn(2, 4, device=device)

    def f(a, w):
        return xp.tanh(w @ a), xp.sum(a * a), w

    axes = dict(in_axes=(0, None), out_axes=(1, 0, None))
    whole = vmap(f, **axes)(x, w)
    chunked = vmap(f, chunk_size=3, **axes)(x, w)  # chunks of 3, 3 and 1
    _assert_trees_close(chunked, whole, rtol=1e-14, atol=1e-15)
    assert tuple(chunked[0].shape) == (2, 7)
    _assert_trees_close(vmap(f, chunk_size=100, **axes)(x, w), whole, rtol=1e-14, atol=1e-15)
    _assert_trees_close(vmap(f, chunk_size=1, **axes)(x, w), whole, rtol=1e-14, atol=1e-15)


def test_derivatives_flow_back_through_the_chunks(device):
    x = _randn(7, 4, device=device).requires_grad_()
    f = lambda a: xp.sin(a) * xp.sum(a)  # noqa: E731
    whole, chunked = vmap(f)(x), vmap(f, chunk_size=3)(x)
    w = _randn(7, 4, device=device)
    assert_close(xpgrad.autograd.grad(xp.sum(chunked * w), x)[0], xpgrad.autograd.grad(xp.sum(whole * w), x)[0])
    v = _randn(7, 4, device=device)
    _assert_trees_close(func.jvp(vmap(f, chunk_size=3), (x.detach(),), (v,)),
                        func.jvp(vmap(f), (x.detach(),), (v,)))


def test_chunk_size_with_in_axes_not_zero(device):
    x = _randn(4, 7, device=device)  # the batch along axis 1
    got = vmap(lambda a: xp.cumulative_sum(a), in_axes=1, out_axes=-1, chunk_size=2)(x)
    assert_close(got, xp.cumulative_sum(x, axis=0))


def test_batched_values_look_like_one_example(device):
    x = _randn(3, 2, 4, device=device)
    seen = {}

    def f(a):
        seen.update(shape=a.shape, ndim=a.ndim, size=a.size, len=len(a), dtype=a.dtype)
        return a.mT

    assert_close(vmap(f)(x), xp.permute_dims(x, (0, 2, 1)))
    assert seen == {"shape": (2, 4), "ndim": 2, "size": 8, "len": 2, "dtype": x.dtype}
    assert_close(vmap(lambda a: a.T)(x), xp.permute_dims(x, (0, 2, 1)))


# ---------------------------------------------------------------------- nesting and transforms


def test_nested_vmap(device):
    z = _randn(3, 5, 4, device=device)
    f = lambda a: xp.sum(xp.sin(a) * a)  # noqa: E731
    want = xp.stack([xp.stack([f(z[i, j]) for j in range(5)]) for i in range(3)])
    assert_close(vmap(vmap(f))(z), want)
    # the inner vmap over axis 1 of each example (4, 5): the outer batch along axis 2 of z's permutation
    zt = xp.permute_dims(z, (2, 0, 1))  # (4, 3, 5): outer batch on axis 1, inner on the example's axis 1
    assert_close(vmap(vmap(f, in_axes=1), in_axes=1)(zt), want)
    # an unbatched argument to the inner vmap, and the outer batched value closed over
    y = _randn(5, 4, device=device)
    x = _randn(3, 4, device=device)
    got = vmap(lambda a: vmap(lambda b: xp.sum(a * b))(y))(x)
    assert_close(got, x @ y.T)
    got = vmap(vmap(lambda a, b: a @ b, in_axes=(0, None)), in_axes=(0, None))(z, x[0])
    assert_close(got, z @ x[0])


def _f(a):
    return xp.sum(xp.sin(a) * a ** 2)


def _g_of(w):
    return lambda a: xp.tanh(w @ a)


def test_vmap_of_grad_and_grad_of_vmap(device):
    x = _randn(3, 4, device=device)
    want = _loop(func.grad(_f), [x])
    assert_close(vmap(func.grad(_f))(x), want)
    assert_close(func.grad(lambda xs: xp.sum(vmap(_f)(xs)))(x), want)
    xr = x.detach().requires_grad_()
    xp.sum(vmap(_f)(xr)).backward()
    assert_close(xr.grad, want)
    # second order: the gradient of the sum of the per-example gradients
    hess_rows = _loop(func.grad(lambda a: xp.sum(func.grad(_f)(a))), [x])
    assert_close(func.grad(lambda xs: xp.sum(vmap(func.grad(_f))(xs)))(x), hess_rows)


def test_vmap_of_value_and_grad_has_aux_and_argnums(device):
    x, y = _randn(3, 4, device=device), _randn(3, 4, device=device)
    (v, aux), g = vmap(func.value_and_grad(lambda a: (_f(a), a * 2), has_aux=True))(x)
    assert_close(v, _loop(_f, [x]))
    assert_close(aux, x * 2)
    assert_close(g, _loop(func.grad(_f), [x]))
    h = func.grad(lambda a, b: xp.sum(a * b * b), argnums=(0, 1))
    ga, gb = vmap(h)(x, y)
    assert_close(ga, y * y)
    assert_close(gb, 2 * x * y)


def test_vmap_of_elementwise_grad(device):
    x = _randn(3, 4, device=device)
    f = lambda a: xp.sin(a) * a  # noqa: E731
    assert_close(vmap(func.elementwise_grad(f))(x), _loop(func.elementwise_grad(f), [x]))


def test_vmap_of_jvp(device):
    w = _randn(2, 4, device=device)
    g = _g_of(w)
    x, v = _randn(3, 4, device=device), _randn(3, 4, device=device)
    out, tan = vmap(lambda a, t: func.jvp(g, (a,), (t,)))(x, v)
    assert_close(out, _loop(g, [x]))
    assert_close(tan, _loop(lambda a, t: func.jvp(g, (a,), (t,))[1], [x, v]))
    # the same tangent for every example, and the same primal for every tangent
    t0 = _randn(4, device=device)
    got = vmap(lambda a, t: func.jvp(g, (a,), (t,))[1], in_axes=(0, None))(x, t0)
    assert_close(got, _loop(lambda a: func.jvp(g, (a,), (t0,))[1], [x]))
    got = vmap(lambda a, t: func.jvp(g, (a,), (t,))[1], in_axes=(None, 0))(x[0], v)
    assert_close(got, _loop(lambda t: func.jvp(g, (x[0],), (t,))[1], [v]))


def test_vmap_of_vjp(device):
    w = _randn(2, 4, device=device)
    g = _g_of(w)
    x, c = _randn(3, 4, device=device), _randn(3, 2, device=device)

    def pulled(a, cot):
        out, pullback = func.vjp(g, a)
        return out, pullback(cot)[0]

    out, gx = vmap(pulled)(x, c)
    assert_close(out, _loop(g, [x]))
    assert_close(gx, _loop(lambda a, cot: pulled(a, cot)[1], [x, c]))
    c0 = _randn(2, device=device)
    assert_close(vmap(pulled, in_axes=(0, None))(x, c0)[1], _loop(lambda a: pulled(a, c0)[1], [x]))
    assert_close(vmap(pulled, in_axes=(None, 0))(x[0], c)[1], _loop(lambda cot: pulled(x[0], cot)[1], [c]))


@pytest.mark.parametrize("transform", [func.jacrev, func.jacfwd, func.jacobian])
def test_vmap_of_jacobians(transform, device):
    w = _randn(2, 4, device=device)
    x = _randn(3, 4, device=device)
    g = _g_of(w)
    got = vmap(transform(g))(x)
    assert tuple(got.shape) == (3, 2, 4)
    assert_close(got, _loop(transform(g), [x]))
    # with respect to an unbatched weight too: argnums (0, 1), in_axes (0, None)
    h = transform(lambda a, w: xp.tanh(w @ a), argnums=(0, 1))
    ja, jw = vmap(h, in_axes=(0, None))(x, w)
    assert_close(ja, _loop(lambda a: h(a, w)[0], [x]))
    assert_close(jw, _loop(lambda a: h(a, w)[1], [x]))


def test_vmap_of_hessian(device):
    x = _randn(3, 4, device=device)
    assert_close(vmap(func.hessian(_f))(x), _loop(func.hessian(_f), [x]))
    w = _randn(2, 4, device=device)
    loss = lambda a, w: xp.sum(xp.tanh(w @ a) ** 2)  # noqa: E731
    got = vmap(func.hessian(loss), in_axes=(0, None))(x, w)
    assert_close(got, _loop(lambda a: func.hessian(loss)(a, w), [x]))


def test_per_example_gradients_with_respect_to_an_unbatched_weight(device):
    w = _randn(2, 4, device=device)
    x, y = _randn(5, 4, device=device), _randn(5, 2, device=device)

    def loss(w, a, t):
        return xp.sum((xp.tanh(w @ a) - t) ** 2)

    per_example = vmap(func.grad(loss), in_axes=(None, 0, 0))(w, x, y)
    assert tuple(per_example.shape) == (5, 2, 4)
    assert_close(per_example, xp.stack([func.grad(loss)(w, x[i], y[i]) for i in range(5)]))
    # their sum is the gradient of the summed loss
    assert_close(xp.sum(per_example, axis=0), func.grad(lambda w: xp.sum(vmap(loss, in_axes=(None, 0, 0))(w, x, y)))(w))


# The vectorised jacobians (vmap over the rows/columns of the identity) against the loop
# of VJPs/JVPs (vectorize=False): pytree inputs and outputs, argnums, has_aux, a scalar
# output, an empty input.
def _two_outputs(a, b):
    return {"p": xp.sin(a) * b[0], "q": xp.sum(a * a) * b}


@pytest.mark.parametrize("transform", [func.jacrev, func.jacfwd])
def test_vectorized_jacobians_equal_the_loop(transform, device):
    a, b = _randn(3, device=device), _randn(2, device=device)
    for f, args, kw in [(_f, (a,), {}), (_g_of(_randn(2, 3, device=device)), (a,), {}),
                        (_two_outputs, (a, b), {"argnums": (0, 1)}),
                        (_two_outputs, (a, b), {"argnums": 1}),
                        (lambda x: (xp.exp(x), x[:1]), (a,), {"has_aux": True}),
                        (lambda d: d["u"] * xp.sum(d["v"]), ({"u": a, "v": b},), {})]:
        fast = transform(f, **kw)(*args)
        slow = transform(f, vectorize=False, **kw)(*args)
        _assert_trees_close(fast, slow)


def test_vectorized_hessian_equals_the_loop(device):
    a, b = _randn(3, device=device), _randn(2, 2, device=device)
    f = lambda x, m: xp.sum(xp.sin(x) * x ** 3) + xp.sum(m @ m) * xp.sum(x)  # noqa: E731
    for argnums in (0, 1, (0, 1)):
        _assert_trees_close(func.hessian(f, argnums)(a, b), func.hessian(f, argnums, vectorize=False)(a, b))


def test_vectorized_jacobian_of_a_function_that_vmaps(device):
    """jacrev's own vmap (over the rows of the identity) around a vmap inside f."""
    y = _randn(5, 4, device=device)
    x = _randn(4, device=device)
    f = lambda a: vmap(lambda r: xp.sum(xp.sin(r * a)))(y)  # noqa: E731
    for transform in (func.jacrev, func.jacfwd):
        _assert_trees_close(transform(f)(x), transform(f, vectorize=False)(x))
    _assert_trees_close(func.hessian(lambda a: xp.sum(f(a)))(x),
                        func.hessian(lambda a: xp.sum(f(a)), vectorize=False)(x))


# ---------------------------------------------------------------------- errors


def test_mismatched_batch_sizes(device):
    x, y = _randn(3, 4, device=device), _randn(4, 4, device=device)
    with pytest.raises(ValueError, match=r"vmap: batch sizes differ: args\[0\] has 3 along its in_axes, "
                                         r"args\[1\] has 4"):
        vmap(lambda a, b: a + b)(x, y)
    with pytest.raises(ValueError, match=r"batch sizes differ: args\[0\]\['a'\] has 3 .* args\[0\]\['b'\] has 4"):
        vmap(lambda d: d["a"] + d["b"])({"a": x, "b": y})


def test_in_axes_out_of_range(device):
    x = _randn(3, 4, device=device)
    with pytest.raises(ValueError, match=r"vmap: in_axes 2 is out of range for args\[0\], of shape \(3, 4\)"):
        vmap(lambda a: a, in_axes=2)(x)
    with pytest.raises(ValueError, match=r"vmap: in_axes -3 is out of range for args\[0\]"):
        vmap(lambda a: a, in_axes=-3)(x)


def test_in_axes_of_the_wrong_structure(device):
    x = _randn(3, 4, device=device)
    with pytest.raises(ValueError, match=r"vmap: in_axes has 1 entries but f was called with 2 positional arguments"):
        vmap(lambda a, b: a, in_axes=(0,))(x, x)
    with pytest.raises(ValueError, match=r"in_axes \(0, 0\) for the arguments\[0\] does not match its structure "
                                         r"\(tuple of 1\)"):
        vmap(lambda t: t[0], in_axes=((0, 0),))((x,))
    with pytest.raises(ValueError, match=r"in_axes \{'b': 0\} for the arguments\[0\] does not match its structure "
                                         r"\(dict of 1\)"):
        vmap(lambda d: d["a"], in_axes=({"b": 0},))({"a": x})


def test_in_axes_for_a_non_tensor_argument(device):
    x = _randn(3, 4, device=device)
    with pytest.raises(ValueError, match=r"vmap: in_axes gives args\[1\] the batch axis 0, but it is a float, "
                                         r"not a Tensor; give it in_axes None"):
        vmap(lambda a, s: a * s)(x, 2.0)


def test_no_batched_argument(device):
    x = _randn(3, 4, device=device)
    with pytest.raises(ValueError, match=r"vmap: no argument is batched"):
        vmap(lambda a: a, in_axes=None)(x)
    with pytest.raises(ValueError, match=r"vmap: no argument is batched"):
        vmap(lambda a, b: a, in_axes=(None, None))(x, x)


def test_bad_out_axes(device):
    x = _randn(3, 4, device=device)
    with pytest.raises(ValueError, match=r"vmap: out_axes gives output\[1\] the batch axis 0, but f returned a int "
                                         r"there, not a Tensor; give it out_axes None"):
        vmap(lambda a: (a, 3))(x)
    with pytest.raises(ValueError, match=r"vmap: out_axes None for output, but it depends on the batch"):
        vmap(lambda a: a, out_axes=None)(x)
    with pytest.raises(ValueError, match=r"vmap: out_axes 2 is out of range for output"):
        vmap(lambda a: a, out_axes=2)(x)
    with pytest.raises(ValueError, match=r"out_axes \(0,\) for the output of f does not match its structure"):
        vmap(lambda a: (a, a), out_axes=(0,))(x)


def test_data_dependent_control_flow_raises_vmap_error(device):
    x = _randn(3, 4, device=device)

    def branchy(a):
        if xp.sum(a) > 0:
            return a
        return -a

    with pytest.raises(VmapError, match=r"bool\(\) of a batched value inside vmap: the value differs from example "
                                        r"to example.*xpgrad.xp.where"):
        vmap(branchy)(x)
    with pytest.raises(VmapError, match=r"float\(\) of a batched value"):
        vmap(lambda a: float(xp.sum(a)))(x)
    with pytest.raises(VmapError, match=r"item\(\) of a batched value"):
        vmap(lambda a: xp.sum(a).item())(x)
    # the branchless spelling works
    assert_close(vmap(lambda a: xp.where(xp.sum(a) > 0, a, -a))(x), _loop(branchy, [x]))


def test_in_place_write_raises_vmap_error(device):
    x = _randn(3, 4, device=device)

    def write(a):
        a[0] = 1.0
        return a

    with pytest.raises(VmapError, match=r"an in-place write into a batched value inside vmap is not supported"):
        vmap(write)(x)


@pytest.mark.parametrize("chunk_size", [0, -1, 2.0])
def test_bad_chunk_size(chunk_size):
    with pytest.raises(ValueError, match=rf"vmap: chunk_size must be a positive int or None, got {chunk_size}"):
        vmap(lambda a: a, chunk_size=chunk_size)


def test_vmap_error_is_a_value_error():
    assert issubclass(VmapError, ValueError)
    assert issubclass(VmapFallbackWarning, UserWarning)


# ---------------------------------------------------------------------- Op(batch=...)


def _call(name, *args, **params):
    from xpgrad.dispatch import apply

    return apply(name, args, params or None)


def _row_normalize_op(name, batch=None):
    """x / sum(x, axis), an op with an axis param: no rule is derived for it."""
    def vjp(xp, g, x, axis):
        s = xp.sum(x, axis=axis, keepdims=True)
        return g / s - xp.sum(g * x, axis=axis, keepdims=True) / (s * s)

    return Op(name, lambda xp, x, *, axis: x / xp.sum(x, axis=axis, keepdims=True),
              vjp={"x": vjp}, batch=batch)


def test_a_plugin_ops_batch_rule_is_used(register, device):
    calls = []

    def rule(values, batched, params, size):
        (x,) = values
        calls.append((tuple(x.shape), tuple(batched), dict(params), size))
        axis = params["axis"]
        return _call("xpgrad_test_vmap_normalize", x, axis=axis + 1 if axis >= 0 else axis)

    register(ops_plugin(_row_normalize_op("xpgrad_test_vmap_normalize", batch=rule)),
             name="xpgrad_test_vmap_rule_plugin")
    x = (xpgrad.rand(3, 2, 4, dtype=F64, device=device) + 0.5).requires_grad_()
    f = lambda a: _call("xpgrad_test_vmap_normalize", a, axis=0) * 2  # noqa: E731
    got = _vmapped(f, 0, x)
    assert calls == [((3, 2, 4), (True,), {"axis": 0}, 3)]
    want = _loop(f, [x])
    assert_close(got, want)
    w = xpgrad.randn(3, 2, 4, dtype=F64, device=device)
    _assert_trees_close(xpgrad.autograd.grad(xp.sum(got * w), x), xpgrad.autograd.grad(xp.sum(want * w), x))


def test_a_batch_rule_may_decline_with_not_implemented(register, device):
    register(ops_plugin(_row_normalize_op("xpgrad_test_vmap_decline",
                                          batch=lambda values, batched, params, size: NotImplemented)),
             name="xpgrad_test_vmap_decline_plugin")
    x = xpgrad.rand(3, 4, dtype=F64, device=device) + 0.5
    f = lambda a: _call("xpgrad_test_vmap_decline", a, axis=-1)  # noqa: E731
    with pytest.warns(VmapFallbackWarning, match=r"op 'xpgrad_test_vmap_decline' has no batching rule"):
        got = vmap(f)(x)
    assert_close(got, _loop(f, [x]))


def test_an_op_without_a_rule_falls_back_to_the_loop_and_warns_once(register, device):
    register(ops_plugin(_row_normalize_op("xpgrad_test_vmap_norule")), name="xpgrad_test_vmap_norule_plugin")
    x = (xpgrad.rand(3, 2, 4, dtype=F64, device=device) + 0.5).requires_grad_()
    f = lambda a: _call("xpgrad_test_vmap_norule", a, axis=1)  # noqa: E731
    with pytest.warns(VmapFallbackWarning, match=r"op 'xpgrad_test_vmap_norule' has no batching rule: vmap runs "
                                                 r"it once per example of the batch \(declare batch= in its Op"):
        got = vmap(f)(x)
    want = _loop(f, [x])
    assert_close(got, want)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second call does not warn again
        again = vmap(f)(x)
    assert_close(again, want)
    w = xpgrad.randn(3, 2, 4, dtype=F64, device=device)
    _assert_trees_close(xpgrad.autograd.grad(xp.sum(again * w), x), xpgrad.autograd.grad(xp.sum(want * w), x))


@pytest.mark.parametrize("kind, make, f", [
    ("elementwise", lambda d: _randn(3, 2, 4, device=d), lambda name: lambda a: _call(name, a, a[0])),
    ("reduction", lambda d: _randn(3, 2, 4, device=d), lambda name: lambda a: _call(name, a, axis=-1)),
    ("trailing", lambda d: _randn(3, 2, 4, 4, device=d), lambda name: lambda a: _call(name, a)),
])
def test_named_batch_rules(kind, make, f, register, device):
    name = f"xpgrad_test_vmap_{kind}"
    forward = {"elementwise": lambda xp, x1, x2: x1 * x2 + x2,
               "reduction": lambda xp, x, *, axis=None: xp.sum(x * x, axis=axis),
               "trailing": lambda xp, x: xp.linalg.matrix_transpose(x) @ x}[kind]
    register(ops_plugin(Op(name, forward, vjp=None, batch=kind)), name=f"{name}_plugin")
    x = make(device)
    fn = f(name)
    assert_close(_vmapped(fn, 0, x), _loop(fn, [x]))


def test_bogus_batch_rule_is_an_op_definition_error():
    with pytest.raises(OpDefinitionError, match=r"op 'xpgrad_test_vmap_bogus': batch= takes a function or one of "
                                                r"'elementwise', 'reduction', 'trailing', got 'bogus'"):
        Op("xpgrad_test_vmap_bogus", lambda xp, x: x, vjp=None, batch="bogus")


# ---------------------------------------------------------------------- known gaps
# Each is a case that should work (or fail with VmapError) and does not yet: xfail(strict)
# so that a fix shows as a failure here until the mark is removed.


def test_indexing_with_a_batched_integer_index(device):
    x = _randn(3, 4, device=device)
    idx = xpgrad.tensor([[0, 1], [2, 2], [3, 0]], device=device)
    assert_close(vmap(lambda a, i: a[i])(x, idx), _loop(lambda a, i: a[i], [x, idx]))
    # an unbatched array indexed by a batched index, and the gradient through it
    table = _randn(4, 2, device=device)
    assert_close(vmap(lambda i: table[i])(idx), _loop(lambda i: table[i], [idx], in_axes=0))
    got = func.grad(lambda t: xp.sum(vmap(lambda i: t[i])(idx) ** 2))(table)
    want = func.grad(lambda t: sum(xp.sum(t[idx[k]] ** 2) for k in range(3)))(table)
    assert_close(got, want)


def test_a_batched_boolean_mask_raises_vmap_error(device):
    x = _randn(3, 4, device=device)
    with pytest.raises(VmapError, match="a boolean mask batched inside vmap: the result's shape would depend"):
        vmap(lambda a: a[a > 0])(x)
    with pytest.raises(VmapError, match="beside other indices is not supported"):
        vmap(lambda a, i: a[i, 0])(x[:, :2], xpgrad.tensor([0, 1, 0], device=device))


def test_a_plugin_op_without_params_that_is_not_elementwise_falls_back(register, device):
    register(ops_plugin(Op("xpgrad_test_vmap_colsum", lambda xp, x: xp.sum(x, axis=0),
                           vjp={"x": lambda xp, g, x: xp.broadcast_to(g, x.shape)})),
             name="xpgrad_test_vmap_colsum_plugin")
    x = _randn(3, 3, device=device)
    f = lambda a: _call("xpgrad_test_vmap_colsum", a)  # noqa: E731
    with _recording() as caught:
        got = vmap(f)(x)
    assert_close(got, _loop(f, [x]))
    assert _fallbacks(caught) == {"xpgrad_test_vmap_colsum"}


# ---------------------------------------------------------------------- a batch of cotangents


def _tanh_layer(device):
    w = _randn(4, 3, device=device).requires_grad_()
    x = _randn(3, device=device).requires_grad_()
    return w, x, xp.tanh(w @ x)


def test_is_grads_batched_is_the_loop_of_backward_passes(device):
    w, x, y = _tanh_layer(device)
    cotangents = _randn(5, 4, device=device)
    gx, gw = xpgrad.autograd.grad(y, (x, w), cotangents, retain_graph=True, is_grads_batched=True)
    rows = [xpgrad.autograd.grad(y, (x, w), cotangents[i], retain_graph=True) for i in range(5)]
    assert tuple(gx.shape) == (5, 3) and tuple(gw.shape) == (5, 4, 3)
    assert_close(gx, xp.stack([r[0] for r in rows]))
    assert_close(gw, xp.stack([r[1] for r in rows]))
    assert not gx.requires_grad  # without create_graph, outside the graph


def test_is_grads_batched_with_create_graph_is_differentiable(device):
    w, x, y = _tanh_layer(device)
    cotangents = _randn(2, 4, device=device)
    (gx,) = xpgrad.autograd.grad(y, x, cotangents, create_graph=True, is_grads_batched=True)
    (second,) = xpgrad.autograd.grad(xp.sum(gx * gx), x, retain_graph=True)
    expected = sum(xpgrad.autograd.grad(xp.sum(g * g), x, retain_graph=True)[0] for g in
                   (xpgrad.autograd.grad(y, x, cotangents[i], create_graph=True)[0] for i in range(2)))
    assert_close(second, expected)


def test_is_grads_batched_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    w0, x0, c0 = rng.standard_normal((4, 3)), rng.standard_normal(3), rng.standard_normal((6, 4))
    w, x = xpgrad.tensor(w0, requires_grad=True), xpgrad.tensor(x0, requires_grad=True)
    tw, tx = torch.tensor(w0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    got = xpgrad.autograd.grad(xp.tanh(w @ x), (x, w), xpgrad.tensor(c0), is_grads_batched=True)
    want = torch.autograd.grad(torch.tanh(tw @ tx), (tx, tw), torch.tensor(c0), is_grads_batched=True)
    for g, t in zip(got, want):
        np.testing.assert_allclose(g.numpy(), t.numpy(), rtol=1e-12, atol=1e-14)


def test_is_grads_batched_needs_one_batch_of_cotangents_per_output(device):
    w, x, y = _tanh_layer(device)
    with pytest.raises(RuntimeError, match="is_grads_batched=True needs grad_outputs: one Tensor per output"):
        xpgrad.autograd.grad(y, x, is_grads_batched=True)
    z = xp.sum(y)
    with pytest.raises(RuntimeError, match=r"one batch size for all; got shapes \[\(5, 4\), \(3,\)\]"):
        xpgrad.autograd.grad((y, z), x, (_randn(5, 4, device=device), _randn(3, device=device)),
                             is_grads_batched=True)
    with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_outputs\[0\] has a shape of \(3,\) per example"):
        xpgrad.autograd.grad(y, x, _randn(5, 3, device=device), is_grads_batched=True)


def test_autograd_functional_vectorize_gives_the_loops_values(device):
    from xpgrad.autograd import functional as F

    w = _randn(3, 3, device=device)
    x = _randn(3, device=device)
    f = lambda a: xp.tanh(w @ a)  # noqa: E731
    assert_close(F.jacobian(f, x, vectorize=True), F.jacobian(f, x, vectorize=False))
    assert_close(F.jacobian(f, x, vectorize=True, strategy="forward-mode"), F.jacobian(f, x))
    g = lambda a: xp.sum(xp.tanh(w @ a) ** 2)  # noqa: E731
    assert_close(F.hessian(g, x, vectorize=True), F.hessian(g, x, vectorize=False))
