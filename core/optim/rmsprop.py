"""RMSprop (Hinton's lecture 6e), optionally centered and with momentum."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..creation import zeros_like
from ._common import check_nonnegative, check_real, lerp_
from .optimizer import Optimizer

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..tensor import Tensor

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``.

    Per step, with ``g`` the gradient (negated if ``maximize``, plus ``weight_decay *
    p``): ``v = alpha * v + (1 - alpha) * g**2``; the denominator is ``d = sqrt(v) +
    eps``, or when centered ``d = sqrt(v - a**2) + eps`` with ``a = alpha * a + (1 -
    alpha) * g``; then ``p -= lr * g / d``, or with momentum ``b = momentum * b + g /
    d; p -= lr * b``.

    Parameters
    ----------
    params : iterable of Tensor or of dict
        The parameters, or parameter groups (see :class:`Optimizer`); real floating.
    lr : float, optional
        The learning rate (default 1e-2).
    alpha : float, optional
        The smoothing constant of the squared-gradient average (default 0.99).
    eps : float, optional
        Added to the denominator (default 1e-8).
    weight_decay : float, optional
        The L2 penalty's factor (default 0).
    momentum : float, optional
        The momentum factor (default 0: none).
    centered : bool, optional
        Normalize by an estimate of the gradient's variance instead of its second moment.
    maximize : bool, optional
        Maximize the objective instead of minimizing it.

    Notes
    -----
    The state of a parameter: ``step`` (a Python float), ``square_avg``, and
    ``momentum_buffer`` (with momentum) and ``grad_avg`` (centered): Tensors shaped like
    the parameter.

    Examples
    --------
    >>> import xpgrad
    >>> from xpgrad.optim import RMSprop
    >>> w = xpgrad.tensor([1.0], requires_grad=True)
    >>> opt = RMSprop([w], lr=0.01, alpha=0.75)
    >>> (w ** 2).sum().backward()
    >>> opt.step()
    >>> w
    tensor([0.9800], requires_grad=True)
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 *, maximize: bool = False) -> None:
        check_nonnegative(lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps, "centered": centered,
                    "weight_decay": weight_decay, "maximize": maximize}
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, alpha, eps, weight_decay = group["lr"], group["alpha"], group["eps"], group["weight_decay"]
        momentum, centered = group["momentum"], group["centered"]
        for p, grad in self._gradients(group):
            state = self.state[p]
            if not state:
                check_real("RMSprop", p)
                state["step"] = 0.0
                state["square_avg"] = zeros_like(p)
                if momentum > 0:
                    state["momentum_buffer"] = zeros_like(p)
                if centered:
                    state["grad_avg"] = zeros_like(p)
            state["step"] += 1
            if weight_decay != 0:
                grad = grad + p * weight_decay
            square_avg = state["square_avg"]
            square_avg.copy_(square_avg * alpha + grad * (1 - alpha) * grad)
            if centered:
                grad_avg = state["grad_avg"]
                lerp_(grad_avg, grad, 1 - alpha)
                avg = (square_avg - grad_avg * grad_avg).sqrt() + eps
            else:
                avg = square_avg.sqrt() + eps
            if momentum > 0:
                buf = state["momentum_buffer"]
                buf.copy_(buf * momentum + grad / avg)
                p.add_(buf * -lr)
            else:
                p.add_(grad * -lr / avg)
