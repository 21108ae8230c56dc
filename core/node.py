"""Graph nodes: one per recorded op call, plus one AccumulateGrad per leaf.

A node points at the nodes of its inputs (``next``), never at its own output Tensor:
output -> node -> output would be a reference cycle, and every graph would then wait for
the cyclic garbage collector. The inputs the VJP rules name are kept as they were passed
(``saved``: Tensors, whose arrays plain backward reads, or Python scalars); the output is
kept as a raw array and rebuilt into a Tensor only when a double backward asks for it.
"""
import threading
import weakref

__all__ = ["Node", "AccumulateGrad", "RemovableHandle", "Packed"]

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
        """``(saved, out)`` as the rules expect them: Tensors back in ``saved``, and the
        output as a raw array."""
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
        try:
            self._hooks.remove(self._fn)
        except ValueError:
            pass

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
    _op = None  # the Op, set on each per-op subclass

    # Nodes are made by the dispatcher's generated recorders, which fill these slots
    # directly (xpgrad.dispatch._make_recorder): next, saved, out, shapes, dtypes,
    # params, plan, dev, epoch (the in-place epoch at recording), out_vc, hooks.

    def name(self):
        return type(self).__name__

    @property
    def op(self):
        return self._op

    @property
    def next_functions(self):
        return tuple((n, 0) for n in self.next)

    @property
    def previous_functions(self):
        """The pre-0.4 PyTorch view: a leaf appears as the Tensor itself."""
        return tuple(
            (n.variable if type(n) is AccumulateGrad else n, 0) for n in self.next
        )

    @property
    def metadata(self):
        return {}

    def register_prehook(self, fn):
        """Call ``fn(grad)`` on the gradient flowing into this node; see Tensor.register_hook."""
        if self.hooks is None:
            self.hooks = []
        self.hooks.append(fn)
        return RemovableHandle(self.hooks, fn)

    def release(self):
        """Free what was saved for backward (after a backward without retain_graph)."""
        if self.saved is not None or self.out is not None:
            self.saved = self.out = _FREED

    @property
    def freed(self):
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
        return self._var()

    def release(self):
        pass
