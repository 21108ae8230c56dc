"""Forward mode: tangents pushed through the program in the same pass as the values.

While a ``jvp`` runs, a hook in ``xpgrad.dispatch.RECORD_HOOKS`` sees every recorded op
call. The primals are made to require grad, so every op that depends on them is
recorded; for each such op the hook looks up the tangents of its arguments, applies the
op's JVP rules (``Op(jvp=...)``) and stores the output's tangent. Tangents are keyed by
graph node (a Tensor's ``grad_fn``, or a leaf's ``AccumulateGrad``), held weakly: when
a Tensor and its node die, so does its tangent, and an in-place op, which moves the
Tensor to a new node, moves it to that node's tangent too.

Tangents are computed with Tensor ops, so they are differentiable: reverse mode can
differentiate a jvp, and a jvp can run inside a jvp. Each jvp is a *level*; the ops that
compute level ``k``'s tangents are seen by the levels outside it only (they are part of
the outer computation, and the hook must not recurse into itself).

Levels belong to the thread that entered them: each thread has its own stack, and the
hook serves the calling thread's levels only. The hook is installed while any thread
has a level; an op recorded in a thread without one costs that thread one look at its
own (empty) state.

An op without JVP rules still works: its JVP is derived from its VJP rule (the
double-VJP trick): ``v(u) = vjp(u)`` is linear in the cotangent ``u``, and the JVP of
tangent ``t`` is ``grad(sum(v(u) * t), u)``.
"""
from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, Any

from xpgrad import dispatch
from xpgrad import xp as _namespace
from xpgrad.engine import grad as engine_grad
from xpgrad.grad_mode import enable_grad
from xpgrad.rules import rule_error
from xpgrad.tensor import Tensor, _accumulate_node

from . import _inside_vmap as inside_vmap
from ._common import SCRATCH, Scope, check_like, check_primal, split_aux, zeros_like
from ._pytree import describe_path, flatten, tensor_leaves, unflatten

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Literal

    from xpgrad.node import Node

__all__ = ["jvp", "ForwardLevel", "tangent_of"]


class _ThreadState(threading.local):
    """One thread's forward mode: its active levels, outermost first, and how many of
    them the hook serves (``levels[:visible]``)."""

    def __init__(self) -> None:
        self.levels: list[ForwardLevel] = []
        self.visible = 0


_STATE = _ThreadState()
_THREADS = [0]  # threads with at least one level: the hook is installed while > 0
_LOCK = threading.Lock()


def _xp() -> Any:
    return _namespace


class ForwardLevel:
    """One level of forward mode: the tangents of the Tensors computed inside it.

    Use as a context manager; :meth:`set` gives a Tensor that requires grad a tangent,
    :meth:`get` reads the tangent of any Tensor (None if it has none).
    """

    __slots__ = ("index", "tangents", "_prev")
    index: int
    tangents: Any  # weakref.WeakKeyDictionary[Node, Tensor] while entered, then None
    _prev: int

    def __enter__(self) -> ForwardLevel:
        state = _STATE
        levels = state.levels
        self.index = len(levels)
        self.tangents = weakref.WeakKeyDictionary()  # node -> tangent Tensor
        self._prev = state.visible
        levels.append(self)
        state.visible = len(levels)
        if len(levels) == 1:
            with _LOCK:
                _THREADS[0] += 1
                if _on_record not in dispatch.RECORD_HOOKS:
                    dispatch.RECORD_HOOKS.append(_on_record)
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        state = _STATE
        levels = state.levels
        if not levels or levels[-1] is not self:
            raise RuntimeError(
                "forward mode: a level was left in another order than it was entered, or in "
                "another thread; enter and leave each ForwardLevel in one thread, innermost first"
            )
        levels.pop()
        state.visible = self._prev
        self.tangents = None
        if not levels:
            with _LOCK:
                _THREADS[0] -= 1
                if not _THREADS[0] and _on_record in dispatch.RECORD_HOOKS:
                    dispatch.RECORD_HOOKS.remove(_on_record)
        return False

    def set(self, t: Tensor, tangent: Tensor) -> None:
        key = t._grad_fn if t._grad_fn is not None else _accumulate_node(t)
        self.tangents[key] = tangent

    def get(self, t: Any) -> Tensor | None:
        if type(t) is not Tensor or not t._rg:
            return None
        key = t._grad_fn if t._grad_fn is not None else t._accum
        return None if key is None else self.tangents.get(key)


def tangent_of(t: object, level: int = -1) -> Tensor | None:
    """The tangent of ``t`` at one of this thread's forward levels (the innermost by
    default), or None."""
    levels = _STATE.levels
    if not levels:
        return None
    return levels[level].get(t)


# ---------------------------------------------------------------------- the hook


def _on_record(node: Node, out: Tensor, args: tuple[Any, ...]) -> None:
    state = _STATE
    n = state.visible
    if not n:
        return  # no forward mode in this thread
    levels = state.levels
    for k in range(n):
        level = levels[k]
        tangents = [level.get(a) for a in args]
        if any(t is not None for t in tangents):
            state.visible = k  # only the levels outside this one see the tangent's ops
            try:
                tangent = _output_tangent(node, out, args, tangents)
            finally:
                state.visible = n
            if tangent is not None:
                level.tangents[node] = tangent


def _watching() -> bool:
    """Whether the hook reads the arguments of this thread's ops (see dispatch)."""
    return bool(_STATE.levels)


_on_record.watching = _watching  # type: ignore[attr-defined]


class _NodeView:
    """What a rule reads from a node (shapes, dtypes, params), for every argument: the
    recorded node only knows the shapes of the arguments that require grad."""

    __slots__ = ("shapes", "dtypes", "params")

    def __init__(self, node: Node, args: Sequence[Any]) -> None:
        self.shapes = tuple(a._data.shape if type(a) is Tensor else () for a in args)
        self.dtypes = tuple(a._data.dtype if type(a) is Tensor else None for a in args)
        self.params = node.params


def _output_tangent(node: Node, out: Tensor, args: Sequence[Any], tangents: Sequence[Tensor | None]) -> Tensor | None:
    op: Any = getattr(type(node), "_op", None)
    jvp_rules = getattr(op, "jvp_rules", None)
    vjp_rules = node.plan.rules
    view = _NodeView(node, args)
    xp = _xp()
    total = None
    for i, t in enumerate(tangents):
        if t is None or vjp_rules[i] is None:  # no tangent, or not a differentiable argument
            continue
        rule = jvp_rules[i] if jvp_rules is not None else None
        if rule is not None and rule.kind == "linear":  # the op itself, on the tangent
            c = dispatch.apply(op.name, (t,), node.params)
        elif rule is not None:
            try:
                c = rule.call_graph(xp, t, args, out, view)
            except Exception as exc:
                err = rule_error(rule, op, i, view.shapes, view.dtypes, t, exc)
                if err is None:
                    raise
                raise err from exc
        else:
            c = _derived(node, op, i, t, args, out, view)
        if c is None:
            continue
        if not isinstance(c, Tensor):
            c = Tensor(out._dev.xp.asarray(c, dtype=out._data.dtype), out._dev)
        total = c if total is None else total + c
    if total is None:
        return None
    if tuple(total.shape) != tuple(out.shape):
        total = xp.broadcast_to(total, tuple(out.shape))
    if total._data.dtype != out._data.dtype:
        total = xp.astype(total, out._data.dtype)
    return total


def _derived(node: Node, op: Any, i: int, t: Tensor, args: Sequence[Any], out: Tensor,
             view: _NodeView) -> Tensor | None:
    """The JVP of argument ``i`` from its VJP rule: ``grad(sum(vjp(u) * t), u)``."""
    try:
        with enable_grad():
            u = zeros_like(out)
            u._rg = True
            SCRATCH.add(_accumulate_node(u))
            v = node.plan.rules[i].call_graph(_xp(), u, args, out, view)
            if not isinstance(v, Tensor) or not v._rg:
                return None  # the VJP does not depend on the cotangent: a zero JVP
            if tuple(v.shape) != tuple(t.shape):
                v = _sum_to(v, tuple(t.shape))
            (c,) = engine_grad(_xp().sum(v * t), u, create_graph=True, allow_unused=True)
            return c
    except Exception as exc:
        name = getattr(op, "name", type(node).__name__)
        argnames = getattr(op, "argnames", ())
        arg = repr(argnames[i]) if i < len(argnames) else str(i)
        raise RuntimeError(
            f"forward mode: op {name!r} has no JVP rule for argument {arg}, and deriving one "
            f"from its VJP rule failed ({type(exc).__name__}: {exc}). Give the op jvp= rules."
        ) from exc


def _sum_to(v: Tensor, shape: tuple[int, ...]) -> Tensor:
    xp = _xp()
    lead = len(v.shape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + k for k, s in enumerate(shape) if s == 1 and v.shape[lead + k] != 1)
    if axes:
        v = xp.sum(v, axis=axes, keepdims=True)
    return xp.reshape(v, shape) if tuple(v.shape) != shape else v


# ---------------------------------------------------------------------- jvp


def jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any],
        has_aux: bool = False) -> tuple[Any, ...]:
    """The value of ``f`` at ``primals`` and its directional derivative along ``tangents``.

    Computed in one forward pass (forward mode), with each op's JVP rules.

    Parameters
    ----------
    f : callable
        Takes the primals as positional arguments and returns a Tensor or a pytree
        (tuple, list, dict) of Tensors; with ``has_aux``, a pair ``(output, aux)``.
    primals : tuple
        The positional arguments of ``f``: each a Tensor or a pytree of Tensors.
    tangents : tuple
        One tangent per primal leaf, in the same structure, shapes and dtypes.
    has_aux : bool
        ``f`` returns ``(output, aux)``; aux is returned as it is, not differentiated.

    Returns
    -------
    (output, tangent_out) or (output, tangent_out, aux)
        ``tangent_out`` has the structure of the output: ``J(primals) @ tangents``.

    Examples
    --------
    >>> x = xpgrad.tensor([0.0, 1.0], dtype=xpgrad.float64)
    >>> out, t = xpgrad.func.jvp(xpgrad.xp.sin, (x,), (xpgrad.ones_like(x),))
    >>> t  # cos(x)
    tensor([1.0000, 0.5403], dtype=xpgrad.float64)
    """
    for value, name in ((primals, "primals"), (tangents, "tangents")):
        if not isinstance(value, (tuple, list)):
            raise TypeError(
                f"jvp: {name} must be a tuple of f's positional arguments, got "
                f"{type(value).__name__}; write jvp(f, (x,), (v,)) for one argument"
            )
    levels = inside_vmap.active()
    if levels:  # each example's tangent pushed through its own example (see _inside_vmap)
        physical = inside_vmap.physical_args(tuple(primals), levels)
        physical_t = inside_vmap.physical_args(tuple(tangents), levels)
        batch_f = inside_vmap.batch_function(f, levels, has_aux, "jvp")
        with inside_vmap.outside():
            result = jvp(batch_f, physical, physical_t, has_aux=has_aux)
        return tuple(inside_vmap.logical_out(r, levels) for r in result)
    p_leaves, p_paths, p_def = flatten(tuple(primals))
    t_leaves, _, t_def = flatten(tuple(tangents))
    if p_def != t_def:
        raise ValueError(
            f"jvp: tangents have structure {t_def} but primals have structure {p_def}: give "
            "one tangent per primal, nested the same way"
        )
    for x, v, path in zip(p_leaves, t_leaves, p_paths):
        check_primal(x, "jvp: " + describe_path("primals", path))
        check_like(v, x, "jvp: " + describe_path("tangents", path), describe_path("primals", path))
    return run_jvp(f, p_leaves, p_def, t_leaves, has_aux, "jvp")


def run_jvp(f: Callable[..., Any], p_leaves: Sequence[Tensor], p_def: Any, t_leaves: Sequence[Tensor | None],
            has_aux: bool, fname: str) -> tuple[Any, ...]:
    """jvp on checked, flattened primals; a tangent of None leaves that primal constant."""
    scope = Scope()
    with enable_grad():
        copies = [x if v is None else scope.copy(x) for x, v in zip(p_leaves, t_leaves)]
        with ForwardLevel() as level:
            for c, v in zip(copies, t_leaves):
                if v is not None:
                    level.set(c, v)
            result = f(*unflatten(p_def, copies))
            out, aux = split_aux(result, has_aux, fname)
            o_leaves, _, o_def = tensor_leaves(out, f"{fname}: the output of f")
            t_out = []
            for o in o_leaves:
                t = level.get(o)
                t_out.append(zeros_like(o) if t is None else t)
    scope.close()
    out = unflatten(o_def, [scope.escape(o) for o in o_leaves])
    t_out = unflatten(o_def, [scope.escape(t) for t in t_out])
    if has_aux:
        return out, t_out, scope.escape_tree(aux)
    return out, t_out
