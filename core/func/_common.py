"""What every transform shares: checked inputs, private copies of the primals, argnums,
and cutting results loose from the transform's private graph.

A transform never touches the caller's Tensors: it differentiates with respect to copies
of them. A primal that does not require grad (or any primal, under ``no_grad``) becomes
a fresh leaf that requires grad. A primal that requires grad is copied with an identity
op, so the copy stays part of the caller's graph and the result of the transform can be
differentiated again by an enclosing transform (``grad(grad(f))``) or by ``backward()``.

At the end, a result whose graph reaches no leaf but the transform's own copies is
detached: it does not require grad, exactly like a value computed without autograd.
"""
from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from xpgrad.dispatch import apply
from xpgrad.grad_mode import GRAD_ENABLED
from xpgrad.node import AccumulateGrad
from xpgrad.tensor import Tensor, _accumulate_node

from ._pytree import flatten, unflatten

if TYPE_CHECKING:
    from collections.abc import Container, Iterable, Sequence

    from xpgrad.node import Node

__all__ = ["Scope", "check_argnums", "split_aux", "zeros_like", "check_primal", "outside_leaf", "SCRATCH"]

# Leaves that transforms create for their own bookkeeping (forward mode's dual
# cotangents): never an outside dependency of any result.
SCRATCH: weakref.WeakSet[Node] = weakref.WeakSet()


def outside_leaf(tensors: Iterable[Any], stops: Container[Node]) -> AccumulateGrad | None:
    """The node of a leaf that requires grad which the graph of ``tensors`` reaches other
    than through the nodes ``stops`` (a transform's bookkeeping leaves aside), or None."""
    stack = [t._grad_fn if t._grad_fn is not None else _accumulate_node(t)
             for t in tensors if isinstance(t, Tensor) and t._rg]
    seen: set[Node] = set()
    while stack:
        node = stack.pop()
        if node in seen or node in stops:
            continue
        seen.add(node)
        if type(node) is AccumulateGrad:
            if node not in SCRATCH:
                return node
            continue
        stack.extend(n for n in node.next if n is not None)
    return None


def zeros_like(t: Tensor) -> Tensor:
    """Zeros of ``t``'s shape, dtype and device, outside any graph."""
    return Tensor(t._dev.xp.zeros_like(t._data), t._dev)


def check_primal(x: object, what: str) -> None:
    """``x`` must be a floating-point Tensor to differentiate with respect to it."""
    if not isinstance(x, Tensor):
        hint = " (Python numbers are not converted: the device and dtype would be guesses)" \
            if isinstance(x, (int, float, complex)) else ""
        raise TypeError(
            f"{what} is a {type(x).__name__}, not a Tensor: xpgrad.func differentiates with "
            f"respect to Tensors only{hint}; wrap it with xpgrad.tensor(...)"
        )
    if not x._is_floating():
        raise TypeError(
            f"{what} has dtype {x._data.dtype}: only floating-point or complex Tensors can be "
            "differentiated with respect to; convert it first, e.g. x.to(xpgrad.float64)"
        )


class Scope:
    """The copies one transform differentiates with respect to, and what they reach."""

    __slots__ = ("outer", "internal")

    def __init__(self) -> None:
        # Whether the caller records a graph: if not, nothing escapes into one.
        self.outer: bool = GRAD_ENABLED.get()
        self.internal: set[Node] = set()

    def copy(self, x: Tensor) -> Tensor:
        """A copy of the primal ``x`` that requires grad (call under enable_grad)."""
        if self.outer and x._rg:
            return apply("positive", (x,))
        t = Tensor(x._data, x._dev)
        t._rg = True
        self.internal.add(_accumulate_node(t))
        return t

    def close(self) -> None:
        """f has run: no other transform can differentiate with respect to this one's
        copies any more, so they are no outside dependency of anybody's results."""
        SCRATCH.update(self.internal)

    def reaches_outside(self, tensors: Iterable[Any]) -> bool:
        """Whether the graph of any of ``tensors`` reaches a leaf that is not one of this
        transform's copies: then results must be computed with ``create_graph``."""
        return self.outer and outside_leaf(tensors, self.internal) is not None

    def escape(self, t: Any) -> Any:
        """``t`` as the transform returns it: detached unless it depends on the outside."""
        if not isinstance(t, Tensor) or not t._rg:
            return t
        if self.reaches_outside((t,)):
            return t
        return Tensor(t._data, t._dev)

    def escape_tree(self, tree: Any) -> Any:
        leaves, _, treedef = flatten(tree)
        return unflatten(treedef, [self.escape(x) for x in leaves])


def check_argnums(argnums: int | Sequence[int], nargs: int, fname: str) -> tuple[bool, tuple[int, ...]]:
    """Normalise ``argnums`` to a tuple of non-negative ints, checked against ``nargs``."""
    single = isinstance(argnums, int) and not isinstance(argnums, bool)
    nums = (argnums,) if single else argnums
    if not isinstance(nums, (tuple, list)) or not nums or not all(
            isinstance(a, int) and not isinstance(a, bool) for a in nums):
        raise TypeError(f"{fname}: argnums must be an int or a non-empty tuple of ints, got {argnums!r}")
    out = []
    for a in nums:
        if not -nargs <= a < nargs:
            raise ValueError(
                f"{fname}: argnums={argnums!r} is out of range: f was called with {nargs} "
                f"positional argument(s), so argnums must be in [{-nargs}, {nargs})"
            )
        a %= nargs
        if a in out:
            raise ValueError(f"{fname}: argnums={argnums!r} names argument {a} twice")
        out.append(a)
    return single, tuple(out)


def split_aux(result: Any, has_aux: bool, fname: str) -> tuple[Any, Any]:
    """``(output, aux)`` from what f returned."""
    if not has_aux:
        return result, None
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise TypeError(
            f"{fname}(..., has_aux=True): f must return a pair (output, aux), got "
            f"{type(result).__name__}" + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "")
        )
    return result[0], result[1]


def check_like(value: object, ref: Tensor, what: str, ref_what: str) -> None:
    """``value`` must be a Tensor of ``ref``'s shape, dtype and device."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{what} is a {type(value).__name__}, not a Tensor; wrap it with xpgrad.tensor(...)")
    if tuple(value.shape) != tuple(ref.shape):
        raise ValueError(
            f"{what} has shape {tuple(value.shape)} but {ref_what} has shape {tuple(ref.shape)}: "
            "they must match"
        )
    if value._data.dtype != ref._data.dtype:
        raise TypeError(
            f"{what} has dtype {value._data.dtype} but {ref_what} has dtype {ref._data.dtype}: "
            "they must match; convert it with .to(...)"
        )
    if value._dev is not ref._dev:
        raise ValueError(
            f"{what} is on device {value._dev} but {ref_what} is on {ref._dev}; move it with "
            f".to({str(ref._dev)!r})"
        )
