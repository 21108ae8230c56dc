"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .optimizer import Optimizer

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..tensor import Tensor

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum), as ``torch.optim.SGD``.

    Per step, with ``g`` the gradient (negated if ``maximize``):
    ``g += weight_decay * p``; with momentum, ``b = g`` at the first step, then
    ``b = momentum * b + (1 - dampening) * g``, and ``g = g + momentum * b`` (Nesterov)
    or ``g = b``; then ``p -= lr * g``.

    Parameters
    ----------
    params : iterable of Tensor or of dict
        The parameters, or parameter groups (see :class:`Optimizer`).
    lr : float, optional
        The learning rate (default 1e-3).
    momentum : float, optional
        The momentum factor (default 0: none).
    dampening : float, optional
        The dampening of the momentum (default 0).
    weight_decay : float, optional
        The L2 penalty's factor (default 0).
    nesterov : bool, optional
        Nesterov momentum (needs a momentum and zero dampening).
    maximize : bool, optional
        Maximize the objective instead of minimizing it.

    Notes
    -----
    The state of a parameter: ``momentum_buffer`` (with momentum), a Tensor shaped like
    the parameter.

    Examples
    --------
    >>> import xpgrad
    >>> from xpgrad.optim import SGD
    >>> w = xpgrad.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.zero_grad()
    ...     (w ** 2).sum().backward()
    ...     opt.step()
    >>> w
    tensor([ 0.4600, -0.9200], requires_grad=True)
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-3,
                 momentum: float = 0, dampening: float = 0, weight_decay: float = 0, nesterov: bool = False,
                 *, maximize: bool = False) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay,
                    "nesterov": nesterov, "maximize": maximize}
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        weight_decay, nesterov = group["weight_decay"], group["nesterov"]
        for p, grad in self._gradients(group):
            if weight_decay != 0:
                grad = grad + p * weight_decay
            if momentum != 0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = grad.detach().clone()
                else:
                    buf.copy_(buf * momentum + grad * (1 - dampening))
                grad = grad + buf * momentum if nesterov else buf
            p.add_(grad * -lr)
