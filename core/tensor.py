"""The Tensor: a backend array, where it lives, and its place in the graph.

Tensor is both faces of xpgrad at once: a conforming array API array object (operators,
``shape``, ``dtype``, ``device``, ``mT``, ``__array_namespace__``) and the PyTorch-style
autograd tensor the tutorials use (``backward``, ``grad``, ``grad_fn``, ``data``,
``requires_grad_``, ``sum(dim=...)``). Every computation goes through the dispatcher, so
built-in ops and third-party plugins are reached the same way.

This module is the data and the graph: what a Tensor holds, its version, how it prints,
its hooks. It imports nothing that computes, so that the dispatcher, the engine and the
namespace can build on it; the methods that compute (operators, indexing, in-place ops,
``backward``, moves, the PyTorch methods) are defined in ``xpgrad.methods`` and installed
onto the class from there.
"""
from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, Any, overload

from .dtypes import of_native
from .node import AccumulateGrad
from .printing import tensor_repr

if TYPE_CHECKING:
    from collections.abc import Callable

    from numpy.typing import NDArray

    from .device import Device
    from .node import Node, RemovableHandle
    from .views import ViewInfo

__all__ = ["Tensor"]

# Bumped by every in-place op on any Tensor. A node remembers the value it saw when it was
# recorded; if nothing was modified in place since (the common case) backward skips the
# per-Tensor version checks entirely.
INPLACE_EPOCH = [0]
# Bumping the epoch and a version counter is a read-modify-write: under a lock, so that
# two threads writing in place never lose a bump (a lost one would let backward skip
# the version check of a node that saved what was written).
_EPOCH_LOCK = threading.Lock()


_ACCUM_LOCK = threading.Lock()


def _shared_version(t: Tensor) -> list[int]:
    """``t``'s version counter, made (once, whichever thread asks first) if it has none,
    for an alias that is to share it."""
    vc = t._vc
    if vc is None:
        with _EPOCH_LOCK:
            vc = t._vc
            if vc is None:
                vc = t._vc = [0]
    return vc


def _accumulate_node(t: Tensor) -> AccumulateGrad:
    node = t._accum
    if node is None:
        with _ACCUM_LOCK:  # one node per leaf, even when threads record on it at once
            node = t._accum
            if node is None:
                node = t._accum = AccumulateGrad(t)
    return node


class _RetainGrad:
    """The hook ``retain_grad()`` installs; the engine runs it after the user's hooks."""

    __slots__ = ("ref", "lock")

    def __init__(self, t: Tensor) -> None:
        self.ref = weakref.ref(t)
        self.lock = threading.Lock()  # backward may run in several threads at once

    def __call__(self, g: Tensor) -> None:
        t = self.ref()
        if t is not None:
            with self.lock:
                if t._grad is None:  # a copy: the gradient flows on (a clone in the graph)
                    t._grad = g.clone() if g._grad_fn is not None else Tensor(
                        t._dev.xp.asarray(g._data, copy=True), t._dev)
                else:
                    t._grad = t._grad + g


def _dims(args: tuple[Any, ...], what: str) -> tuple[int, ...]:
    """Accept both f(2, 3) and f((2, 3)), as PyTorch does."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    for a in args:
        if not isinstance(a, int) or isinstance(a, bool):
            raise TypeError(f"{what} takes integer sizes, got {a!r}")
    return tuple(args)


class _Size(int):
    """``Tensor.size``: the number of elements, as the standard has it, that can also be
    called as PyTorch's ``size()`` method (the shape, or one dimension of it)."""

    _shape: tuple[int, ...]

    def __new__(cls, n: int, shape: tuple[int, ...]) -> _Size:
        self = super().__new__(cls, n)
        self._shape = shape
        return self

    @overload
    def __call__(self, dim: None = None) -> tuple[int, ...]: ...
    @overload
    def __call__(self, dim: int) -> int: ...

    def __call__(self, dim: int | None = None) -> tuple[int, ...] | int:
        return self._shape if dim is None else self._shape[dim]




if TYPE_CHECKING:
    # Type checkers and editors see Tensor's computing methods as inherited from the class
    # that defines them; at run time xpgrad.methods copies them onto Tensor when xpgrad is
    # imported (that module needs the dispatcher, which needs Tensor).
    from .methods import TensorMethods as _Methods
else:
    _Methods = object


class Tensor(_Methods):
    """An array from any array API backend, with reverse-mode automatic differentiation.

    Make one with :func:`xpgrad.tensor` (or ``ones``, ``randn``, ...). ``Tensor(data)``
    also works, as ``torch.Tensor(data)`` does, and gives float32 for Python data
    (on ``device=`` if given).
    """

    # _vc: the version counter, a one-element list shared by every alias of the same
    # memory (views, detach()); _view: for a view, its ViewInfo (xpgrad.views); _views:
    # for a root that has views, weak references to them; _own: whether _data is memory
    # xpgrad allocated as an op's result (the dispatcher sets it), the only memory that
    # temporaries may ever reuse (xpgrad.temporaries).
    __slots__ = ("_data", "_dev", "_grad_fn", "_rg", "_grad", "_vc", "_accum", "_view", "_views",
                 "_own", "__weakref__")
    _data: Any  # the backend's array
    _dev: Device
    _grad_fn: Node | None
    _rg: bool
    _grad: Tensor | None
    _vc: list[int] | None
    _accum: AccumulateGrad | None
    _view: ViewInfo | None
    _views: list[weakref.ref[Tensor]] | None
    _own: bool
    __array_priority__ = 1000
    # NumPy's operators and ufuncs give way to Tensor's (reflected) operators, so that
    # ``numpy.float64(2) * t`` is a Tensor, and ``ndarray * t`` is an error, not an object
    # array of Tensors or a silent conversion that loses the graph.
    __array_ufunc__ = None

    def __init__(self, data: Any, dev: Device | None = None, grad_fn: Node | None = None, *,
                 device: Device | str | None = None) -> None:
        if dev is None:  # Python data or a foreign array (xpgrad.methods installs _from_data)
            data, dev = self._from_data(data, device)
        elif type(data) is not dev.array_type:
            data = dev.backend.coerce(data)
        self._data = data
        self._dev = dev
        self._grad_fn = grad_fn
        self._rg = grad_fn is not None
        self._grad = None
        self._vc = None
        self._accum = None
        self._view = self._views = None
        self._own = False

    # ------------------------------------------------------------------ the graph

    @property
    def requires_grad(self) -> bool:
        """Whether autograd records the ops on this Tensor, as ``torch.Tensor.requires_grad``.

        Settable on a leaf (``t.requires_grad = True`` is :meth:`requires_grad_`); a
        Tensor computed under grad mode from one that requires grad requires grad too.
        """
        return self._rg

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set whether autograd records ops on this leaf; returns self."""
        if requires_grad is not True and requires_grad is not False:
            raise TypeError(_not_a_bool(requires_grad))
        if self._grad_fn is not None:
            if not requires_grad:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables: this Tensor "
                    f"was computed by {type(self._grad_fn).__name__}. If you want to use it "
                    "without gradients, use t.detach()."
                )
            return self
        if requires_grad and not self._is_floating():
            raise RuntimeError(
                f"only Tensors of floating point or complex dtype can require gradients; this "
                f"one is {self._data.dtype}. Convert it first, e.g. t.to(xpgrad.float32)."
            )
        self._rg = requires_grad
        return self

    def _is_floating(self) -> bool:
        return self._dev.xp.isdtype(self._data.dtype, ("real floating", "complex floating"))

    @property
    def grad(self) -> Tensor | None:
        """The gradient that backward accumulated into this Tensor, or None, as ``torch.Tensor.grad``.

        Filled on leaves that require grad, and on other Tensors after
        :meth:`retain_grad`. It may be assigned a Tensor of this Tensor's shape and
        device, or None (as ``zero_grad(set_to_none=True)`` does).
        """
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad must be a Tensor or None, got {type(value).__name__}")
            if tuple(value.shape) != tuple(self.shape):
                raise RuntimeError(
                    f"assigned grad has shape {tuple(value.shape)}, but the Tensor has shape {tuple(self.shape)}"
                )
            if value._dev is not self._dev:
                raise RuntimeError(f"assigned grad is on {value._dev}, but the Tensor is on {self._dev}")
        self._grad = value

    @property
    def grad_fn(self) -> Node | None:
        """The graph node that computed this Tensor, or None for a leaf, as ``torch.Tensor.grad_fn``.

        ``creator`` is the same property, by PyTorch's name before 0.4.
        """
        return self._grad_fn

    creator = grad_fn  # the pre-0.4 PyTorch name, for old code

    @property
    def is_leaf(self) -> bool:
        """Whether no recorded op computed this Tensor (it has no ``grad_fn``), as ``torch.Tensor.is_leaf``.

        Every Tensor that does not require grad is a leaf. Backward fills ``.grad`` on
        leaves only, unless :meth:`retain_grad` asks for it.
        """
        return self._grad_fn is None

    @property
    def retains_grad(self) -> bool:
        """Whether :meth:`retain_grad` was called on this non-leaf, as ``torch.Tensor.retains_grad``."""
        fn = self._grad_fn
        return fn is not None and bool(fn.hooks) and any(isinstance(h, _RetainGrad) for h in fn.hooks)

    def retain_grad(self) -> None:
        """Keep this non-leaf's gradient in ``.grad`` after backward (leaves always do)."""
        if not self._rg:
            raise RuntimeError("can't retain_grad on a Tensor that has requires_grad=False")
        if self._grad_fn is not None and not self.retains_grad:
            self._grad_fn.register_prehook(_RetainGrad(self))
        return None

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call ``hook(grad)`` when this Tensor's gradient is computed.

        Hooks run in registration order; one that returns a Tensor replaces the gradient
        for the rest of backward (and for ``.grad`` on a leaf). Returns a handle whose
        ``remove()`` takes the hook away.
        """
        if not self._rg:
            raise RuntimeError(
                "cannot register a hook on a Tensor that doesn't require gradient; call "
                ".requires_grad_() on it (a leaf) first"
            )
        node = self._grad_fn if self._grad_fn is not None else _accumulate_node(self)
        return node.register_prehook(hook)

    def detach(self) -> Tensor:
        """A Tensor sharing this one's storage, cut from the graph (requires_grad False)."""
        t = Tensor(self._data, self._dev)
        t._vc = _shared_version(self)  # an in-place change through either shows up in both
        return t

    def detach_(self) -> Tensor:
        """Cut this Tensor from the graph in place (it becomes a leaf that needs no grad)."""
        if self._view is not None:
            raise RuntimeError(
                "can't detach a view in place: its history is tied to its base's. Use "
                "t = t.detach() instead."
            )
        self._grad_fn = None
        self._rg = False
        return self

    @property
    def data(self) -> Tensor:
        """A Tensor sharing this one's storage, outside the graph, as PyTorch's ``.data``.

        Unlike ``detach()``, in-place changes through ``.data`` are not tracked.
        """
        return Tensor(self._data, self._dev)

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be set to a Tensor, got {type(value).__name__}")
        self._data = value._data
        self._dev = value._dev

    # ------------------------------------------------------------------ array object

    @property
    def shape(self) -> tuple[int, ...]:
        """The size of each dimension, a tuple of ints (PyTorch's is a ``torch.Size``).

        A lazy backend may give None (or NaN) for a dimension that depends on the data.
        """
        return tuple(self._data.shape)

    @property
    def size(self) -> _Size | None:
        """The number of elements (the standard's ``size``), also callable as PyTorch's ``size()``.

        ``t.size()`` is the shape, ``t.size(1)`` one dimension. None if a dimension is
        unknown (a lazy backend's data-dependent shape).
        """
        shape = tuple(self._data.shape)
        n = 1
        for s in shape:
            if s is None or s != s:  # None, or dask's nan for an unknown dimension
                return None
            n *= int(s)
        return _Size(n, shape)

    @property
    def dtype(self) -> Any:
        """The data type, as xpgrad's dtype object (``xpgrad.float64``).

        The same object on every device: it is ``xpgrad.xp.float64`` too, and compares
        equal to every library's dtype of its type (``numpy.float64``, ``torch.float64``);
        see :mod:`xpgrad.dtypes`.
        """
        return of_native(self._data.dtype)

    @property
    def device(self) -> Device:
        """The :class:`xpgrad.Device` the data lives on; it compares equal to its name (``t.device == "cpu"``)."""
        return self._dev

    @property
    def ndim(self) -> int:
        """The number of dimensions, as ``torch.Tensor.ndim``."""
        return len(self._data.shape)

    def dim(self) -> int:
        """The number of dimensions, as ``torch.Tensor.dim``; the same as :attr:`ndim`."""
        return len(self._data.shape)

    def numel(self) -> int:
        """The number of elements, a Python int, as ``torch.Tensor.numel``."""
        n = 1
        for s in self._data.shape:
            n *= s
        return n

    def __len__(self) -> int:
        shape = self._data.shape
        if not shape:
            raise TypeError("len() of a 0-d Tensor")
        return shape[0]

    def __dlpack__(self, /, *, stream: Any = None, max_version: tuple[int, int] | None = None,
                   dl_device: tuple[int, int] | None = None, copy: bool | None = None) -> Any:
        """Export the data through DLPack (``numpy.from_dlpack(t.detach())``).

        As in PyTorch, a Tensor that requires grad cannot be exported (the consumer
        would see the data without the graph): export ``t.detach()``.
        """
        if self._rg:
            raise RuntimeError("Can't export a Tensor that requires grad through DLPack (the graph "
                               "would be lost); export t.detach() instead.")
        export = getattr(self._data, "__dlpack__", None)
        if export is None:
            raise BufferError(self._no_dlpack())
        given = {"stream": stream, "max_version": max_version, "dl_device": dl_device, "copy": copy}
        return export(**{k: v for k, v in given.items() if v is not None})

    def __dlpack_device__(self, /) -> tuple[int, int]:
        """The DLPack ``(device type, device id)`` of the data."""
        where = getattr(self._data, "__dlpack_device__", None)
        if where is None:
            raise BufferError(self._no_dlpack())
        return where()

    def _no_dlpack(self) -> str:
        return (f"the {self._dev.backend.name} backend's arrays ({type(self._data).__name__}) do not "
                "support DLPack; convert through NumPy instead (t.detach().numpy())")

    def item(self) -> Any:
        """The value of a one-element Tensor as a Python number."""
        if self.numel() != 1:
            raise ValueError(
                f"only one element tensors can be converted to Python scalars; this one has shape {self.shape}"
            )
        return self._numpy().reshape(()).item()

    def tolist(self) -> Any:
        """The values as nested Python lists of Python numbers, as ``torch.Tensor.tolist``.

        A 0-d Tensor gives one number. The values are read outside the graph.
        """
        return self._numpy().tolist()

    def _numpy(self) -> NDArray[Any]:
        return self._dev.backend.to_numpy(self._data)

    def numpy(self) -> NDArray[Any]:
        """The values as a NumPy array (shared with the Tensor on the CPU)."""
        if self._rg:
            raise RuntimeError("Can't call numpy() on a Tensor that requires grad. Use t.detach().numpy() instead.")
        return self._numpy()

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> NDArray[Any]:
        if self._rg:
            raise RuntimeError(
                "Can't convert a Tensor that requires grad to a NumPy array (the graph would be "
                "lost). Use t.detach().numpy() instead."
            )
        a = self._numpy()
        return a if dtype is None else a.astype(dtype)

    def _scalar(self, kind: type) -> Any:
        if self.numel() != 1:
            raise TypeError(f"only one-element Tensors can be converted to Python {kind.__name__}s, "
                            f"this one has shape {self.shape}")
        if kind in (int, float) and self._dev.xp.isdtype(self._data.dtype, "complex floating"):
            raise TypeError(f"can't convert a complex Tensor to a Python {kind.__name__}; take "
                            "xpgrad.xp.real(t) or xpgrad.xp.abs(t) first, or use complex(t)")
        return kind(self._numpy().reshape(()).item())

    def __float__(self) -> float:
        return self._scalar(float)

    def __int__(self) -> int:
        return self._scalar(int)

    def __bool__(self) -> bool:
        return self._scalar(bool)

    def __complex__(self) -> complex:
        return self._scalar(complex)

    def __index__(self) -> int:
        if self._dev.xp.isdtype(self._data.dtype, "integral"):
            return self._scalar(int)
        raise TypeError(f"only integer Tensors can be used as an index, this one is {self._data.dtype}")

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return tensor_repr(self)

    __str__ = __repr__

    # ------------------------------------------------------------------ operators

    # The arithmetic, comparison and unary operators are installed below, from the
    # table _OPERATORS, as functions made by the dispatcher.

    # ------------------------------------------------------------------ in place

    def _snapshot(self) -> Tensor:
        """A Tensor holding a copy of this one's values, with this one's history."""
        t = Tensor(self._dev.xp.asarray(self._data, copy=True), self._dev)
        t._grad_fn = self._grad_fn
        t._rg = self._rg
        return t

    def _bump_version(self) -> None:
        with _EPOCH_LOCK:
            epoch = INPLACE_EPOCH[0] = INPLACE_EPOCH[0] + 1
            if self._vc is None:
                self._vc = [epoch]
            else:
                self._vc[0] = epoch

    @property
    def _version(self) -> int:
        return 0 if self._vc is None else self._vc[0]

    @property
    def _base(self) -> Tensor | None:
        """The Tensor whose memory this view shares (PyTorch's ``_base``), or None."""
        return None if self._view is None else self._view.root

    def _is_view(self) -> bool:
        return self._view is not None

    @property
    def is_cuda(self) -> bool:
        """Whether the data lives on a CUDA GPU, as ``torch.Tensor.is_cuda``."""
        return self._dev.type == "cuda"


def _not_a_bool(value: Any) -> str:
    """The error for a ``requires_grad`` that is not a bool: ``"yes"`` or ``0`` must not
    turn gradients on or off by truthiness (PyTorch refuses them too)."""
    return (f"requires_grad must be True or False, got {type(value).__name__} {value!r}; "
            f"pass a bool (bool(x) if you mean its truth value)")
