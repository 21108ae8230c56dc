"""``vmap``: a function of one example, run on a whole batch in one vectorised pass.

``vmap(f)(xs)`` is ``stack([f(x) for x in xs])`` computed without the loop: ``f`` runs
once, on :class:`~xpgrad.func._batching.Batched` values, and each op it calls runs once
on the whole batch (see ``_batching``). What ``f`` records is an ordinary graph of
ordinary ops, so ``grad(vmap(f))`` needs nothing more; the transforms called inside
``f`` (``vmap(grad(f))``) differentiate the batch at once (``_physical``).
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from xpgrad.dispatch import apply
from xpgrad.tensor import Tensor

from ._batching import LEVELS, Batched, add_batch, new_level
from ._pytree import describe_path, flatten, unflatten

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["vmap"]


def _axes_per_leaf(axes: Any, tree: Any, what: str, name: str) -> list[Any]:
    """One axis (int or None) per leaf of ``tree``: ``axes`` is an int or None for every
    leaf, or a pytree with the structure of ``tree`` down to some depth."""
    if axes is None or isinstance(axes, int) and not isinstance(axes, bool):
        leaves, _, _ = flatten(tree)
        return [axes] * len(leaves)
    if isinstance(axes, (tuple, list)) and isinstance(tree, (tuple, list)) and len(axes) == len(tree):
        out = []
        for i, (a, t) in enumerate(zip(axes, tree)):
            out.extend(_axes_per_leaf(a, t, what, f"{name}[{i}]"))
        return out
    if isinstance(axes, dict) and isinstance(tree, dict) and set(axes) == set(tree):
        out = []
        for key in tree:  # the order flatten walks a dict in
            out.extend(_axes_per_leaf(axes[key], tree[key], what, f"{name}[{key!r}]"))
        return out
    raise ValueError(
        f"vmap: {what} {axes!r} for {name} does not match its structure ({type(tree).__name__}"
        f"{' of ' + str(len(tree)) if isinstance(tree, (tuple, list, dict)) else ''}): give an int or None "
        f"for the whole of it, or a {type(tree).__name__} with one entry per element"
    )


def vmap(f: Callable[..., Any], in_axes: Any = 0, out_axes: Any = 0,
         chunk_size: int | None = None) -> Callable[..., Any]:
    """Vectorise ``f`` over a batch axis of its arguments, as ``torch.func.vmap`` and ``jax.vmap``.

    ``vmap(f)(xs)`` equals ``stack([f(x) for x in xs])``, computed in one pass: ``f``
    runs once, and each op it calls runs once on the whole batch.

    Parameters
    ----------
    f : callable
        A function of Tensors (or pytrees of them) returning Tensors (or a pytree).
    in_axes : int, None or pytree, optional
        The batch axis of each argument: an int for every Tensor, or a tuple with one
        entry per positional argument (an int, None for an argument that is the same for
        every example, or a pytree matching that argument). Default 0.
    out_axes : int, None or pytree, optional
        Where the batch axis goes in each output (the structure of ``f``'s result).
        Default 0. An output that does not depend on the batch is broadcast along it.
    chunk_size : int, optional
        Run the batch in chunks of this many examples (less memory, more passes).

    Returns
    -------
    callable
        The vectorised function.

    Raises
    ------
    ValueError
        If the batched arguments have different batch sizes, an axis is out of range, or
        ``in_axes``/``out_axes`` do not match the structure of the arguments/results.
    xpgrad.func.VmapError
        If ``f`` uses a batched value's own value in Python (``if x > 0:``).

    Examples
    --------
    >>> import xpgrad
    >>> from xpgrad import func, xp
    >>> w = xpgrad.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> xs = xpgrad.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> func.vmap(lambda x: xp.matmul(w, x))(xs)
    tensor([[1., 3.],
            [2., 4.],
            [3., 7.]])
    """
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"vmap: chunk_size must be a positive int or None, got {chunk_size!r}")

    @functools.wraps(f)
    def vectorised(*args: Any) -> Any:
        if isinstance(in_axes, (tuple, list)) and len(in_axes) != len(args):
            raise ValueError(f"vmap: in_axes has {len(in_axes)} entries but f was called with {len(args)} "
                             f"positional arguments; give one entry per argument (None for an unbatched one)")
        axes = _axes_per_leaf(tuple(in_axes) if isinstance(in_axes, list) else in_axes, args, "in_axes",
                              "the arguments")
        leaves, paths, treedef = flatten(args)
        size = None
        for leaf, path, axis in zip(leaves, paths, axes):
            where = describe_path("args", path)
            if axis is None:
                continue
            if not isinstance(leaf, (Tensor, Batched)):
                raise ValueError(f"vmap: in_axes gives {where} the batch axis {axis}, but it is a "
                                 f"{type(leaf).__name__}, not a Tensor; give it in_axes None")
            if not -leaf.ndim <= axis < leaf.ndim:
                raise ValueError(f"vmap: in_axes {axis} is out of range for {where}, of shape {tuple(leaf.shape)}")
            n = leaf.shape[axis]
            if size is None:
                size, first = n, where
            elif n != size:
                raise ValueError(f"vmap: batch sizes differ: {first} has {size} along its in_axes, {where} has {n}; "
                                 f"every batched argument needs the same batch size")
        if size is None:
            raise ValueError("vmap: no argument is batched (every in_axes is None or no argument is a Tensor); "
                             "give at least one Tensor argument a batch axis")
        if chunk_size is None or chunk_size >= size:
            return _run(f, leaves, axes, treedef, size, out_axes)
        chunks = []
        for start in range(0, size, chunk_size):
            stop = min(start + chunk_size, size)
            sliced = [leaf if axis is None else _slice(leaf, axis, start, stop) for leaf, axis in zip(leaves, axes)]
            chunks.append(_run(f, sliced, axes, treedef, stop - start, out_axes))
        o_leaves, _, o_def = flatten(chunks[0])
        o_axes = _axes_per_leaf(out_axes, chunks[0], "out_axes", "the output")
        per_chunk = [flatten(c)[0] for c in chunks]
        joined = [_concat([c[i] for c in per_chunk], ax) if ax is not None else per_chunk[0][i]
                  for i, ax in enumerate(o_axes)]
        return unflatten(o_def, joined)

    return vectorised


def _concat(parts: list[Any], axis: int) -> Any:
    from xpgrad import xp

    return xp.concat(parts, axis=axis)


def _slice(x: Any, axis: int, start: int, stop: int) -> Any:
    key = (slice(None),) * (axis % x.ndim) + (slice(start, stop),)
    return x[key]




def _run(f: Callable[..., Any], leaves: list[Any], axes: list[Any], treedef: Any, size: int, out_axes: Any) -> Any:
    levels = LEVELS.get()
    level = new_level()
    wrapped = [leaf if axis is None else Batched(_to_front(leaf, axis), level, size)
               for leaf, axis in zip(leaves, axes)]
    token = LEVELS.set(levels + ((level, size),))
    try:
        result = f(*unflatten(treedef, wrapped))
    finally:
        LEVELS.reset(token)
    o_leaves, o_paths, o_def = flatten(result)
    o_axes = _axes_per_leaf(out_axes, result, "out_axes", "the output of f")
    out = []
    for leaf, path, axis in zip(o_leaves, o_paths, o_axes):
        where = describe_path("output", path)
        batched = isinstance(leaf, Batched) and leaf._level == level
        if axis is None:
            if batched:
                raise ValueError(f"vmap: out_axes None for {where}, but it depends on the batch; give it a batch "
                                 f"axis")
            out.append(leaf)
            continue
        if not isinstance(leaf, (Tensor, Batched)):
            raise ValueError(f"vmap: out_axes gives {where} the batch axis {axis}, but f returned a "
                             f"{type(leaf).__name__} there, not a Tensor; give it out_axes None")
        value = leaf._value if isinstance(leaf, Batched) and leaf._level == level else add_batch(leaf, size)
        if not -value.ndim <= axis < value.ndim:
            raise ValueError(f"vmap: out_axes {axis} is out of range for {where}, which has "
                             f"{value.ndim - 1} dimensions per example")
        out.append(_from_front(value, axis))
    return unflatten(o_def, out)


def _to_front(x: Any, axis: int) -> Any:
    axis %= x.ndim
    if axis == 0:
        return x
    return apply("permute_dims", (x,), {"axes": (axis,) + tuple(i for i in range(x.ndim) if i != axis)})


def _from_front(x: Any, axis: int) -> Any:
    axis %= x.ndim
    if axis == 0:
        return x
    order = list(range(1, x.ndim))
    order.insert(axis, 0)
    return apply("permute_dims", (x,), {"axes": tuple(order)})

