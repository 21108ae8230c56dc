"""Tensor's methods that compute: operators, in-place ops, indexing, moves, ``backward``
and the PyTorch face.

``xpgrad.tensor.Tensor`` is the data and its place in the graph, and imports nothing
that computes. Its methods that call an op, the engine, a move or the namespace are
defined here, above those modules, in the body of :class:`TensorMethods`: explicit
``def``s, and one line each for the methods made by the dispatcher (operators,
elementwise methods), which together are the table of Tensor's computing methods.
:func:`install` copies them onto ``Tensor`` when xpgrad is imported. For type checkers
and editors ``Tensor`` inherits this class (``if TYPE_CHECKING`` in tensor.py), so
go-to-definition and completion find every method here, where it is written.
"""
from __future__ import annotations

import inspect
from collections import namedtuple
from typing import TYPE_CHECKING, Any, overload

from xpgrad.plugins.arrays import has_integer_array

from . import engine
from . import functions as _fn
from . import xp as _ns
from .creation import _from_data, resolve_dtype
from .dispatch import apply, batched, binary, binary_method, rbinary_method, unary, unary_method
from .dtypes import of_native
from .grad_mode import GRAD_ENABLED
from .inplace import check_inplace, commit, keep_output, keep_saved, write_failed
from .lazy import compute as _compute
from .tensor import Tensor, _dims
from .transfer import to_device

if TYPE_CHECKING:
    import builtins  # beside Tensor.float
    from collections.abc import Callable, Sequence
    from types import ModuleType

    from typing_extensions import Self

    from .device import Device

    #: A Python number, as an operand beside a Tensor
    Scalar = bool | int | float | complex
    #: The dimensions a reduction runs over: one, several, or (None) all
    Dims = int | Sequence[int] | None

__all__ = ["TensorMethods", "install"]

# The versions of the standard whose code xpgrad.xp (2024.12) serves.
_API_VERSIONS = ("2021.12", "2022.12", "2023.12", "2024.12", "2025.12")

_ValuesIndices = namedtuple("values_indices", ["values", "indices"])  # type: ignore[name-match]


def _is_dtype_name(s: object) -> bool:
    return s in ("float32", "float64", "float16", "complex64", "complex128", "int8", "int16",
                 "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool", "float",
                 "double", "half", "long", "int")


def _reduce_params(dim: Dims, keepdim: bool, axis: Dims, keepdims: bool | None, dtype: Any) -> dict[str, Any]:
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


def _raw_key(key: Any, t: TensorMethods) -> Any:
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
        if any(batched(k) for k in raw):  # an index batched inside vmap: the caller's to handle
            return BATCHED_KEY
        return raw if isinstance(key, tuple) else raw[0]
    if not any(k is Ellipsis for k in raw):
        raw = raw + (Ellipsis,)
    return raw


# What _raw_key gives for a key holding an index batched inside ``xpgrad.func.vmap``.
BATCHED_KEY = object()

# The in-place arithmetic a backend may compute into the Tensor's memory (Backend.update),
# and the scalars it takes as they are
_UPDATES = frozenset({"add", "subtract", "multiply", "divide"})
_UPDATE_SCALARS = (int, float, complex)


def _index_with_batched(t: Any, key: Any) -> Any:
    """``t[key]`` where ``key`` holds a batched index: the batched value gathers (xpgrad.func)."""
    items = key if isinstance(key, tuple) else (key,)
    index = next(k for k in items if batched(k))
    return index._index_into(t, key)


def _raw_key_item(k: Any, t: TensorMethods) -> Any:
    if isinstance(k, Tensor):
        if k._dev is not t._dev:
            raise RuntimeError(f"index Tensor is on {k._dev} but the indexed Tensor is on {t._dev}")
        return k._data
    if isinstance(k, list):
        return _from_data(k, None, t._dev)[0]
    return k


def _negative_step(k: Any) -> bool:
    return type(k) is slice and k.step is not None and k.step < 0


def _axis(dim: Dims) -> Any:
    return tuple(dim) if isinstance(dim, list) else (None if dim == () else dim)


def _inplace_method(name: str, symbol: str) -> Callable[[Tensor, Any], Tensor]:
    """The in-place operator (``t //= 2``) for op ``name``: computed out of place, written
    into ``self``'s storage, recorded (see ``TensorMethods._inplace``)."""

    def method(self: Tensor, other: Any) -> Tensor:
        return self._inplace(name, other, symbol)

    method.__name__ = method.__qualname__ = name
    return method


def _elementwise_method(name: str) -> Callable[[Tensor], Tensor]:
    """``t.name()``: ``xpgrad.xp.name(t)``, with its docstring."""

    def method(self: Tensor) -> Tensor:
        return getattr(_ns, name)(self)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``xpgrad.xp.{name}(self)``."
    return method


def _documented(method: Callable[..., Any], doc: str) -> Callable[..., Any]:
    """``method`` with the docstring ``doc``: the dispatcher makes its methods without one."""
    method.__doc__ = doc
    return method


def _extremum(name: str, arg_name: str) -> Callable[..., Any]:
    def method(self: Tensor, dim: Dims = None, keepdim: bool = False) -> Any:
        if dim is None:
            return getattr(_ns, name)(self)
        values = getattr(_ns, name)(self, axis=dim, keepdims=keepdim)
        indices = getattr(_ns, arg_name)(self, axis=dim, keepdims=keepdim)
        return _ValuesIndices(values, indices)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = (f"The {name}imum of all elements, or ``(values, indices)`` along ``dim`` "
                      "(ties share the gradient evenly).")
    return method


class TensorMethods:
    """The computing methods of :class:`xpgrad.Tensor` (see the module docstring)."""

    if TYPE_CHECKING:
        # What these methods read of Tensor, which defines it
        _data: Any
        _dev: Device
        _rg: bool
        _grad_fn: Any
        _grad: Tensor | None

        @property
        def shape(self) -> tuple[int, ...]: ...
        @property
        def ndim(self) -> int: ...
        def _snapshot(self) -> Tensor: ...
        def _bump_version(self) -> None: ...

    # ---------------------------------------------------------------- construction

    _from_data = staticmethod(lambda data, device: _from_data(data, None, device, default_float=True))

    # ---------------------------------------------------------------- operators
    # Made by the dispatcher with their op bound: one call fewer per operator.
    __add__ = binary_method("add")
    __radd__ = rbinary_method("add")
    __sub__ = binary_method("subtract")
    __rsub__ = rbinary_method("subtract")
    __mul__ = binary_method("multiply")
    __rmul__ = rbinary_method("multiply")
    __truediv__ = binary_method("divide")
    __rtruediv__ = rbinary_method("divide")
    __floordiv__ = binary_method("floor_divide")
    __rfloordiv__ = rbinary_method("floor_divide")
    __mod__ = binary_method("remainder")
    __rmod__ = rbinary_method("remainder")
    __pow__ = binary_method("pow")
    __rpow__ = rbinary_method("pow")
    __matmul__ = binary_method("matmul")
    __rmatmul__ = rbinary_method("matmul")
    __neg__ = unary_method("negative")
    __pos__ = unary_method("positive")
    __abs__ = unary_method("abs")
    # bitwise (and logical, on bool arrays)
    __and__ = binary_method("bitwise_and")
    __rand__ = rbinary_method("bitwise_and")
    __or__ = binary_method("bitwise_or")
    __ror__ = rbinary_method("bitwise_or")
    __xor__ = binary_method("bitwise_xor")
    __rxor__ = rbinary_method("bitwise_xor")
    __lshift__ = binary_method("bitwise_left_shift")
    __rlshift__ = rbinary_method("bitwise_left_shift")
    __rshift__ = binary_method("bitwise_right_shift")
    __rrshift__ = rbinary_method("bitwise_right_shift")
    __invert__ = unary_method("bitwise_invert")
    # comparisons (Python reflects them itself: 2 < t is t > 2)
    __eq__ = binary_method("equal")  # type: ignore[assignment]  # a Tensor of bools, not a bool
    __ne__ = binary_method("not_equal")  # type: ignore[assignment]
    __lt__ = binary_method("less")
    __le__ = binary_method("less_equal")
    __gt__ = binary_method("greater")
    __ge__ = binary_method("greater_equal")
    # in place (computed out of place, written into self's memory, recorded)
    __iadd__ = _inplace_method("add", "+=")
    __isub__ = _inplace_method("subtract", "-=")
    __imul__ = _inplace_method("multiply", "*=")
    __itruediv__ = _inplace_method("divide", "/=")
    __ipow__ = _inplace_method("pow", "**=")
    __ifloordiv__ = _inplace_method("floor_divide", "//=")
    __imod__ = _inplace_method("remainder", "%=")
    __imatmul__ = _inplace_method("matmul", "@=")
    __iand__ = _inplace_method("bitwise_and", "&=")
    __ior__ = _inplace_method("bitwise_or", "|=")
    __ixor__ = _inplace_method("bitwise_xor", "^=")
    __ilshift__ = _inplace_method("bitwise_left_shift", "<<=")
    __irshift__ = _inplace_method("bitwise_right_shift", ">>=")

    # ---------------------------------------------------------------- elementwise
    # Made like the operators, so that a temporary ``self`` can give its memory to the
    # result where temporaries are turned on (see xpgrad.temporaries).
    exp = _documented(unary_method("exp"), "The exponential ``e ** self``, elementwise, as ``torch.Tensor.exp``.")
    log = _documented(unary_method("log"), "The natural logarithm, elementwise, as ``torch.Tensor.log``.")
    sqrt = _documented(unary_method("sqrt"), "The square root, elementwise, as ``torch.Tensor.sqrt``.")
    sin = _documented(unary_method("sin"), "The sine, elementwise, as ``torch.Tensor.sin``.")
    cos = _documented(unary_method("cos"), "The cosine, elementwise, as ``torch.Tensor.cos``.")
    tanh = _documented(unary_method("tanh"), "The hyperbolic tangent, elementwise, as ``torch.Tensor.tanh``.")
    abs = _documented(unary_method("abs"), "The absolute value (of a complex number, its modulus), elementwise.")
    neg = _documented(unary_method("negative"), "``-self``, elementwise, as ``torch.Tensor.neg``.")
    # ``xpgrad.xp``'s functions of one array, by the same name
    acos = _elementwise_method("acos")
    acosh = _elementwise_method("acosh")
    asin = _elementwise_method("asin")
    asinh = _elementwise_method("asinh")
    atan = _elementwise_method("atan")
    atanh = _elementwise_method("atanh")
    ceil = _elementwise_method("ceil")
    conj = _elementwise_method("conj")
    cosh = _elementwise_method("cosh")
    expm1 = _elementwise_method("expm1")
    floor = _elementwise_method("floor")
    isfinite = _elementwise_method("isfinite")
    isinf = _elementwise_method("isinf")
    isnan = _elementwise_method("isnan")
    log1p = _elementwise_method("log1p")
    log2 = _elementwise_method("log2")
    log10 = _elementwise_method("log10")
    reciprocal = _elementwise_method("reciprocal")
    round = _elementwise_method("round")
    sign = _elementwise_method("sign")
    sinh = _elementwise_method("sinh")
    square = _elementwise_method("square")
    tan = _elementwise_method("tan")
    trunc = _elementwise_method("trunc")
    # extrema: the value, or (values, indices) along dim
    max = _extremum("max", "argmax")
    min = _extremum("min", "argmin")

    # ---------------------------------------------------------------- the rest, by hand

    def backward(self, gradient: Tensor | None = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Tensor | Sequence[Tensor] | None = None) -> None:
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
        # One output, so ``gradient`` is its one gradient, whatever its type (a list is
        # not a sequence of gradients here; the engine says to wrap it).
        engine.backward(self, None if gradient is None else (gradient,), retain_graph,  # type: ignore[arg-type]
                        create_graph, inputs)  # (self is a Tensor: this method is installed on Tensor)

    def compute(self) -> Any:
        """The value of this Tensor as its backend's concrete array: ``xpgrad.compute(self)[0]``.

        On dask, the graph computed into a NumPy array (on the current scheduler, a
        ``dask.distributed`` Client's if one is active); on an eager backend, the Tensor's
        own array, not copied and outside the graph. To compute several Tensors that
        share work (a loss and its gradients), compute them together with
        :func:`xpgrad.compute`: one pass instead of one per Tensor.

        Returns
        -------
        array
            A NumPy array for a dask Tensor; the Tensor's array on an eager backend.

        See Also
        --------
        xpgrad.compute : several Tensors in one pass.
        """
        return _compute(self)[0]  # type: ignore[arg-type]  # (self is a Tensor: installed on Tensor)

    def __array_namespace__(self, /, *, api_version: str | None = None) -> ModuleType:
        """``xpgrad.xp``, the differentiable array API namespace (standard 2025.12).

        ``api_version`` may name 2025.12 or an earlier version of the standard (whose
        functions 2025.12 keeps; where 2025.12 returns a tuple, earlier versions' lists,
        code that indexes or unpacks gets the same); any other value is a ValueError.
        """
        if api_version is not None and api_version not in _API_VERSIONS:
            raise ValueError(
                f"xpgrad.xp implements version 2025.12 of the array API standard (and serves "
                f"code written for {', '.join(_API_VERSIONS[:-1])}); api_version={api_version!r} "
                "is not supported. Pass api_version=None for the latest."
            )
        return _ns

    @property
    def T(self) -> Tensor:
        """This Tensor with the order of its dimensions reversed: the transpose of a matrix.

        The array API defines ``T`` for 2-D arrays only; here, as in PyTorch (which
        deprecates it there), any other number of dimensions is reversed too. ``mT``
        transposes the last two dimensions only.
        """
        return apply("permute_dims", (self,), {"axes": tuple(range(self.ndim))[::-1]})

    @property
    def mT(self) -> Tensor:
        """The transpose of each matrix in the last two dimensions, as the array API's and PyTorch's ``mT``."""
        return unary("matrix_transpose", self)

    def __getitem__(self, key: Any) -> Tensor:
        raw = _raw_key(key, self)
        if raw is BATCHED_KEY:
            return _index_with_batched(self, key)
        return apply("getitem", (self,), {"key": raw})

    def _inplace(self, name: str, other: Any, what: str) -> Self:
        """``self = name(self, other)`` in place (``add_``, ``*=``): computed out of place,
        written into this Tensor's memory and recorded (see ``xpgrad.views``). ``what``
        is how errors name it: the method or operator the user wrote."""
        other_rg = type(other) is Tensor and other._rg
        src: TensorMethods = self
        if GRAD_ENABLED.get() and check_inplace(self, what, other_rg):
            op = self._dev.ops.get(name)
            needs = (self._rg,) if other is None else (self._rg, other_rg)
            if op is not None and len(op.argnames) == len(needs) and op.plan(needs).keep[0]:
                # The rule reads this Tensor's old values (mul_ by a Tensor that requires
                # grad), which the write is about to replace: it reads a copy instead.
                src = self._snapshot()
        elif name in _UPDATES and self._updated(name, other):
            return self  # nothing to record: computed into this Tensor's memory at once
        result = binary(name, src, other) if other is not None else unary(name, src)
        # The result of self op other has self's dtype, or one that promotion widened
        # it to, which self's dtype can't hold: any other dtype is refused, on every
        # backend (NumPy's can_cast agrees; PyTorch's lets float64 into float32).
        # (xpgrad's dtypes: a big-endian float64 array takes a native float64 result)
        if result._data.dtype != self._data.dtype and of_native(result._data.dtype) is not of_native(self._data.dtype):
            raise TypeError(
                f"in-place {what}: the result has dtype {result._data.dtype}, which can't be "
                f"stored in this Tensor of dtype {self._data.dtype}; use the out-of-place op"
            )
        # A result of another shape (t += u, u broadcasting t up) can't be stored either:
        # said here, where each library would raise its own error from inside the write
        # (dask's and JAX's unknown sizes are not ints, and are left to the write).
        shape, into = tuple(result._data.shape), tuple(self._data.shape)
        if shape != into and all(type(n) is int for n in shape + into):
            raise RuntimeError(
                f"in-place {what}: the result has shape {shape}, which can't be stored in this "
                f"Tensor of shape {into} (the other operand broadcasts it up); use the out-of-place op"
            )
        commit(self, result, what)
        return self

    def _updated(self, name: str, other: Any) -> bool:
        """Whether the backend computed ``name(self, other)`` into this Tensor's memory
        (``Backend.update``: one pass and no new array, as ``p -= lr * g`` by hand),
        where nothing is recorded; False leaves it to the out-of-place way."""
        if type(other) is Tensor:
            if other._dev is not self._dev:
                return False
            raw = other._data
        elif type(other) in _UPDATE_SCALARS:
            raw = other
        else:
            return False
        keep_output(self)  # a node that saved this Tensor as its output gets a copy first
        if self._dev.backend.update(name, self._data, raw) is None:
            return False
        self._bump_version()
        return True

    def add_(self, other: Tensor | Scalar, alpha: Scalar = 1) -> Self:
        """Add ``alpha * other`` to this Tensor in place and return it, as ``torch.Tensor.add_``.

        The sum is computed out of place and written into this Tensor's memory, then
        recorded in the graph (this Tensor then stands for the new node), as in PyTorch.
        As every in-place op it bumps the version counter, so a backward through a node
        that saved this Tensor before raises; a leaf that requires grad can be written
        only under :class:`xpgrad.no_grad`. A result whose dtype cannot be stored in this
        Tensor's dtype is a TypeError.
        """
        return self._inplace("add", other if alpha == 1 else other * alpha, "add_")

    def sub_(self, other: Tensor | Scalar, alpha: Scalar = 1) -> Self:
        """Subtract ``alpha * other`` from this Tensor in place and return it, as ``torch.Tensor.sub_``.

        Computed out of place and written into this Tensor's memory; recorded in the
        graph as every in-place op (see :meth:`add_`).
        """
        return self._inplace("subtract", other if alpha == 1 else other * alpha, "sub_")

    def mul_(self, other: Tensor | Scalar) -> Self:
        """Multiply this Tensor by ``other`` in place and return it, as ``torch.Tensor.mul_``.

        Computed out of place and written into this Tensor's memory; recorded in the
        graph as every in-place op (see :meth:`add_`).
        """
        return self._inplace("multiply", other, "mul_")

    def div_(self, other: Tensor | Scalar) -> Self:
        """Divide this Tensor by ``other`` in place and return it, as ``torch.Tensor.div_``.

        An integer Tensor cannot hold the quotient: that is a TypeError. Computed out of
        place and written into this Tensor's memory; recorded in the graph as every
        in-place op (see :meth:`add_`).
        """
        return self._inplace("divide", other, "div_")

    def pow_(self, other: Tensor | Scalar) -> Self:
        """Raise this Tensor to the power ``other`` in place and return it, as ``torch.Tensor.pow_``.

        Computed out of place and written into this Tensor's memory; recorded in the
        graph as every in-place op (see :meth:`add_`).
        """
        return self._inplace("pow", other, "pow_")

    def zero_(self) -> Self:
        """Set every element to zero, in place, and return this Tensor, as ``torch.Tensor.zero_``.

        Under grad, the gradient of the values it replaced is zero, as in PyTorch.
        """
        self._assign((Ellipsis,), 0, "zero_")
        return self

    def fill_(self, value: Tensor | Scalar) -> Self:
        """Set every element to ``value``, in place, and return this Tensor, as ``torch.Tensor.fill_``.

        ``value`` is a number, or a 0-d Tensor, whose gradient is then the sum of this
        Tensor's.
        """
        self._assign((Ellipsis,), value, "fill_")
        return self

    def copy_(self, src: Tensor) -> Self:
        """Copy ``src``'s values into this Tensor, in place, and return it, as ``torch.Tensor.copy_``.

        ``src`` is broadcast to this Tensor's shape and cast to its dtype. The gradient
        flows to ``src``, from another device too: the move is asked for by name here,
        and recorded.
        """
        if not isinstance(src, Tensor):
            raise TypeError(f"copy_ takes a Tensor, got {type(src).__name__}")
        if src._dev is not self._dev:  # asked for by name, so an explicit move
            src = to_device(src, self._dev)
        self._assign((Ellipsis,), src, "copy_")
        return self

    def __setitem__(self, key: Any, value: Any) -> None:
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
            value = Tensor(_from_data(value, None, self._dev)[0], self._dev)  # lists, arrays
        self._assign(_raw_key(key, self), value, "item assignment")

    def _assign(self, raw_key: Any, value: Any, what: str) -> None:
        """``self[raw_key] = value`` for a raw key and a Tensor or Python scalar value."""
        value_rg = type(value) is Tensor and value._rg
        if GRAD_ENABLED.get() and check_inplace(self, what, value_rg):
            # The assignment's result out of place, written back into this Tensor's
            # memory; the Tensor then stands for the new node, as after add_.
            if value_rg:
                keep_saved(value, self)
            commit(self, apply("setitem", (self, value), {"key": raw_key}), what)
            return
        xp = self._dev.xp
        raw = value._data if isinstance(value, Tensor) else value
        keep_output(self)
        try:
            if not self._dev.backend.mutable or has_integer_array(xp, raw_key) or any(
                    k is None or _negative_step(k) for k in (raw_key if isinstance(raw_key, tuple) else (raw_key,))):
                # Keys the standard leaves out of assignment (integer arrays, new axes),
                # slices with a negative step (PyTorch refuses them; a backend's setitem
                # op takes them) and libraries whose arrays cannot be indexed for
                # writing: computed out of place by the setitem op, then written back whole.
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

    def sum(self, dim: Dims = None, keepdim: bool = False, *, axis: Dims = None, keepdims: bool | None = None,
            dtype: Any = None) -> Tensor:
        """Sum over ``dim`` (all dimensions if None)."""
        return apply("sum", (self,), _reduce_params(dim, keepdim, axis, keepdims, dtype))

    def mean(self, dim: Dims = None, keepdim: bool = False, *, axis: Dims = None, keepdims: bool | None = None,
             dtype: Any = None) -> Tensor:
        """Mean over ``dim`` (all dimensions if None)."""
        return apply("mean", (self,), _reduce_params(dim, keepdim, axis, keepdims, dtype))

    def norm(self, p: float = 2, dim: Dims = None, keepdim: bool = False) -> Tensor:
        """The vector p-norm over ``dim`` (all elements if None)."""
        params: dict[str, Any] = {"ord": p, "keepdims": keepdim}
        if dim is not None:
            params["axis"] = dim
        return apply("vector_norm", (self,), params)

    def t(self) -> Self:
        """Transpose a 2-D Tensor (a 0-D or 1-D one is returned as is)."""
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a Tensor with <= 2 dimensions, got {self.ndim}; use .mT or permute")
        if self.ndim < 2:
            return self
        return unary("matrix_transpose", self)

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        """This Tensor with the dimensions ``dim0`` and ``dim1`` swapped, as ``torch.Tensor.transpose``."""
        axes = list(range(self.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return apply("permute_dims", (self,), {"axes": tuple(axes)})

    def permute(self, *dims: int | Sequence[int]) -> Tensor:
        """This Tensor with its dimensions in the order ``dims``, as ``torch.Tensor.permute``.

        ``t.permute(2, 0, 1)`` and ``t.permute((2, 0, 1))`` are the same.
        """
        return apply("permute_dims", (self,), {"axes": _dims(dims, "permute")})

    def mm(self, other: Tensor) -> Tensor:
        """Matrix product of two 2-D Tensors."""
        if not isinstance(other, Tensor) and not batched(other):
            raise TypeError(f"mm() takes a Tensor, got {type(other).__name__}")
        if self.ndim != 2 or other.ndim != 2:
            raise RuntimeError(
                f"mm() multiplies 2-D Tensors, got shapes {self.shape} and {other.shape}; "
                "use matmul() for 1-D or batched operands"
            )
        return binary("matmul", self, other)

    def matmul(self, other: Tensor) -> Tensor:
        """``self @ other``, the matrix product, as ``torch.Tensor.matmul``; see :func:`xpgrad.matmul`."""
        return binary("matmul", self, other)

    def pow(self, exponent: Tensor | Scalar) -> Tensor:
        """``self ** exponent``, elementwise with broadcasting, as ``torch.Tensor.pow``."""
        return binary("pow", self, exponent)

    def add(self, other: Tensor | Scalar) -> Tensor:
        """``self + other``, elementwise with broadcasting, as ``torch.Tensor.add``.

        Unlike PyTorch's method it takes no ``alpha``; :func:`xpgrad.add` does.
        """
        return binary("add", self, other)

    def sub(self, other: Tensor | Scalar) -> Tensor:
        """``self - other``, elementwise with broadcasting, as ``torch.Tensor.sub``.

        Unlike PyTorch's method it takes no ``alpha``; :func:`xpgrad.sub` does.
        """
        return binary("subtract", self, other)

    def mul(self, other: Tensor | Scalar) -> Tensor:
        """``self * other``, elementwise with broadcasting, as ``torch.Tensor.mul``."""
        return binary("multiply", self, other)

    def div(self, other: Tensor | Scalar) -> Tensor:
        """``self / other`` (true division), elementwise with broadcasting, as ``torch.Tensor.div``.

        Unlike PyTorch's method it takes no ``rounding_mode``; see :func:`xpgrad.div`.
        """
        return binary("divide", self, other)

    def maximum(self, other: Tensor | Scalar) -> Tensor:
        """The larger of this Tensor and ``other``, elementwise; see :func:`xpgrad.maximum`."""
        return binary("maximum", self, other)

    def minimum(self, other: Tensor | Scalar) -> Tensor:
        """The smaller of this Tensor and ``other``, elementwise; see :func:`xpgrad.minimum`."""
        return binary("minimum", self, other)

    def trace(self) -> Tensor:
        """The sum of the main diagonal of each matrix in the last two dimensions.

        ``torch.Tensor.trace`` takes a 2-D Tensor only; here a batch of matrices gives
        one sum per matrix.
        """
        return unary("trace", self)

    def inverse(self) -> Tensor:
        """The inverse of each matrix in the last two dimensions, as ``torch.Tensor.inverse``."""
        return unary("inv", self)

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        """This Tensor with the shape ``shape``, as ``torch.Tensor.reshape``; one dimension may be -1.

        ``t.reshape(2, 3)`` and ``t.reshape((2, 3))`` are the same. ``view`` is this
        method too: the result shares memory with this Tensor where the backend's
        reshape does (NumPy's, for contiguous data) and is a copy otherwise, where
        PyTorch's ``view`` raises.
        """
        return apply("reshape", (self,), {"shape": _dims(shape, "reshape")})

    def clone(self) -> Tensor:
        """A copy of this Tensor in memory of its own, as ``torch.Tensor.clone``; the gradient flows back."""
        return unary("clone", self)

    def to(self, *args: Any, dtype: Any = None, device: Device | str | None = None, non_blocking: bool = False,
           copy: bool = False) -> Self:
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
            elif batched(a):  # an example inside vmap: its device and dtype
                device, dtype = a._dev, a.dtype
            else:
                dtype = a
        t = self
        if device is not None:
            t = to_device(t, device)
        if dtype is not None:
            dt = resolve_dtype(dtype, t._dev)
            if dt != t._data.dtype:
                t = apply("astype", (t,), {"dtype": dt})
        if copy and t is self:
            t = unary("clone", self)
        return t

    def to_device(self, device: Device | str, /, *, stream: Any = None) -> Tensor:
        """This Tensor on ``device``: the array API's name for ``to(device)``.

        The move is recorded in the graph, as :meth:`to` records it. ``stream`` must be
        None.
        """
        if stream is not None:
            raise ValueError("to_device(stream=...) is not supported; leave stream as None")
        return to_device(self, device)

    def cpu(self) -> Tensor:
        """This Tensor on the CPU (NumPy); ``self`` if it is there already."""
        return self.to_device("cpu")

    def cuda(self, index: int | str | Device | None = None, non_blocking: bool = False) -> Tensor:
        """This Tensor on a CUDA GPU (CuPy), as ``torch.Tensor.cuda``.

        On ``"cuda"`` (the current GPU) or, given an index, ``"cuda:<index>"``; a device
        name or :class:`xpgrad.Device` is taken as well. Needs CuPy (``pip install
        "xpgrad[cuda]"``). ``non_blocking`` is accepted for PyTorch code and ignored.
        """
        if index is None:
            device = "cuda"
        elif isinstance(index, int) and not isinstance(index, bool):
            device = f"cuda:{index}"
        else:
            device = index  # type: ignore[assignment]  # a device string or Device, as PyTorch also accepts
        return self.to_device(device)

    def float(self) -> Self:
        """This Tensor as float32, as ``torch.Tensor.float``; itself if it is float32 already."""
        return self.to("float32")

    def double(self) -> Self:
        """This Tensor as float64, as ``torch.Tensor.double``; itself if it is float64 already."""
        return self.to("float64")

    @overload
    def type(self, dtype: None = None) -> str: ...
    @overload
    def type(self, dtype: Any) -> Self: ...

    def type(self, dtype: Any = None) -> str | Self:
        """The name of this Tensor's dtype, or this Tensor cast to ``dtype``.

        ``t.type()`` is the dtype's name, such as ``"float32"`` (PyTorch's is a type name,
        ``"torch.FloatTensor"``); ``t.type(dtype)`` is ``t.to(dtype)``, and
        ``t.type(xpgrad.FloatTensor)`` casts to float32, as old PyTorch code does.
        """
        if dtype is None:
            return str(self._data.dtype)
        if dtype is Tensor:  # t.type(xpgrad.FloatTensor), as old PyTorch code casts
            dtype = "float32"
        return self.to(dtype)

    def amax(self, dim: Dims = None, keepdim: bool = False) -> Tensor:
        """The largest elements over ``dim`` (all if None); ties share the gradient evenly."""
        return _ns.max(self, axis=_axis(dim), keepdims=keepdim)

    def amin(self, dim: Dims = None, keepdim: bool = False) -> Tensor:
        """The smallest elements over ``dim`` (all if None); ties share the gradient evenly."""
        return _ns.min(self, axis=_axis(dim), keepdims=keepdim)



    def prod(self, dim: Dims = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        """The product over ``dim`` (all if None); exact gradients where elements are zero."""
        return _ns.prod(self, axis=_axis(dim), keepdims=keepdim, dtype=dtype)

    def var(self, dim: Dims = None, unbiased: bool = True, keepdim: bool = False, *,
            correction: builtins.float | None = None) -> Tensor:
        """The variance over ``dim``, with Bessel's correction by default, as in PyTorch."""
        if correction is None:
            correction = 1 if unbiased else 0
        return _ns.var(self, axis=_axis(dim), correction=correction, keepdims=keepdim)

    def std(self, dim: Dims = None, unbiased: bool = True, keepdim: bool = False, *,
            correction: builtins.float | None = None) -> Tensor:
        """The standard deviation over ``dim``, with Bessel's correction by default."""
        if correction is None:
            correction = 1 if unbiased else 0
        return _ns.std(self, axis=_axis(dim), correction=correction, keepdims=keepdim)

    def cumsum(self, dim: int) -> Tensor:
        """The cumulative sum along ``dim``."""
        return _ns.cumulative_sum(self, axis=dim)

    def cumprod(self, dim: int) -> Tensor:
        """The cumulative product along ``dim``."""
        return _ns.cumulative_prod(self, axis=dim)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """The index of the largest element (of the flattened Tensor if ``dim`` is None)."""
        return _ns.argmax(self, axis=dim, keepdims=keepdim)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """The index of the smallest element (of the flattened Tensor if ``dim`` is None)."""
        return _ns.argmin(self, axis=dim, keepdims=keepdim)

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = True) -> tuple[Tensor, Tensor]:
        """``(values, indices)`` sorted along ``dim``; the values are differentiable."""
        xp = _ns
        values = xp.sort(self, axis=dim, descending=descending, stable=stable)
        return _ValuesIndices(values, xp.argsort(self, axis=dim, descending=descending, stable=stable))

    def all(self, dim: Dims = None, keepdim: bool = False) -> Tensor:
        """Whether every element is true (nonzero), over ``dim`` (all if None), as ``torch.Tensor.all``.

        Returns a bool Tensor; not differentiable.
        """
        return _ns.all(self, axis=_axis(dim), keepdims=keepdim)

    def any(self, dim: Dims = None, keepdim: bool = False) -> Tensor:
        """Whether some element is true (nonzero), over ``dim`` (all if None), as ``torch.Tensor.any``.

        Returns a bool Tensor; not differentiable.
        """
        return _ns.any(self, axis=_axis(dim), keepdims=keepdim)

    def clamp(self, min: Tensor | Scalar | None = None,  # noqa: A002  (PyTorch's names)
              max: Tensor | Scalar | None = None) -> Tensor:
        """Limit the values to ``[min, max]``; the gradient passes where they are inside."""
        return _ns.clip(self, min=min, max=max)

    clip = clamp

    def flip(self, dims: int | Sequence[int]) -> Tensor:
        """This Tensor with the order of its elements reversed along ``dims``, as ``torch.Tensor.flip``."""
        return _ns.flip(self, axis=tuple(dims) if isinstance(dims, (list, tuple)) else dims)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """The dimensions ``start_dim`` to ``end_dim`` merged into one."""
        return _fn.flatten(self, start_dim, end_dim)

    def unsqueeze(self, dim: int) -> Tensor:
        """A new dimension of size 1 at ``dim``."""
        return _fn.unsqueeze(self, dim)

    def squeeze(self, dim: int | Sequence[int] | None = None) -> Tensor:
        """Without the dimensions of size 1 (or ``dim``, where it has size 1)."""
        return _fn.squeeze(self, dim)

    def expand(self, *sizes: int | Sequence[int]) -> Tensor:
        """This Tensor broadcast to the shape ``sizes``, as ``torch.Tensor.expand``.

        A size of -1 keeps that dimension's size; new dimensions are added in front, as
        in PyTorch. ``t.expand(2, 3)`` and ``t.expand((2, 3))`` are the same.
        """
        shape = _dims(sizes, "expand")
        own = tuple(self.shape)
        lead = len(shape) - len(own)
        if lead < 0:
            raise RuntimeError(
                f"expand: the number of sizes provided ({len(shape)}) must be greater or equal "
                f"to the number of dimensions in the tensor ({len(own)})"
            )
        target = []
        for i, s in enumerate(shape):
            if s == -1:
                if i < lead:
                    raise RuntimeError(f"expand: -1 is not allowed in a leading, non-existing dimension ({i})")
                s = own[i - lead]
            target.append(s)
        return _ns.broadcast_to(self, tuple(target))

    def expand_as(self, other: Tensor) -> Tensor:
        """This Tensor broadcast to ``other``'s shape, as ``torch.Tensor.expand_as``."""
        return self.expand(tuple(other.shape))

    def sigmoid(self) -> Tensor:
        """The logistic function, elementwise; see :func:`xpgrad.sigmoid`."""
        return _fn.sigmoid(self)

    def relu(self) -> Tensor:
        """``max(self, 0)``, elementwise; see :func:`xpgrad.relu`."""
        return _fn.relu(self)

    def softmax(self, dim: int, dtype: Any = None) -> Tensor:
        """The softmax along ``dim``; see :func:`xpgrad.softmax`."""
        return _fn.softmax(self, dim, dtype)

    def log_softmax(self, dim: int, dtype: Any = None) -> Tensor:
        """The log-softmax along ``dim``; see :func:`xpgrad.log_softmax`."""
        return _fn.log_softmax(self, dim, dtype)

    def logsumexp(self, dim: Dims, keepdim: bool = False) -> Tensor:
        """``log(sum(exp(self), dim))`` without overflow; see :func:`xpgrad.logsumexp`."""
        return _fn.logsumexp(self, dim, keepdim)

    def allclose(self, other: Tensor, rtol: builtins.float = 1e-05, atol: builtins.float = 1e-08,
                 equal_nan: bool = False) -> bool:
        """Whether this Tensor is close to ``other`` everywhere (a Python bool); see :func:`xpgrad.allclose`."""
        return _fn.allclose(self, other, rtol, atol, equal_nan)

    view = reshape

    def __deepcopy__(self, memo: dict[int, Any]) -> Tensor:
        """A leaf with a copy of the data, the same ``requires_grad`` and a copy of
        ``.grad``, as ``copy.deepcopy`` of a PyTorch leaf (a state dict, a model)."""
        if self._grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                "protocol: detach() it first (t.detach().clone() copies its values)"
            )
        found = memo.get(id(self))
        if found is not None:
            return found
        new = Tensor(self._dev.xp.asarray(self._data, copy=True), self._dev)
        new._own = True
        memo[id(self)] = new
        if self._rg:
            new.requires_grad_(True)
        if self._grad is not None:
            new._grad = self._grad.__deepcopy__(memo)
        return new


def install(cls: type) -> None:
    """Copy every method and property :class:`TensorMethods` defines onto ``cls``."""
    for name, value in vars(TensorMethods).items():
        # __hash__: the class body defines __eq__ (elementwise, as PyTorch's), which sets
        # this class's __hash__ to None; Tensor keeps its own, by identity, so that Tensors
        # are dict keys and set members (an optimizer's state), as in PyTorch.
        if name not in ("__module__", "__qualname__", "__doc__", "__dict__", "__weakref__", "__hash__"):
            if inspect.isfunction(value) and not value.__qualname__.startswith("TensorMethods."):
                # a method made by a factory (unary_method("exp")) or defined at module level
                # is named as Tensor's own, so that help(), tracebacks and the API reference
                # show it where users call it
                value.__qualname__ = f"{cls.__qualname__}.{name}"
                value.__module__ = cls.__module__
            setattr(cls, name, value)


install(Tensor)
