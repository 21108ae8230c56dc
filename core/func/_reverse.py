"""Reverse mode as function transforms: grad, value_and_grad, vjp, elementwise_grad."""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from xpgrad.dispatch import apply
from xpgrad.engine import grad as engine_grad
from xpgrad.grad_mode import enable_grad
from xpgrad.tensor import Tensor

from . import _inside_vmap as inside_vmap
from ._common import Scope, check_argnums, check_like, check_primal, split_aux, zeros_like
from ._pytree import describe_path, flatten, tensor_leaves, unflatten

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from typing import ParamSpec

    _P = ParamSpec("_P")

__all__ = ["grad", "value_and_grad", "vjp", "elementwise_grad"]


class _Traced:
    """f run once on private copies of its primals, ready to be pulled back."""

    def __init__(self, f: Callable[..., Any], primals: Sequence[Any], names: Sequence[str], has_aux: bool,
                 fname: str) -> None:
        self.fname = fname
        leaves_all, defs = [], []
        for tree, name in zip(primals, names):
            leaves, paths, treedef = flatten(tree)
            for x, path in zip(leaves, paths):
                check_primal(x, f"{fname}: {describe_path(name, path)}")
            leaves_all.append(leaves)
            defs.append(treedef)
        self.scope = Scope()
        with enable_grad():
            copies = [[self.scope.copy(x) for x in leaves] for leaves in leaves_all]
            args = [unflatten(d, c) for d, c in zip(defs, copies)]
            result = f(*args)
        self.scope.close()
        self.copies = [c for cs in copies for c in cs]
        self.defs = defs
        self.counts = [len(cs) for cs in copies]
        self.out, self.aux = split_aux(result, has_aux, fname)
        self.o_leaves, _, self.o_def = tensor_leaves(self.out, f"{fname}: the output of f")
        self.outside = self.scope.reaches_outside(self.o_leaves)

    def pull(self, cotangents: Sequence[Tensor | None]) -> list[Tensor]:
        """Gradients (flat, one per copy) for one cotangent per output leaf (None: zero)."""
        scope = self.scope
        pairs = [(o, c) for o, c in zip(self.o_leaves, cotangents) if c is not None and o._rg]
        if not pairs:
            return [zeros_like(x) for x in self.copies]
        create = scope.outer and (self.outside or any(c._rg for _, c in pairs))
        with enable_grad():
            grads = engine_grad([o for o, _ in pairs], self.copies, [c for _, c in pairs],
                                retain_graph=True, create_graph=create, allow_unused=True)
        return [zeros_like(x) if g is None else scope.escape(g) for g, x in zip(grads, self.copies)]

    def pull_batched(self, index: int, cotangents: Tensor) -> list[Tensor]:
        """Gradients (flat, one per copy, each with the batch in front) for a batch of
        cotangents of output leaf ``index`` (the batch along axis 0), in one vectorised
        backward pass (``is_grads_batched``)."""
        scope, out = self.scope, self.o_leaves[index]
        size = cotangents.shape[0]
        if not out._rg:
            return [_batch_of_zeros(x, size) for x in self.copies]
        create = scope.outer and (self.outside or cotangents._rg)
        with enable_grad():
            grads = engine_grad([out], self.copies, [cotangents], retain_graph=True, create_graph=create,
                                allow_unused=True, is_grads_batched=True)
        return [_batch_of_zeros(x, size) if g is None else scope.escape(g) for g, x in zip(grads, self.copies)]

    def per_primal(self, flat: Sequence[Any]) -> tuple[Any, ...]:
        """Flat gradients regrouped: one pytree per primal."""
        out, start = [], 0
        for d, n in zip(self.defs, self.counts):
            out.append(unflatten(d, flat[start:start + n]))
            start += n
        return tuple(out)

    def value(self) -> Any:
        return unflatten(self.o_def, [self.scope.escape(o) for o in self.o_leaves])

    def aux_value(self) -> Any:
        return self.scope.escape_tree(self.aux)


def _batch_of_zeros(x: Tensor, size: int) -> Tensor:
    return Tensor(x._dev.xp.zeros((size,) + tuple(x.shape), dtype=x._data.dtype, device=x._dev.native), x._dev)


def _selected(f: Callable[..., Any], args: Sequence[Any], kwargs: Mapping[str, Any],
              nums: Sequence[int]) -> Callable[..., Any]:
    """f as a function of the arguments at ``nums`` only (the others fixed)."""

    def g(*sel: Any) -> Any:
        full = list(args)
        for k, s in zip(nums, sel):
            full[k] = s
        return f(*full, **kwargs)

    return g


def vjp(f: Callable[..., Any], *primals: Any, has_aux: bool = False) -> tuple[Any, ...]:
    """The value of ``f`` at ``primals`` and its vector-Jacobian product function.

    Parameters
    ----------
    f : callable
        Takes the primals positionally; returns a Tensor or a pytree of Tensors (with
        ``has_aux``: a pair ``(output, aux)``).
    *primals : Tensor or pytree of Tensors
    has_aux : bool

    Returns
    -------
    (output, pullback) or (output, pullback, aux)
        ``pullback(cotangents)`` takes cotangents with the output's structure, shapes
        and dtypes, and returns a tuple with one gradient pytree per primal. It can be
        called any number of times.

    Examples
    --------
    >>> x = xpgrad.tensor([1.0, 2.0], dtype=xpgrad.float64)
    >>> out, pullback = xpgrad.func.vjp(lambda x: x ** 2, x)
    >>> pullback(xpgrad.ones_like(out))
    (tensor([2., 4.], dtype=xpgrad.float64),)
    """
    levels = inside_vmap.active()
    if levels:
        return _vjp_inside_vmap(f, primals, has_aux, levels)
    traced = _Traced(f, primals, [f"primals[{i}]" for i in range(len(primals))], has_aux, "vjp")

    def pullback(cotangents: Any) -> tuple[Any, ...]:
        c_leaves, c_paths, c_def = flatten(cotangents)
        if c_def != traced.o_def:
            raise ValueError(
                f"vjp pullback: cotangents have structure {c_def} but the output of f has "
                f"structure {traced.o_def}: give one cotangent per output, nested the same way"
            )
        for c, o, path in zip(c_leaves, traced.o_leaves, c_paths):
            check_like(c, o, describe_path("vjp pullback: cotangents", path), describe_path("output", path))
        return traced.per_primal(traced.pull(c_leaves))

    if has_aux:
        return traced.value(), pullback, traced.aux_value()
    return traced.value(), pullback


def _vjp_inside_vmap(f: Callable[..., Any], primals: Sequence[Any], has_aux: bool, levels: Any) -> tuple[Any, ...]:
    """vjp inside vmap: of the whole batch, each example's cotangent pulled back through
    its own example (see ``_inside_vmap``)."""
    physical = inside_vmap.physical_args(tuple(primals), levels)
    batch_f = inside_vmap.batch_function(f, levels, has_aux, "vjp")
    with inside_vmap.outside():
        result = vjp(batch_f, *physical, has_aux=has_aux)
    batch_pullback = result[1]

    def pullback(cotangents: Any) -> tuple[Any, ...]:
        cots = inside_vmap.physical_out(cotangents, levels)
        with inside_vmap.outside():
            grads = batch_pullback(cots)
        return inside_vmap.logical_out(grads, levels)

    out = inside_vmap.logical_out(result[0], levels)
    if has_aux:
        return out, pullback, inside_vmap.logical_out(result[2], levels)
    return out, pullback


def _numel(shape: Iterable[int]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def value_and_grad(f: Callable[_P, Any], argnums: int | Sequence[int] = 0,
                   has_aux: bool = False) -> Callable[_P, Any]:
    """A function returning ``(f(*args), gradient)`` of a scalar-valued ``f``.

    Parameters
    ----------
    f : callable
        Returns a Tensor with one element (or ``(output, aux)`` with ``has_aux``).
    argnums : int or tuple of int
        Which positional arguments to differentiate with respect to; each may be a
        pytree of Tensors.
    has_aux : bool

    Returns
    -------
    callable
        ``(*args, **kwargs) -> (value, gradient)`` or ``((value, aux), gradient)``;
        the gradient has the argument's structure (a tuple of them for a tuple argnums).
    """
    return _grad_transform(f, argnums, has_aux, "value_and_grad", with_value=True)


def grad(f: Callable[_P, Any], argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable[_P, Any]:
    """The gradient of a scalar-valued ``f``, as a function of ``f``'s arguments.

    Composable: ``grad(grad(f))`` is the second derivative.

    Parameters
    ----------
    f : callable
        Returns a Tensor with one element (or ``(output, aux)`` with ``has_aux``). For a
        function with more outputs use :func:`jacobian` or :func:`vjp`.
    argnums : int or tuple of int
        Which positional arguments to differentiate with respect to; each may be a
        pytree of Tensors.
    has_aux : bool
        Then the function returns ``(gradient, aux)``.

    Examples
    --------
    >>> d2 = xpgrad.func.grad(xpgrad.func.grad(xpgrad.xp.sin))
    >>> d2(xpgrad.tensor(0.5, dtype=xpgrad.float64))  # -sin(0.5)
    tensor(-0.4794, dtype=xpgrad.float64)
    """
    return _grad_transform(f, argnums, has_aux, "grad", with_value=False)


def _grad_transform(f: Callable[_P, Any], argnums: int | Sequence[int], has_aux: bool, fname: str,
                    with_value: bool) -> Callable[_P, Any]:
    check_argnums(argnums, 1 << 30, fname)  # type errors now; the range when called

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        levels = inside_vmap.active()
        if levels:
            return _grad_inside_vmap(f, argnums, has_aux, fname, with_value, levels, args, kwargs)
        single, nums = check_argnums(argnums, len(args), fname)
        names = [f"argument {k}" for k in nums]
        traced = _Traced(_selected(f, args, kwargs, nums), [args[k] for k in nums], names,
                         has_aux, fname)
        if len(traced.o_leaves) != 1 or not isinstance(traced.out, Tensor):
            raise TypeError(
                f"{fname}: f must return a single Tensor with one element, got "
                f"{type(traced.out).__name__}; for a function with several outputs use "
                "xpgrad.func.jacobian or xpgrad.func.vjp"
            )
        out = traced.out
        if _numel(out.shape) != 1:
            raise ValueError(
                f"{fname}: f returned a Tensor of shape {tuple(out.shape)}, but the gradient "
                "is defined for scalar (one-element) outputs only; use xpgrad.func.jacobian "
                "or xpgrad.func.vjp for non-scalar functions (or reduce the output, e.g. .sum())"
            )
        one = Tensor(out._dev.xp.ones_like(out._data), out._dev)
        grads = traced.per_primal(traced.pull([one]))
        g = grads[0] if single else grads
        if not with_value:
            return (g, traced.aux_value()) if has_aux else g
        value = traced.value()
        return ((value, traced.aux_value()), g) if has_aux else (value, g)

    return wrapper


def _grad_inside_vmap(f: Callable[..., Any], argnums: int | Sequence[int], has_aux: bool, fname: str,
                      with_value: bool, levels: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
    """grad (or value_and_grad) inside vmap: the gradient of the sum of the examples'
    outputs, which is each example's gradient (see ``_inside_vmap``)."""
    physical = inside_vmap.physical_args(tuple(args), levels)

    def summed(*phys: Any, **kw: Any) -> Any:
        out = inside_vmap.call_inside(f, levels, phys, kw)
        aux = None
        if has_aux:
            out, aux = split_aux(out, True, fname)
        if isinstance(out, (tuple, list, dict)):
            raise TypeError(f"{fname}: f must return a single Tensor with one element, got "
                            f"{type(out).__name__}; for a function with several outputs use "
                            "xpgrad.func.jacobian or xpgrad.func.vjp")
        value = inside_vmap.physical_out(out, levels)
        return inside_vmap.sum_batch(value, levels), (value, inside_vmap.physical_out(aux, levels))

    with inside_vmap.outside():
        g, (value, aux) = _grad_transform(summed, argnums, True, fname, with_value=False)(*physical, **kwargs)
    g = inside_vmap.logical_out(g, levels)
    value, aux = inside_vmap.logical_out(value, levels), inside_vmap.logical_out(aux, levels)
    if not with_value:
        return (g, aux) if has_aux else g
    return ((value, aux), g) if has_aux else (value, g)


def elementwise_grad(f: Callable[_P, Any], argnums: int | Sequence[int] = 0) -> Callable[_P, Any]:
    """The gradient of ``sum(f(x))``: for an elementwise ``f``, its derivative at every element.

    As HIPS autograd's ``elementwise_grad``; computed in one backward pass.

    Examples
    --------
    >>> x = xpgrad.tensor([0.0, 1.0], dtype=xpgrad.float64)
    >>> xpgrad.func.elementwise_grad(xpgrad.xp.tanh)(x)  # 1 - tanh(x)^2
    tensor([1.0000, 0.4200], dtype=xpgrad.float64)
    """
    check_argnums(argnums, 1 << 30, "elementwise_grad")

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        levels = inside_vmap.active()
        if levels:  # the gradient of the sum of every output, example by example
            def total(*a: Any, **k: Any) -> Any:
                leaves = flatten(f(*a, **k))[0]
                out = apply("sum", (leaves[0],), {"axis": None, "dtype": None, "keepdims": False})
                for leaf in leaves[1:]:
                    out = out + apply("sum", (leaf,), {"axis": None, "dtype": None, "keepdims": False})
                return out
            return _grad_inside_vmap(total, argnums, False, "elementwise_grad", False, levels, args, kwargs)
        single, nums = check_argnums(argnums, len(args), "elementwise_grad")
        traced = _Traced(_selected(f, args, kwargs, nums), [args[k] for k in nums],
                         [f"argument {k}" for k in nums], False, "elementwise_grad")
        ones = [Tensor(o._dev.xp.ones_like(o._data), o._dev) for o in traced.o_leaves]
        grads = traced.per_primal(traced.pull(ones))
        return grads[0] if single else grads

    return wrapper
