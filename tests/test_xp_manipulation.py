"""Manipulation and indexing functions of xpgrad.xp, and item assignment: values,
first and second derivatives against finite differences, forward-mode (JVP) rules
against directional finite differences, and the conventions finite differences cannot
see (repeated indices, overwritten positions, version counters).
"""
import numpy as np
import pytest

import xpgrad
from xpgrad import dispatch, xp

from helpers import check

F32 = xpgrad.float32
F64 = xpgrad.float64

# Finite differences cost a dask graph computation per perturbed element.


def normal(*shape):
    return lambda device: xpgrad.randn(*shape, dtype=F64, device=device, requires_grad=True)


def idx(data):
    """An integer index Tensor on the test's device (made when the case runs)."""
    return lambda device: xpgrad.tensor(data, device=device)


def as_list(data):
    return lambda device: xpgrad.tensor(data, dtype=F64, device=device)


def values(t):
    return np.asarray(t.detach().tolist(), dtype=float).reshape(t.shape)


# ---------------------------------------------------------------------- the table
# name: (fn of the inputs, input makers). Makers of index Tensors are resolved per device
# and passed after the differentiable inputs as constants.

FUNCTIONS = {
    "reshape": (lambda x: xp.reshape(x, (3, 2)), (normal(2, 3),)),
    "reshape-minus-one": (lambda x: xp.reshape(x, (-1,)), (normal(2, 3),)),
    "reshape-copy": (lambda x: xp.reshape(x, (6, 1), copy=True), (normal(2, 3),)),
    "reshape-0d": (lambda x: xp.reshape(x, (1, 1)), (normal(),)),
    "reshape-empty": (lambda x: xp.reshape(x, (3, 0)), (normal(0, 3),)),
    "permute_dims": (lambda x: xp.permute_dims(x, (2, 0, 1)), (normal(2, 3, 1),)),
    "permute_dims-negative": (lambda x: xp.permute_dims(x, (-1, 0)), (normal(2, 3),)),
    "moveaxis": (lambda x: xp.moveaxis(x, 0, -1), (normal(2, 3, 1),)),
    "moveaxis-tuple": (lambda x: xp.moveaxis(x, (0, -1), (-1, 0)), (normal(2, 3, 1),)),
    "broadcast_to": (lambda x: xp.broadcast_to(x, (2, 3)), (normal(3),)),
    "broadcast_to-inner": (lambda x: xp.broadcast_to(x, (2, 2, 3)), (normal(2, 1, 1),)),
    "broadcast_to-0d": (lambda x: xp.broadcast_to(x, (2,)), (normal(),)),
    "broadcast_arrays": (lambda a, b: xp.broadcast_arrays(a, b), (normal(2, 1), normal(3))),
    "expand_dims": (lambda x: xp.expand_dims(x, axis=0), (normal(2, 3),)),
    "expand_dims-negative": (lambda x: xp.expand_dims(x, axis=-1), (normal(2, 3),)),
    "expand_dims-0d": (lambda x: xp.expand_dims(x, axis=0), (normal(),)),
    "expand_dims-tuple": (lambda x: xp.expand_dims(x, axis=(0, 3)), (normal(2, 3),)),
    "expand_dims-tuple-negative": (lambda x: xp.expand_dims(x, axis=(-1, 1)), (normal(2, 3),)),
    "permute_dims-negative-3d": (lambda x: xp.permute_dims(x, (-1, 0, -2)), (normal(2, 3, 4),)),
    "squeeze": (lambda x: xp.squeeze(x, 1), (normal(2, 1, 3),)),
    "squeeze-tuple-negative": (lambda x: xp.squeeze(x, (0, -1)), (normal(1, 3, 1),)),
    "concat": (lambda a, b: xp.concat((a, b)), (normal(2, 3), normal(1, 3))),
    "concat-negative-axis": (lambda a, b, c: xp.concat([a, b, c], axis=-1), (normal(2, 1), normal(2, 3), normal(2, 2))),
    "concat-None": (lambda a, b: xp.concat((a, b), axis=None), (normal(2, 2), normal(3))),
    "concat-empty-piece": (lambda a, b: xp.concat((a, b)), (normal(0, 3), normal(2, 3))),
    "stack": (lambda a, b: xp.stack((a, b)), (normal(2, 3), normal(2, 3))),
    "stack-negative-axis": (lambda a, b, c: xp.stack([a, b, c], axis=-1), (normal(2), normal(2), normal(2))),
    "stack-0d": (lambda a, b: xp.stack((a, b)), (normal(), normal())),
    "unstack": (lambda x: xp.unstack(x), (normal(2, 3),)),
    "unstack-negative-axis": (lambda x: xp.unstack(x, axis=-1), (normal(2, 3),)),
    "flip": (lambda x: xp.flip(x), (normal(2, 3),)),
    "flip-axis": (lambda x: xp.flip(x, axis=-1), (normal(2, 3),)),
    "flip-tuple": (lambda x: xp.flip(x, axis=(0, 2)), (normal(2, 2, 2),)),
    "flip-0d": (lambda x: xp.flip(x), (normal(),)),
    "roll": (lambda x: xp.roll(x, 2), (normal(2, 3),)),
    "roll-axis": (lambda x: xp.roll(x, -1, axis=-1), (normal(2, 3),)),
    "roll-tuple": (lambda x: xp.roll(x, (1, 2), axis=(0, 1)), (normal(2, 3),)),
    "roll-int-tuple-axis": (lambda x: xp.roll(x, 1, axis=(0, -1)), (normal(2, 3),)),
    "repeat": (lambda x: xp.repeat(x, 2), (normal(2, 3),)),
    "repeat-axis": (lambda x: xp.repeat(x, 3, axis=-1), (normal(2, 2),)),
    "repeat-zero": (lambda x: xp.repeat(x, 0, axis=0), (normal(2, 2),)),
    "repeat-counts": (lambda x, r: xp.repeat(x, r, axis=1), (normal(2, 3), idx([2, 0, 1]))),
    "repeat-counts-flat": (lambda x, r: xp.repeat(x, r), (normal(2, 2), idx([1, 3, 0, 1]))),
    "repeat-0d": (lambda x: xp.repeat(x, 3), (normal(),)),
    "tile": (lambda x: xp.tile(x, (2, 1)), (normal(2, 3),)),
    "tile-longer": (lambda x: xp.tile(x, (2, 1, 2)), (normal(2, 2),)),
    "tile-shorter": (lambda x: xp.tile(x, (3,)), (normal(2, 1, 2),)),
    "tile-0d": (lambda x: xp.tile(x, (2, 2)), (normal(),)),
    "take": (lambda x, i: xp.take(x, i, axis=1), (normal(2, 3), idx([2, 0, 2, 2]))),
    "take-negative-axis": (lambda x, i: xp.take(x, i, axis=-2), (normal(3, 2), idx([1, 1]))),
    "take-1d": (lambda x, i: xp.take(x, i), (normal(4,), idx([3, 0, 3]))),
    "take-empty-indices": (lambda x, i: xp.take(x, i, axis=0), (normal(3, 2), lambda d: idx([0])(d)[0:0])),
    "take_along_axis": (lambda x, i: xp.take_along_axis(x, i), (normal(2, 3), idx([[0, 0], [2, 1]]))),
    "take_along_axis-axis0": (lambda x, i: xp.take_along_axis(x, i, axis=0), (normal(2, 3), idx([[1, 1, 0]]))),
    "take_along_axis-broadcast": (lambda x, i: xp.take_along_axis(x, i, axis=1), (normal(1, 3), idx([[2], [2], [0]]))),
    "astype": (lambda x: xp.astype(x, F64), (normal(2, 3),)),
}


def resolve(makers, device):
    return tuple(make(device) for make in makers)


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_function(name, device):
    fn, makers = FUNCTIONS[name]
    check(fn, resolve(makers, device))


def _reference(name):
    """NumPy's result of each case, to check values (not only derivatives)."""
    return {
        "reshape": lambda x: x.reshape(3, 2),
        "moveaxis-tuple": lambda x: np.moveaxis(x, (0, -1), (-1, 0)),
        "concat-negative-axis": lambda a, b, c: np.concatenate([a, b, c], axis=-1),
        "concat-None": lambda a, b: np.concatenate([a.ravel(), b.ravel()]),
        "stack-negative-axis": lambda a, b, c: np.stack([a, b, c], axis=-1),
        "unstack-negative-axis": lambda x: tuple(x[:, i] for i in range(x.shape[1])),
        "flip-tuple": lambda x: np.flip(x, axis=(0, 2)),
        "roll": lambda x: np.roll(x, 2),
        "roll-tuple": lambda x: np.roll(x, (1, 2), axis=(0, 1)),
        "repeat": lambda x: np.repeat(x, 2),
        "repeat-counts": lambda x, r: np.repeat(x, r, axis=1),
        "repeat-counts-flat": lambda x, r: np.repeat(x, r),
        "tile-longer": lambda x: np.tile(x, (2, 1, 2)),
        "tile-shorter": lambda x: np.tile(x, (3,)),
        "take": lambda x, i: np.take(x, i, axis=1),
        "take_along_axis": lambda x, i: np.take_along_axis(x, i, axis=-1),
        "take_along_axis-broadcast": lambda x, i: np.take_along_axis(np.broadcast_to(x, (3, 3)), i, axis=1),
        "broadcast_arrays": lambda a, b: np.broadcast_arrays(a, b),
        "expand_dims-tuple": lambda x: np.expand_dims(x, (0, 3)),
        "expand_dims-tuple-negative": lambda x: np.expand_dims(x, (-1, 1)),
        "permute_dims-negative": lambda x: np.transpose(x, (1, 0)),
        "permute_dims-negative-3d": lambda x: np.transpose(x, (2, 0, 1)),
    }.get(name)


@pytest.mark.parametrize("name", [n for n in FUNCTIONS if _reference(n) is not None])
def test_function_values(name, device):
    fn, makers = FUNCTIONS[name]
    inputs = resolve(makers, device)
    got = fn(*inputs)
    want = _reference(name)(*(np.asarray(t.detach().tolist()) for t in inputs))
    if isinstance(want, (tuple, list)):
        assert isinstance(got, (tuple, list))  # which one: test_unstack_and_broadcast_arrays_return_types
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == w.shape and np.allclose(values(g), w)
    else:
        assert got.shape == want.shape and np.allclose(values(got), want)


@pytest.mark.parametrize("name", ["reshape", "permute_dims", "broadcast_to", "concat", "stack", "unstack",
                                  "flip", "roll-tuple", "repeat-counts", "tile-longer", "take",
                                  "take_along_axis", "squeeze", "expand_dims"])
def test_float32_stays_float32(name, device):
    fn, makers = FUNCTIONS[name]
    inputs = tuple(
        t.detach().to(F32).requires_grad_() if t.requires_grad else t for t in resolve(makers, device)
    )
    outs = fn(*inputs)
    outs = outs if isinstance(outs, (tuple, list)) else (outs,)
    assert all(o.dtype == inputs[0].dtype for o in outs)
    sum(o.sum() for o in outs).backward()
    for t in inputs:
        if t.requires_grad:
            assert t.grad.dtype == t.dtype


# ---------------------------------------------------------------------- values of gradients


def test_take_duplicate_indices_accumulate(device):
    x = xpgrad.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=F64, device=device, requires_grad=True)
    i = xpgrad.tensor([2, 0, 2, 2], device=device)
    y = xp.take(x, i, axis=1)
    assert values(y).tolist() == [[3.0, 1.0, 3.0, 3.0], [6.0, 4.0, 6.0, 6.0]]
    w = xpgrad.tensor([[1.0, 10.0, 100.0, 1000.0]], dtype=F64, device=device)
    (y * w).sum().backward()
    assert values(x.grad).tolist() == [[10.0, 0.0, 1101.0], [10.0, 0.0, 1101.0]]
    assert i.requires_grad is False


def test_take_along_axis_duplicates_accumulate(device):
    x = xpgrad.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=F64, device=device, requires_grad=True)
    i = xpgrad.tensor([[1, 1, 1], [0, 1, 0]], device=device)
    y = xp.take_along_axis(x, i, axis=1)
    assert values(y).tolist() == [[2.0, 2.0, 2.0], [3.0, 4.0, 3.0]]
    y.sum().backward()
    assert values(x.grad).tolist() == [[0.0, 3.0], [2.0, 1.0]]


def test_repeat_and_tile_sum_their_copies(device):
    x = xpgrad.tensor([1.0, 2.0, 3.0], dtype=F64, device=device, requires_grad=True)
    counts = xpgrad.tensor([3, 0, 1], device=device)
    w = xpgrad.tensor([1.0, 2.0, 4.0, 8.0], dtype=F64, device=device)
    (xp.repeat(x, counts) * w).sum().backward()
    assert values(x.grad).tolist() == [7.0, 0.0, 8.0]
    x.grad = None
    (xp.tile(x, (2, 2)) * 1.0).sum().backward()
    assert values(x.grad).tolist() == [4.0, 4.0, 4.0]


def test_unstack_and_broadcast_arrays_return_types(device):
    x = normal(2, 3)(device)
    pieces = xp.unstack(x, axis=1)
    assert isinstance(pieces, tuple) and [p.shape for p in pieces] == [(2,)] * 3
    arrays = xp.broadcast_arrays(x, normal(1)(device), normal(2, 1)(device))
    assert isinstance(arrays, tuple) and [a.shape for a in arrays] == [(2, 3)] * 3  # a tuple since 2025.12
    assert arrays[0] is x  # nothing to broadcast: the Tensor itself
    (pieces[0] * 2).sum().backward()
    assert values(x.grad).tolist() == [[2.0, 0.0, 0.0], [2.0, 0.0, 0.0]]


def test_concat_grad_fn_and_pieces(device):
    a, b = normal(2, 2)(device), normal(1, 2)(device)
    y = xp.concat([a, b], axis=0)
    assert type(y.grad_fn).__name__ == "CatBackward"
    w = xpgrad.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=F64, device=device)
    (y * w).sum().backward()
    assert values(a.grad).tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert values(b.grad).tolist() == [[5.0, 6.0]]


@pytest.mark.parametrize("call, error", [
    (lambda x: xp.take(x, xpgrad.tensor([0]), axis=None), "axis is required"),
    (lambda x: xp.take(x, xpgrad.tensor([0.5]), axis=0), "integer dtype"),
    (lambda x: xp.take_along_axis(x, xpgrad.tensor([0]), axis=0), "as many dimensions"),
    (lambda x: xp.concat(x), "tuple or list of Tensors"),
    (lambda x: xp.concat([]), "at least one array"),
    (lambda x: xp.moveaxis(x, (0, 1), 0), "same length"),
    (lambda x: xp.repeat(x, -1), "non-negative"),
    (lambda x: xp.flip(x, axis=2), "out of range"),
    (lambda x: xp.roll(x, (1, 1), axis=0), "tuple axis of the same length"),
    (lambda x: xp.unstack(x[0, 0]), "at least one dimension"),
])
def test_errors(call, error):
    x = xpgrad.randn(2, 3, dtype=F64, requires_grad=True)
    with pytest.raises((TypeError, ValueError), match=error):
        call(x)


# ---------------------------------------------------------------------- forward mode (JVP rules)
# A forward-mode walk for the tests: every recorded node's JVP rules turn its inputs'
# tangents into its output's, as a forward-mode engine does; the result is checked
# against a directional central difference of the whole function. ``graph`` runs the
# rules on Tensors with xpgrad.xp (as they run when forward mode is itself recorded)
# instead of on the backend's arrays.


def jvp(fn, inputs, tangents, graph=False):
    known = {id(x): t for x, t in zip(inputs, tangents) if t is not None}
    keep = list(inputs)

    def hook(node, out, args):
        op = node._op
        total = None
        for i, a in enumerate(args):
            t = known.get(id(a)) if isinstance(a, xpgrad.Tensor) else None
            if t is None:
                continue
            rules = op.jvp_rules
            assert rules is not None and rules[i] is not None, f"op {op.name!r} has no JVP rule for argument {i}"
            if rules[i].kind == "linear":  # the op itself, on the tangent
                c = dispatch.apply(op.name, (t,), node.params)
            elif graph:
                c = rules[i].call_graph(xp, t, args, out.detach(), node)
            else:
                c = rules[i].call(out._dev.xp, t._data, args, out._data, node)
                c = xpgrad.Tensor(c, out._dev)
            total = c if total is None else total + c
        if total is not None:
            total = total.detach()
            if total.shape != out.shape:
                total = xpgrad.Tensor(out._dev.xp.broadcast_to(total._data, out.shape), out._dev)
            known[id(out)] = total
            keep.append(out)

    dispatch.RECORD_HOOKS.append(hook)
    try:
        outs = fn(*inputs)
    finally:
        dispatch.RECORD_HOOKS.remove(hook)
    outs = outs if isinstance(outs, (tuple, list)) else (outs,)
    return [known.get(id(o)) for o in outs]


def directional_difference(fn, inputs, tangents, eps=1e-6):
    def at(step):
        with xpgrad.no_grad():
            args = [x if t is None else x.detach() + step * t for x, t in zip(inputs, tangents)]
            outs = fn(*args)
        return [values(o) for o in (outs if isinstance(outs, (tuple, list)) else (outs,))]

    return [(p - m) / (2 * eps) for p, m in zip(at(eps), at(-eps))]


def check_jvp(fn, inputs):
    tangents = [xpgrad.randn(*x.shape, dtype=F64, device=x.device) if x.requires_grad else None
                for x in inputs]
    want = directional_difference(fn, inputs, tangents)
    for graph in (False, True):
        got = jvp(fn, inputs, tangents, graph)
        for g, w in zip(got, want):
            assert g is not None, "no tangent reached an output"
            assert g.shape == w.shape
            assert np.allclose(values(g), w, atol=1e-6, rtol=1e-4), (graph, values(g), w)


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_function_jvp(name, device):
    fn, makers = FUNCTIONS[name]
    check_jvp(fn, resolve(makers, device))


GETITEM_KEYS = {
    "int": (1, (3, 2)),
    "slice": ((slice(None), slice(0, 1)), (3, 2)),
    "None-Ellipsis": ((None, Ellipsis, 0), (2, 3)),
    "int-array-duplicates": ([0, 0, 2], (3,)),
    "int-arrays": (([0, 1, 1], [1, 0, 0]), (2, 2)),
    "slice-and-int-array": ((slice(None), [1, 1]), (2, 2)),
}


@pytest.mark.parametrize("key, shape", GETITEM_KEYS.values(), ids=GETITEM_KEYS.keys())
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_getitem_jvp(key, shape, device):
    x = normal(*shape)(device)
    check_jvp(lambda t: t[key], (x,))
    # scatter_add, getitem's adjoint, is linear in its argument too
    raw = xpgrad.tensor(0.0, device=device)[...]
    from xpgrad.methods import _raw_key

    raw_key = _raw_key(key, raw)
    g = xpgrad.randn(*x[key].shape, dtype=F64, device=device, requires_grad=True)
    check_jvp(lambda t: dispatch.apply("scatter_add", (t,), {"shape": shape, "key": raw_key}), (g,))


def test_every_op_here_has_jvp_rules():
    from xpgrad.plugins import registry

    names = ["reshape", "permute_dims", "broadcast_to", "expand_dims", "squeeze", "astype", "clone",
             "concat", "stack", "flip", "roll", "repeat", "tile", "getitem", "scatter_add", "take",
             "take_along_axis", "setitem"]
    for name in names:
        # (backends/ specialisations of getitem are the backend plugins' own)
        for op in [o for o in registry.all_ops()[name] if o.plugin.startswith("xpgrad.ops.")]:
            if op.variadic:
                assert op.with_arity(2).jvp_rules is not None, name
            else:
                assert op.jvp_rules is not None and all(r is not None for r, v in zip(op.jvp_rules, op.rules)
                                                        if v is not None), (name, op.plugin)


def test_astype_and_clone_jvp(device):
    x = normal(2, 3)(device)
    check_jvp(lambda t: dispatch.apply("astype", (t,), {"dtype": t.dtype}), (x,))
    check_jvp(lambda t: t.clone(), (x,))


# ---------------------------------------------------------------------- item assignment


def assign(key, fixed_value=None):
    """``y = x * 1; y[key] = value; return y``, with the value an input or a constant."""
    def fn(x, v=None):
        y = x.clone()
        y[key] = fixed_value if v is None else v
        return y

    return fn


SETITEM = {
    "int": (1, (3, 2), (2,)),
    "slice-broadcast": ((slice(None), 1), (3, 2), ()),
    "slice-value-leading-ones": ((slice(0, 2),), (3, 2), (1, 1, 2)),
    "negative-step": (slice(None, None, -2), (3, 2), (2, 1)),
    "Ellipsis": ((Ellipsis, 0), (2, 2, 2), (2,)),
    "None": ((None, 1), (3, 2), (1, 2)),
    "int-array": ([2, 0], (3, 2), (2, 2)),
    "int-arrays-duplicates": (([0, 1, 0], [1, 0, 1]), (2, 2), (3,)),
    "slice-and-int-array": ((slice(None), [1]), (3, 2), (3, 1)),
    "mask": ("mask", (2, 3), (3,)),
}


def setitem_key(key, device):
    if key == "mask":
        return xpgrad.tensor([[True, False, True], [False, True, False]], device=device)
    return key


@pytest.mark.parametrize("key, shape, vshape", SETITEM.values(), ids=SETITEM.keys())
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_setitem_gradients(key, shape, vshape, device):
    if key == "mask" and device == "dask":
        pytest.skip("boolean-mask indexing (the value's gradient) is not supported on dask")
    key = setitem_key(key, device)
    x, v = normal(*shape)(device), normal(*vshape)(device)
    check(assign(key), (x, v))
    assert xpgrad.gradcheck(assign(key, 2.5), (x,))  # a constant value: x keeps the rest
    check_jvp(lambda a, b: dispatch.apply("setitem", (a, b), {"key": _raw(key, a)}), (x, v))


def _raw(key, t):
    from xpgrad.methods import _raw_key

    return _raw_key(key, t)


def test_setitem_gradient_values(device):
    x = xpgrad.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=F64, device=device, requires_grad=True)
    v = xpgrad.tensor([10.0, 20.0, 30.0], dtype=F64, device=device, requires_grad=True)
    w = xpgrad.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=F64, device=device)
    y = x * 2
    y[1] = v  # broadcast over nothing: row 1 is v
    y[:, 0] = v[2]  # a broadcast scalar value: column 0
    assert values(y).tolist() == [[30.0, 4.0, 6.0], [30.0, 20.0, 30.0]]
    assert type(y.grad_fn).__name__ == "CopySlices" and not y.is_leaf
    (y * w).sum().backward()
    # overwritten: no gradient; kept: 2 w
    assert values(x.grad).tolist() == [[0.0, 4.0, 6.0], [0.0, 0.0, 0.0]]
    # v[0] was overwritten by the second assignment; v[2] fills column 0 (1 + 4)
    assert values(v.grad).tolist() == [0.0, 5.0, 6.0 + 5.0]


def test_setitem_repeated_positions(device):
    x = xpgrad.zeros(2, 2, dtype=F64, device=device, requires_grad=True)
    v = xpgrad.tensor([1.0, 2.0, 3.0], dtype=F64, device=device, requires_grad=True)
    y = x.clone()
    y[[0, 1, 0], [1, 0, 1]] = v  # (0, 1) assigned twice: holds the value written last, 3.0
    assert values(y).tolist() == [[0.0, 3.0], [2.0, 0.0]]
    (y * xpgrad.tensor([[1.0, 10.0], [100.0, 1000.0]], dtype=F64, device=device)).sum().backward()
    assert values(v.grad).tolist() == [0.0, 100.0, 10.0]  # the overwritten value: none
    assert values(x.grad).tolist() == [[1.0, 0.0], [0.0, 1000.0]]


def test_setitem_into_leaf_without_grad(device):
    y = xpgrad.zeros(3, dtype=F64, device=device)
    v = xpgrad.tensor(2.0, dtype=F64, device=device, requires_grad=True)
    y[1] = v
    assert y.requires_grad and not y.is_leaf
    (y * 3).sum().backward()
    assert v.grad.item() == 3.0


def test_setitem_leaf_requiring_grad_raises(device):
    x = normal(3)(device)
    with pytest.raises(RuntimeError, match="leaf Tensor that requires grad.*item assignment"):
        x[0] = 1.0
    with xpgrad.no_grad():
        x[0] = 1.0  # as an optimizer step does
    assert x.is_leaf and values(x)[0] == 1.0


def test_setitem_saved_tensor_raises_at_backward(device):
    x = normal(3)(device)
    a = x * 1
    b = a * a  # saves a
    version = a._version
    a[0] = 5.0
    assert a._version > version
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        b.sum().backward()


def test_setitem_into_a_saved_output_keeps_the_gradient_exact(device):
    x = normal(3)(device)
    a = x * 1
    c = a.exp()  # saves its output, which the assignment overwrites: the node keeps a copy
    c[1] = 0.0
    (g,) = xpgrad.autograd.grad(c.sum(), x)
    expected = np.exp(values(x))
    expected[1] = 0.0
    np.testing.assert_allclose(values(g), expected, rtol=1e-15)


def test_setitem_into_a_saved_input_raises_at_backward(device):
    x = normal(3)(device)
    a = x * 1
    c = xp.sin(a)  # saves its input a
    a[1] = 0.0
    with pytest.raises(RuntimeError, match="SinBackward saved for backward was modified by an in-place"):
        c.sum().backward()


def test_setitem_without_grad_all_keys(device):
    # Keys the standard leaves out of assignment still work, on every backend.
    y = xpgrad.zeros(2, 3, dtype=F64, device=device)
    y[[0, 1], [2, 0]] = 1.0
    y[None, 1, 1] = xpgrad.tensor([[7.0]], dtype=F64, device=device)
    y[0, :2] = [3.0, 4.0]
    assert values(y).tolist() == [[3.0, 4.0, 1.0], [1.0, 7.0, 0.0]]
    assert not y.requires_grad


def test_setitem_negative_steps_without_grad(device):
    # slices with a negative step, which PyTorch refuses, on every backend
    y = xpgrad.zeros(2, 3, dtype=F64, device=device)
    y[::-1, ::-1] = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert values(y).tolist() == [[6.0, 5.0, 4.0], [3.0, 2.0, 1.0]]
    y[1, ::-2] = xpgrad.tensor([8.0, 9.0], dtype=F64, device=device)
    y[::-1, :1] = xpgrad.tensor([[7.0], [0.5]], dtype=F64, device=device)
    assert values(y).tolist() == [[0.5, 5.0, 4.0], [7.0, 2.0, 8.0]]
    assert not y.requires_grad
    with pytest.raises(IndexError, match="too many indices"):  # one index more than it has
        xpgrad.zeros(4, dtype=F64, device=device)[1, ::-1] = 0.0


def test_setitem_float32_value_into_float64(device):
    y = xpgrad.zeros(2, dtype=F64, device=device)
    v = xpgrad.tensor([1.5], dtype=F32, device=device, requires_grad=True)
    y[0:1] = v
    assert y.dtype == F64 or str(y.dtype).endswith("float64")
    y.sum().backward()
    assert v.grad.dtype == v.dtype and values(v.grad).tolist() == [1.0]
