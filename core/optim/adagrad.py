"""Adagrad (Duchi, Hazan and Singer, 2011)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..creation import full_like
from ._common import check_nonnegative, check_real
from .optimizer import Optimizer

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..tensor import Tensor

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad, as ``torch.optim.Adagrad``.

    Per step ``t``, with ``g`` the gradient (negated if ``maximize``, plus
    ``weight_decay * p``): ``s += g**2`` and ``p -= lr / (1 + (t - 1) * lr_decay) * g /
    (sqrt(s) + eps)``, where ``s`` starts at ``initial_accumulator_value``.

    Parameters
    ----------
    params : iterable of Tensor or of dict
        The parameters, or parameter groups (see :class:`Optimizer`); real floating.
    lr : float, optional
        The learning rate (default 1e-2).
    lr_decay : float, optional
        The learning rate's decay per step (default 0).
    weight_decay : float, optional
        The L2 penalty's factor (default 0).
    initial_accumulator_value : float, optional
        The starting value of the sum of squared gradients (default 0).
    eps : float, optional
        Added to the denominator (default 1e-10).
    maximize : bool, optional
        Maximize the objective instead of minimizing it.

    Notes
    -----
    The state of a parameter, made at construction as in PyTorch: ``step`` (a Python
    float) and ``sum``, a Tensor shaped like the parameter.

    Examples
    --------
    >>> import xpgrad
    >>> from xpgrad.optim import Adagrad
    >>> w = xpgrad.tensor([1.0], requires_grad=True)
    >>> opt = Adagrad([w], lr=0.5)
    >>> (w ** 2).sum().backward()
    >>> opt.step()
    >>> w
    tensor([0.5000], requires_grad=True)
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0, eps: float = 1e-10,
                 *, maximize: bool = False) -> None:
        check_nonnegative(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                          initial_accumulator_value=initial_accumulator_value, eps=eps)
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "maximize": maximize}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        check_real("Adagrad", p)
        state = self.state[p]
        state["step"] = 0.0
        state["sum"] = full_like(p, group["initial_accumulator_value"])
        return state

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
        weight_decay = group["weight_decay"]
        for p, grad in self._gradients(group):
            # A group added after construction gets its state at its first step.
            state = self.state[p] or self._init_state(p, group)
            step = state["step"] = state["step"] + 1
            if weight_decay != 0:
                grad = grad + p * weight_decay
            clr = lr / (1 + (step - 1) * lr_decay)
            state_sum = state["sum"]
            state_sum.add_(grad * grad)
            p.add_(grad * -clr / (state_sum.sqrt() + eps))
