"""The Tensor: a backend array, where it lives, and its place in the graph.

Tensor is both faces of xpgrad at once: a conforming array API array object (operators,
``shape``, ``dtype``, ``device``, ``mT``, ``__array_namespace__``) and the PyTorch-style
autograd tensor the tutorials use (``backward``, ``grad``, ``grad_fn``, ``data``,
``requires_grad_``, ``sum(dim=...)``). Every computation goes through the dispatcher, so
built-in ops and third-party plugins are reached the same way.
"""
from collections import namedtuple
import threading
import weakref

from .grad_mode import GRAD_ENABLED
from .node import AccumulateGrad

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


def _shared_version(t):
    """``t``'s version counter, made (once, whichever thread asks first) if it has none,
    for an alias that is to share it."""
    vc = t._vc
    if vc is None:
        with _EPOCH_LOCK:
            vc = t._vc
            if vc is None:
                vc = t._vc = [0]
    return vc


def _accumulate_node(t):
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

    def __init__(self, t):
        self.ref = weakref.ref(t)
        self.lock = threading.Lock()  # backward may run in several threads at once

    def __call__(self, g):
        t = self.ref()
        if t is not None:
            with self.lock:
                if t._grad is None:  # a copy: the gradient flows on (a clone in the graph)
                    t._grad = g.clone() if g._grad_fn is not None else Tensor(
                        t._dev.xp.asarray(g._data, copy=True), t._dev)
                else:
                    t._grad = t._grad + g


def _dims(args, what):
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

    def __new__(cls, n, shape):
        self = super().__new__(cls, n)
        self._shape = shape
        return self

    def __call__(self, dim=None):
        return self._shape if dim is None else self._shape[dim]


# The versions of the standard whose code xpgrad.xp (2024.12) serves.
_API_VERSIONS = ("2021.12", "2022.12", "2023.12", "2024.12")


class Tensor:
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
    __array_priority__ = 1000
    # NumPy's operators and ufuncs give way to Tensor's (reflected) operators, so that
    # ``numpy.float64(2) * t`` is a Tensor, and ``ndarray * t`` is an error, not an object
    # array of Tensors or a silent conversion that loses the graph.
    __array_ufunc__ = None

    def __init__(self, data, dev=None, grad_fn=None, *, device=None):
        if dev is None:
            from .creation import _from_data

            data, dev = _from_data(data, None, device, default_float=True)
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
    def requires_grad(self):
        return self._rg

    @requires_grad.setter
    def requires_grad(self, value):
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad=True):
        """Set whether autograd records ops on this leaf; returns self."""
        requires_grad = bool(requires_grad)
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

    def _is_floating(self):
        return self._dev.xp.isdtype(self._data.dtype, ("real floating", "complex floating"))

    @property
    def grad(self):
        return self._grad

    @grad.setter
    def grad(self, value):
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
    def grad_fn(self):
        return self._grad_fn

    creator = grad_fn  # the pre-0.4 PyTorch name, for old code

    @property
    def is_leaf(self):
        return self._grad_fn is None

    @property
    def retains_grad(self):
        fn = self._grad_fn
        return fn is not None and bool(fn.hooks) and any(isinstance(h, _RetainGrad) for h in fn.hooks)

    def retain_grad(self):
        """Keep this non-leaf's gradient in ``.grad`` after backward (leaves always do)."""
        if not self._rg:
            raise RuntimeError("can't retain_grad on a Tensor that has requires_grad=False")
        if self._grad_fn is not None and not self.retains_grad:
            self._grad_fn.register_prehook(_RetainGrad(self))
        return None

    def register_hook(self, hook):
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

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Compute the gradient of this Tensor with respect to the graph's leaves.

        Parameters
        ----------
        gradient : Tensor, optional
            The gradient with respect to this Tensor (a weight per element); needed
            unless the Tensor has a single element.
        retain_graph : bool, optional
            Keep the saved values so the graph can be walked again (default:
            ``create_graph``).
        create_graph : bool, optional
            Record the backward pass, for higher-order derivatives.
        inputs : Tensor or sequence of Tensor, optional
            Accumulate into these Tensors' ``.grad`` only (see
            :func:`xpgrad.autograd.backward`).
        """
        from . import engine

        # One output, so ``gradient`` is its one gradient, whatever its type (a list is
        # not a sequence of gradients here; the engine says to wrap it).
        engine.backward(self, None if gradient is None else (gradient,), retain_graph, create_graph,
                        inputs)

    def detach(self):
        """A Tensor sharing this one's storage, cut from the graph (requires_grad False)."""
        t = Tensor(self._data, self._dev)
        t._vc = _shared_version(self)  # an in-place change through either shows up in both
        return t

    def detach_(self):
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
    def data(self):
        """A Tensor sharing this one's storage, outside the graph, as PyTorch's ``.data``.

        Unlike ``detach()``, in-place changes through ``.data`` are not tracked.
        """
        return Tensor(self._data, self._dev)

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be set to a Tensor, got {type(value).__name__}")
        self._data = value._data
        self._dev = value._dev

    # ------------------------------------------------------------------ array object

    @property
    def shape(self):
        return tuple(self._data.shape)

    @property
    def size(self):
        """The number of elements (the standard's ``size``), which can also be called as
        PyTorch's ``size()``: ``t.size()`` is the shape, ``t.size(1)`` one dimension.

        None if a dimension is unknown (a lazy backend's data-dependent shape).
        """
        shape = tuple(self._data.shape)
        n = 1
        for s in shape:
            if s is None or s != s:  # None, or dask's nan for an unknown dimension
                return None
            n *= int(s)
        return _Size(n, shape)

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def device(self):
        return self._dev

    @property
    def ndim(self):
        return len(self._data.shape)

    def dim(self):
        return len(self._data.shape)

    def numel(self):
        n = 1
        for s in self._data.shape:
            n *= s
        return n

    def __len__(self):
        shape = self._data.shape
        if not shape:
            raise TypeError("len() of a 0-d Tensor")
        return shape[0]

    def __array_namespace__(self, /, *, api_version=None):
        """``xpgrad.xp``, the differentiable array API namespace (standard 2024.12).

        ``api_version`` may name 2024.12 or an earlier version of the standard (whose
        functions 2024.12 keeps); any other value is a ValueError.
        """
        if api_version is not None and api_version not in _API_VERSIONS:
            raise ValueError(
                f"xpgrad.xp implements version 2024.12 of the array API standard (and serves "
                f"code written for {', '.join(_API_VERSIONS[:-1])}); api_version={api_version!r} "
                "is not supported. Pass api_version=None for the latest."
            )
        from . import xp

        return xp

    def __dlpack__(self, /, *, stream=None, max_version=None, dl_device=None, copy=None):
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

    def __dlpack_device__(self, /):
        """The DLPack ``(device type, device id)`` of the data."""
        where = getattr(self._data, "__dlpack_device__", None)
        if where is None:
            raise BufferError(self._no_dlpack())
        return where()

    def _no_dlpack(self):
        return (f"the {self._dev.backend.name} backend's arrays ({type(self._data).__name__}) do not "
                "support DLPack; convert through NumPy instead (t.detach().numpy())")

    @property
    def T(self):
        return apply("permute_dims", (self,), {"axes": tuple(range(self.ndim))[::-1]})

    @property
    def mT(self):
        return unary("matrix_transpose", self)

    def item(self):
        """The value of a one-element Tensor as a Python number."""
        if self.numel() != 1:
            raise ValueError(
                f"only one element tensors can be converted to Python scalars; this one has shape {self.shape}"
            )
        return self._numpy().reshape(()).item()

    def tolist(self):
        return self._numpy().tolist()

    def _numpy(self):
        return self._dev.backend.to_numpy(self._data)

    def numpy(self):
        """The values as a NumPy array (shared with the Tensor on the CPU)."""
        if self._rg:
            raise RuntimeError("Can't call numpy() on a Tensor that requires grad. Use t.detach().numpy() instead.")
        return self._numpy()

    def __array__(self, dtype=None, copy=None):
        if self._rg:
            raise RuntimeError(
                "Can't convert a Tensor that requires grad to a NumPy array (the graph would be "
                "lost). Use t.detach().numpy() instead."
            )
        a = self._numpy()
        return a if dtype is None else a.astype(dtype)

    def _scalar(self, kind):
        if self.numel() != 1:
            raise TypeError(f"only one-element Tensors can be converted to Python {kind.__name__}s, "
                            f"this one has shape {self.shape}")
        if kind in (int, float) and self._dev.xp.isdtype(self._data.dtype, "complex floating"):
            raise TypeError(f"can't convert a complex Tensor to a Python {kind.__name__}; take "
                            "xpgrad.xp.real(t) or xpgrad.xp.abs(t) first, or use complex(t)")
        return kind(self._numpy().reshape(()).item())

    def __float__(self):
        return self._scalar(float)

    def __int__(self):
        return self._scalar(int)

    def __bool__(self):
        return self._scalar(bool)

    def __complex__(self):
        return self._scalar(complex)

    def __index__(self):
        if self._dev.xp.isdtype(self._data.dtype, "integral"):
            return self._scalar(int)
        raise TypeError(f"only integer Tensors can be used as an index, this one is {self._data.dtype}")

    def __hash__(self):
        return id(self)

    def __repr__(self):
        from .printing import tensor_repr

        return tensor_repr(self)

    __str__ = __repr__

    # ------------------------------------------------------------------ operators

    # The arithmetic, comparison and unary operators are installed below, from the
    # table _OPERATORS, as functions made by the dispatcher.

    def __getitem__(self, key):
        return apply("getitem", (self,), {"key": _raw_key(key, self)})

    # ------------------------------------------------------------------ in place

    def _inplace(self, name, other, what):
        """``self = name(self, other)`` in place (``add_``, ``*=``): computed out of place,
        written into this Tensor's memory and recorded (see ``xpgrad.views``). ``what``
        is how errors name it: the method or operator the user wrote."""
        other_rg = type(other) is Tensor and other._rg
        src = self
        if GRAD_ENABLED.get() and check_inplace(self, what, other_rg):
            op = self._dev.ops.get(name)
            needs = (self._rg,) if other is None else (self._rg, other_rg)
            if op is not None and len(op.argnames) == len(needs) and op.plan(needs).keep[0]:
                # The rule reads this Tensor's old values (mul_ by a Tensor that requires
                # grad), which the write is about to replace: it reads a copy instead.
                src = self._snapshot()
        result = binary(name, src, other) if other is not None else unary(name, src)
        if result._data.dtype != self._data.dtype:
            if not self._dev.xp.can_cast(result._data.dtype, self._data.dtype):
                raise TypeError(
                    f"in-place {what}: the result has dtype {result._data.dtype}, which can't be "
                    f"stored in this Tensor of dtype {self._data.dtype}; use the out-of-place op"
                )
        commit(self, result, what)
        return self

    def _snapshot(self):
        """A Tensor holding a copy of this one's values, with this one's history."""
        t = Tensor(self._dev.xp.asarray(self._data, copy=True), self._dev)
        t._grad_fn = self._grad_fn
        t._rg = self._rg
        return t

    def _bump_version(self):
        with _EPOCH_LOCK:
            epoch = INPLACE_EPOCH[0] = INPLACE_EPOCH[0] + 1
            if self._vc is None:
                self._vc = [epoch]
            else:
                self._vc[0] = epoch

    @property
    def _version(self):
        return 0 if self._vc is None else self._vc[0]

    @property
    def _base(self):
        """The Tensor whose memory this view shares (PyTorch's ``_base``), or None."""
        return None if self._view is None else self._view.root

    def _is_view(self):
        return self._view is not None

    def add_(self, other, alpha=1):
        return self._inplace("add", other if alpha == 1 else other * alpha, "add_")

    def sub_(self, other, alpha=1):
        return self._inplace("subtract", other if alpha == 1 else other * alpha, "sub_")

    def mul_(self, other):
        return self._inplace("multiply", other, "mul_")

    def div_(self, other):
        return self._inplace("divide", other, "div_")

    def pow_(self, other):
        return self._inplace("pow", other, "pow_")

    def zero_(self):
        """Set every element to zero, in place; returns self. Under grad, the gradient
        of the values it replaced is zero (as in PyTorch)."""
        self._assign((Ellipsis,), 0, "zero_")
        return self

    def fill_(self, value):
        """Set every element to ``value`` (a number, or a 0-d Tensor whose gradient is
        then the sum of this Tensor's), in place; returns self."""
        self._assign((Ellipsis,), value, "fill_")
        return self

    def copy_(self, src):
        """Copy ``src``'s values into this Tensor (broadcast, cast to its dtype), in
        place; returns self. The gradient flows to ``src`` (from another device too: the
        move is explicit here, and recorded)."""
        if not isinstance(src, Tensor):
            raise TypeError(f"copy_ takes a Tensor, got {type(src).__name__}")
        if src._dev is not self._dev:  # asked for by name, so an explicit move
            from .transfer import to_device

            src = to_device(src, self._dev)
        self._assign((Ellipsis,), src, "copy_")
        return self

    def __setitem__(self, key, value):
        """``t[key] = value``, in place, and recorded in the graph when gradients flow.

        When this Tensor requires grad (or ``value`` does), the assignment is the op
        ``setitem`` (node ``CopySlices``): the overwritten positions get no gradient and
        ``value`` gets the gradient at ``key``, summed to its shape where it was
        broadcast. Where an integer-array key names a position more than once, the value
        written last (in the key's order) is stored, as in NumPy and PyTorch, and only it
        gets the gradient there. A leaf that requires grad can be assigned into only under
        ``no_grad``. As every in-place op, it bumps the version counter: a backward
        through a node that saved this Tensor (or an alias of it) before the assignment
        raises. On a view, the base's history is rewritten (see ``xpgrad.views``).
        """
        if isinstance(value, Tensor):
            if value._dev is not self._dev:
                raise RuntimeError(
                    f"the assigned value is on {value._dev} but this Tensor is on {self._dev}; "
                    f"move it first, e.g. value.to({str(self._dev)!r})"
                )
        elif not isinstance(value, (bool, int, float, complex)):
            from .creation import _from_data

            value = Tensor(_from_data(value, None, self._dev)[0], self._dev)  # lists, arrays
        self._assign(_raw_key(key, self), value, "item assignment")

    def _assign(self, raw_key, value, what):
        """``self[raw_key] = value`` for a raw key and a Tensor or Python scalar value."""
        value_rg = type(value) is Tensor and value._rg
        if GRAD_ENABLED.get() and check_inplace(self, what, value_rg):
            # The assignment's result out of place, written back into this Tensor's
            # memory; the Tensor then stands for the new node, as after add_.
            if value_rg:
                keep_saved(value, self)
            commit(self, apply("setitem", (self, value), {"key": raw_key}), what)
            return
        from xpgrad.ops.indexing import has_integer_array

        xp = self._dev.xp
        raw = value._data if isinstance(value, Tensor) else value
        keep_output(self)
        try:
            if not self._dev.backend.mutable or has_integer_array(xp, raw_key) or any(
                    k is None for k in (raw_key if isinstance(raw_key, tuple) else (raw_key,))):
                # Keys the standard leaves out of assignment (integer arrays, new axes),
                # and libraries whose arrays cannot be indexed for writing: computed out
                # of place by the setitem op, then written back whole.
                op = self._dev.ops["setitem"]
                self._dev.backend.write(self._data, op.forward(xp, self._data, raw, key=raw_key))
            else:
                if isinstance(value, Tensor) and raw.dtype != self._data.dtype:
                    raw = xp.astype(raw, self._data.dtype)
                self._data[raw_key] = raw
        except ValueError as exc:
            if "read-only" not in str(exc):
                raise
            raise write_failed(self, what, exc) from exc
        self._bump_version()

    # ------------------------------------------------------------------ PyTorch methods

    def sum(self, dim=None, keepdim=False, *, axis=None, keepdims=None, dtype=None):
        """Sum over ``dim`` (all dimensions if None)."""
        return apply("sum", (self,), _reduce_params(dim, keepdim, axis, keepdims, dtype))

    def mean(self, dim=None, keepdim=False, *, axis=None, keepdims=None, dtype=None):
        """Mean over ``dim`` (all dimensions if None)."""
        return apply("mean", (self,), _reduce_params(dim, keepdim, axis, keepdims, dtype))

    def norm(self, p=2, dim=None, keepdim=False):
        """The vector p-norm over ``dim`` (all elements if None)."""
        params = {"ord": p, "keepdims": keepdim}
        if dim is not None:
            params["axis"] = dim
        return apply("vector_norm", (self,), params)

    def t(self):
        """Transpose a 2-D Tensor (a 0-D or 1-D one is returned as is)."""
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a Tensor with <= 2 dimensions, got {self.ndim}; use .mT or permute")
        if self.ndim < 2:
            return self
        return unary("matrix_transpose", self)

    def transpose(self, dim0, dim1):
        axes = list(range(self.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return apply("permute_dims", (self,), {"axes": tuple(axes)})

    def permute(self, *dims):
        return apply("permute_dims", (self,), {"axes": _dims(dims, "permute")})

    def mm(self, other):
        """Matrix product of two 2-D Tensors."""
        if not isinstance(other, Tensor):
            raise TypeError(f"mm() takes a Tensor, got {type(other).__name__}")
        if self.ndim != 2 or other.ndim != 2:
            raise RuntimeError(
                f"mm() multiplies 2-D Tensors, got shapes {self.shape} and {other.shape}; "
                "use matmul() for 1-D or batched operands"
            )
        return binary("matmul", self, other)

    def matmul(self, other):
        return binary("matmul", self, other)

    def pow(self, exponent):
        return binary("pow", self, exponent)

    def add(self, other):
        return binary("add", self, other)

    def sub(self, other):
        return binary("subtract", self, other)

    def mul(self, other):
        return binary("multiply", self, other)

    def div(self, other):
        return binary("divide", self, other)

    def maximum(self, other):
        return binary("maximum", self, other)

    def minimum(self, other):
        return binary("minimum", self, other)

    def trace(self):
        return unary("trace", self)

    def inverse(self):
        return unary("inv", self)

    def reshape(self, *shape):
        return apply("reshape", (self,), {"shape": _dims(shape, "reshape")})

    view = reshape

    def clone(self):
        return unary("clone", self)

    def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False):
        """This Tensor on another device and/or with another dtype.

        ``t.to("array_api_strict")``, ``t.to(xpgrad.float64)``, ``t.to("cpu",
        xpgrad.float64)``, ``t.to(device=..., dtype=...)``, or ``t.to(other)`` for
        ``other``'s device and dtype. Returns ``t`` itself when nothing changes (unless
        ``copy=True``). A move is a copy recorded in the graph (``ToCopyBackward``):
        gradients flow back to ``t``'s own device. ``non_blocking`` is accepted for
        PyTorch code and ignored.
        """
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a._dev, a._data.dtype
            elif isinstance(a, str) and not _is_dtype_name(a) or hasattr(a, "backend"):
                device = a
            else:
                dtype = a
        t = self
        if device is not None:
            from .transfer import to_device

            t = to_device(t, device)
        if dtype is not None:
            from .creation import resolve_dtype

            dt = resolve_dtype(dtype, t._dev)
            if dt != t._data.dtype:
                t = apply("astype", (t,), {"dtype": dt})
        if copy and t is self:
            t = unary("clone", self)
        return t

    def to_device(self, device, /, *, stream=None):
        """This Tensor on ``device`` (the array API's name for ``to(device)``); recorded
        in the graph, as :meth:`to` is."""
        if stream is not None:
            raise ValueError("to_device(stream=...) is not supported; leave stream as None")
        from .transfer import to_device

        return to_device(self, device)

    def cpu(self):
        """This Tensor on the CPU (NumPy); ``self`` if it is there already."""
        return self.to_device("cpu")

    def cuda(self, index=None, non_blocking=False):
        """This Tensor on a CUDA GPU (CuPy): ``"cuda"`` (the current GPU) or, given an
        index, ``"cuda:<index>"``. Needs CuPy (``pip install "xpgrad[cuda]"``)."""
        if index is None:
            device = "cuda"
        elif isinstance(index, int) and not isinstance(index, bool):
            device = f"cuda:{index}"
        else:
            device = index  # a device string or Device, as PyTorch also accepts
        return self.to_device(device)

    @property
    def is_cuda(self):
        return self._dev.type == "cuda"

    def float(self):
        return self.to("float32")

    def double(self):
        return self.to("float64")

    def type(self, dtype=None):
        if dtype is None:
            return str(self._data.dtype)
        if dtype is Tensor:  # t.type(xpgrad.FloatTensor), as old PyTorch code casts
            dtype = "float32"
        return self.to(dtype)


def _is_dtype_name(s):
    return s in ("float32", "float64", "float16", "complex64", "complex128", "int8", "int16",
                 "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool", "float",
                 "double", "half", "long", "int")


def _reduce_params(dim, keepdim, axis, keepdims, dtype):
    if axis is None:
        axis = dim
    if keepdims is None:
        keepdims = keepdim
    if isinstance(axis, list):
        axis = tuple(axis)
    params = {"axis": axis, "keepdims": bool(keepdims)}
    if dtype is not None:
        params["dtype"] = dtype
    return params


def _raw_key(key, t):
    """An indexing key with Tensors and lists replaced by raw (integer or bool) arrays.

    A key of integers and slices gets a trailing Ellipsis unless it has one: the
    standard leaves indexing fewer axes than the array has unspecified (NumPy fills in
    slices, array-api-strict refuses), and with it NumPy returns a 0-d array rather than
    a scalar. Keys with arrays are left as written (the standard allows a mask only as
    the sole index, and integer arrays only beside integers).
    """
    items = key if isinstance(key, tuple) else (key,)
    raw = tuple(_raw_key_item(k, t) for k in items)
    if any(hasattr(k, "shape") for k in raw):
        return raw if isinstance(key, tuple) else raw[0]
    if not any(k is Ellipsis for k in raw):
        raw = raw + (Ellipsis,)
    return raw


def _raw_key_item(k, t):
    if isinstance(k, Tensor):
        if k._dev is not t._dev:
            raise RuntimeError(f"index Tensor is on {k._dev} but the indexed Tensor is on {t._dev}")
        return k._data
    if isinstance(k, list):
        from .creation import _from_data

        return _from_data(k, None, t._dev)[0]
    return k


def _no_grad():
    from .grad_mode import no_grad

    return no_grad()


from .dispatch import (  # noqa: E402  (they need Tensor)
    apply, binary, binary_method, rbinary_method, unary, unary_method,
)
from .views import check_inplace, commit, keep_output, keep_saved, write_failed  # noqa: E402

_OPERATORS = {
    # arithmetic
    "__add__": (binary_method, "add"),
    "__radd__": (rbinary_method, "add"),
    "__sub__": (binary_method, "subtract"),
    "__rsub__": (rbinary_method, "subtract"),
    "__mul__": (binary_method, "multiply"),
    "__rmul__": (rbinary_method, "multiply"),
    "__truediv__": (binary_method, "divide"),
    "__rtruediv__": (rbinary_method, "divide"),
    "__floordiv__": (binary_method, "floor_divide"),
    "__rfloordiv__": (rbinary_method, "floor_divide"),
    "__mod__": (binary_method, "remainder"),
    "__rmod__": (rbinary_method, "remainder"),
    "__pow__": (binary_method, "pow"),
    "__rpow__": (rbinary_method, "pow"),
    "__matmul__": (binary_method, "matmul"),
    "__rmatmul__": (rbinary_method, "matmul"),
    "__neg__": (unary_method, "negative"),
    "__pos__": (unary_method, "positive"),
    "__abs__": (unary_method, "abs"),
    # bitwise (and logical, on bool arrays)
    "__and__": (binary_method, "bitwise_and"),
    "__rand__": (rbinary_method, "bitwise_and"),
    "__or__": (binary_method, "bitwise_or"),
    "__ror__": (rbinary_method, "bitwise_or"),
    "__xor__": (binary_method, "bitwise_xor"),
    "__rxor__": (rbinary_method, "bitwise_xor"),
    "__lshift__": (binary_method, "bitwise_left_shift"),
    "__rlshift__": (rbinary_method, "bitwise_left_shift"),
    "__rshift__": (binary_method, "bitwise_right_shift"),
    "__rrshift__": (rbinary_method, "bitwise_right_shift"),
    "__invert__": (unary_method, "bitwise_invert"),
    # comparisons (Python reflects them itself: 2 < t is t > 2)
    "__eq__": (binary_method, "equal"),
    "__ne__": (binary_method, "not_equal"),
    "__lt__": (binary_method, "less"),
    "__le__": (binary_method, "less_equal"),
    "__gt__": (binary_method, "greater"),
    "__ge__": (binary_method, "greater_equal"),
}
for _dunder, (_make, _op_name) in _OPERATORS.items():
    setattr(Tensor, _dunder, _make(_op_name))

# Elementwise methods (``t.exp()``): made like the operators, so that a temporary
# ``self`` can take the result in its own memory (see dispatch's "temporaries").
for _method, _op_name in {"exp": "exp", "log": "log", "sqrt": "sqrt", "sin": "sin", "cos": "cos",
                          "tanh": "tanh", "abs": "abs", "neg": "negative"}.items():
    setattr(Tensor, _method, unary_method(_op_name))


def _inplace_method(name, symbol):
    """The in-place operator (``t //= 2``) for op ``name``: computed out of place, written
    into ``self``'s storage, recorded (see ``Tensor._inplace``)."""

    def method(self, other):
        return self._inplace(name, other, symbol)

    method.__name__ = method.__qualname__ = name
    return method


_INPLACE_OPERATORS = {
    "__iadd__": ("add", "+="),
    "__isub__": ("subtract", "-="),
    "__imul__": ("multiply", "*="),
    "__itruediv__": ("divide", "/="),
    "__ipow__": ("pow", "**="),
    "__ifloordiv__": ("floor_divide", "//="),
    "__imod__": ("remainder", "%="),
    "__imatmul__": ("matmul", "@="),
    "__iand__": ("bitwise_and", "&="),
    "__ior__": ("bitwise_or", "|="),
    "__ixor__": ("bitwise_xor", "^="),
    "__ilshift__": ("bitwise_left_shift", "<<="),
    "__irshift__": ("bitwise_right_shift", ">>="),
}
for _dunder, (_op_name, _symbol) in _INPLACE_OPERATORS.items():
    setattr(Tensor, _dunder, _inplace_method(_op_name, _symbol))


# ---------------------------------------------------------------------- more PyTorch methods
# Methods a PyTorch user reaches for, each a thin call of the standard's function in
# xpgrad.xp (``dim=``/``keepdim=`` spelled as PyTorch spells them).

_ValuesIndices = namedtuple("values_indices", ["values", "indices"])


def _xp():
    from . import xp

    return xp


def _elementwise_method(name):
    def method(self):
        return getattr(_xp(), name)(self)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``xpgrad.xp.{name}(self)``."
    return method


for _name in ("acos", "acosh", "asin", "asinh", "atan", "atanh", "ceil", "conj", "cosh",
              "expm1", "floor", "isfinite", "isinf", "isnan", "log1p", "log2", "log10",
              "reciprocal", "round", "sign", "sinh", "square", "tan", "trunc"):
    setattr(Tensor, _name, _elementwise_method(_name))


def _extremum(name, arg_name):
    def method(self, dim=None, keepdim=False):
        xp = _xp()
        if dim is None:
            return getattr(xp, name)(self)
        values = getattr(xp, name)(self, axis=dim, keepdims=keepdim)
        indices = getattr(xp, arg_name)(self, axis=dim, keepdims=keepdim)
        return _ValuesIndices(values, indices)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = (f"The {name}imum of all elements, or ``(values, indices)`` along ``dim`` "
                      "(ties share the gradient evenly).")
    return method


Tensor.max = _extremum("max", "argmax")
Tensor.min = _extremum("min", "argmin")


def _amax(self, dim=None, keepdim=False):
    """The largest elements over ``dim`` (all if None); ties share the gradient evenly."""
    return _xp().max(self, axis=_axis(dim), keepdims=keepdim)


def _amin(self, dim=None, keepdim=False):
    """The smallest elements over ``dim`` (all if None); ties share the gradient evenly."""
    return _xp().min(self, axis=_axis(dim), keepdims=keepdim)


def _axis(dim):
    return tuple(dim) if isinstance(dim, list) else (None if dim == () else dim)


def _prod(self, dim=None, keepdim=False, *, dtype=None):
    """The product over ``dim`` (all if None); exact gradients where elements are zero."""
    return _xp().prod(self, axis=_axis(dim), keepdims=keepdim, dtype=dtype)


def _var(self, dim=None, unbiased=True, keepdim=False, *, correction=None):
    """The variance over ``dim``, with Bessel's correction by default, as in PyTorch."""
    if correction is None:
        correction = 1 if unbiased else 0
    return _xp().var(self, axis=_axis(dim), correction=correction, keepdims=keepdim)


def _std(self, dim=None, unbiased=True, keepdim=False, *, correction=None):
    """The standard deviation over ``dim``, with Bessel's correction by default."""
    if correction is None:
        correction = 1 if unbiased else 0
    return _xp().std(self, axis=_axis(dim), correction=correction, keepdims=keepdim)


def _cumsum(self, dim):
    """The cumulative sum along ``dim``."""
    return _xp().cumulative_sum(self, axis=dim)


def _cumprod(self, dim):
    """The cumulative product along ``dim``."""
    return _xp().cumulative_prod(self, axis=dim)


def _argmax(self, dim=None, keepdim=False):
    """The index of the largest element (of the flattened Tensor if ``dim`` is None)."""
    return _xp().argmax(self, axis=dim, keepdims=keepdim)


def _argmin(self, dim=None, keepdim=False):
    """The index of the smallest element (of the flattened Tensor if ``dim`` is None)."""
    return _xp().argmin(self, axis=dim, keepdims=keepdim)


def _sort(self, dim=-1, descending=False, stable=True):
    """``(values, indices)`` sorted along ``dim``; the values are differentiable."""
    xp = _xp()
    values = xp.sort(self, axis=dim, descending=descending, stable=stable)
    return _ValuesIndices(values, xp.argsort(self, axis=dim, descending=descending, stable=stable))


def _all(self, dim=None, keepdim=False):
    return _xp().all(self, axis=_axis(dim), keepdims=keepdim)


def _any(self, dim=None, keepdim=False):
    return _xp().any(self, axis=_axis(dim), keepdims=keepdim)


def _clamp(self, min=None, max=None):  # noqa: A002  (PyTorch's names)
    """Limit the values to ``[min, max]``; the gradient passes where they are inside."""
    return _xp().clip(self, min=min, max=max)


def _flip(self, dims):
    return _xp().flip(self, axis=tuple(dims) if isinstance(dims, (list, tuple)) else dims)


for _name, _fn in (("amax", _amax), ("amin", _amin), ("prod", _prod), ("var", _var),
                   ("std", _std), ("cumsum", _cumsum), ("cumprod", _cumprod),
                   ("argmax", _argmax), ("argmin", _argmin), ("sort", _sort), ("all", _all),
                   ("any", _any), ("clamp", _clamp), ("clip", _clamp), ("flip", _flip)):
    _fn.__name__ = _fn.__qualname__ = _name
    setattr(Tensor, _name, _fn)
