"""Jacobians and Hessians, by reverse mode (one VJP per output element) or forward
mode (one JVP per input element)."""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from xpgrad import xp as _namespace
from xpgrad.tensor import Tensor

from . import _inside_vmap as inside_vmap
from ._common import check_argnums, check_primal
from ._forward import jvp, run_jvp
from ._pytree import describe_path, flatten, unflatten
from ._reverse import _numel, _selected, _Traced, grad

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Literal, ParamSpec

    _P = ParamSpec("_P")

__all__ = ["jacobian", "jacrev", "jacfwd", "hessian", "hvp"]


def _xp() -> Any:
    return _namespace


def _device(t: Tensor) -> Any:
    from array_api_compat import device

    return device(t._data)


def _basis(t: Tensor, index: int) -> Tensor:
    """A Tensor of ``t``'s shape, dtype and device: one at flat ``index``, zeros elsewhere."""
    dev = t._dev
    bxp = dev.xp
    size = _numel(t.shape)
    positions = bxp.reshape(bxp.arange(size, device=_device(t)), tuple(t.shape))
    return Tensor(bxp.astype(positions == index, t._data.dtype), dev)


def _stack(tensors: Sequence[Tensor], axis: int, shape: tuple[int, ...], like: Tensor) -> Tensor:
    """``tensors`` stacked along a new first (``axis=0``) or last (``axis=-1``) axis.

    ``shape`` is the result's shape, used when there is nothing to stack.
    """
    xp = _xp()
    if not tensors:
        return Tensor(like._dev.xp.zeros(shape, dtype=like._data.dtype, device=_device(like)), like._dev)
    return xp.stack(tensors, axis=axis)


def jacobian(f: Callable[_P, Any], argnums: int | Sequence[int] = 0, mode: Literal["rev", "fwd"] = "rev",
             has_aux: bool = False, vectorize: bool = True) -> Callable[_P, Any]:
    """The Jacobian of ``f`` with respect to the arguments at ``argnums``, as a function.

    Parameters
    ----------
    f : callable
        Returns a Tensor or a pytree of Tensors (with ``has_aux``: ``(output, aux)``).
    argnums : int or tuple of int
        Which positional arguments; each may be a pytree of Tensors.
    mode : {"rev", "fwd"}
        Reverse mode runs f once and one VJP per output element (best for few outputs);
        forward mode runs one JVP (a forward pass) per input element (best for few inputs).
    has_aux : bool
    vectorize : bool
        True (the default): all the VJPs (or JVPs) in one vectorised pass, with
        :func:`vmap` (``f`` runs once on a batch of copies of its inputs). False: one pass
        per output (or input) element, as HIPS autograd does; less memory.

    Returns
    -------
    callable
        Returns, for each output leaf of shape ``O`` and each input leaf of shape ``I``,
        a Tensor of shape ``O + I``, arranged as the output's structure whose leaves are
        the argument's structure (a tuple of those for a tuple ``argnums``).

    Examples
    --------
    >>> x = xpgrad.tensor([1.0, 2.0], dtype=xpgrad.float64)
    >>> xpgrad.func.jacobian(lambda x: x ** 2)(x)
    tensor([[2., 0.],
            [0., 4.]], dtype=xpgrad.float64)
    """
    if mode not in ("rev", "fwd"):
        raise ValueError(f"jacobian: mode must be 'rev' or 'fwd', got {mode!r}")
    fname = "jacrev" if mode == "rev" else "jacfwd"
    check_argnums(argnums, 1 << 30, fname)
    if vectorize:
        compute = _jac_rev_vectorised if mode == "rev" else _jac_fwd_vectorised
    else:
        compute = _jac_rev if mode == "rev" else _jac_fwd

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        levels = inside_vmap.active()
        if levels:
            return _jacobian_inside_vmap(f, argnums, mode, has_aux, vectorize, levels, args, kwargs)
        single, nums = check_argnums(argnums, len(args), fname)
        g = _selected(f, args, kwargs, nums)
        sel = [args[k] for k in nums]
        names = [f"argument {k}" for k in nums]
        jac, aux = compute(g, sel, names, has_aux, fname)
        # jac[o][j]: the Jacobian of output leaf o w.r.t. input leaf j (flat over all args)
        o_def, in_defs, counts, o_count = jac.pop("defs")
        result = []
        for o in range(o_count):
            per_arg, start = [], 0
            for d, n in zip(in_defs, counts):
                per_arg.append(unflatten(d, jac[o][start:start + n]))
                start += n
            result.append(per_arg[0] if single else tuple(per_arg))
        result = unflatten(o_def, result)
        return (result, aux) if has_aux else result

    return wrapper


def _jacobian_inside_vmap(f: Callable[..., Any], argnums: int | Sequence[int], mode: Any, has_aux: bool,
                          vectorize: bool, levels: Any, args: Sequence[Any], kwargs: Any) -> Any:
    """jacobian inside vmap: the Jacobian of the sum of the examples' outputs holds each
    example's Jacobian along the input's batch axes, moved to the front (see ``_inside_vmap``)."""
    physical = inside_vmap.physical_args(tuple(args), levels)
    shapes: list[tuple[int, ...]] = []

    def summed(*phys: Any, **kw: Any) -> Any:
        out = inside_vmap.call_inside(f, levels, phys, kw)
        aux = None
        if has_aux:
            out, aux = out
        leaves, _, o_def = flatten(out)
        shapes[:] = [tuple(leaf.shape) for leaf in leaves]
        total = unflatten(o_def, [inside_vmap.sum_batch(inside_vmap.physical_out(leaf, levels), levels)
                                  for leaf in leaves])
        return (total, inside_vmap.physical_out(aux, levels)) if has_aux else total

    # one pass per output (or input) element of an example: the batch is the vectorised
    # axis already, and a vmap made here, between the active ones and f's, would nest the
    # levels out of order
    with inside_vmap.outside():
        result = jacobian(summed, argnums, mode, has_aux, vectorize=False)(*physical, **kwargs)
    jac, aux = result if has_aux else (result, None)
    _, nums = check_argnums(argnums, len(args), "jacobian")
    per_output = len(flatten(tuple(args[k] for k in nums))[0])
    leaves, _, j_def = flatten(jac)
    moved = [inside_vmap.batch_axes_to_front(leaf, len(shapes[i // per_output]), len(levels))
             for i, leaf in enumerate(leaves)]
    jac = inside_vmap.logical_out(unflatten(j_def, moved), levels)
    return (jac, inside_vmap.logical_out(aux, levels)) if has_aux else jac


def _eye(n: int, like: Tensor) -> Tensor:
    """The n x n identity, in ``like``'s dtype and device."""
    bxp = like._dev.xp
    return Tensor(bxp.eye(n, dtype=like._data.dtype, device=_device(like)), like._dev)


def _jac_rev_vectorised(g: Callable[..., Any], sel: Sequence[Any], names: Sequence[str], has_aux: bool,
                        fname: str) -> tuple[dict[Any, Any], Any]:
    """Every row of the Jacobian in one backward pass per output leaf: f runs once, and the
    rows of the identity are pulled back as one batch of cotangents (``is_grads_batched``)."""
    traced = _Traced(g, sel, names, has_aux, fname)
    outs, ins = traced.o_leaves, traced.copies
    jac: dict[Any, Any] = {}
    for o, out in enumerate(outs):
        n = _numel(out.shape)
        if n == 0:
            rows = [_stack([], 0, (0,) + tuple(x.shape), x) for x in ins]
        else:
            basis = _reshape(_eye(n, out), (n,) + tuple(out.shape))
            rows = traced.pull_batched(o, basis)
        jac[o] = [_reshape(r, tuple(out.shape) + tuple(x.shape)) for r, x in zip(rows, ins)]
    jac["defs"] = (traced.o_def, traced.defs, traced.counts, len(outs))
    return jac, (traced.aux_value() if has_aux else None)


def _jac_fwd_vectorised(g: Callable[..., Any], sel: Sequence[Any], names: Sequence[str], has_aux: bool,
                        fname: str) -> tuple[dict[Any, Any], Any]:
    """Every column of the Jacobian in one pass per input leaf: the JVPs of the identity's rows, vmapped."""
    from ._vmap import vmap

    p_leaves, p_paths, p_def = flatten(tuple(sel))
    for x, path in zip(p_leaves, p_paths):
        check_primal(x, f"{fname}: {describe_path('arguments', path)}")
    res = run_jvp(g, p_leaves, p_def, [None] * len(p_leaves), has_aux, fname)
    out_leaves, _, o_def = flatten(res[0])
    aux = res[2] if has_aux else None
    columns = []
    for j, x in enumerate(p_leaves):
        n = _numel(x.shape)
        if n == 0:
            columns.append([_stack([], -1, tuple(out.shape) + (0,), out) for out in out_leaves])
            continue

        def column(e: Any, j: int = j, shape: tuple[int, ...] = tuple(x.shape)) -> Any:
            tangents = tuple(_xp().reshape(e, shape) if k == j else _xp().zeros_like(leaf)
                             for k, leaf in enumerate(p_leaves))
            return flatten(jvp(lambda *a: g(*unflatten(p_def, list(a))), tuple(p_leaves), tangents,
                               has_aux=has_aux)[1])[0]

        columns.append(vmap(column, out_axes=-1)(_eye(n, x)))
    jac: dict[Any, Any] = {}
    for o, out in enumerate(out_leaves):
        jac[o] = [_reshape(columns[j][o], tuple(out.shape) + tuple(x.shape)) for j, x in enumerate(p_leaves)]
    in_defs = [flatten(a)[2] for a in sel]
    jac["defs"] = (o_def, in_defs, [d.num_leaves if hasattr(d, "num_leaves") else 1 for d in in_defs],
                   len(out_leaves))
    return jac, aux


def _jac_rev(g: Callable[..., Any], sel: Sequence[Any], names: Sequence[str], has_aux: bool,
             fname: str) -> tuple[dict[Any, Any], Any]:
    traced = _Traced(g, sel, names, has_aux, fname)
    outs, ins = traced.o_leaves, traced.copies
    jac: dict[Any, Any] = {}
    for o, out in enumerate(outs):
        rows = []
        for i in range(_numel(out.shape)):
            cots: list[Tensor | None] = [None] * len(outs)
            cots[o] = _basis(out, i)
            rows.append(traced.pull(cots))
        jac[o] = [
            _reshape(_stack([r[j] for r in rows], 0, (0,) + tuple(x.shape), x), tuple(out.shape) + tuple(x.shape))
            for j, x in enumerate(ins)
        ]
    jac["defs"] = (traced.o_def, traced.defs, traced.counts, len(outs))
    return jac, (traced.aux_value() if has_aux else None)


def _jac_fwd(g: Callable[..., Any], sel: Sequence[Any], names: Sequence[str], has_aux: bool,
             fname: str) -> tuple[dict[Any, Any], Any]:
    p_leaves, p_paths, p_def = flatten(tuple(sel))
    for x, path in zip(p_leaves, p_paths):
        check_primal(x, f"{fname}: {describe_path('arguments', path)}")
    columns: list[list[Any]] = [[] for _ in p_leaves]  # per input leaf: per element, the output tangents
    out_leaves = o_def = aux = None
    for j, x in enumerate(p_leaves):
        for e in range(_numel(x.shape)):
            tangents: list[Tensor | None] = [None] * len(p_leaves)
            tangents[j] = _basis(x, e)
            res = run_jvp(g, p_leaves, p_def, tangents, has_aux, fname)
            columns[j].append(flatten(res[1])[0])
            if out_leaves is None:
                out_leaves, _, o_def = flatten(res[0])
                aux = res[2] if has_aux else None
    if out_leaves is None:  # no input element at all: f still runs once for the output
        res = run_jvp(g, p_leaves, p_def, [None] * len(p_leaves), has_aux, fname)
        out_leaves, _, o_def = flatten(res[0])
        aux = res[2] if has_aux else None
    jac: dict[Any, Any] = {}
    for o, out in enumerate(out_leaves):
        jac[o] = [
            _reshape(_stack([c[o] for c in columns[j]], -1, tuple(out.shape) + (0,), out),
                     tuple(out.shape) + tuple(x.shape))
            for j, x in enumerate(p_leaves)
        ]
    in_defs = [flatten(a)[2] for a in sel]
    jac["defs"] = (o_def, in_defs, [d.num_leaves if hasattr(d, "num_leaves") else 1 for d in in_defs],
                   len(out_leaves))
    return jac, aux


def _reshape(t: Tensor, shape: tuple[int, ...]) -> Tensor:
    return t if tuple(t.shape) == shape else _xp().reshape(t, shape)


def jacrev(f: Callable[_P, Any], argnums: int | Sequence[int] = 0, has_aux: bool = False,
           vectorize: bool = True) -> Callable[_P, Any]:
    """:func:`jacobian` in reverse mode."""
    return jacobian(f, argnums, mode="rev", has_aux=has_aux, vectorize=vectorize)


def jacfwd(f: Callable[_P, Any], argnums: int | Sequence[int] = 0, has_aux: bool = False,
           vectorize: bool = True) -> Callable[_P, Any]:
    """:func:`jacobian` in forward mode."""
    return jacobian(f, argnums, mode="fwd", has_aux=has_aux, vectorize=vectorize)


def hessian(f: Callable[_P, Any], argnums: int | Sequence[int] = 0, vectorize: bool = True) -> Callable[_P, Any]:
    """The Hessian of a scalar-valued ``f``: ``jacfwd(jacrev(f))`` (forward over reverse).

    For an argument of shape ``S`` the result has shape ``S + S``; for pytrees and tuple
    ``argnums``, the structure nests as :func:`jacobian`'s does.

    Examples
    --------
    >>> x = xpgrad.tensor([1.0, 2.0], dtype=xpgrad.float64)
    >>> xpgrad.func.hessian(lambda x: (x ** 3).sum())(x)
    tensor([[ 6.,  0.],
            [ 0., 12.]], dtype=xpgrad.float64)
    """
    return jacfwd(jacrev(f, argnums, vectorize=vectorize), argnums, vectorize=vectorize)


def hvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, ...]:
    """The Hessian-vector product of a scalar-valued ``f`` at ``primals`` along ``tangents``.

    Computed by forward mode over ``grad``, without forming the Hessian.

    Returns a tuple with one result per primal (each with that primal's structure).

    Examples
    --------
    >>> x = xpgrad.tensor([1.0, 2.0], dtype=xpgrad.float64)
    >>> xpgrad.func.hvp(lambda x: (x ** 3).sum(), (x,), (xpgrad.ones_like(x),))
    (tensor([ 6., 12.], dtype=xpgrad.float64),)
    """
    if not isinstance(primals, (tuple, list)) or not primals:
        raise TypeError("hvp: primals must be a non-empty tuple of f's positional arguments; "
                        "write hvp(f, (x,), (v,)) for one argument")
    g = grad(f, argnums=tuple(range(len(primals))))
    return jvp(g, tuple(primals), tangents)[1]
