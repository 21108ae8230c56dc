"""The backward engine: an iterative walk of the graph in topological order.

No recursion anywhere: dependencies are counted with an explicit stack, nodes run when
every consumer has sent its gradient, and a chain of a million ops runs at the default
recursion limit. Plain backward runs each op's VJP rules on raw arrays with the backend's
namespace; ``create_graph=True`` runs the very same rules on Tensors with ``xpgrad.xp``,
so the backward pass is itself recorded and can be differentiated again.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, overload

from . import xp as _xp
from .dispatch import apply, unary
from .dispatch import batched as _batched
from .dtypes import is_kind
from .grad_mode import GRAD_ENABLED
from .node import _FREED, AccumulateGrad, Packed
from .rules import rule_error
from .tensor import INPLACE_EPOCH, Tensor, _accumulate_node, _RetainGrad

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any, Literal

    #: One Tensor, or several
    Tensors = Tensor | Sequence[Tensor]
    #: The gradient of each output; None for one with a single element (then 1)
    Gradients = Tensor | Sequence[Tensor | None] | None

__all__ = ["backward", "grad", "ANOMALY_CHECK"]

# ``[check]``: while anomaly mode is on, ``check(node, i, gradient)`` sees every gradient
# a rule returns (xpgrad.autograd.detect_anomaly sets it); None otherwise.
ANOMALY_CHECK: list[Callable[[Any, int, Any], None] | None] = [None]

_NUMBERS = (int, float, complex, bool, type(None))

# Below this many bytes the walk does not ask whether a rule's result is its own (and
# so copies it before handing it out): asking costs more than the copy it may save.
_REUSE_MIN_BYTES = 1 << 16

# Ownership. A walk writes in place, or hands out without a copy, only arrays it can
# prove are its own, by construction rather than by counting references: each cotangent
# in ``buffers`` has a flag in ``mine``. An array is the walk's own when the walk made
# it (the ones of a scalar root, a sum of two gradients, a reduction or cast of one) or
# when a trusted rule (a built-in op's, not a custom Function's) returned a fresh array
# (``Backend.fresh``: memory of its own) that is none of the arrays the rule was handed
# (its cotangent, the saved inputs, the output). It stops being the walk's own when it
# is handed to anyone: to a rule as its cotangent (only the node's last rule may write
# into it, and only if no earlier rule passed it on), to a hook, to the user (``.grad``,
# what ``grad()`` returns). Whatever is not the walk's own is copied before it is handed
# out, so a gradient never shares memory with a weight, an input, a forward output or
# another gradient, and nothing here depends on a reference count.


# ---------------------------------------------------------------------- public entry


def backward(tensors: Tensors, grad_tensors: Gradients = None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs: Tensors | None = None) -> None:
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the graph's leaves.

    Parameters
    ----------
    tensors : Tensor or sequence of Tensor
        The outputs to differentiate.
    grad_tensors : Tensor or sequence of Tensor or None, optional
        The gradient with respect to each output (its "weight"); may be ``None`` for an
        output with a single element, which then gets 1.
    retain_graph : bool, optional
        Keep the saved values so that the graph can be walked again. Defaults to
        ``create_graph``.
    create_graph : bool, optional
        Record the backward pass itself, so that the gradients can be differentiated.
    inputs : Tensor or sequence of Tensor, optional
        Accumulate into the ``.grad`` of these Tensors only, instead of every leaf; the
        walk is limited to the part of the graph that leads to them. A non-leaf among
        them gets its gradient in ``.grad`` too, and retains it from then on, as after
        ``retain_grad()`` (PyTorch does the same).
    """
    tensors = _as_tuple(tensors, "tensors")
    if inputs is not None:
        inputs = _backward_inputs(inputs)
    grads = _root_grads(tensors, grad_tensors, create_graph, "grad_tensors")
    if retain_graph is None:
        retain_graph = create_graph
    roots = [_root_node(t, i) for i, t in enumerate(tensors)]
    targets = None
    if inputs is not None:
        targets = {}
        for t in inputs:
            if t._grad_fn is not None:
                t.retain_grad()  # its gradient reaches .grad through the retain hook
                targets.setdefault(t._grad_fn, None)
            else:
                targets.setdefault(_accumulate_node(t), None)
    _execute(roots, grads, retain_graph, create_graph, targets, False)


@overload
def grad(outputs: Tensors, inputs: Tensors, grad_outputs: Gradients = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: Literal[False] = False,
         materialize_grads: bool = False, is_grads_batched: bool = False) -> tuple[Tensor, ...]: ...
@overload
def grad(outputs: Tensors, inputs: Tensors, grad_outputs: Gradients = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False,
         materialize_grads: bool = False, is_grads_batched: bool = False) -> tuple[Tensor | None, ...]: ...


def grad(outputs: Tensors, inputs: Tensors, grad_outputs: Gradients = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False,
         materialize_grads: bool = False, is_grads_batched: bool = False) -> tuple[Tensor | None, ...]:
    """The gradients of ``outputs`` with respect to ``inputs``, returned, not accumulated.

    Parameters
    ----------
    outputs : Tensor or sequence of Tensor
    inputs : Tensor or sequence of Tensor
        What to differentiate with respect to; leaves or intermediate Tensors.
    grad_outputs : Tensor or sequence of Tensor or None, optional
        As ``grad_tensors`` in :func:`backward`.
    retain_graph, create_graph : bool, optional
        As in :func:`backward`.
    allow_unused : bool, optional
        Return ``None`` for an input the outputs do not depend on, instead of raising.
    materialize_grads : bool, optional
        Return zeros instead of ``None`` for unused inputs (implies ``allow_unused``).
    is_grads_batched : bool, optional
        Each of ``grad_outputs`` holds a batch of cotangents along its first axis (the
        same batch size for all): the result is, for each input, the batch of its
        gradients along a first axis, computed in one vectorised backward pass (the
        rules run on the batch as under ``xpgrad.func.vmap``), as in PyTorch.

    Returns
    -------
    tuple of Tensor
        One gradient per input (or ``None`` for an unused one, with ``allow_unused``).

    Examples
    --------
    >>> x = xpgrad.tensor([3.0], requires_grad=True)
    >>> (dx,) = xpgrad.autograd.grad(x ** 2, x, create_graph=True)
    >>> xpgrad.autograd.grad(dx, x)
    (tensor([2.]),)
    """
    outputs = _as_tuple(outputs, "outputs")
    inputs = _as_tuple(inputs, "inputs")
    for i, t in enumerate(inputs):
        if not t._rg:
            raise RuntimeError(
                f"inputs[{i}] does not require grad: grad() can only differentiate with "
                "respect to Tensors that require grad (call .requires_grad_() on a leaf)"
            )
    if is_grads_batched:
        return _grad_batched(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused,
                             materialize_grads)
    grads = _root_grads(outputs, grad_outputs, create_graph, "grad_outputs")
    if retain_graph is None:
        retain_graph = create_graph
    roots = [_root_node(t, i) for i, t in enumerate(outputs)]
    targets = _targets(inputs)
    found = _execute(roots, grads, retain_graph, create_graph, targets, True)
    result = []
    first = {}  # node -> the index of the input it was returned for
    for i, t in enumerate(inputs):
        node = t._grad_fn if t._grad_fn is not None else t._accum
        j = first.get(node)
        if j is not None:  # the same input again: a gradient of its own all the same
            g = result[j]
            result.append(None if g is None else _owned_copy(g, create_graph))
            continue
        first[node] = i
        g, own = found.pop(node, (None, False))
        if g is None:
            if materialize_grads:
                result.append(Tensor(t._dev.xp.zeros_like(t._data), t._dev))
                continue
            if not allow_unused:
                raise _unused(i)
            result.append(None)
        elif create_graph:
            result.append(g if own else _owned_copy(g, True))
        else:
            dev = t._dev
            result.append(Tensor(g if own else dev.xp.asarray(g, copy=True), dev))
    return tuple(result)


def _targets(inputs):
    """The nodes of ``inputs`` (their grad_fn, or a leaf's accumulator): where the walk stops."""
    targets = {}
    for t in inputs:
        targets.setdefault(t._grad_fn if t._grad_fn is not None else _accumulate_node(t), None)
    return targets


def _unused(i):
    return RuntimeError(f"inputs[{i}] was not used to compute the outputs, so it has no gradient; "
                        "pass allow_unused=True to get None for it")


def _grad_batched(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused, materialize_grads):
    """``grad(..., is_grads_batched=True)``: the walk with each cotangent a batched value
    of ``xpgrad.func.vmap`` (the batch on axis 0 of each of ``grad_outputs``), the rules
    run on Tensors (as under ``create_graph``) so that every op they call is batched."""
    from xpgrad.dispatch import BATCHED

    batched_type, _, new_level = BATCHED  # registered by xpgrad.func, which import xpgrad loads
    given = [grad_outputs] if isinstance(grad_outputs, Tensor) else list(grad_outputs or [])
    if len(given) != len(outputs) or any(not isinstance(g, Tensor) for g in given):
        raise RuntimeError("is_grads_batched=True needs grad_outputs: one Tensor per output, each with the batch "
                           "of cotangents along its first axis")
    sizes = {g.shape[0] if g.ndim else None for g in given}
    if len(sizes) != 1 or None in sizes:
        raise RuntimeError(f"is_grads_batched=True: every grad_outputs needs the batch along its first axis, with "
                           f"one batch size for all; got shapes {[tuple(g.shape) for g in given]}")
    (size,) = sizes
    level = new_level()
    batched = [batched_type(g, level, size) for g in given]
    grads = _root_grads(outputs, batched, True, "grad_outputs")
    roots = [_root_node(t, i) for i, t in enumerate(outputs)]
    targets = _targets(inputs)
    found = _execute(roots, grads, create_graph if retain_graph is None else retain_graph, True, targets, True)
    result = []
    for i, t in enumerate(inputs):
        node = t._grad_fn if t._grad_fn is not None else t._accum
        g, _ = found.get(node, (None, False))
        if g is None:
            if materialize_grads:
                result.append(Tensor(t._dev.xp.zeros((size,) + tuple(t.shape), dtype=t._data.dtype), t._dev))
                continue
            if not allow_unused:
                raise _unused(i)
            result.append(None)
            continue
        g = g._value if isinstance(g, batched_type) and g._level == level else _broadcast_batch(g, size)
        result.append(g if create_graph else g.detach())
    return tuple(result)


def _broadcast_batch(g, size):
    """A gradient that did not depend on the cotangents' batch, repeated along it."""
    return _xp.broadcast_to(_xp.expand_dims(g, axis=0), (size,) + tuple(g.shape))


# ---------------------------------------------------------------------- the walk


def _execute(roots, root_grads, retain, create, targets, capture):
    """Walk the graph from ``roots``. ``root_grads`` are ``(gradient, whether the walk
    owns it)`` pairs. ``targets`` (a dict whose keys are nodes), if given, limits the
    walk to the nodes on a path to one of them; ``capture``: the gradients reaching the
    targets are returned by node, as ``(gradient, owned)``, instead of accumulated into
    the leaves' ``.grad``."""
    deps = {}
    buffers = {}
    mine = {}  # the nodes whose buffers[node] is the walk's own (True; see "Ownership")
    for node, (g, own) in zip(roots, root_grads):
        deps[node] = 0
        prev = buffers.get(node)
        if prev is not None:
            g, own = prev + g, True
        buffers[node] = g
        if own:
            mine[node] = True
    if targets is None:
        _count_dependencies(deps)
        useful = stops = None
    else:
        deps, buffers, useful, stops = _restrict_to_targets(deps, buffers, targets)
    found = {}
    ready = []
    for node in buffers:  # the roots; those that no other root feeds start the walk
        if deps[node] == 0:
            ready.append(node)
    epoch = INPLACE_EPOCH
    check = ANOMALY_CHECK[0]
    token = GRAD_ENABLED.set(create)
    try:
        while ready:
            node = ready.pop()
            g = buffers.pop(node)
            g_mine = mine.pop(node, False) if mine else False
            if node.hooks:
                g, g_mine = _run_hooks(node, g, g_mine, create)
            if type(node) is AccumulateGrad:
                if capture:  # a target: only targets' leaves are on the walk
                    found[node] = (g, g_mine)
                else:
                    _accumulate(node, g, g_mine, create)
                continue
            if targets is not None and node in targets:
                if capture:
                    found[node] = (g, g_mine)
                    g_mine = False  # handed out: no rule below may write into it
                if node in stops:
                    continue  # no other target lies below: the node itself need not run
            saved = node.saved
            if saved is _FREED:
                raise RuntimeError(
                    f"Trying to backward through the graph a second time: {type(node).__name__} "
                    "already freed the values it saved for backward. Pass retain_graph=True "
                    "to the first backward() or grad() call if you need to walk the graph again."
                )
            if node.epoch != epoch[0]:
                _check_versions(node)
            if type(saved) is Packed:  # saved_tensors_hooks packed them at recording
                saved, out = saved.unpack()
            else:
                out = node.out
            if create:
                if node._op is not None and node._op.first_order_only:
                    _refuse_second_order(node)
                xp = _differentiable_xp()
                if out is not None:
                    out = Tensor(out, node.dev, node)
            else:
                xp = node.dev.xp
            shapes = node.shapes
            dtypes = node.dtypes
            plan = node.plan
            rules = plan.rules
            last = plan.last
            # Only large cotangents are worth writing into: for small ones a new array
            # costs less than asking whether one is the walk's own.
            # (A backend that never writes in place, JAX's or dask's, is not asked at all.)
            reuses = node.dev.backend.reuses_memory
            large = not create and reuses and getattr(g, "nbytes", 0) >= _REUSE_MIN_BYTES
            i = -1
            for nxt in node.next:
                i += 1
                if nxt is None or useful is not None and nxt not in useful:
                    continue
                rule = rules[i]
                gi_mine = False
                try:
                    if create:
                        gi = rule.call_graph(xp, g, saved, out, node)
                        # Owning it only spares a copy where it is handed out (to a leaf or a
                        # hook; elsewhere sums are new Tensors, recorded)
                        if (type(nxt) is AccumulateGrad or nxt.hooks) and type(gi) is Tensor:
                            gi_mine = (gi._own and rule.trusted
                                       and not _given(gi, g, saved, out, True))
                    elif large and rule.derivative:
                        # the backend writes the product into g or d where the walk owns it
                        d = rule.derive(xp, saved, out, node)
                        backend = node.dev.backend
                        d_mine = (type(d) not in _NUMBERS and backend.fresh(d)
                                  and not _given(d, g, saved, out, False))
                        gi, gi_mine = backend.chain(g, d, g_mine and i == last, d_mine)
                    else:
                        gi = rule.call(xp, g, saved, out, node)
                        # Owning it spares a new array where a large one is summed into, and a
                        # copy where it reaches a leaf
                        if (reuses and (type(nxt) is AccumulateGrad or getattr(gi, "nbytes", 0) >= _REUSE_MIN_BYTES)
                                and rule.trusted and node.dev.backend.fresh(gi)):
                            gi_mine = not _given(gi, g, saved, out, False)
                except Exception as exc:
                    err = rule_error(rule, node._op, i, shapes, dtypes, g, exc)
                    if err is None:
                        raise
                    raise err from exc
                if gi is not None:
                    if g_mine and not gi_mine:
                        g_mine = False  # gi may be g or share its memory: g stays as it is
                    if check is not None:
                        check(node, i, gi)
                    if gi.shape != shapes[i]:
                        gi = _sum_to(xp, gi, shapes[i], node, i)
                        gi_mine = True
                    # The backend's dtype (node.dtypes holds those): a Tensor's own array's.
                    dt = getattr(gi, "_data", gi).dtype
                    if dt is not dtypes[i] and dt != dtypes[i]:
                        gi = _cast(xp, gi, dtypes[i], node, i)
                        gi_mine = True
                    # mine holds True for the walk's own; absent is "not known to be"
                    prev = buffers.get(nxt)
                    if prev is None:
                        buffers[nxt] = gi
                        if gi_mine:
                            mine[nxt] = True
                    elif create:
                        buffers[nxt] = prev + gi
                        mine[nxt] = True
                    elif nxt in mine:
                        buffers[nxt] = nxt.dev.backend.add_into(prev, gi)
                    elif gi_mine:
                        buffers[nxt] = nxt.dev.backend.add_into(gi, prev)
                        mine[nxt] = True
                    else:
                        buffers[nxt] = prev + gi
                        mine[nxt] = True
                count = deps[nxt] - 1
                deps[nxt] = count
                if count == 0:
                    if nxt in buffers:
                        ready.append(nxt)
                    else:
                        # every consumer sent None: nothing flows further down this edge,
                        # but its own inputs may still be waiting on it.
                        ready.extend(_drain(nxt, deps, buffers, useful))
            if not retain and (saved is not None or out is not None):
                node.saved = node.out = _FREED
    finally:
        GRAD_ENABLED.reset(token)
    return found


def _given(a, g, saved, out, tensors):
    """Whether ``a``, what a rule returned, is one of the arrays it was handed (its
    cotangent, the output, a saved input): then it is not the walk's own."""
    if a is g or a is out:
        return True
    if saved:
        for s in saved:
            if s is a or not tensors and type(s) is Tensor and s._data is a:
                return True
    return False


def _count_dependencies(deps):
    """Count, for every node reachable from the roots in ``deps``, its consumers."""
    stack = list(deps)
    get = deps.get
    while stack:
        for nxt in stack.pop().next:
            if nxt is not None:
                count = get(nxt)
                if count is None:
                    deps[nxt] = 1
                    stack.append(nxt)
                else:
                    deps[nxt] = count + 1


def _restrict_to_targets(deps, buffers, targets):
    """For grad(): only the nodes on a path from the roots to a target take part.

    One depth-first walk from the roots (``deps``' keys), iterative: a node is finished
    after every node below it, and is useful when it is a target or feeds a useful node.
    Dependencies are counted among useful nodes only, as each finishes. Returns the
    counts, the roots' gradients that count, the useful nodes, and the stops: the
    targets none of whose inputs is on the walk, whose gradient is all that is wanted of
    them (their own node is left as it is, its saved values too)."""
    counts = {}
    useful = set()
    stops = set()
    seen = set()
    stack = list(deps)
    while stack:
        node = stack.pop()
        if node is _FINISH:
            node = stack.pop()
            feeds = False  # whether it feeds a useful node (so is one)
            for nxt in node.next:
                if nxt in useful:
                    counts[nxt] += 1
                    feeds = True
            if not feeds:
                if node not in targets:
                    continue
                stops.add(node)
            useful.add(node)
            counts[node] = 0  # its consumers, all finished after it, count themselves in
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append(node)
        stack.append(_FINISH)
        for nxt in node.next:
            if nxt is not None and nxt not in seen:
                stack.append(nxt)
    return counts, {n: g for n, g in buffers.items() if n in useful}, useful, stops


# A marker on _restrict_to_targets' stack: the node beneath it has had every node below
# it finished.
_FINISH = object()


def _drain(node, deps, buffers, useful):
    """Release the dependency counts a gradient-less node holds; return newly ready nodes."""
    ready, stack = [], [node]
    while stack:
        n = stack.pop()
        for nxt in n.next:
            if nxt is None or (useful is not None and nxt not in useful):
                continue
            count = deps[nxt] - 1
            deps[nxt] = count
            if count == 0:
                (ready if nxt in buffers else stack).append(nxt)
    return ready


# ---------------------------------------------------------------------- pieces


def _differentiable_xp():
    return _xp


def _backward_inputs(inputs):
    """``backward(inputs=...)`` checked, as a tuple of Tensors that require grad."""
    if isinstance(inputs, Tensor):
        return (inputs,)
    try:
        inputs = tuple(inputs)
    except TypeError:
        raise TypeError(
            f"inputs must be a Tensor or a sequence of Tensors, got {type(inputs).__name__}"
        ) from None
    if not inputs:
        raise RuntimeError(
            "`inputs` argument to `backward()` cannot be empty: give the Tensors whose .grad "
            "should receive the gradient, or leave inputs out to accumulate into every leaf"
        )
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise RuntimeError(
                f"inputs[{i}] must be a Tensor, got {type(t).__name__}: backward() accumulates "
                "gradients into Tensors only"
            )
        if not t._rg:
            raise RuntimeError(
                f"inputs[{i}] does not require grad: backward() can only accumulate into "
                "Tensors that require grad (call .requires_grad_() on a leaf)"
            )
    return inputs


def _as_tuple(value, what):
    if isinstance(value, Tensor):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(v, Tensor) for v in value):
        if not value:
            raise RuntimeError(f"{what} is empty: give at least one Tensor")
        return tuple(value)
    raise TypeError(f"{what} must be a Tensor or a sequence of Tensors, got {type(value).__name__}")


def _root_node(t, i):
    if not t._rg:
        raise RuntimeError(
            f"element {i} of tensors does not require grad and does not have a grad_fn: "
            "nothing it was computed from requires grad. Create the inputs with "
            "requires_grad=True (or call .requires_grad_() on them) before computing."
        )
    return t._grad_fn if t._grad_fn is not None else _accumulate_node(t)


def _root_grads(tensors, grads, create, what):
    if grads is None or isinstance(grads, Tensor):
        grads = [grads] * len(tensors) if grads is None else [grads]
    elif not isinstance(grads, (list, tuple)):
        grads = [grads]  # a lone non-Tensor (1.0, an array): reported below as such
    grads = list(grads)
    if len(grads) != len(tensors):
        raise RuntimeError(f"{what} has {len(grads)} entries for {len(tensors)} outputs: give one per output")
    result = []
    for i, (t, g) in enumerate(zip(tensors, grads)):
        shape = t._data.shape
        if g is None:
            if _numel(shape) != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs: output {i} has shape "
                    f"{tuple(shape)}. Pass gradient= (or grad_outputs=) a Tensor of that shape, "
                    "e.g. xpgrad.ones_like(output), or reduce the output first (.sum())."
                )
            raw = t._dev.xp.ones_like(t._data)
            result.append((Tensor(raw, t._dev) if create else raw, True))  # the walk's own
            continue
        if _batched(g):  # grad(..., is_grads_batched=True): a batch of cotangents, as vmap's
            if tuple(g.shape) != tuple(shape):
                raise RuntimeError(
                    f"Mismatch in shape: {what}[{i}] has a shape of {tuple(g.shape)} per example of its batch "
                    f"and output[{i}] has a shape of {tuple(shape)}"
                )
            result.append((g, False))
            continue
        if not isinstance(g, Tensor):
            raise TypeError(
                f"{what}[{i}] must be a Tensor, got {type(g).__name__}; wrap it with xpgrad.tensor(...)"
            )
        if g._dev is not t._dev:
            raise RuntimeError(
                f"{what}[{i}] is on device {g._dev} but output {i} is on {t._dev}; move it with .to({str(t._dev)!r})"
            )
        if tuple(g._data.shape) != tuple(shape):
            raise RuntimeError(
                f"Mismatch in shape: {what}[{i}] has a shape of {tuple(g._data.shape)} and "
                f"output[{i}] has a shape of {tuple(shape)}"
            )
        own = g._data.dtype != t._data.dtype
        if own:  # a cast is a copy the walk made
            g = Tensor(t._dev.xp.astype(g._data, t._data.dtype), t._dev)
        result.append((g if create else g._data, own))
    return result


def _numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def _sum_to(xp, g, shape, node, i):
    """Reduce a gradient over the dimensions its input was broadcast along."""
    gshape = tuple(g.shape)
    lead = len(gshape) - len(shape)
    if lead >= 0 and all(s == 1 or s == gs for s, gs in zip(shape, gshape[lead:])):
        axes = tuple(range(lead)) + tuple(
            lead + k for k, s in enumerate(shape) if s == 1 and gshape[lead + k] != 1
        )
        if axes:
            g = xp.sum(g, axis=axes, keepdims=True)
            if lead:
                g = xp.reshape(g, tuple(shape))
            return g
    op = node._op
    raise RuntimeError(
        f"the VJP of op {op.name!r} (plugin {op.plugin!r}) returned a gradient of shape "
        f"{gshape} for argument {op.argnames[i]!r}, whose shape is {tuple(shape)}; a VJP rule "
        "must return the argument's shape (or a shape that broadcasts to it)"
    )


def _refuse_second_order(node):
    op = node._op
    raise RuntimeError(
        f"op {op.name!r} (plugin {op.plugin!r}) has first-order gradients only: its VJP is "
        "not differentiable, so backward with create_graph=True (a gradient of a gradient, "
        "hessian, hvp) cannot go through it. Differentiate once, or use an op with "
        "higher-order support."
    )


def _cast(xp, g, dtype, node, i):
    try:
        if is_kind(g.dtype, "complex floating") and not is_kind(dtype, "complex floating"):
            g = xp.real(g)  # a real argument's gradient is the real part (PyTorch's convention)
        return xp.astype(g, dtype)
    except Exception as exc:
        op = node._op
        raise RuntimeError(
            f"the VJP of op {op.name!r} (plugin {op.plugin!r}) returned a gradient of dtype "
            f"{g.dtype} for argument {op.argnames[i]!r} of dtype {dtype}, and it cannot be cast: {exc}"
        ) from exc


def _check_versions(node):
    epoch = node.epoch
    bad = node.out_vc is not None and node.out_vc[0] > epoch
    saved = node.saved
    if type(saved) is Packed:
        saved = saved.saved  # what pack() returned is the hook's business
    if not bad and saved:
        for a in saved:
            if type(a) is Tensor and a._vc is not None and a._vc[0] > epoch:
                bad = True
                break
    if bad:
        raise RuntimeError(
            f"one of the Tensors that {type(node).__name__} saved for backward was modified "
            "by an in-place operation (such as add_ or +=) after it was saved, so its "
            "gradient would be wrong. Use the out-of-place op (x = x + 1), or clone the "
            "Tensor before changing it in place."
        )


def _owned_copy(g, create):
    """A copy of the gradient Tensor ``g`` that shares memory with nothing; under
    ``create``, a differentiable one (PyTorch's AccumulateGrad clones there too)."""
    if not create:
        return Tensor(g._dev.xp.asarray(g._data, copy=True), g._dev)
    token = GRAD_ENABLED.set(True)
    try:
        return unary("clone", g) if type(g) is Tensor else apply("clone", (g,))
    finally:
        GRAD_ENABLED.reset(token)


def _run_hooks(node, g, g_mine, create):
    """Run ``node``'s hooks on its gradient; returns the gradient and whether it is still
    the walk's own. A hook may change its gradient in place, or keep it: it gets one that
    shares memory with nothing, which is then no longer the walk's."""
    dev = node.dev
    hooks = list(node.hooks)
    users = not all(isinstance(h, _RetainGrad) for h in hooks)
    if create:
        t = g if g_mine or not users else _owned_copy(g, True)
    else:
        t = Tensor(g if g_mine or not users else dev.xp.asarray(g, copy=True), dev)
    retains = []
    for hook in hooks:
        if isinstance(hook, _RetainGrad):
            retains.append(hook)
            continue
        new = hook(t)
        if new is not None:
            if not isinstance(new, Tensor) or tuple(new.shape) != tuple(t.shape):
                raise RuntimeError(
                    f"hook {hook!r} returned {new!r}: a hook must return None or a Tensor of "
                    f"the gradient's shape {tuple(t.shape)}"
                )
            t = new
    for hook in retains:
        hook(t)  # it keeps a copy (under create_graph, the Tensor itself)
    mine = g_mine and not users and not (create and retains)
    return (t if create else t._data), mine


def _accumulate(node, g, g_mine, create):
    """Add ``g`` into the leaf's ``.grad``: ``g`` itself where it is the walk's own, else a
    copy. A second backward adds into ``.grad`` in place, as PyTorch does, where that is
    memory xpgrad allocated (``_own``: a ``.grad`` an earlier backward made); into a
    ``.grad`` the user assigned over memory of their own it makes a new Tensor instead."""
    var = node._var()
    if var is None:
        return
    dev = var._dev
    lock = node.lock  # one accumulation at a time per leaf: backward may run in threads
    lock.acquire()
    try:
        old = var._grad
        if create:
            if old is None:
                var._grad = g if g_mine else _owned_copy(g, True)
            else:
                var._grad = old + g
        elif old is None:
            new = var._grad = Tensor(g if g_mine else dev.xp.asarray(g, copy=True), dev)
            new._own = True
        elif old._own and old._grad_fn is None and old._view is None:
            summed = dev.backend.add_into(old._data, g)
            if summed is not old._data:  # the library added out of place
                if dev.backend.mutable:
                    dev.backend.write(old._data, summed)  # .grad stays the same Tensor
                else:  # JAX: its arrays cannot be written
                    new = var._grad = Tensor(summed, dev)
                    new._own = True
        else:
            new = var._grad = Tensor(old._data + g, dev)
            new._own = True
    finally:
        lock.release()
