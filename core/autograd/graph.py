"""``xpgrad.autograd.graph``: hooks on what the graph saves for backward.

``saved_tensors_hooks(pack, unpack)`` decides how the values a graph node keeps for its
backward are stored: ``pack(t)`` runs when the node is recorded, for every Tensor it
saves (and its output, if a rule reads it), and may return anything (a copy on another
device, a compressed array, a file name); ``unpack(packed)`` runs when backward needs
the value and must return a Tensor equal to the one pack received.
"""
from __future__ import annotations

import contextvars
import threading
from typing import TYPE_CHECKING, Any

from xpgrad import dispatch
from xpgrad.node import _FREED, Packed
from xpgrad.tensor import Tensor

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Literal

    from xpgrad.device import Device
    from xpgrad.node import Node

    #: ``(pack_hook, unpack_hook)``
    Hooks = tuple[Callable[[Tensor], Any], Callable[[Any], Tensor]]

__all__ = ["saved_tensors_hooks", "save_on_device"]

# The active (pack, unpack) pairs of this thread or task, innermost last. Only the
# innermost pair applies, as in PyTorch: hooks do not compose.
_HOOKS: contextvars.ContextVar[tuple[Hooks, ...]] = contextvars.ContextVar("xpgrad_saved_tensors_hooks", default=())
_ACTIVE = [0]  # contexts entered in any thread: the record hook is installed while > 0
_LOCK = threading.Lock()


def _pack_node(node: Node, out: Tensor, args: tuple[Any, ...]) -> None:
    """The record hook: replace the node's saved values by what pack() made of them."""
    hooks = _HOOKS.get()
    if not hooks:
        return
    saved = node.saved
    if type(saved) is Packed or saved is _FREED:
        return
    pack, unpack = hooks[-1]
    raw_out = node.out
    if saved is None and raw_out is None:
        return
    mask = () if saved is None else tuple(type(v) is Tensor for v in saved)
    if raw_out is None and True not in mask:
        return  # only Python scalars saved: nothing for the hooks
    # The ops pack itself runs (a move, a cast) are recorded as usual, so a saved input
    # keeps its path to the graph for create_graph; their own saved values are not
    # packed again, or a pack that saves would recurse forever.
    token = _HOOKS.set(())
    try:
        packed = None if saved is None else tuple(pack(v) if m else v for v, m in zip(saved, mask))
        packed_out = None if raw_out is None else pack(Tensor(raw_out, node.dev))
    finally:
        _HOOKS.reset(token)
    node.saved = Packed(packed, packed_out, unpack, mask, node.dev, Tensor)
    node.out = None


def _watching() -> bool:
    """Whether pack hooks see this thread's (or task's) op arguments (see dispatch)."""
    return bool(_HOOKS.get())


_pack_node.watching = _watching  # type: ignore[attr-defined]


class saved_tensors_hooks:
    """Context manager that transforms the values graph nodes save for backward, as PyTorch's.

    They are packed with ``pack_hook`` when an op is recorded, and unpacked with
    ``unpack_hook`` when backward runs, as by ``torch.autograd.graph.saved_tensors_hooks``.

    Parameters
    ----------
    pack_hook : callable
        ``pack_hook(tensor) -> object``, called once per saved Tensor when the op is
        recorded (inside the context).
    unpack_hook : callable
        ``unpack_hook(object) -> Tensor``, called when backward reads the value (even
        after the context exited); it must return a Tensor with the original's shape,
        dtype and device.

    Notes
    -----
    Contexts nest; the innermost one applies. The setting is local to the thread (or
    asyncio task) that entered it. Nodes recorded inside keep their hooks for good.

    Examples
    --------
    Keep float64 saved values in float32, halving a graph's memory:

    >>> def pack(t):
    ...     return t.to(xpgrad.float32)
    >>> def unpack(t):
    ...     return t.to(xpgrad.float64)
    >>> with xpgrad.autograd.graph.saved_tensors_hooks(pack, unpack):
    ...     y = (x * x).sum()
    """

    def __init__(self, pack_hook: Callable[[Tensor], Any], unpack_hook: Callable[[Any], Tensor]) -> None:
        if not callable(pack_hook) or not callable(unpack_hook):
            raise TypeError("saved_tensors_hooks takes two callables: pack_hook(t) and unpack_hook(packed)")
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook
        self._tokens: list[contextvars.Token[tuple[Hooks, ...]]] = []

    def __enter__(self) -> saved_tensors_hooks:
        self._tokens.append(_HOOKS.set(_HOOKS.get() + ((self.pack_hook, self.unpack_hook),)))
        with _LOCK:
            _ACTIVE[0] += 1
            if _pack_node not in dispatch.RECORD_HOOKS:
                dispatch.RECORD_HOOKS.append(_pack_node)
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        _HOOKS.reset(self._tokens.pop())
        with _LOCK:
            _ACTIVE[0] -= 1
            if not _ACTIVE[0] and _pack_node in dispatch.RECORD_HOOKS:
                dispatch.RECORD_HOOKS.remove(_pack_node)
        return False


class save_on_device(saved_tensors_hooks):
    """Keep the saved values on ``device`` and move them back when backward needs them.

    ``device`` is, for example, ``"cpu"`` (host memory) for a graph computed on a GPU;
    backward gets each value back on the device it was saved from.

    Examples
    --------
    >>> with xpgrad.autograd.graph.save_on_device("cpu"):
    ...     loss = model(x_on_gpu)
    >>> loss.backward()      # saved values come back to the GPU one node at a time
    """

    def __init__(self, device: Device | str = "cpu") -> None:
        def pack(t: Tensor) -> tuple[Device, Tensor]:
            return (t._dev, t.to(device))

        def unpack(packed: tuple[Device, Tensor]) -> Tensor:
            home, t = packed
            return t.to(home)

        super().__init__(pack, unpack)
