"""Moving data between devices, on purpose, and recorded in the graph.

The dispatcher requires every Tensor argument of an op to live on one device and builds
the result there (a mix is a DeviceError); nothing ever crosses devices behind the
user's back. Crossing is this module's job alone, and only when asked:
``Tensor.to(device)``, ``to_device``, ``cpu()``, ``cuda()`` and ``xpgrad.tensor(data,
device=other)``.

How an array moves (:func:`move_array`):

- between two devices of one backend, with the backend's ``to_device``;
- between two backends (NumPy <-> array-api-strict, NumPy <-> CuPy), with the target
  backend's ``from_foreign``: DLPack where the two libraries can, else by way of a NumPy
  copy on the host.

Either way the result is a copy, never a view of the source.

How a move is differentiated: the copy is a graph node, :class:`ToCopyBackward`, whose
VJP moves the gradient back to the source device. Its place is the *target* device
(``node.dev``): that is where the gradient flowing into it lives, so hooks and
``retain_grad`` on the moved Tensor see it where the Tensor is. The node keeps no array,
only the source Device (``node.params["source"]``); the rule moves ``g`` explicitly,
with :func:`move_array` on raw arrays in plain backward and with :func:`to_device` (so
recorded, for higher orders) under ``create_graph``.
"""
from .device import DeviceError, get_device
from .grad_mode import GRAD_ENABLED
from .node import Node, new_node
from .tensor import INPLACE_EPOCH, Tensor, _accumulate_node

__all__ = ["to_device", "move_array", "ToCopyBackward"]


def move_array(raw, src, dst):
    """A copy of ``raw``, an array on Device ``src``, on Device ``dst``."""
    if src is dst:
        return dst.xp.asarray(raw, copy=True)
    try:
        if src.backend is dst.backend:
            out = dst.backend.to_device(raw, dst.name)
        else:
            out = dst.backend.from_foreign(raw, dst.name, src.backend)
    except DeviceError:
        raise
    except Exception as exc:
        raise DeviceError(f"cannot move an array from {src} to {dst}: {type(exc).__name__}: {exc}") from exc
    if type(out) is not dst.array_type:
        out = dst.backend.coerce(out)
    return out


class _MoveBack:
    """The VJP rule of a device move, in the engine's rule calling convention
    (``xpgrad.rules.Rule``): the gradient, moved from the node's device to the source."""

    __slots__ = ()
    needs_args = frozenset()
    needs_out = False

    trusted = True  # a move is a copy: what it returns is the walk's own
    derivative = False

    @staticmethod
    def call(xp, g, saved, out, node):
        return move_array(g, node.dev, node.params["source"])

    @staticmethod
    def call_graph(xp, g, saved, out, node):
        return to_device(g, node.params["source"])


class _Plan:
    __slots__ = ()
    keep = (False,)
    out = False
    rules = (_MoveBack(),)
    last = -1  # no rule may write into its cotangent


_PLAN = _Plan()


class ToCopyBackward(Node):
    """The backward of a device move: sends the gradient back to the source device.

    ``dev`` is the device moved to (where its incoming gradient lives);
    ``params["source"]`` the Device moved from (where the gradient it passes on lives).
    """

    __slots__ = ()

    @property
    def metadata(self):
        return {"source": self.params["source"], "target": self.dev}


def to_device(t, device):
    """``t`` on ``device``: ``t`` itself if it is there already, else a copy there.

    The copy is recorded (a :class:`ToCopyBackward` node) when grad mode is on and ``t``
    requires grad, so gradients flow back to ``t``'s own device.
    """
    dst = get_device(device)
    src = t._dev
    if dst is src:
        return t
    raw = move_array(t._data, src, dst)
    out = Tensor(raw, dst)
    if t._rg and GRAD_ENABLED.get():
        out._grad_fn = new_node(ToCopyBackward, (t._grad_fn or _accumulate_node(t),), None,
                                (t._data.shape,), (t._data.dtype,), {"source": src}, _PLAN, dst,
                                INPLACE_EPOCH[0])
        out._rg = True
    return out
