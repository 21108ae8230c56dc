"""Graph nodes: one per recorded op call, plus one AccumulateGrad per leaf.

A node points at the nodes of its inputs (``next``), never at its own output Tensor:
output -> node -> output would be a reference cycle, and every graph would then wait for
the cyclic garbage collector. The inputs the VJP rules name are kept as they were passed
(``saved``: Tensors, whose arrays plain backward reads, or Python scalars); the output is
kept as a raw array and rebuilt into a Tensor only when a double backward asks for it.
"""
from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, Any

from xpgrad.plugins.codegen import define

if TYPE_CHECKING:
    from xpgrad.plugins.op import Op

    from .device import Device

__all__ = ["Node", "AccumulateGrad", "RemovableHandle", "Packed", "new_node", "node_source", "walk"]

_FREED = object()  # marks saved values released after a backward without retain_graph


class Packed:
    """A node's saved values as ``saved_tensors_hooks`` packed them.

    ``saved`` is the node's tuple with each Tensor replaced by what ``pack`` returned
    (other entries kept), ``out`` the packed output (or None); the engine calls
    :meth:`unpack` just before the node's rules run. ``tensor_type`` is the Tensor class
    ``unpack`` must return (given by the maker, so that this module needs no Tensor).
    """

    __slots__ = ("saved", "out", "unpack_fn", "packed_mask", "dev", "tensor_type")

    def __init__(self, saved, out, unpack_fn, packed_mask, dev, tensor_type):
        self.saved = saved
        self.out = out
        self.unpack_fn = unpack_fn
        self.packed_mask = packed_mask  # per entry of saved: whether pack() made it
        self.dev = dev
        self.tensor_type = tensor_type

    def unpack(self):
        """``(saved, out)`` as the rules expect them.

        Tensors are back in ``saved``, and the output is a raw array.
        """
        fn = self.unpack_fn
        kind = self.tensor_type
        saved = self.saved
        if saved is not None:
            saved = tuple(_unpacked(fn(v), kind) if p else v for v, p in zip(saved, self.packed_mask))
        out = self.out
        if out is not None:
            out = _unpacked(fn(out), kind)._data
        return saved, out


def _unpacked(value, Tensor):
    if not isinstance(value, Tensor):
        raise TypeError(
            f"a saved_tensors_hooks unpack hook returned {type(value).__name__}; it must "
            "return a Tensor (the one pack received, or an equal one)"
        )
    return value


class RemovableHandle:
    """What ``register_hook`` returns: ``handle.remove()`` takes the hook away again."""

    __slots__ = ("_hooks", "_fn")

    def __init__(self, hooks, fn):
        self._hooks = hooks
        self._fn = fn

    def remove(self):
        """Take the hook away; removing it again does nothing, as in PyTorch."""
        if self._fn in self._hooks:  # removing twice is allowed, as in PyTorch
            self._hooks.remove(self._fn)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class Node:
    """The backward of one op call. Subclassed per op as ``<Op>Backward``.

    ``next_functions`` is the PyTorch view of the graph: one ``(node, 0)`` pair per
    argument, ``(None, 0)`` for an argument that needs no gradient, and an
    ``AccumulateGrad`` node for a leaf that requires grad.
    """

    __slots__ = ("next", "saved", "out", "shapes", "dtypes", "params", "plan",
                 "dev", "epoch", "out_vc", "hooks", "__weakref__")
    _op: Op | None = None  # the Op, set on each per-op subclass
    # the fields (NODE_FIELDS, below), for type checkers
    next: tuple[Node | None, ...]
    saved: Any  # a tuple, a Packed, _FREED or None
    out: Any
    shapes: tuple[Any, ...]
    dtypes: tuple[Any, ...]
    params: Any
    plan: Any
    dev: Device
    epoch: int
    out_vc: list[int] | None
    hooks: Any  # a list of callables, or None

    # Nodes are made by new_node (below), or by the dispatcher's generated recorders,
    # which inline the same assignments (node_source): one description of a node.

    def name(self):
        """The name of the node's class, such as ``"MulBackward"``, as PyTorch's ``grad_fn.name()``."""
        return type(self).__name__

    @property
    def op(self):
        """The :class:`xpgrad.plugins.op.Op` whose backward this node is (None for a leaf's node)."""
        return self._op

    @property
    def next_functions(self):
        """The nodes of this node's inputs, one ``(node, 0)`` pair per argument, as in PyTorch.

        ``(None, 0)`` stands for an argument that needs no gradient.
        """
        return tuple((n, 0) for n in self.next)

    @property
    def previous_functions(self):
        """The pre-0.4 PyTorch view: a leaf appears as the Tensor itself."""
        return tuple(
            (n.variable if type(n) is AccumulateGrad else n, 0) for n in self.next
        )

    @property
    def metadata(self):
        """An empty dict, for code that reads PyTorch's ``metadata``.

        Unlike PyTorch's, it is a new dict each time: what is written into it is not kept.
        """
        return {}

    def register_prehook(self, fn):
        """Call ``fn(grad)`` on the gradient flowing into this node; see Tensor.register_hook."""
        if self.hooks is None:
            self.hooks = []
        self.hooks.append(fn)
        return RemovableHandle(self.hooks, fn)

    @property
    def freed(self):
        """Whether a backward without ``retain_graph`` has released this node's saved values."""
        return self.saved is _FREED

    def __repr__(self):
        return f"<{type(self).__name__} object at {id(self):#x}>"


class AccumulateGrad(Node):
    """The node of a leaf Tensor that requires grad: adds incoming gradients to ``.grad``.

    The leaf holds its AccumulateGrad strongly; the node holds the leaf weakly, so no
    cycle forms and a leaf the user dropped simply receives nothing. ``lock`` makes each
    accumulation into ``.grad`` atomic, so that backward passes running in several
    threads at once lose no gradient (PyTorch holds a mutex per AccumulateGrad too).
    """

    __slots__ = ("_var", "lock")

    def __init__(self, tensor):
        self.lock = threading.Lock()
        self.next = ()
        self.saved = self.out = None
        self.hooks = None
        self._var = weakref.ref(tensor)
        self.dev = tensor._dev
        self.shapes = (tensor._data.shape,)
        self.dtypes = (tensor._data.dtype,)

    @property
    def variable(self):
        """The leaf Tensor this node accumulates into (None once it is gone), as PyTorch's ``variable``."""
        return self._var()


def walk(roots):
    """Every node reachable from ``roots``, each once, depth first.

    ``roots`` holds nodes, or None for none. A node comes before the nodes of its
    inputs. Iterative, so a graph of any depth.
    """
    seen = set()
    stack = [r for r in roots if r is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        stack.extend(n for n in node.next if n is not None)


# ---------------------------------------------------------------------- making nodes
# What a node holds, in the order its maker fills it: the nodes of its inputs (next),
# what its rules read (saved: Tensors or Python scalars), the inputs' shapes and dtypes,
# the op's params, its save plan, its device, the in-place epoch it was recorded at, the
# output if a rule reads it (out: the raw array) and that output's version counter, and
# its hooks. A field not given takes its default.
NODE_FIELDS = ("next", "saved", "shapes", "dtypes", "params", "plan", "dev", "epoch", "out", "out_vc",
               "hooks")
_DEFAULTS = {"out": "None", "out_vc": "None", "hooks": "None"}


def node_source(var, cls, indent="    ", **fields):
    """The lines of Python that make ``var``, a node of class ``cls``, and fill every
    field from ``fields`` (source text) or its default: the one description of a node,
    used by :func:`new_node` and inlined by the dispatcher's generated recorders."""
    missing = set(NODE_FIELDS) - set(fields) - set(_DEFAULTS)
    if missing:
        raise TypeError(f"node_source: no value for {sorted(missing)}")
    lines = [f"{indent}{var} = new({cls})"]
    lines += [f"{indent}{var}.{name} = {fields.get(name, _DEFAULTS.get(name))}" for name in NODE_FIELDS]
    return lines


def _make_new_node():
    args = ", ".join(f for f in NODE_FIELDS if f not in _DEFAULTS)
    source = "\n".join([f"def new_node(cls, {args}, out=None, out_vc=None):"]
                        + node_source("node", "cls", **{f: f for f in NODE_FIELDS if f != "hooks"})
                        + ["    return node", ""])
    return define(source, "<xpgrad: new_node>", {"new": object.__new__})["new_node"]


#: ``new_node(cls, next, saved, shapes, dtypes, params, plan, dev, epoch, out=None,
#: out_vc=None)``: the node of class ``cls`` (a Node subclass), every field filled.
new_node = _make_new_node()
