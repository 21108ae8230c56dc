"""Gradient checkpointing: trade compute for memory.

``checkpoint(f)(*args)`` runs ``f``, keeps none of its intermediates, and records one
node in their place. When backward reaches that node, it runs ``f`` again, recording,
and differentiates the fresh graph. The node saves only ``f``'s inputs: its Tensor
arguments, and the Tensors that require grad which ``f`` reads from elsewhere (a weight
in a closure or an object). Those are found by recording the first run too, and keeping
of its graph only the edges that leave it (as PyTorch's non-reentrant checkpoint
records the forward); its intermediates are freed when ``f`` returns.
"""
from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any

from xpgrad import dispatch
from xpgrad.dispatch import apply
from xpgrad.engine import grad as engine_grad
from xpgrad.grad_mode import GRAD_ENABLED, enable_grad
from xpgrad.node import Node, new_node
from xpgrad.plugins.op import Op
from xpgrad.rules import SavePlan
from xpgrad.tensor import INPLACE_EPOCH, Tensor, _accumulate_node
from xpgrad.xp import reshape

from ._common import outside_leaf
from ._pytree import flatten, tensor_leaves, unflatten

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import ParamSpec, TypeVar

    from xpgrad.device import Device

    _P = ParamSpec("_P")
    _R = TypeVar("_R")

__all__ = ["checkpoint"]

# The op the checkpoint nodes name in errors and listings; it is never dispatched.
_OP = Op("checkpoint", lambda xp, *arrays: None, node_name="CheckpointBackward",
         doc="a checkpointed function: recomputed during backward")
_OP.plugin = "xpgrad.func"


class CheckpointBackward(Node):
    __slots__ = ()
    _op = _OP


class _Recompute:
    """The state shared by one checkpoint node's rules: the engine calls rule ``i`` for
    every input with the same cotangent, and ``f`` must run once for all of them."""

    def __init__(self, f: Callable[..., Any], leaves: list[Any], treedef: Any, positions: Sequence[int],
                 needs: Sequence[bool], splits: list[tuple[int, int, tuple[int, ...]]] | None, dev: Device,
                 captured: int) -> None:
        self.f = f
        self.captured = captured  # the last saved Tensors: read by f from elsewhere, not passed
        self.leaves = leaves  # the inputs' pytree leaves, Tensors replaced at backward
        self.treedef = treedef
        self.positions = positions  # where the Tensor inputs sit among the leaves
        self.needs = needs  # per Tensor input: whether it requires grad
        self.splits = splits  # per output: (start, stop, shape); None for a single output
        self.dev = dev
        self.g: Any = None
        self.results: Any = None  # per input, its gradient, until handed out

    def rule(self, i: int, create: bool) -> Callable[..., Any]:
        def call(xp: Any, g: Any, saved: Sequence[Any], out: Any, node: Node) -> Any:
            if g is not self.g:
                self.results = self._gradients(g, saved, create)
                self.g = g
            result = self.results[i]
            self.results[i] = None
            if all(r is None for r in self.results):
                self.g = self.results = None  # nothing more to hand out: drop the references
            return result

        return call

    def _gradients(self, g: Any, saved: Sequence[Any], create: bool) -> list[Any]:
        k = len(saved) - self.captured
        args, outside = saved[:k], list(saved[k:])
        with enable_grad():
            if create:
                inputs = [apply("positive", (x,)) if need else x for x, need in zip(args, self.needs)]
            else:
                inputs = [_fresh_leaf(x) if need else x for x, need in zip(args, self.needs)]
            leaves = list(self.leaves)
            for p, x in zip(self.positions, inputs):
                leaves[p] = x
            call_args, kwargs = unflatten(self.treedef, leaves)
            outs = tensor_leaves(self.f(*call_args, **kwargs), "the output of the checkpointed function")[0]
            # f reads the outside Tensors itself: the recomputed graph reaches them as they are
            _refuse_outside_leaves(outs, inputs + outside)
            cots = self._split(g, create)
            pairs = [(o, c) for o, c in zip(outs, cots) if o._rg]
            targets = [x for x, need in zip(inputs, self.needs) if need] + outside
            grads = iter(engine_grad([o for o, _ in pairs], targets, [c for _, c in pairs],
                                     create_graph=create, allow_unused=True) if pairs else [None] * len(targets))
        result = []
        for need in list(self.needs) + [True] * self.captured:
            gi = next(grads) if need else None
            result.append(gi if gi is None or create else gi._data)
        return result

    def _split(self, g: Any, create: bool) -> list[Tensor]:
        if not create:
            g = Tensor(g, self.dev)
        if self.splits is None:
            return [g]
        return [reshape(g[a:b], shape) for a, b, shape in self.splits]


class _RuleAdapter:
    """A compiled-rule look-alike for the engine: ``call`` and ``call_graph``."""

    __slots__ = ("call", "call_graph", "needs_args", "needs_out", "names")
    derivative = trusted = False

    def __init__(self, state: _Recompute, i: int, n: int) -> None:
        self.call = state.rule(i, False)
        self.call_graph = state.rule(i, True)
        self.needs_args = frozenset(range(n))
        self.needs_out = False
        self.names = ()


def _refuse_outside_leaves(outs: Sequence[Tensor], inputs: Sequence[Any]) -> None:
    """Raise where the recomputed graph reaches a leaf that requires grad other than
    through the Tensors the node has edges to: that leaf's gradient would be lost
    without a word."""
    stops = {x._grad_fn if x._grad_fn is not None else _accumulate_node(x)
             for x in inputs if isinstance(x, Tensor) and x._rg}
    node = outside_leaf(outs, stops)
    if node is not None:
        raise RuntimeError(
            "checkpoint: recomputed in backward, the checkpointed function used a Tensor that "
            f"requires grad (a leaf of shape {tuple(node.variable.shape)}) that it did not use in "
            "the forward pass: its gradient would be lost. The function must compute the same "
            "thing, from the same Tensors, when it runs again"
        )


def _fresh_leaf(x: Tensor) -> Tensor:
    t = Tensor(x._data, x._dev)
    t._rg = True
    return t


def checkpoint(f: Callable[_P, _R]) -> Callable[_P, _R]:
    """``f`` with gradient checkpointing: its intermediates are recomputed in backward, not kept.

    The returned function takes the same arguments as ``f`` (Tensors, pytrees of them
    and other values) and returns what ``f`` returns (a Tensor or a pytree of Tensors of
    one floating dtype). Gradients, also of higher order, are those of ``f``. ``f`` must
    be deterministic (it runs twice) and must not modify its inputs in place.

    Examples
    --------
    >>> block = xpgrad.func.checkpoint(lambda x: x.sin().exp().sum())
    >>> x = xpgrad.tensor([0.0, 1.0], dtype=xpgrad.float64, requires_grad=True)
    >>> block(x).backward()
    >>> x.grad  # cos(x) exp(sin(x))
    tensor([1.0000, 1.2534], dtype=xpgrad.float64)
    """

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        leaves, _, treedef = flatten((args, kwargs))
        positions = [p for p, x in enumerate(leaves) if isinstance(x, Tensor)]
        inputs = [leaves[p] for p in positions]
        needs = [x._rg for x in inputs]
        if not GRAD_ENABLED.get():
            return f(*args, **kwargs)  # nothing is recorded: nothing to save either
        watch = _Outside(inputs)
        dispatch.RECORD_HOOKS.append(watch)
        try:
            result = f(*args, **kwargs)  # recorded: the Tensors f reads from elsewhere are found
        finally:
            dispatch.RECORD_HOOKS.remove(watch)
        if not any(needs) and not watch.outside:
            return result  # nothing f read requires grad: its result has no graph to replace
        outs, _, o_def = tensor_leaves(result, "the output of the checkpointed function")
        outs = [Tensor(o._data, o._dev) for o in outs]  # f's graph goes: only its edges out stay
        del result
        return unflatten(o_def, _record(f, leaves, treedef, positions, inputs, needs, outs, watch.outside))

    return wrapper


class _Outside:
    """A record hook, while ``f`` runs the first time in this thread: the Tensors that
    require grad which ``f``'s ops read and which it neither made nor was given."""

    def __init__(self, inputs: Sequence[Tensor]) -> None:
        self.thread = threading.get_ident()
        self.made: set[Node] = set()
        self.known = {id(x) for x in inputs}
        self.outside: list[Tensor] = []

    def watching(self) -> bool:
        return threading.get_ident() == self.thread

    def __call__(self, node: Node, out: Tensor, args: tuple[Any, ...]) -> None:
        if threading.get_ident() != self.thread:
            return  # another thread's op
        self.made.add(node)
        for a in args:
            if (isinstance(a, Tensor) and a._rg and id(a) not in self.known
                    and (a._grad_fn is None or a._grad_fn not in self.made)):
                self.known.add(id(a))
                self.outside.append(a)


def _record(f: Callable[..., Any], leaves: list[Any], treedef: Any, positions: list[int], inputs: list[Tensor],
            needs: list[bool], outs: list[Tensor], outside: list[Tensor]) -> list[Tensor]:
    dev = outs[0]._dev if outs else inputs[0]._dev
    if not outs:
        return []
    dtypes = {o._data.dtype for o in outs}
    if len(dtypes) > 1 or not outs[0]._is_floating():
        raise TypeError(
            "checkpoint: the checkpointed function must return floating-point Tensors of one "
            f"dtype, got {[str(o._data.dtype) for o in outs]}; checkpoint the parts separately"
        )
    if len(outs) == 1:
        raw, splits = outs[0]._data, None
    else:
        # One node for all outputs, so that f runs once in backward: its output is the
        # outputs raveled end to end, and each output a slice of it.
        bxp = dev.xp
        raw = bxp.concat([bxp.reshape(o._data, (-1,)) for o in outs])
        splits, start = [], 0
        for o in outs:
            n = 1
            for s in o.shape:
                n *= s
            splits.append((start, start + n, tuple(o.shape)))
            start += n
    saved_leaves = list(leaves)
    for p in positions:
        saved_leaves[p] = None  # the node's saved tuple holds the Tensors
    state = _Recompute(f, saved_leaves, treedef, positions, needs, splits, dev, len(outside))
    saved = inputs + outside
    needs = needs + [True] * len(outside)
    n = len(saved)
    rules = tuple(_RuleAdapter(state, i, n) if need else None for i, need in enumerate(needs))
    node = new_node(
        CheckpointBackward,
        tuple((x._grad_fn if x._grad_fn is not None else _accumulate_node(x)) if need else None
              for x, need in zip(saved, needs)),
        tuple(saved),
        tuple(x._data.shape if need else None for x, need in zip(saved, needs)),
        tuple(x._data.dtype if need else None for x, need in zip(saved, needs)),
        None, SavePlan((True,) * n, False, rules), dev, INPLACE_EPOCH[0])
    t = Tensor(raw, dev, node)
    for hook in tuple(dispatch.RECORD_HOOKS):
        hook(node, t, tuple(saved))
    if splits is None:
        return [t]
    return [reshape(t[a:b], shape) for a, b, shape in splits]
