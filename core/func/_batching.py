"""Batched values and batching rules: what ``vmap`` runs ``f`` on.

Inside ``vmap(f)``, ``f`` sees :class:`Batched` values: a Batched holds a *physical*
value, a Tensor (or, under nested vmaps, the Batched of an outer level) whose axis 0 is
the batch, and shows ``f`` the *logical* value, one example: its ``shape`` lacks the
batch axis. Every op on a Batched is turned into one op on the physical values by the
op's batching rule (its axes shifted past the batch axis, its operands aligned), so the
whole batch is computed in one call of the backend, and the graph records ordinary ops
on ordinary Tensors: reverse mode, forward mode and ``create_graph`` work on a vmapped
computation with no batching of their own.

Rules: an op may declare ``batch=`` (see :class:`xpgrad.plugins.Op`); otherwise the rule
is derived from what the op is (elementwise, a reduction over ``axis``, an op on the
trailing matrix axes, ...), and an op without one runs once per example, with a one-time
:class:`VmapFallbackWarning` naming it.
"""
from __future__ import annotations

import contextvars
import itertools
import math
import warnings
from typing import Any

from xpgrad.dispatch import DispatchError, apply
from xpgrad.dtypes import is_kind
from xpgrad.tensor import Tensor

__all__ = ["Batched", "VmapError", "VmapFallbackWarning", "call", "LEVELS", "materialize", "add_batch"]


class VmapError(ValueError):
    """A function cannot be vmapped as written.

    It used a batched value's own value in Python (data-dependent control flow), wrote
    into a batched value in place, or mixed batch sizes."""


class VmapFallbackWarning(UserWarning):
    """An op has no batching rule: vmap runs it once per example (correct, not vectorised)."""


# The active vmap levels of this thread or task, outermost first: (level, batch size).
LEVELS: contextvars.ContextVar[tuple[tuple[int, int], ...]] = contextvars.ContextVar("xpgrad_vmap_levels",
                                                                                    default=())


class Batched:
    """One example of a batch, as ``f`` sees it inside ``vmap``; the batch is axis 0 of
    ``_value``. Behaves as a Tensor of the example's shape (operators, ``xpgrad.xp``
    functions, Tensor methods); asking for its values (``bool()``, ``item()``) raises,
    since they differ from example to example."""

    __slots__ = ("_value", "_level", "_size")

    def __init__(self, value: Any, level: int, size: int) -> None:
        self._value = value
        self._level = level
        self._size = size

    # ------------------------------------------------------------------ what f sees
    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of one example (the batch axis left out)."""
        return tuple(self._value.shape[1:])

    @property
    def ndim(self) -> int:
        """The number of dimensions of one example."""
        return self._value.ndim - 1

    @property
    def size(self) -> int:
        """The number of elements of one example."""
        return math.prod(self.shape)

    @property
    def dtype(self) -> Any:
        """The data type (the same for every example)."""
        return self._value.dtype

    @property
    def device(self) -> Any:
        """The device the batch lives on."""
        return self._value.device

    @property
    def requires_grad(self) -> bool:
        """Whether the batch's graph requires grad."""
        return self._value.requires_grad

    @property
    def _dev(self) -> Any:
        return self._value._dev

    # The graph of the batch is the graph of the physical Tensor (one node per op for the
    # whole batch): what code that walks a graph from a result (autograd.functional's
    # checks) reads.
    @property
    def _rg(self) -> bool:
        return _base(self)._rg

    @property
    def _grad_fn(self) -> Any:
        return _base(self)._grad_fn

    @property
    def _accum(self) -> Any:
        return _base(self)._accum

    @property
    def grad_fn(self) -> Any:
        """The graph node that computed the batch (None for a leaf)."""
        return _base(self)._grad_fn

    @property
    def T(self) -> Batched:  # noqa: N802  (the standard's name)
        """The example with its axes reversed."""
        return call("permute_dims", (self,), {"axes": tuple(range(self.ndim - 1, -1, -1))})

    @property
    def mT(self) -> Batched:  # noqa: N802
        """The example with its last two axes swapped."""
        return call("matrix_transpose", (self,), {})

    def _take_from(self, name: str, x: Any, axis: int) -> Any:
        # take/take_along_axis of x with these batched indices (xpgrad.xp._indexing asks)
        return take_with_batched_indices(name, x, self, axis)

    def detach(self) -> Batched:
        """The batch outside the graph."""
        return Batched(self._value.detach(), self._level, self._size)

    # Tensor methods whose Tensor versions read the array itself (fast paths): the same
    # semantics (and errors) through ops, or on the physical value re-wrapped.
    def clone(self) -> Batched:
        """A copy of the example in memory of its own; the gradient flows back."""
        return Batched(self._value.clone(), self._level, self._size)

    def to(self, *args: Any, **kwargs: Any) -> Batched:
        """The example on another device and/or with another dtype, as ``Tensor.to``."""
        value = self._value.to(*args, **kwargs)
        return self if value is self._value else Batched(value, self._level, self._size)

    def pow(self, exponent: Any) -> Batched:
        """``self ** exponent``, elementwise with broadcasting."""
        return apply("pow", (self, exponent))

    def t(self) -> Batched:
        """Transpose a 2-D example (a 0-D or 1-D one is returned as is)."""
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a Tensor with <= 2 dimensions, got {self.ndim}; use .mT or permute")
        if self.ndim < 2:
            return self
        return apply("matrix_transpose", (self,))

    def mm(self, other: Any) -> Batched:
        """Matrix product of two 2-D examples."""
        if not isinstance(other, (Tensor, Batched)):
            raise TypeError(f"mm() takes a Tensor, got {type(other).__name__}")
        if self.ndim != 2 or other.ndim != 2:
            raise RuntimeError(
                f"mm() multiplies 2-D Tensors, got shapes {self.shape} and {other.shape}; "
                "use matmul() for 1-D or batched operands"
            )
        return apply("matmul", (self, other))

    def trace(self) -> Batched:
        """The sum of the main diagonal of each matrix in the example's last two dimensions."""
        return apply("trace", (self,))

    def inverse(self) -> Batched:
        """The inverse of each matrix in the example's last two dimensions."""
        return apply("inv", (self,))

    def __array_namespace__(self, *, api_version: str | None = None) -> Any:
        from xpgrad import xp

        return xp.__array_namespace__(api_version=api_version) if api_version else xp

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d Tensor")
        return self.shape[0]

    def __repr__(self) -> str:
        return f"<Batched: examples of shape {self.shape} in a batch of {self._size}; {self._value!r}>"

    # ------------------------------------------------------------------ no values
    def _data_dependent(self, what: str) -> None:
        raise VmapError(
            f"{what} of a batched value inside vmap: the value differs from example to example, so "
            f"Python control flow cannot depend on it. Compute both branches and choose with "
            f"xpgrad.xp.where(condition, a, b), or move the test outside the vmapped function"
        )

    def __bool__(self) -> bool:
        self._data_dependent("bool()")
        return False

    def __float__(self) -> float:
        self._data_dependent("float()")
        return 0.0

    def __int__(self) -> int:
        self._data_dependent("int()")
        return 0

    def __index__(self) -> int:
        self._data_dependent("an index")
        return 0

    def item(self) -> Any:
        """Refused: the value differs from example to example."""
        self._data_dependent("item()")

    def tolist(self) -> Any:
        """Refused: the value differs from example to example."""
        self._data_dependent("tolist()")

    def numpy(self) -> Any:
        """Refused: the value differs from example to example."""
        self._data_dependent("numpy()")

    def __setitem__(self, key: Any, value: Any) -> None:
        raise VmapError(
            "an in-place write into a batched value inside vmap is not supported: build the result "
            "out of place (xpgrad.xp.where, concat, or an op that returns a new Tensor)"
        )

    def __getitem__(self, key: Any) -> Batched:
        from xpgrad.methods import BATCHED_KEY, _index_with_batched, _raw_key

        example: Any = self  # _raw_key reads a key against the example, as against a Tensor
        raw = _raw_key(key, example)
        if raw is BATCHED_KEY:
            return _index_with_batched(self, key)
        return call("getitem", (self,), {"key": raw})

    def _index_into(self, x: Any, key: Any) -> Any:
        # x[key] where this batched value is (in) the key: an integer index array is a
        # take along axis 0; a boolean mask has a shape that depends on each example
        from xpgrad import xp

        items = key if isinstance(key, tuple) else (key,)
        if is_kind(self.dtype, "bool"):
            raise VmapError("a boolean mask batched inside vmap: the result's shape would depend on each "
                            "example's values. Keep the shape: xpgrad.xp.where(mask, x, 0), or sum with the mask")
        if len(items) != 1:
            raise VmapError("an index batched inside vmap beside other indices is not supported; index one axis "
                            "with xpgrad.xp.take(x, indices, axis=...) or take_along_axis")
        if not is_kind(self.dtype, "integral"):
            raise IndexError(f"arrays used as indices must be of integer or boolean type, got {self.dtype}")
        flat = xp.reshape(self, (-1,))
        out = xp.take(x, flat, axis=0)
        return xp.reshape(out, tuple(self.shape) + tuple(x.shape[1:]))

    def __getattr__(self, name: str) -> Any:
        # A Tensor method not made for batched values (it reads the array itself)
        if name == "_data":  # (an AttributeError, so that hasattr() and getattr(..., default) still answer)
            raise AttributeError("this Tensor method reads the array of one Tensor and does not run inside vmap "
                                 "yet; use the xpgrad.xp function of the same name")
        raise AttributeError(f"'Tensor' object (batched inside vmap) has no attribute {name!r}")


def _operator(name: str, reflected: bool = False) -> Any:
    if reflected:
        def method(self: Batched, other: Any) -> Any:
            return apply(name, (other, self))
    else:
        def method(self: Batched, other: Any) -> Any:
            return apply(name, (self, other))
    return method


for _dunder, _op in [("add", "add"), ("sub", "subtract"), ("mul", "multiply"), ("truediv", "divide"),
                     ("floordiv", "floor_divide"), ("mod", "remainder"), ("pow", "pow"), ("matmul", "matmul"),
                     ("and", "bitwise_and"), ("or", "bitwise_or"), ("xor", "bitwise_xor"),
                     ("lshift", "bitwise_left_shift"), ("rshift", "bitwise_right_shift")]:
    setattr(Batched, f"__{_dunder}__", _operator(_op))
    setattr(Batched, f"__r{_dunder}__", _operator(_op, reflected=True))
for _dunder, _op in [("lt", "less"), ("le", "less_equal"), ("gt", "greater"), ("ge", "greater_equal"),
                     ("eq", "equal"), ("ne", "not_equal")]:
    setattr(Batched, f"__{_dunder}__", _operator(_op))
Batched.__hash__ = object.__hash__  # type: ignore[method-assign]
for _dunder, _op in [("neg", "negative"), ("pos", "positive"), ("abs", "abs"), ("invert", "bitwise_invert")]:
    setattr(Batched, f"__{_dunder}__", (lambda op: lambda self: apply(op, (self,)))(_op))


def _install_tensor_methods() -> None:
    """Tensor's methods that compute through ops work on a Batched as they are (each op
    call reaches :func:`call`); the attributes above take precedence. The dispatcher's
    fast methods (``exp``, made by ``unary_method("exp")``) read the array directly: a
    Batched gets the general call of the same op instead."""
    from xpgrad import dispatch
    from xpgrad.methods import TensorMethods

    for name, value in vars(TensorMethods).items():
        if name.startswith("__") or name in vars(Batched) or isinstance(value, property) or not callable(value):
            continue
        code = getattr(value, "__code__", None)
        if code is not None and code.co_filename == dispatch.__file__ and "name" in code.co_freevars:
            op = value.__closure__[code.co_freevars.index("name")].cell_contents
            value = _general_method(op, code.co_argcount, value.__name__.startswith("__r"))
        setattr(Batched, name, value)


def _general_method(op: str, argcount: int, reflected: bool) -> Any:
    if argcount == 1:
        return lambda self: apply(op, (self,))
    if reflected:
        return lambda self, other: apply(op, (other, self))
    return lambda self, other: apply(op, (self, other))


_install_tensor_methods()


# ---------------------------------------------------------------------- dispatch


def _base(value: Any) -> Tensor:
    while isinstance(value, Batched):
        value = value._value
    return value


def call(name: str, args: tuple[Any, ...], params: dict[str, Any] | None) -> Any:
    """``name(*args, **params)`` where some ``args`` are Batched: the op on the physical
    values of the innermost level, by the op's batching rule; the result is Batched at
    that level."""
    level, size = -1, 0
    for a in args:
        if isinstance(a, Batched) and a._level > level:
            level, size = a._level, a._size
    for a in args:
        if isinstance(a, Batched) and a._level == level and a._size != size:
            raise VmapError(f"op {name!r} got batches of sizes {size} and {a._size} at one vmap level")
    values = [a._value if isinstance(a, Batched) and a._level == level else a for a in args]
    batched = [isinstance(a, Batched) and a._level == level for a in args]
    params = dict(params or {})
    tensor = next((_base(a) for a in args if isinstance(a, (Tensor, Batched))), None)
    op = tensor._dev.ops.get(name) if tensor is not None else None
    if op is None:
        raise DispatchError(f"op {name!r} is not registered")
    rule = op.batch
    if isinstance(rule, str):
        rule = _NAMED[rule](name)
    rule = rule or _RULES.get(name) or _derived(op)
    if rule is None:
        out = _loop(name, values, batched, params, size)
    else:
        out = rule(values, batched, params, size)
        if out is NotImplemented:
            out = _loop(name, values, batched, params, size)
    return Batched(out, level, size)


_WARNED: set[str] = set()


def _loop(name: str, values: list[Any], batched: list[bool], params: dict[str, Any], size: int) -> Any:
    """The op once per example, the results stacked: correct for any op, not vectorised."""
    if name not in _WARNED:
        _WARNED.add(name)
        warnings.warn(f"op {name!r} has no batching rule: vmap runs it once per example of the batch "
                      f"(declare batch= in its Op to vectorise it)", VmapFallbackWarning, stacklevel=4)
    results = []
    for i in range(size):
        args = tuple(apply("getitem", (v,), {"key": (i, Ellipsis)}) if b else v for v, b in zip(values, batched))
        results.append(apply(name, args, params))
    return apply("stack", tuple(results), {"axis": 0, "count": len(results)})


# ---------------------------------------------------------------------- helpers for rules


def _ndim(value: Any, batched: bool) -> int:
    """The logical number of dimensions of an operand (0 for a Python scalar)."""
    if isinstance(value, (Tensor, Batched)):
        return value.ndim - 1 if batched else value.ndim
    return 0


def _pad(value: Any, ndim: int, to: int) -> Any:
    """A batched physical value of logical rank ``ndim`` with size-1 axes inserted after
    the batch axis up to logical rank ``to``, so that it broadcasts against unbatched
    operands as one example would."""
    if to <= ndim:
        return value
    shape = tuple(value.shape)
    return apply("reshape", (value,), {"shape": (shape[0],) + (1,) * (to - ndim) + shape[1:], "copy": None})


def add_batch(value: Any, size: int) -> Any:
    """An unbatched value broadcast along a new batch axis 0 (a view where the backend has views)."""
    shape = tuple(value.shape)
    expanded = apply("expand_dims", (value,), {"axis": 0})
    return apply("broadcast_to", (expanded,), {"shape": (size,) + shape})


def _shift(axis: Any) -> Any:
    """A logical axis (or tuple) as the physical one: non-negative axes move past the
    batch axis, negative ones count from the end and stay."""
    if axis is None:
        return None
    if isinstance(axis, (tuple, list)):
        return tuple(_shift(a) for a in axis)
    return axis + 1 if axis >= 0 else axis


def _arrays(values: list[Any]) -> list[Any]:
    return [v for v in values if isinstance(v, (Tensor, Batched))]


# ---------------------------------------------------------------------- rules
# A rule takes (values, batched, params, size): the operands (physical for the batched
# ones, axis 0 the batch), which of them are batched, the op's params and the batch size,
# and returns the physical result (axis 0 the batch), or NotImplemented for the loop.


def _broadcasting(name: str) -> Any:
    def rule(values: list[Any], batched: list[bool], params: dict[str, Any], size: int) -> Any:
        rank = max((_ndim(v, b) for v, b in zip(values, batched)), default=0)
        args = tuple(_pad(v, _ndim(v, b), rank) if b else v for v, b in zip(values, batched))
        return apply(name, args, params)
    return rule


def _trailing(name: str) -> Any:
    """An op on the last axes (a matrix's) whose leading axes are a batch already."""
    def rule(values: list[Any], batched: list[bool], params: dict[str, Any], size: int) -> Any:
        if len(values) != 1:
            return NotImplemented
        return apply(name, tuple(values), params)
    return rule


def _reduction(name: str) -> Any:
    """An op over ``axis`` where None means every axis."""
    def rule(values: list[Any], batched: list[bool], params: dict[str, Any], size: int) -> Any:
        (x,) = values
        axis = params.get("axis")
        params["axis"] = tuple(range(1, x.ndim)) if axis is None else _shift(axis)
        return apply(name, (x,), params)
    return rule


def _flattening(name: str) -> Any:
    """An op over one ``axis`` where None means the flattened array."""
    def rule(values: list[Any], batched: list[bool], params: dict[str, Any], size: int) -> Any:
        (x,) = values
        if params.get("axis") is None:
            shape = tuple(x.shape)
            flat = apply("reshape", (x,), {"shape": (shape[0], -1), "copy": None})
            params["axis"] = 1
            out = apply(name, (flat,), params)
            if name == "roll":  # the same shape back
                return apply("reshape", (out,), {"shape": shape, "copy": None})
            return out
        params["axis"] = _shift(params["axis"])
        return apply(name, (x,), params)
    return rule


def _axis_param(key: str) -> Any:
    def make(name: str) -> Any:
        def rule(values: list[Any], batched: list[bool], params: dict[str, Any], size: int) -> Any:
            if len(values) != 1:
                return NotImplemented
            (x,) = values
            if params.get(key) is None:
                params[key] = tuple(range(1, x.ndim)) if key == "axes" else params.get(key)
            else:
                params[key] = _shift(params[key])
            return apply(name, (x,), params)
        return rule
    return make


def _all_batched(values: list[Any], batched: list[bool], size: int) -> tuple[Any, ...]:
    return tuple(v if b else add_batch(v, size) for v, b in zip(values, batched))


def _joining(name: str) -> Any:
    """concat and stack: every array batched, the axis shifted."""
    def rule(values: list[Any], batched: list[bool], params: dict[str, Any], size: int) -> Any:
        if params.get("axis") is None:
            return NotImplemented
        params["axis"] = _shift(params["axis"])
        return apply(name, _all_batched(values, batched, size), params)
    return rule


def _reshape(values: list[Any], batched: list[bool], params: dict[str, Any], size: int) -> Any:
    (x,) = values
    shape = tuple(x.shape)
    if x.ndim > 2:
        # each example flattened first, then given its new shape: two reshapes that only
        # merge or split axes, which every backend does (dask cannot, in one, turn the
        # trailing (2, 3) of a batch chunked along its batch axis into (3, 2))
        x = apply("reshape", (x,), {"shape": (shape[0], math.prod(shape[1:])), "copy": params.get("copy")})
    params["shape"] = (shape[0],) + tuple(params["shape"])
    return apply("reshape", (x,), params)


def _broadcast_to(values: list[Any], batched: list[bool], params: dict[str, Any], size: int) -> Any:
    (x,) = values
    shape = tuple(params["shape"])
    x = _pad(x, x.ndim - 1, len(shape))
    return apply("broadcast_to", (x,), {"shape": (x.shape[0],) + shape})


def _permute_dims(values: list[Any], batched: list[bool], params: dict[str, Any], size: int) -> Any:
    (x,) = values
    n = x.ndim - 1
    return apply("permute_dims", (x,), {"axes": (0,) + tuple(a % n + 1 for a in params["axes"])})


def _tile(values: list[Any], batched: list[bool], params: dict[str, Any], size: int) -> Any:
    (x,) = values
    reps = tuple(params["repetitions"])
    n = x.ndim - 1
    x = _pad(x, n, len(reps))
    reps = (1,) * (max(n, len(reps)) - len(reps)) + reps
    return apply("tile", (x,), {"repetitions": (1,) + reps})


def _getitem(values: list[Any], batched: list[bool], params: dict[str, Any], size: int) -> Any:
    (x,) = values
    key = params["key"]
    key = key if isinstance(key, tuple) else (key,)
    # integer-array indices separated by a slice would move their axes to the front
    arrays = [i for i, k in enumerate(key) if not isinstance(k, (int, slice, type(None), type(Ellipsis)))]
    if len(arrays) > 1 and arrays[-1] - arrays[0] != len(arrays) - 1:
        return NotImplemented
    return apply("getitem", (x,), {"key": _batch_key(key)})


def _batch_key(key: tuple[Any, ...]) -> tuple[Any, ...]:
    """An index of one example as the index of the batch: every example (``:``) first,
    and the example's own axes to the end (``...``) unless the key says where they go."""
    if any(k is Ellipsis for k in key):
        return (slice(None),) + key
    return (slice(None),) + key + (Ellipsis,)


def _scatter_add(values: list[Any], batched: list[bool], params: dict[str, Any], size: int) -> Any:
    (g,) = values
    key = params["key"]
    key = key if isinstance(key, tuple) else (key,)
    arrays = [i for i, k in enumerate(key) if not isinstance(k, (int, slice, type(None), type(Ellipsis)))]
    if arrays:  # an integer-array key: its axes may move; the loop is right for every kind
        return NotImplemented
    params["key"] = _batch_key(key)
    params["shape"] = (g.shape[0],) + tuple(params["shape"])
    return apply("scatter_add", (g,), params)


def _take(values: list[Any], batched: list[bool], params: dict[str, Any], size: int) -> Any:
    """take with unbatched indices (a raw array param): the same indices, the axis shifted."""
    (x,) = values
    if params.get("axis") is None:  # the flattened array (xp.take always gives an axis)
        return NotImplemented
    params["axis"] = _shift(params["axis"])
    return apply("take", (x,), params)


def _take_along_axis(values: list[Any], batched: list[bool], params: dict[str, Any], size: int) -> Any:
    """take_along_axis with unbatched indices (a raw array param): they gain a leading axis
    of 1, which broadcasts against the batch."""
    (x,) = values
    params["indices"] = _base(x)._dev.xp.expand_dims(params["indices"], axis=0)
    params["axis"] = _shift(params["axis"])
    return apply("take_along_axis", (x,), params)


def take_with_batched_indices(name: str, x: Any, indices: Batched, axis: int) -> Any:
    """``xp.take`` or ``xp.take_along_axis`` (``name``) where ``indices`` is Batched. The
    ops take their indices as a param, which a batching rule cannot batch: here the batch
    of indices becomes the indices of one ``take_along_axis`` on the physical values,
    level by level (``axis`` is a valid axis of ``x``)."""
    from xpgrad import xp

    level, size = indices._level, indices._size
    if isinstance(x, Batched) and x._level > level:  # x's inner level: the same indices for each of its examples
        idx = indices if name == "take" else xp.expand_dims(indices, axis=0)
        out = getattr(xp, name)(x._value, idx, axis=_shift(axis))
        return Batched(out, x._level, x._size)
    if isinstance(x, Batched) and x._level == level and x._size != size:
        raise VmapError(f"op {name!r} got batches of sizes {size} and {x._size} at one vmap level")
    ndim = x.ndim
    axis %= ndim
    xv, iv = materialize(x, level, size), indices._value
    if name != "take":
        return Batched(xp.take_along_axis(xv, iv, axis=axis + 1), level, size)
    # each example's (flattened) indices along the axis, broadcast over the other axes
    shape = tuple(indices.shape)
    if indices.size == 0 and size:  # no index: every example's are the first's (dask cannot gather with none)
        return Batched(xp.take(xv, iv[0], axis=axis + 1), level, size)
    if len(shape) != 1:
        iv = xp.reshape(iv, (size, indices.size))
    iv = iv[(slice(None),) + (None,) * axis + (slice(None),) + (None,) * (ndim - axis - 1)]  # not reshape: dask
    out = xp.take_along_axis(xv, iv, axis=axis + 1)
    if len(shape) != 1:
        out = xp.reshape(out, (size,) + tuple(x.shape[:axis]) + shape + tuple(x.shape[axis + 1:]))
    return Batched(out, level, size)


def _matmul(values: list[Any], batched: list[bool], params: dict[str, Any], size: int) -> Any:
    (a, b), (ba, bb) = values, batched
    na, nb = _ndim(a, ba), _ndim(b, bb)
    # One side a batch of vectors, the other one matrix: one matrix product for the whole
    # batch (NumPy would run a broadcast product as one small product per example).
    if ba and not bb and na == 1 and nb == 2:  # x @ M for each x: the rows of X @ M
        return apply("matmul", (a, b))
    if bb and not ba and nb == 1 and na == 2:  # M @ x for each x: the rows of X @ M^T
        return apply("matmul", (b, apply("matrix_transpose", (a,))))
    if ba and not bb and na == 2 and nb == 2:  # X_i @ M: the batch's rows stacked, one product
        n, p, m = a.shape
        flat = apply("reshape", (a,), {"shape": (n * p, m), "copy": None})
        out = apply("matmul", (flat, b))
        return apply("reshape", (out,), {"shape": (n, p, b.shape[-1]), "copy": None})
    if bb and not ba and nb == 2 and na == 2:  # M @ X_i: the batch's columns side by side, one product
        n, m, q = b.shape
        side = apply("reshape", (apply("permute_dims", (b,), {"axes": (1, 0, 2)}),), {"shape": (m, n * q),
                                                                                       "copy": None})
        out = apply("reshape", (apply("matmul", (a, side)),), {"shape": (a.shape[0], n, q), "copy": None})
        return apply("permute_dims", (out,), {"axes": (1, 0, 2)})
    squeeze = []
    if ba and na == 1:  # a vector: a row of a matrix, the row axis dropped after
        a = apply("expand_dims", (a,), {"axis": 1})
        na, squeeze = 2, [-2]
    if bb and nb == 1:
        b = apply("expand_dims", (b,), {"axis": -1})
        nb, squeeze = 2, squeeze + [-1]
    if na == 1 or nb == 1:  # an unbatched vector against a batched matrix: matmul broadcasts it
        out = apply("matmul", (a, b))
        if nb == 1 and squeeze == [-2]:  # a batched vector against an unbatched one: the row axis is last
            squeeze = [-1]
    else:
        rank = max(na, nb)
        a = _pad(a, na, rank) if ba else a
        b = _pad(b, nb, rank) if bb else b
        out = apply("matmul", (a, b))
    for axis in squeeze if len(squeeze) < 2 else [-1, -1]:  # (..., 1, 1): the last axis, twice
        out = apply("squeeze", (out,), {"axis": axis})
    return out


def _einsum(values: list[Any], batched: list[bool], params: dict[str, Any], size: int) -> Any:
    equation = params["equation"]
    if "..." in equation or "->" not in equation:
        return NotImplemented
    inputs, output = equation.split("->")
    letters = set(equation)
    letter = next(c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in letters)
    terms = [(letter + t if b else t) for t, b in zip(inputs.split(","), batched)]
    params["equation"] = ",".join(terms) + "->" + letter + output
    return apply("einsum", tuple(values), params)


def _where(values: list[Any], batched: list[bool], params: dict[str, Any], size: int) -> Any:
    return _broadcasting("where")(values, batched, params, size)


_REDUCTIONS = ["all", "any", "count_nonzero", "max", "min", "mean", "prod", "std", "sum", "var", "vector_norm",
               "flip"]
_FLATTENING = ["argmax", "argmin", "cumulative_sum", "cumulative_prod", "roll", "repeat", "sort", "argsort"]
_TRAILING = ["cholesky", "cofactor", "det", "diagonal", "eigh_eigenvalues", "eigh_eigenvectors", "eigvalsh", "inv",
             "matrix_power", "matrix_transpose", "pinv", "qr_q", "qr_r", "slogdet_logabsdet", "slogdet_phase",
             "slogdet_sign", "svd_packed", "svd_s", "svd_u", "svd_vh", "svdvals", "trace"]
_RULES: dict[str, Any] = {
    **{name: _reduction(name) for name in _REDUCTIONS},
    **{name: _flattening(name) for name in _FLATTENING},
    **{name: _trailing(name) for name in _TRAILING},
    **{name: _axis_param("axis")(name) for name in ["fft", "ifft", "rfft", "irfft", "expand_dims", "squeeze"]},
    **{name: _axis_param("axes")(name) for name in ["fftn", "ifftn", "rfftn", "irfftn"]},
    "concat": _joining("concat"), "stack": _joining("stack"),
    "reshape": _reshape, "broadcast_to": _broadcast_to, "permute_dims": _permute_dims, "tile": _tile,
    "getitem": _getitem, "scatter_add": _scatter_add, "matmul": _matmul, "einsum": _einsum, "where": _where,
    "take": _take, "take_along_axis": _take_along_axis,
}
_NAMED = {"elementwise": _broadcasting, "reduction": _reduction, "trailing": _trailing}
# params that do not depend on the axes: an op with only these is elementwise if it takes
# one or more arrays that broadcast together
_NEUTRAL_PARAMS = frozenset({"dtype", "eps", "n", "lower", "upper", "copy"})
_NOT_BROADCASTING = frozenset({"outer", "cross", "solve", "searchsorted", "setitem", "scatter_add",
                               "unique_values", "permute_along_axis", "take", "take_along_axis", "matrix_rank"})


def _derived(op: Any) -> Any:
    """The rule of an op that declares none and is not in the table: an op declared
    ``elementwise`` broadcasts, and so does a built-in op whose params have nothing to do
    with axes (they are elementwise: ``where``, ``atan2``, ``astype``). A third-party op
    that declares neither gets none, and runs once per example: its forward could reduce
    over a fixed axis, which broadcasting would apply to the batch axis."""
    if op.name in _NOT_BROADCASTING or op.variadic:
        return None
    if op.elementwise or (op.params <= _NEUTRAL_PARAMS and (op.plugin or "").startswith("xpgrad.")):
        return _broadcasting(op.name)
    return None


def materialize(value: Any, level: int, size: int) -> Any:
    """``value`` as the physical value of ``level`` (batched along axis 0): a Batched of
    that level gives its own, anything else is broadcast along a new batch axis."""
    if isinstance(value, Batched) and value._level == level:
        return value._value
    return add_batch(value, size)


# Level ids grow with each vmap call (and each batch of cotangents), so a vmap entered
# later (nested inside another) has the higher id, and ops take its batch first.
_NEXT_LEVEL = itertools.count()


def new_level() -> int:
    """A level id above every one in use."""
    return next(_NEXT_LEVEL)


def _register() -> None:
    from xpgrad import dispatch

    dispatch.BATCHED[:] = [Batched, call, new_level]


_register()


# ---------------------------------------------------------------------- transforms inside vmap
# A transform called inside vmap (``vmap(grad(f))``) differentiates the whole batch at
# once: every Tensor argument is made physical at every active level (batched along new
# leading axes, one per level, outermost first), f is run on the physical values
# re-wrapped, and since each example's outputs depend on that example's inputs only,
# derivatives of the batch are the examples' derivatives side by side.


def to_physical(value: Any, levels: tuple[tuple[int, int], ...]) -> Any:
    """``value`` (a Tensor, or a Batched of any active level) as a Tensor whose leading
    axes are the batches of ``levels``, outermost first."""
    for level, size in reversed(levels):
        value = materialize(value, level, size)
    return value


def from_physical(value: Any, levels: tuple[tuple[int, int], ...]) -> Any:
    """The inverse of :func:`to_physical`: a Tensor with the batch axes of ``levels`` in
    front, as the Batched that ``f`` sees."""
    for level, size in levels:
        value = Batched(value, level, size)
    return value


def is_value(x: Any) -> bool:
    return isinstance(x, (Tensor, Batched))
