"""The transforms called inside ``vmap``: ``vmap(grad(f))`` and the others.

Each public transform checks whether a vmap is active (``LEVELS``); if so it runs the
transform once on the physical values (see ``_batching.to_physical``): every Tensor
argument is batched along one leading axis per active level, and ``f`` sees them
re-wrapped as the Batched values it expects. The examples of a batch are independent
(each output depends on its own example's inputs), so

- the gradient of the *sum* of the examples' outputs is each example's gradient, side by
  side (``grad``, ``value_and_grad``, ``elementwise_grad``);
- the Jacobian of the sum of the outputs, with respect to the batched input, holds each
  example's Jacobian along the input's batch axes (``jacrev``, ``jacfwd``);
- a VJP or JVP of the batch is each example's, given each example's cotangent or tangent.

The transform itself runs with no vmap active (its own bookkeeping sees Tensors only);
``f`` runs with the vmaps active again, so a vmap or a transform inside ``f`` nests.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from xpgrad.dispatch import apply

from ._batching import LEVELS, from_physical, is_value, to_physical
from ._pytree import tree_map

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["active", "outside", "physical_args", "call_inside", "batch_function", "physical_out", "logical_out",
           "sum_batch", "batch_axes_to_front"]


def active() -> tuple[tuple[int, int], ...]:
    return LEVELS.get()


class outside:
    """Within: no vmap active (the transform's own computation on physical Tensors)."""

    def __enter__(self) -> None:
        self.token = LEVELS.set(())

    def __exit__(self, *exc: object) -> None:
        LEVELS.reset(self.token)


def physical_args(args: Any, levels: Any) -> Any:
    return tree_map(lambda a: to_physical(a, levels) if is_value(a) else a, args)


def call_inside(f: Callable[..., Any], levels: Any, physical: Any, kwargs: Any) -> Any:
    """``f`` on the physical arguments re-wrapped, with the vmaps active again."""
    token = LEVELS.set(levels)
    try:
        return f(*tree_map(lambda a: from_physical(a, levels) if is_value(a) else a, physical), **kwargs)
    finally:
        LEVELS.reset(token)


def batch_function(f: Callable[..., Any], levels: Any, has_aux: bool, fname: str) -> Callable[..., Any]:
    """``f`` of the physical arguments returning its physical outputs (and aux): the
    function a transform differentiates in place of ``f`` inside vmap."""
    from ._common import split_aux

    def batch_f(*args: Any) -> Any:
        out = call_inside(f, levels, args, {})
        if has_aux:
            out, aux = split_aux(out, True, fname)
            return physical_out(out, levels), physical_out(aux, levels)
        return physical_out(out, levels)

    return batch_f


def physical_out(out: Any, levels: Any) -> Any:
    return tree_map(lambda a: to_physical(a, levels) if is_value(a) else a, out)


def logical_out(out: Any, levels: Any) -> Any:
    return tree_map(lambda a: from_physical(a, levels) if is_value(a) else a, out)


def sum_batch(t: Any, levels: Any) -> Any:
    """The sum over the leading batch axes of a physical Tensor."""
    return apply("sum", (t,), {"axis": tuple(range(len(levels))), "dtype": None, "keepdims": False})


def batch_axes_to_front(t: Any, start: int, count: int) -> Any:
    """``t`` with its axes ``start .. start + count - 1`` moved to the front."""
    if start == 0:
        return t
    n = t.ndim
    batch = list(range(start, start + count))
    order = batch + [i for i in range(n) if i not in batch]
    return apply("permute_dims", (t,), {"axes": tuple(order)})
