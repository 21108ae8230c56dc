"""``xpgrad.func``: composable function transforms, as in JAX and ``torch.func``.

Reverse mode (:func:`grad`, :func:`value_and_grad`, :func:`vjp`, :func:`jacrev`,
:func:`elementwise_grad`), forward mode (:func:`jvp`, :func:`jacfwd`: tangents pushed
through the program in one forward pass with each op's JVP rules), their compositions
(:func:`hessian`, :func:`hvp`, and any nesting such as ``grad(grad(f))`` or
``jacfwd(jacrev(f))``), vectorisation over a batch (:func:`vmap`, which composes with all
of them), and gradient checkpointing (:func:`checkpoint`).

Functions take and return Tensors, or pytrees of them (nested tuples, lists and dicts).
The transforms differentiate private copies of their inputs: they never change the
caller's ``.grad`` or ``requires_grad``.
"""
from ._batching import VmapError, VmapFallbackWarning
from ._checkpoint import checkpoint
from ._forward import jvp
from ._jacobian import hessian, hvp, jacfwd, jacobian, jacrev
from ._reverse import elementwise_grad, grad, value_and_grad, vjp
from ._vmap import vmap

__all__ = ["grad", "value_and_grad", "vjp", "jvp", "jacobian", "jacrev", "jacfwd", "hessian",
           "hvp", "elementwise_grad", "checkpoint", "vmap", "VmapError", "VmapFallbackWarning"]
