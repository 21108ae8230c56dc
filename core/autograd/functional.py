"""``xpgrad.autograd.functional``: PyTorch's functional derivatives, computed by :mod:`xpgrad.func`.

``vjp``, ``jvp``, ``jacobian``, ``hessian``, ``vhp`` and ``hvp`` have
``torch.autograd.functional``'s signatures, defaults, errors and return conventions.

The conventions are PyTorch's: ``inputs`` is a Tensor or a tuple of Tensors, and each
result is a Tensor where that was a Tensor and a tuple where that was a tuple (the
Jacobian of a tuple of outputs with respect to a tuple of inputs is a tuple of tuples,
``J[i][j]`` of shape ``outputs[i].shape + inputs[j].shape``). Results are detached unless
``create_graph=True``; then they are differentiable with respect to the inputs (and to
``v``). With ``strict=True`` an output that does not depend on an input is an error;
otherwise its derivative is zeros.

What differs from PyTorch, on purpose:

- ``jvp`` and ``hvp`` use forward mode (one forward pass with each op's JVP rules), not
  PyTorch's double-backward trick; the values are the same.
- ``strategy="forward-mode"`` (``jacobian``) and ``outer_jacobian_strategy="forward-mode"``
  (``hessian``) work with ``vectorize=False`` too: xpgrad has forward mode without vmap.
- ``vectorize=True`` computes every row (or column) in one vectorised pass, as PyTorch's
  does with vmap (``xpgrad.func.jacrev``/``jacfwd`` with ``vectorize=True``).
- A ``strategy`` other than the two is a ValueError (PyTorch raises AssertionError).
- With ``strict=True`` and ``create_graph=True``, ``jacobian`` checks that each block
  ``J[i][j]`` (not each row of it) depends on the inputs.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from xpgrad.dispatch import batched
from xpgrad.func import jacfwd as _jacfwd
from xpgrad.func import jacrev as _jacrev
from xpgrad.func import jvp as _jvp
from xpgrad.func import value_and_grad as _value_and_grad
from xpgrad.func import vjp as _vjp
from xpgrad.grad_mode import enable_grad, no_grad
from xpgrad.node import walk
from xpgrad.tensor import Tensor, _accumulate_node

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from xpgrad.node import Node

__all__ = ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"]

_STRATEGIES = ("forward-mode", "reverse-mode")


# ---------------------------------------------------------------------- PyTorch's conventions


def _as_tuple(inp: Any, arg_name: str, fn_name: str) -> tuple[bool, tuple[Tensor, ...]]:
    """``(whether inp was a tuple, inp as a tuple of Tensors)``, with PyTorch's errors."""
    is_tuple = isinstance(inp, tuple)
    items = tuple(inp) if is_tuple else (inp,)
    for i, el in enumerate(items):
        if not isinstance(el, Tensor) and not batched(el):  # (vectorize=True runs func under vmap)
            where = f"the value at index {i}" if is_tuple else f"the given {arg_name}"
            raise TypeError(
                f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of Tensors but "
                f"{where} has type {type(el)}."
            )
    return is_tuple, items


def _untuple(res: tuple[Any, ...], is_tuple: bool) -> Any:
    return res if is_tuple else res[0]


def _untuple2(res: tuple[tuple[Any, ...], ...], outer: bool, inner: bool) -> Any:
    """A tuple (per output) of tuples (per input), unpacked where those were single Tensors."""
    rows = res if inner else tuple(row[0] for row in res)
    return rows if outer else rows[0]


def _validate_v(v: tuple[Tensor, ...], other: tuple[Tensor, ...], is_other_tuple: bool) -> None:
    if len(other) != len(v):
        if is_other_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(other)} but got {len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for idx, (el_v, el_other) in enumerate(zip(v, other)):
        if tuple(el_v.shape) != tuple(el_other.shape):
            prepend = f"Entry {idx} in " if is_other_tuple else ""
            raise RuntimeError(
                f"{prepend}v has invalid size: should be {tuple(el_other.shape)} but got {tuple(el_v.shape)}."
            )


def _v_for_inputs(v: Any, inputs: tuple[Tensor, ...], is_inputs_tuple: bool, fn_name: str,
                  create_graph: bool) -> tuple[Tensor, ...]:
    """``v`` checked against the inputs (jvp, vhp, hvp), or ones where it may be left out."""
    if v is None:
        if len(inputs) != 1 or inputs[0].numel() != 1:
            raise RuntimeError(
                "The vector v can only be None if the input to the user-provided function is a single "
                "Tensor with a single element."
            )
        return (_ones_like(inputs[0]),)
    _, v_t = _as_tuple(v, "v", fn_name)
    _validate_v(v_t, inputs, is_inputs_tuple)
    return _prepare_v(v_t, create_graph)


def _prepare_v(v: tuple[Tensor, ...], create_graph: bool) -> tuple[Tensor, ...]:
    # Without create_graph, nothing may flow back into v.
    return v if create_graph else tuple(t.detach() for t in v)


def _ones_like(t: Tensor) -> Tensor:
    return Tensor(t._dev.xp.ones_like(t._data), t._dev)


def _prepare_inputs(inputs: tuple[Tensor, ...], create_graph: bool) -> tuple[Tensor, ...]:
    """The inputs as the transforms get them. With create_graph, one that requires grad
    stays connected to the caller's graph, and one that does not becomes a new leaf that
    does (as PyTorch does: the results then require grad wherever they depend on the
    inputs); without it, all are cut loose. The caller's Tensors are never changed."""
    if create_graph:
        return tuple(x if x.requires_grad else x.detach().requires_grad_(True) for x in inputs)
    return tuple(x.detach() for x in inputs)


def _grad_mode(create_graph: bool) -> Any:
    """The mode the transforms run in: under no_grad their results come back detached
    (and cost no graph of second order), under enable_grad they stay differentiable."""
    return enable_grad() if create_graph else no_grad()


# ---------------------------------------------------------------------- strict mode


def _node(t: Tensor) -> Node | None:
    if not t._rg:
        return None
    return t._grad_fn if t._grad_fn is not None else _accumulate_node(t)


def _reached(outputs: Sequence[Tensor]) -> set[Node]:
    """Every node the graphs of ``outputs`` reach."""
    return set(walk(_node(o) for o in outputs))


def _check_outputs_require_grad(outputs: Sequence[Tensor]) -> None:
    for i, out in enumerate(outputs):
        if not out.requires_grad:
            raise RuntimeError(
                f"Output {i} of the user-provided function does not require gradients. The outputs must be "
                "computed in a differentiable manner from the input when running in strict mode."
            )


def _check_inputs_used(outputs: Sequence[Tensor], nodes: Sequence[Node | None]) -> None:
    reached = _reached(outputs)
    for i, node in enumerate(nodes):
        if node not in reached:
            raise RuntimeError(
                f"The output of the user-provided function is independent of input {i}. This is not allowed "
                "in strict mode."
            )


def _check_jacobian_requires_grad(jac: Sequence[Tensor]) -> None:
    for i, j in enumerate(jac):
        if not j.requires_grad:
            raise RuntimeError(
                "While computing the hessian, found that the jacobian of the user-provided function with "
                f"respect to input {i} is independent of the input. This is not allowed in strict mode. You "
                "should ensure that your function is twice differentiable and that the jacobian depends on "
                "the inputs (this would be violated by a linear function for example)."
            )


def _check_create_graph(results: Sequence[Tensor], what: str) -> None:
    """With strict and create_graph, a result that does not require grad is a derivative
    that is constant in the inputs: PyTorch refuses it."""
    for i, r in enumerate(results):
        if not r.requires_grad:
            raise RuntimeError(
                f"The {what} of the user-provided function is independent of input {i}. This is not allowed "
                "in strict mode when create_graph=True."
            )


class _UserFunction:
    """``func`` as the transforms call it: its outputs checked as PyTorch checks them
    (a Tensor or a tuple of Tensors, one scalar where it must be), and in strict mode
    ``check(outputs, input_nodes)`` run as soon as it returns, before any derivative."""

    def __init__(self, func: Callable[..., Any], fn_name: str, strict: bool, scalar: bool = False,
                 check: Callable[[tuple[Tensor, ...], list[Node | None]], None] | None = None) -> None:
        self.func = func
        self.fn_name = fn_name
        self.strict = strict
        self.scalar = scalar
        self.check = check
        self.is_tuple = False

    def __call__(self, *args: Tensor) -> Any:
        nodes = [_node(a) for a in args]  # before func, which may change its arguments in place
        is_tuple, outputs = _as_tuple(self.func(*args), "outputs of the user-provided function", self.fn_name)
        if self.strict:
            _check_outputs_require_grad(outputs)
        if self.scalar:
            if is_tuple:
                raise RuntimeError(f"The function given to {self.fn_name} should return a single Tensor")
            if outputs[0].numel() != 1:
                raise RuntimeError(
                    f"The Tensor returned by the function given to {self.fn_name} should contain a single element"
                )
        if self.strict and self.check is not None:
            self.check(outputs, nodes)
        self.is_tuple = is_tuple
        return _untuple(outputs, is_tuple)


# ---------------------------------------------------------------------- first order


def vjp(func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """The vector-Jacobian product ``v^T J`` of ``func`` at ``inputs``, as ``torch.autograd.functional.vjp``.

    Parameters
    ----------
    func : callable
        Takes the Tensors of ``inputs`` positionally; returns a Tensor or a tuple of Tensors.
    inputs : Tensor or tuple of Tensor
    v : Tensor or tuple of Tensor, optional
        One Tensor per output, of its shape. May be left out where ``func`` returns a
        single Tensor with one element (then it is 1).
    create_graph : bool
        Compute the results in a differentiable way (with respect to the inputs and ``v``).
    strict : bool
        Raise where an input has no influence on the outputs (else its vjp is zeros).

    Returns
    -------
    (func_output, vjp)
        ``func(*inputs)``, and ``v^T J`` with the structure of ``inputs``.

    Examples
    --------
    >>> from xpgrad.autograd.functional import vjp
    >>> x = xpgrad.tensor([1.0, 2.0], dtype=xpgrad.float64)
    >>> vjp(lambda x: x ** 2, x, xpgrad.ones_like(x))
    (tensor([1., 4.], dtype=xpgrad.float64), tensor([2., 4.], dtype=xpgrad.float64))
    """
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
    user = _UserFunction(func, "vjp", strict, check=lambda outputs, nodes: _check_inputs_used(outputs, nodes))
    with _grad_mode(create_graph):
        out, pullback = _vjp(user, *_prepare_inputs(inputs, create_graph))
        _, outputs = _as_tuple(out, "outputs", "vjp")
        if v is None:
            if len(outputs) != 1 or outputs[0].numel() != 1:
                raise RuntimeError(
                    "The vector v can only be None if the user-provided function returns a single Tensor with "
                    "a single element."
                )
            v_t: tuple[Tensor, ...] = (_ones_like(outputs[0]),)
        else:
            _, v_t = _as_tuple(v, "v", "vjp")
            _validate_v(v_t, outputs, user.is_tuple)
            v_t = _prepare_v(v_t, create_graph)
        grads = pullback(_untuple(v_t, user.is_tuple))
    if strict and create_graph:
        _check_create_graph(grads, "jacobian")
    return out, _untuple(grads, is_inputs_tuple)


def jvp(func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """The Jacobian-vector product ``J v`` of ``func`` at ``inputs``, as ``torch.autograd.functional.jvp``.

    Computed in forward mode (one forward pass).

    Parameters
    ----------
    func : callable
        Takes the Tensors of ``inputs`` positionally; returns a Tensor or a tuple of Tensors.
    inputs : Tensor or tuple of Tensor
    v : Tensor or tuple of Tensor, optional
        One Tensor per input, of its shape. May be left out where ``inputs`` is a single
        Tensor with one element (then it is 1).
    create_graph : bool
        Compute the results in a differentiable way (with respect to the inputs and ``v``).
    strict : bool
        Raise where an input has no influence on the outputs, or an output depends on no
        input (else those contributions are zeros).

    Returns
    -------
    (func_output, jvp)
        ``func(*inputs)``, and ``J v`` with the structure of the outputs.

    Examples
    --------
    >>> from xpgrad.autograd.functional import jvp
    >>> x = xpgrad.tensor([1.0, 2.0], dtype=xpgrad.float64)
    >>> jvp(lambda x: x ** 2, x, xpgrad.ones_like(x))
    (tensor([1., 4.], dtype=xpgrad.float64), tensor([2., 4.], dtype=xpgrad.float64))
    """
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
    v_t = _v_for_inputs(v, inputs, is_inputs_tuple, "jvp", create_graph)
    user = _UserFunction(func, "jvp", strict, check=_check_jvp_strict)
    with _grad_mode(create_graph):
        out, tangents = _jvp(user, _prepare_inputs(inputs, create_graph), v_t)
    if strict and create_graph:
        _check_create_graph(_as_tuple(tangents, "outputs", "jvp")[1], "jacobian")
    return out, tangents


def _check_jvp_strict(outputs: tuple[Tensor, ...], nodes: list[Node | None]) -> None:
    _check_inputs_used(outputs, nodes)
    for i, out in enumerate(outputs):
        if not _reached((out,)).intersection(n for n in nodes if n is not None):
            raise RuntimeError(
                f"The gradient with respect to the input is independent of entry {i} in the grad_outputs when "
                "using the double backward trick to compute forward mode gradients. This is not allowed in "
                "strict mode."
            )


def _check_jacobian_strict(outputs: tuple[Tensor, ...], nodes: list[Node | None]) -> None:
    for i, out in enumerate(outputs):
        reached = _reached((out,))
        for j, node in enumerate(nodes):
            if node not in reached:
                raise RuntimeError(
                    f"Output {i} of the user-provided function is independent of input {j}. This is not "
                    "allowed in strict mode."
                )


def jacobian(func: Callable[..., Any], inputs: Any, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """The Jacobian of ``func`` at ``inputs``, as ``torch.autograd.functional.jacobian``.

    Parameters
    ----------
    func : callable
        Takes the Tensors of ``inputs`` positionally; returns a Tensor or a tuple of Tensors.
    inputs : Tensor or tuple of Tensor
    create_graph : bool
        Compute the Jacobian in a differentiable way (reverse mode only, as in PyTorch).
    strict : bool
        Raise where an output does not depend on an input (else that block is zeros).
        Reverse mode without ``vectorize`` only, as in PyTorch.
    vectorize : bool
        All rows (reverse mode: one backward pass with a batch of cotangents) or columns
        (forward mode, through ``xpgrad.func.vmap``) at once, instead of one pass per
        output (or input) element; the values are the same.
    strategy : {"reverse-mode", "forward-mode"}
        Reverse mode suits few outputs, forward mode few inputs. Unlike PyTorch, forward
        mode does not need ``vectorize=True``.

    Returns
    -------
    Tensor, tuple of Tensor, or tuple of tuples of Tensor
        ``J[i][j]`` of shape ``outputs[i].shape + inputs[j].shape``; a level of tuples is
        left out where the outputs, or the inputs, are a single Tensor.

    Examples
    --------
    >>> from xpgrad.autograd.functional import jacobian
    >>> x = xpgrad.tensor([1.0, 2.0], dtype=xpgrad.float64)
    >>> jacobian(lambda x: x ** 2, x)
    tensor([[2., 0.],
            [0., 4.]], dtype=xpgrad.float64)
    """
    if strategy not in _STRATEGIES:
        raise ValueError(
            'Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your function has more '
            'outputs than inputs, "forward-mode" tends to be more performant. Otherwise, prefer to use '
            '"reverse-mode".'
        )
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError(
                "torch.autograd.functional.jacobian: `create_graph=True` and `strategy=\"forward-mode\"` are not "
                "supported together (yet). Please either set `create_graph=False` or `strategy=\"reverse-mode\"`."
            )
        if strict:
            raise RuntimeError(
                "torch.autograd.functional.jacobian: `strict=True` and `strategy=\"forward-mode\"` are not "
                "supported together (yet). Please either set `strict=False` or `strategy=\"reverse-mode\"`."
            )
    elif vectorize and strict:
        raise RuntimeError(
            "torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not supported together. "
            "Please either set `strict=False` or `vectorize=False`."
        )
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
    user = _UserFunction(func, "jacobian", strict, check=_check_jacobian_strict)
    transform = _jacfwd if strategy == "forward-mode" else _jacrev
    with _grad_mode(create_graph):
        jac = transform(user, argnums=tuple(range(len(inputs))), vectorize=vectorize)(
            *_prepare_inputs(inputs, create_graph))
    rows: tuple[tuple[Tensor, ...], ...] = jac if user.is_tuple else (jac,)
    if strict and create_graph:
        for row in rows:
            _check_create_graph(row, "jacobian")
    return _untuple2(rows, user.is_tuple, is_inputs_tuple)


# ---------------------------------------------------------------------- second order


def hessian(func: Callable[..., Any], inputs: Any, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """The Hessian of the scalar function ``func`` at ``inputs``, as ``torch.autograd.functional.hessian``.

    It is the Jacobian (``outer_jacobian_strategy``) of its gradient (reverse mode).

    Parameters
    ----------
    func : callable
        Takes the Tensors of ``inputs`` positionally; returns a Tensor with one element.
    inputs : Tensor or tuple of Tensor
    create_graph : bool
        Compute the Hessian in a differentiable way (reverse mode only, as in PyTorch).
    strict : bool
        Raise where the output, or the gradient, does not depend on an input (else those
        blocks are zeros). Reverse mode without ``vectorize`` only, as in PyTorch.
    vectorize : bool
        The outer Jacobian in one vectorised pass (see :func:`jacobian`); the same values.
    outer_jacobian_strategy : {"reverse-mode", "forward-mode"}
        Forward mode (forward over reverse) does not need ``vectorize=True`` here.

    Returns
    -------
    Tensor or tuple of tuples of Tensor
        ``H[i][j]`` of shape ``inputs[i].shape + inputs[j].shape``; a single Tensor where
        ``inputs`` is one Tensor.

    Examples
    --------
    >>> from xpgrad.autograd.functional import hessian
    >>> x = xpgrad.tensor([1.0, 2.0], dtype=xpgrad.float64)
    >>> hessian(lambda x: (x ** 3).sum(), x)
    tensor([[ 6.,  0.],
            [ 0., 12.]], dtype=xpgrad.float64)
    """
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in _STRATEGIES:
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode".')
    scalar = _UserFunction(func, "hessian", strict, scalar=True)

    def ensure_single_output_function(*inp: Tensor) -> Tensor:
        out: Tensor = scalar(*inp)
        return out.squeeze()

    def jac_func(*inp: Tensor) -> tuple[Tensor, ...]:
        jac: tuple[Tensor, ...] = jacobian(ensure_single_output_function, inp, create_graph=True)
        if strict:
            _check_jacobian_requires_grad(jac)
        return jac

    res = jacobian(jac_func, inputs, create_graph=create_graph, strict=strict, vectorize=vectorize,
                   strategy=outer_jacobian_strategy)
    return _untuple2(res, is_inputs_tuple, is_inputs_tuple)


def vhp(func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """The vector-Hessian product ``v^T H`` of the scalar function ``func`` at ``inputs``.

    As ``torch.autograd.functional.vhp``, computed as the vjp of its gradient.

    Parameters
    ----------
    func : callable
        Takes the Tensors of ``inputs`` positionally; returns a Tensor with one element.
    inputs : Tensor or tuple of Tensor
    v : Tensor or tuple of Tensor, optional
        One Tensor per input, of its shape. May be left out where ``inputs`` is a single
        Tensor with one element (then it is 1).
    create_graph : bool
        Compute the results in a differentiable way (with respect to the inputs and ``v``).
    strict : bool
        Raise where the output, or the gradient, does not depend on an input.

    Returns
    -------
    (func_output, vhp)
        ``func(*inputs)``, and ``v^T H`` with the structure of ``inputs``.

    Examples
    --------
    >>> from xpgrad.autograd.functional import vhp
    >>> x = xpgrad.tensor([1.0, 2.0], dtype=xpgrad.float64)
    >>> vhp(lambda x: (x ** 3).sum(), x, xpgrad.ones_like(x))
    (tensor(9., dtype=xpgrad.float64), tensor([ 6., 12.], dtype=xpgrad.float64))
    """
    return _hessian_product("vhp", func, inputs, v, create_graph, strict)


def hvp(func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """The Hessian-vector product ``H v`` of the scalar function ``func`` at ``inputs``.

    As ``torch.autograd.functional.hvp``, computed by forward mode over its gradient
    (one forward pass, where PyTorch uses a double-backward trick).

    Parameters
    ----------
    func : callable
        Takes the Tensors of ``inputs`` positionally; returns a Tensor with one element.
    inputs : Tensor or tuple of Tensor
    v : Tensor or tuple of Tensor, optional
        One Tensor per input, of its shape. May be left out where ``inputs`` is a single
        Tensor with one element (then it is 1).
    create_graph : bool
        Compute the results in a differentiable way (with respect to the inputs and ``v``).
    strict : bool
        Raise where the output, or the gradient, does not depend on an input.

    Returns
    -------
    (func_output, hvp)
        ``func(*inputs)``, and ``H v`` with the structure of ``inputs``.

    Examples
    --------
    >>> from xpgrad.autograd.functional import hvp
    >>> x = xpgrad.tensor([1.0, 2.0], dtype=xpgrad.float64)
    >>> hvp(lambda x: (x ** 3).sum(), x, xpgrad.ones_like(x))
    (tensor(9., dtype=xpgrad.float64), tensor([ 6., 12.], dtype=xpgrad.float64))
    """
    return _hessian_product("hvp", func, inputs, v, create_graph, strict)


def _hessian_product(fn_name: str, func: Callable[..., Any], inputs: Any, v: Any, create_graph: bool,
                     strict: bool) -> tuple[Any, Any]:
    """vhp (reverse over reverse: the vjp of the gradient) or hvp (forward over reverse:
    the jvp of the gradient)."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", fn_name)
    v_t = _v_for_inputs(v, inputs, is_inputs_tuple, fn_name, create_graph)
    user = _UserFunction(func, fn_name, strict, scalar=True,
                         check=lambda outputs, nodes: _check_inputs_used(outputs, nodes))
    value_and_grad = _value_and_grad(user, argnums=tuple(range(len(inputs))))

    def gradient(*xs: Tensor) -> tuple[tuple[Tensor, ...], Tensor]:
        nodes = [_node(x) for x in xs]
        value, jac = value_and_grad(*xs)
        if strict:
            _check_jacobian_requires_grad(jac)
            if fn_name == "vhp":
                reached = _reached(jac)
                for i, node in enumerate(nodes):
                    if node not in reached:
                        raise RuntimeError(
                            f"The jacobian of the user-provided function is independent of input {i}. This is "
                            "not allowed in strict mode."
                        )
            else:
                wanted = {n for n in nodes if n is not None}
                for i, j in enumerate(jac):
                    if not _reached((j,)) & wanted:
                        raise RuntimeError(
                            f"The hessian of the user-provided function is independent of entry {i} in the "
                            "grad_jacobian. This is not allowed in strict mode as it prevents from using the "
                            "double backward trick to replace forward mode AD."
                        )
        return jac, value  # the gradient is differentiated; the value rides along as aux

    with _grad_mode(create_graph):
        primals = _prepare_inputs(inputs, create_graph)
        if fn_name == "vhp":
            _, pullback, value = _vjp(gradient, *primals, has_aux=True)
            res = pullback(v_t)
        else:
            _, res, value = _jvp(gradient, primals, v_t, has_aux=True)
    if strict and create_graph:
        _check_create_graph(res, "hessian")
    return value, _untuple(res, is_inputs_tuple)
