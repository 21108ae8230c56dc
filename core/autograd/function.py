"""``xpgrad.autograd.Function``: a differentiable function written by hand, as in PyTorch.

A subclass declares a static ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)``
(and optionally ``jvp(ctx, *tangents)`` for forward mode) and is called with
``MyFn.apply(*args)``::

    class Exp(Function):
        @staticmethod
        def forward(ctx, x):
            result = x.exp()
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx, grad_output):
            (result,) = ctx.saved_tensors
            return grad_output * result

How it meets the engine: each differentiable output of a call gets one graph node, of a
class ``<Name>Backward`` made once per Function subclass, number of arguments and output
index. The node's rules (one per argument, in the engine's rule calling convention, see
``xpgrad.rules.Rule``) call the user's ``backward`` once per gradient reaching the
node, keep the tuple of gradients it returned on the ctx, and hand each argument its
own. The Tensors given to ``save_for_backward`` are the node's ``saved`` values, so the
engine frees them after backward, checks them for in-place changes and lets
``saved_tensors_hooks`` pack them, exactly as for the built-in ops. A Function with
several outputs gets one node per output: ``backward`` then runs once per output that
receives a gradient, with zeros (or None, see ``set_materialize_grads``) for the others;
its results add up to the same gradients, since a backward is linear in its gradients.
Nothing is registered in the plugin registry: Functions are user code.
"""
from __future__ import annotations

import functools
import weakref
from typing import TYPE_CHECKING, Any, NoReturn

from xpgrad import xp
from xpgrad.creation import zeros
from xpgrad.dispatch import RECORD_HOOKS
from xpgrad.grad_mode import GRAD_ENABLED, no_grad
from xpgrad.node import _FREED, Node, Packed, new_node
from xpgrad.plugins.op import Op
from xpgrad.tensor import INPLACE_EPOCH, Tensor, _accumulate_node

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import TypeVar

    from xpgrad.device import Device

    _R = TypeVar("_R")
    #: What a Function knows of a Tensor argument or output: ``(shape, dtype, Device)``
    Meta = tuple[tuple[int, ...], Any, Device]

__all__ = ["Function", "FunctionCtx", "once_differentiable"]

_FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or to access saved tensors after "
    "they have already been freed): {name} freed the Tensors it saved for backward when "
    "backward() or grad() ran. Pass retain_graph=True to the first backward() or grad() "
    "call if you need to walk the graph again or read the saved tensors afterwards."
)


def _ordinal(i: int) -> str:
    n = i + 1
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# ---------------------------------------------------------------------- the context


class FunctionCtx:
    """The ``ctx`` a Function's ``forward``, ``backward`` and ``jvp`` receive.

    Store Tensors needed by backward with :meth:`save_for_backward` (not as attributes:
    saved Tensors are freed after backward and checked for in-place changes); anything
    else (Python numbers, shapes, flags) may be kept as an attribute: ``ctx.k = 3``.
    """

    def __init__(self, cls: type[Function], args: Sequence[Any]) -> None:
        self._cls = cls
        self._to_save: tuple[Any, ...] | None = None  # what save_for_backward got, until the nodes hold it
        self._for_forward: tuple[Any, ...] | None = None  # what save_for_forward got, for jvp
        self._saved: tuple[Any, ...] | None = None  # while backward runs: the saved Tensors, unpacked
        self._non_differentiable: tuple[Any, ...] = ()
        self._materialize = True
        self._cache: tuple[Any, ...] | None = None  # (output index, incoming gradient, input gradients)
        self._nodes: tuple[Any, ...] = ()  # weak references to the output nodes, for saved_tensors
        self._saved_outputs: tuple[int | None, ...] = ()  # per saved entry: the output index it is, or None
        self._out_meta: tuple[Any, ...] = ()  # per output: (shape, dtype, Device) or None for a non-Tensor
        self._arg_meta: tuple[Any, ...] = tuple(
            (a._data.shape, a._data.dtype, a._dev) if isinstance(a, Tensor) else None for a in args
        )
        self.needs_input_grad: tuple[bool, ...] = ()

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        """Keep ``tensors`` for backward, where :attr:`saved_tensors` returns them.

        They are Tensors or None: inputs, outputs or intermediates. Call it at most
        once, in ``forward``.
        """
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    f"{self._cls.__name__}: save_for_backward can only save Tensors (or None), "
                    f"got {type(t).__name__} at position {i}; keep other values as attributes "
                    "of ctx (ctx.value = ...)"
                )
        self._to_save = tensors

    def save_for_forward(self, *tensors: Tensor | None) -> None:
        """Keep ``tensors`` for ``jvp``, where :attr:`saved_tensors` returns them."""
        self._for_forward = tensors

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        """The Tensors given to :meth:`save_for_backward`, in order.

        In ``backward`` under ``create_graph=True`` the saved inputs and outputs are part
        of the graph, so a backward made of Tensor ops is itself differentiable.
        """
        if self._saved is not None:
            return self._saved
        if self._for_forward is not None:
            return self._for_forward
        if self._to_save is not None:
            return self._to_save
        for ref in self._nodes:
            node = ref() if ref is not None else None
            if node is not None:
                return node.saved_tensors
        return ()

    def mark_non_differentiable(self, *outputs: Tensor) -> None:
        """Declare outputs (as returned by ``forward``) that have no gradient.

        They do not require grad, and backward receives zeros (or None) for them.
        """
        self._non_differentiable = self._non_differentiable + outputs

    def set_materialize_grads(self, value: bool) -> None:
        """Set whether backward receives zeros (True, the default) or None for an output without a gradient."""
        self._materialize = bool(value)

    def mark_dirty(self, *tensors: Tensor) -> NoReturn:
        """Always raises NotImplementedError: unlike PyTorch, xpgrad has no in-place Functions.

        Return a new Tensor from ``forward`` instead of modifying an input.
        """
        raise NotImplementedError(
            "in-place Functions (mark_dirty) are not supported: return a new Tensor from "
            "forward instead of modifying an input"
        )

    def __repr__(self) -> str:
        return f"<{self._cls.__name__} ctx>"


# ---------------------------------------------------------------------- the graph node


class FunctionBackward(Node):
    """The node of one output of a Function call. ``ctx`` is the call's context; its
    attributes are readable on the node too (``y.grad_fn.constant``), as in PyTorch."""

    __slots__ = ()

    @property
    def ctx(self) -> FunctionCtx:
        return self.params["ctx"]

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        """The saved Tensors, as backward would see them (raises once freed)."""
        saved = self.saved
        if saved is _FREED:
            raise RuntimeError(_FREED_MESSAGE.format(name=type(self).__name__))
        if type(saved) is Packed:
            saved, _ = saved.unpack()
        return tuple(saved or ())

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            ctx = self.params["ctx"]
        except AttributeError:
            raise AttributeError(name) from None
        return getattr(ctx, name)


class DelayedErrorBackward(Node):
    """Stands behind a gradient computed by a ``once_differentiable`` backward under
    ``create_graph``: differentiating that gradient again reaches this node, which
    raises (the backward ran without recording, so its derivative is unknown)."""

    __slots__ = ()


class _DelayedErrorRule:
    __slots__ = ("message",)
    derivative = trusted = False
    needs_args: frozenset[int] = frozenset()
    needs_out = False
    names = ()
    fn = None

    def __init__(self, message: str) -> None:
        self.message = message

    def call(self, xp: Any, g: Any, saved: Any, out: Any, node: Node) -> NoReturn:
        raise RuntimeError(self.message)

    call_graph = call


class _Plan:
    """A SavePlan with given rules (the engine reads ``plan.rules``)."""

    __slots__ = ("keep", "out", "rules")
    last = -1  # no rule may write into its cotangent

    def __init__(self, rules: tuple[Any, ...]) -> None:
        self.keep = (False,) * len(rules)
        self.out = False
        self.rules = rules


# ---------------------------------------------------------------------- rules


class _BackwardRule:
    """Input ``i``'s VJP rule of output ``k``'s node: runs the user's backward (once for
    all inputs, cached on the ctx) and returns input ``i``'s gradient."""

    __slots__ = ("cls", "i", "k", "last")
    derivative = False
    kind = "vjp"
    trusted = False  # the user's backward: what it returns is never the engine's own
    needs_args: frozenset[int] = frozenset()
    needs_out = False
    names = ()

    def __init__(self, cls: type[Function], i: int, k: int, last: int) -> None:
        self.cls = cls
        self.i = i
        self.k = k
        self.last = last  # the highest argument index: after it the cache is dropped

    @property
    def fn(self) -> Callable[..., Any]:
        return self.cls.backward

    def call(self, xp: Any, g: Any, saved: Any, out: Any, node: Node) -> Any:
        gi = self._gradient(g, saved, node, False)
        return None if gi is None else gi._data

    def call_graph(self, xp: Any, g: Any, saved: Any, out: Any, node: Node) -> Tensor | None:
        return self._gradient(g, saved, node, True)

    def _gradient(self, g: Any, saved: Any, node: Node, create: bool) -> Tensor | None:
        ctx = node.params["ctx"]
        if not isinstance(node, FunctionBackward):
            # Forward mode deriving a JVP from this rule while the call is recorded: it
            # passes a view of the node and the call's arguments; the values saved for
            # backward are still on the ctx.
            return _run_backward(self.cls, ctx, None, self.k, g, ctx._to_save, create)[self.i]
        cache = ctx._cache
        if cache is not None and cache[0] == self.k and cache[1] is g:
            grads = cache[2]
        else:
            grads = _run_backward(self.cls, ctx, node, self.k, g, saved, create)
            ctx._cache = (self.k, g, grads)
        if self.i == self.last or all(n is None for n in node.next[self.i + 1:]):
            ctx._cache = None  # every rule of this node has had its gradient
        return grads[self.i]


class _JvpRule:
    """Input ``i``'s forward-mode rule of output ``k``'s node: the user's ``jvp`` with
    input ``i``'s tangent (zeros for the other Tensor inputs), output ``k`` of it."""

    __slots__ = ("cls", "i", "k")
    derivative = trusted = False
    kind = "jvp"
    needs_args: frozenset[int] = frozenset()
    needs_out = False
    names = ()

    def __init__(self, cls: type[Function], i: int, k: int) -> None:
        self.cls = cls
        self.i = i
        self.k = k

    @property
    def fn(self) -> Callable[..., Any]:
        return self.cls.jvp

    def call(self, xp: Any, t: Any, saved: Any, out: Any, node: Node) -> Any:
        return self._tangent(t, node, False)

    def call_graph(self, xp: Any, t: Any, saved: Any, out: Any, node: Node) -> Any:
        return self._tangent(t, node, True)

    def _tangent(self, t: Any, node: Node, graph: bool) -> Any:
        ctx = node.params["ctx"]
        raw = not isinstance(t, Tensor)
        tangents = []
        for j, meta in enumerate(ctx._arg_meta):
            if j == self.i:
                tangents.append(Tensor(t, meta[2]) if raw else t)
            elif meta is None:
                tangents.append(None)
            else:
                tangents.append(_zeros(meta))
        result = self.cls.jvp(ctx, *tangents)
        if len(ctx._out_meta) > 1:
            if not isinstance(result, tuple) or len(result) != len(ctx._out_meta):
                raise RuntimeError(
                    f"function {self.cls.__name__}.jvp returned {type(result).__name__}; it must "
                    f"return a tuple of {len(ctx._out_meta)} tangents, one per output of forward"
                )
            result = result[self.k]
        if not isinstance(result, Tensor):
            raise TypeError(
                f"function {self.cls.__name__}.jvp returned {type(result).__name__} for output "
                f"{self.k}; a tangent must be a Tensor"
            )
        return result._data if raw else result


# ---------------------------------------------------------------------- backward


def _zeros(meta: Meta) -> Tensor:
    shape, dtype, dev = meta
    return zeros(tuple(shape), dtype=dtype, device=dev)


def _run_backward(cls: type[Function], ctx: FunctionCtx, node: Node | None, k: int, g: Any, saved: Any,
                  create: bool) -> tuple[Tensor | None, ...]:
    """Call the user's backward for the gradient ``g`` of output ``k``; return one
    gradient per argument of forward (Tensors fitted to their inputs, or None)."""
    dev = ctx._out_meta[k][2]
    grads_out = []
    for j, meta in enumerate(ctx._out_meta):
        if j == k:
            grads_out.append(g if create else Tensor(g, dev))
        elif meta is not None and ctx._materialize:
            grads_out.append(_zeros(meta))
        else:
            grads_out.append(None)
    saved = _saved_tensors(ctx, node, saved, create)
    once = getattr(_user_backward(cls), "_xpgrad_once_differentiable", False)
    ctx._saved = saved
    try:
        if once:
            result = _run_once_differentiable(cls, ctx, grads_out, saved, create)
        else:
            result = _user_backward(cls)(ctx, *grads_out)
    finally:
        ctx._saved = None
    return _checked_gradients(cls, ctx, result)


def _user_backward(cls: type[Function]) -> Callable[..., Any]:
    """``backward``, or ``vjp`` where a subclass defines that name instead (PyTorch's alias)."""
    if cls.backward is Function.backward and cls.vjp is not Function.backward:
        return cls.vjp
    return cls.backward


def _saved_tensors(ctx: FunctionCtx, node: Node | None, saved: Any, create: bool) -> tuple[Any, ...]:
    """The saved values as backward sees them: under create_graph, a saved output is
    rebuilt as the output itself (with its node), so that it is differentiable."""
    if saved is None:
        return ()
    saved = tuple(saved)
    if node is None or not create or not any(j is not None for j in ctx._saved_outputs):
        return saved
    rebuilt = list(saved)
    for pos, j in enumerate(ctx._saved_outputs):
        if j is not None and rebuilt[pos] is not None:
            t = rebuilt[pos]
            rebuilt[pos] = Tensor(t._data, t._dev, _output_node(ctx, node, j))
    return tuple(rebuilt)


def _output_node(ctx: FunctionCtx, node: Node, j: int) -> Node:
    """The node of output ``j``: this one, or its sibling if still alive, or a fresh
    twin (same inputs and saved values) if the user dropped that output."""
    if node.op.k == j:
        return node
    ref = ctx._nodes[j]
    sibling = ref() if ref is not None else None
    if sibling is not None:
        return sibling
    op = _op_for(ctx._cls, len(node.next), j)
    return _new_node(op, node.next, node.saved, node.shapes, node.dtypes, node.params,
                     ctx._out_meta[j][2], node.epoch)


def _run_once_differentiable(cls: type[Function], ctx: FunctionCtx, grads_out: list[Any], saved: tuple[Any, ...],
                             create: bool) -> Any:
    """Backward on detached Tensors without recording; its gradients, if they depend on
    anything that requires grad, stand on a node that refuses a second differentiation."""
    sources = [t for t in (*grads_out, *saved) if isinstance(t, Tensor) and t._rg] if create else ()
    ctx._saved = tuple(t.detach() if isinstance(t, Tensor) else t for t in saved)
    with no_grad():
        result = _user_backward(cls)(ctx, *(t.detach() if isinstance(t, Tensor) else t for t in grads_out))
    if not sources:
        return result
    message = (
        f"trying to differentiate twice a function that was marked with @once_differentiable: "
        f"{cls.__name__}.backward ran without recording its own graph, so the gradients it "
        "returned cannot be differentiated again. Write its backward with differentiable "
        "Tensor ops and drop @once_differentiable to get higher-order gradients."
    )
    nxt = tuple(s._grad_fn or _accumulate_node(s) for s in sources)
    plan = _Plan(tuple(_DelayedErrorRule(message) for _ in sources))

    def delayed(r: Any) -> Any:
        if not isinstance(r, Tensor):
            return r
        node = new_node(DelayedErrorBackward, nxt, None, tuple(s._data.shape for s in sources),
                        tuple(s._data.dtype for s in sources), {}, plan, r._dev, INPLACE_EPOCH[0])
        return Tensor(r._data, r._dev, node)

    if isinstance(result, tuple):
        return tuple(delayed(r) for r in result)
    return delayed(result)


def _checked_gradients(cls: type[Function], ctx: FunctionCtx, result: Any) -> tuple[Tensor | None, ...]:
    """The user's backward result as one fitted gradient (or None) per argument,
    with an error naming the Function and the input for anything else."""
    metas = ctx._arg_meta
    n = len(metas)
    if not isinstance(result, tuple):
        result = (result,)
    if len(result) < n or any(r is not None for r in result[n:]):
        raise RuntimeError(
            f"function {cls.__name__}.backward returned an incorrect number of gradients "
            f"(expected {n}, got {len(result)}): return one per argument of forward, None for "
            "an argument that has no gradient"
        )
    grads: list[Tensor | None] = []
    for i, (r, meta) in enumerate(zip(result, metas)):
        if r is None or not ctx.needs_input_grad[i]:
            if r is not None and meta is None:
                raise RuntimeError(
                    f"function {cls.__name__}.backward returned a gradient different from None "
                    f"for input {i}, but that argument of forward is not a Tensor: return None for it"
                )
            grads.append(None)
            continue
        if not isinstance(r, Tensor):
            raise TypeError(
                f"function {cls.__name__}.backward returned {type(r).__name__} as the gradient "
                f"of input {i}; a gradient must be a Tensor (or None). Wrap arrays with "
                "xpgrad.tensor(...), or compute with Tensor ops"
            )
        grads.append(_fit(cls, r, meta, i))
    return tuple(grads)


def _fit(cls: type[Function], g: Tensor, meta: Meta, i: int) -> Tensor:
    """``g`` on input ``i``'s device and shape: a gradient of a broadcast shape is
    summed down (as for ops); anything else is an error naming the Function."""
    shape, dtype, dev = meta
    if g._dev is not dev:
        raise RuntimeError(
            f"function {cls.__name__}.backward returned a gradient on device {g._dev} for input "
            f"{i}, which is on {dev}: move it with .to({str(dev)!r})"
        )
    gshape, shape = tuple(g.shape), tuple(shape)
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    if lead >= 0 and all(s == 1 or s == gs for s, gs in zip(shape, gshape[lead:])):
        axes = tuple(range(lead)) + tuple(
            lead + d for d, s in enumerate(shape) if s == 1 and gshape[lead + d] != 1)
        g = xp.sum(g, axis=axes, keepdims=True)
        return xp.reshape(g, shape) if lead else g
    raise RuntimeError(
        f"function {cls.__name__}.backward returned a gradient of shape {gshape} for input "
        f"{i}, whose shape is {shape}: return a gradient of the input's shape"
    )


# ---------------------------------------------------------------------- making nodes


# Function subclass -> {(arity, output index): Op}
_OPS: weakref.WeakKeyDictionary[type[Function], dict[tuple[int, int], _FunctionOp]] = weakref.WeakKeyDictionary()


def _never(xp: Any, *arrays: Any, ctx: FunctionCtx | None = None) -> NoReturn:
    raise RuntimeError("a Function's op is recorded by Function.apply, never dispatched")


def _op_for(cls: type[Function], n: int, k: int) -> _FunctionOp:
    """The private Op of output ``k`` of ``cls`` called with ``n`` arguments: its node
    type and rules. Made once; nothing is registered."""
    ops = _OPS.get(cls)
    if ops is None:
        ops = _OPS[cls] = {}
    op = ops.get((n, k))
    if op is None:
        name = cls.__name__ if cls.__name__.isidentifier() else "Function"
        op = _FunctionOp(name, _never, None, node_name=f"{cls.__name__}Backward",
                doc=f"the custom Function {cls.__qualname__}")
        op.variadic = False
        op.argnames = tuple(f"x{i}" for i in range(n))
        op.differentiable = True
        op.plugin = f"autograd.Function {cls.__module__}.{cls.__qualname__}"
        op.rules = tuple(_BackwardRule(cls, i, k, n - 1) for i in range(n))
        has_jvp = getattr(cls, "jvp", None) is not Function.jvp
        op.jvp_rules = tuple(_JvpRule(cls, i, k) for i in range(n)) if has_jvp else None
        op.node_type = type(f"{cls.__name__}Backward", (FunctionBackward,),
                            {"__slots__": (), "_op": op, "__module__": cls.__module__})
        op.k = k
        ops[(n, k)] = op
    return op


class _FunctionOp(Op):
    """An Op that also knows which output of its Function it differentiates."""

    __slots__ = ("k",)
    k: int


def _new_node(op: _FunctionOp, nxt: tuple[Any, ...], saved: Any, shapes: tuple[Any, ...], dtypes: tuple[Any, ...],
              params: dict[str, Any], dev: Device, epoch: int) -> Node:
    return new_node(op.node_type, nxt, saved, shapes, dtypes, params, _Plan(op.rules), dev, epoch)


# ---------------------------------------------------------------------- Function


class Function:
    """Base class of differentiable functions defined by their forward and backward.

    Subclasses define static methods:

    ``forward(ctx, *args, **kwargs)``
        Computes the outputs (a Tensor, or a tuple of them) from Tensors and any other
        Python values. It runs without recording a graph, on the Tensors passed to
        :meth:`apply`, so it may call any code: Tensor ops, or NumPy/SciPy on
        ``t.numpy()`` results wrapped back with ``xpgrad.tensor``.
    ``backward(ctx, *grad_outputs)``
        Receives one gradient per output (Tensors) and returns one gradient per
        argument of forward (a Tensor of the argument's shape, or None). Under
        ``create_graph=True`` it runs with grad mode on, so a backward made of Tensor
        ops is itself differentiable; see :func:`once_differentiable` for one that is not.
    ``jvp(ctx, *tangents)`` (optional)
        Forward mode: receives one tangent per argument (None for a non-Tensor) and
        returns the outputs' tangents.

    Call the function with ``MyFunction.apply(*args)``.

    Examples
    --------
    >>> class Square(xpgrad.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x * x
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         (x,) = ctx.saved_tensors
    ...         return 2 * x * g
    >>> x = xpgrad.tensor([3.0], requires_grad=True)
    >>> Square.apply(x).backward(); x.grad
    tensor([6.])
    """

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        """Compute the outputs from the arguments; a subclass must define it (see the class docstring)."""
        raise NotImplementedError("a Function subclass must define a static forward(ctx, *args)")

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        """Compute one gradient per argument of ``forward`` from one gradient per output.

        A subclass defines it to be differentiated (see the class docstring); ``vjp``
        is the same method, by PyTorch's other name.
        """
        raise NotImplementedError(
            "a Function subclass must define a static backward(ctx, *grad_outputs) to be "
            "differentiated"
        )

    vjp = backward  # PyTorch's alias

    @staticmethod
    def jvp(ctx: Any, *tangents: Any) -> Any:
        """Compute the outputs' tangents from one tangent per argument, for forward mode (optional)."""
        raise NotImplementedError("this Function defines no jvp(ctx, *tangents) for forward mode")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __call__(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise RuntimeError(
            f"{type(self).__name__} is called through the class: {type(self).__name__}.apply(*args), "
            "with static forward and backward methods (the instance-call style is gone)"
        )

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward`` on ``args`` and record the call in the graph."""
        ctx = FunctionCtx(cls, args)
        recording = GRAD_ENABLED.get()
        needs = tuple(recording and isinstance(a, Tensor) and a._rg for a in args)
        ctx.needs_input_grad = needs
        token = GRAD_ENABLED.set(False)
        try:
            outputs = cls.forward(ctx, *args, **kwargs)
        finally:
            GRAD_ENABLED.reset(token)
        if not any(needs):
            return outputs
        return _record(cls, ctx, args, outputs)


def _record(cls: type[Function], ctx: FunctionCtx, args: tuple[Any, ...], outputs: Any) -> Any:
    """Give the differentiable outputs of a call their nodes; return the outputs."""
    single = not isinstance(outputs, tuple)
    outs = (outputs,) if single else outputs
    for j, o in enumerate(outs):
        if o is not None and not isinstance(o, Tensor):
            raise TypeError(
                f"function {cls.__name__}.forward returned {type(o).__name__} as output {j}; "
                "outputs must be Tensors (wrap arrays with xpgrad.tensor(...))"
            )
    ctx._out_meta = tuple(
        None if o is None else (o._data.shape, o._data.dtype, o._dev) for o in outs)
    non_diff = ctx._non_differentiable
    epoch = INPLACE_EPOCH[0]
    # Fresh output Tensors: forward may return an input or a Tensor it keeps elsewhere.
    finals: list[Any]  # Tensors, None for a None output
    diff: list[bool]
    finals, diff = [], []
    for o in outs:
        if o is None:
            finals.append(None)
            diff.append(False)
            continue
        t = Tensor(o._data, o._dev)
        finals.append(t)
        diff.append(not any(o is m for m in non_diff) and t._is_floating())
    saved, saved_outputs = _saved_entries(ctx, args, outs, finals, epoch)
    ctx._saved_outputs = saved_outputs
    n = len(args)
    nxt = tuple((a._grad_fn or _accumulate_node(a)) if need else None
                for a, need in zip(args, ctx.needs_input_grad))
    shapes = tuple(a._data.shape if need else None for a, need in zip(args, ctx.needs_input_grad))
    dtypes = tuple(a._data.dtype if need else None for a, need in zip(args, ctx.needs_input_grad))
    params = {"ctx": ctx}
    nodes: list[Node | None] = []
    first = None
    for k, t in enumerate(finals):
        if not diff[k]:
            nodes.append(None)
            continue
        node = _new_node(_op_for(cls, n, k), nxt, saved, shapes, dtypes, params, t._dev, epoch)
        t._grad_fn = node
        t._rg = True
        nodes.append(node)
        if first is not None:
            # Share what the first node's hooks made of the saved values (packed once).
            node.saved = first.saved
        if RECORD_HOOKS:
            for hook in tuple(RECORD_HOOKS):
                hook(node, t, args)
        first = first or node
    ctx._nodes = tuple(None if nd is None else weakref.ref(nd) for nd in nodes)
    ctx._to_save = None  # the nodes hold the saved Tensors now; ctx must not (cycles)
    ctx._for_forward = None
    return finals[0] if single else tuple(finals)


def _saved_entries(ctx: FunctionCtx, args: tuple[Any, ...], outs: tuple[Any, ...], finals: list[Any],
                   epoch: int) -> tuple[tuple[Any, ...] | None, tuple[int | None, ...]]:
    """The node's ``saved`` tuple and, per entry, the output it is (or None).

    A saved output is kept as a Tensor without a node (a node holding its own output
    would be a reference cycle) sharing the output's version counter, so an in-place
    change of the output is still detected; it is rebuilt with its node for create_graph.
    """
    to_save = ctx._to_save
    if not to_save:
        return None, ()
    entries, which = [], []
    for s in to_save:
        j = None
        if s is not None and not any(s is a for a in args):
            j = next((k for k, o in enumerate(outs) if s is o), None)
        if j is None:
            entries.append(s)
        else:
            final = finals[j]
            if final._vc is None:
                final._vc = [epoch]
            kept = Tensor(final._data, final._dev)
            kept._vc = final._vc
            entries.append(kept)
        which.append(j)
    return tuple(entries), tuple(which)


def once_differentiable(fn: Callable[..., _R]) -> Callable[..., _R]:
    """Decorate a Function's backward that is not itself differentiable, as PyTorch's.

    Such a backward leaves Tensor ops (for NumPy or SciPy, say). It then runs on
    detached Tensors without recording, and differentiating its gradients again raises
    a clear error instead of returning a wrong (zero) result.

    Use it below ``@staticmethod``::

        @staticmethod
        @once_differentiable
        def backward(ctx, grad_output): ...
    """

    @functools.wraps(fn)
    def wrapper(ctx: Any, *grad_outputs: Any) -> _R:
        return fn(ctx, *grad_outputs)

    wrapper._xpgrad_once_differentiable = True  # type: ignore[attr-defined]
    return wrapper
