"""Adam and AdamW (Kingma and Ba, 2015; Loshchilov and Hutter, 2019)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..creation import zeros_like
from ._common import check_nonnegative, check_real, lerp_
from .optimizer import Optimizer

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..tensor import Tensor

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam``.

    Per step ``t``, with ``g`` the gradient (negated if ``maximize``): weight decay
    (``g += weight_decay * p``, or with ``decoupled_weight_decay`` ``p *= 1 - lr *
    weight_decay``), ``m = beta1 * m + (1 - beta1) * g``, ``v = beta2 * v + (1 - beta2)
    * g**2`` (with ``amsgrad``, ``v_max = max(v_max, v)`` is used for ``v`` below), and
    ``p -= lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)``.

    Parameters
    ----------
    params : iterable of Tensor or of dict
        The parameters, or parameter groups (see :class:`Optimizer`); real floating.
    lr : float, optional
        The learning rate (default 1e-3).
    betas : tuple of float, optional
        The decay rates of the moving averages of the gradient and of its square
        (default (0.9, 0.999)).
    eps : float, optional
        Added to the denominator (default 1e-8).
    weight_decay : float, optional
        The L2 penalty's factor (default 0).
    amsgrad : bool, optional
        Use the maximum of the squared-gradient averages so far (AMSGrad).
    maximize : bool, optional
        Maximize the objective instead of minimizing it.
    decoupled_weight_decay : bool, optional
        Decay the weights directly instead of through the gradient: AdamW.

    Notes
    -----
    The state of a parameter: ``step`` (a Python float; PyTorch keeps a 0-d tensor),
    ``exp_avg``, ``exp_avg_sq`` and, with ``amsgrad``, ``max_exp_avg_sq``: Tensors
    shaped like the parameter.

    Examples
    --------
    >>> import xpgrad
    >>> from xpgrad.optim import Adam
    >>> w = xpgrad.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = Adam([w], lr=0.1)
    >>> (w ** 2).sum().backward()
    >>> opt.step()
    >>> w
    tensor([ 0.9000, -1.9000], requires_grad=True)
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 amsgrad: bool = False, *, maximize: bool = False, decoupled_weight_decay: bool = False) -> None:
        check_nonnegative(lr=lr, eps=eps)
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        check_nonnegative(weight_decay=weight_decay)
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay, "amsgrad": amsgrad,
                    "maximize": maximize, "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        weight_decay, amsgrad = group["weight_decay"], group["amsgrad"]
        decoupled = group["decoupled_weight_decay"]
        name = type(self).__name__
        for p, grad in self._gradients(group):
            state = self.state[p]
            if not state:
                check_real(name, p)
                state["step"] = 0.0
                state["exp_avg"] = zeros_like(p)
                state["exp_avg_sq"] = zeros_like(p)
                if amsgrad:
                    state["max_exp_avg_sq"] = zeros_like(p)
            step = state["step"] = state["step"] + 1
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            if weight_decay != 0:
                if decoupled:
                    p.mul_(1 - lr * weight_decay)
                else:
                    grad = grad + p * weight_decay
            lerp_(exp_avg, grad, 1 - beta1)
            exp_avg_sq.copy_(exp_avg_sq * beta2 + grad * (1 - beta2) * grad)
            step_size = lr / (1 - beta1 ** step)
            bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
            if amsgrad:
                max_exp_avg_sq = state["max_exp_avg_sq"]
                max_exp_avg_sq.copy_(max_exp_avg_sq.maximum(exp_avg_sq))
                denom = max_exp_avg_sq.sqrt() / bias_correction2_sqrt + eps
            else:
                denom = exp_avg_sq.sqrt() / bias_correction2_sqrt + eps
            p.add_(exp_avg * -step_size / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay, as ``torch.optim.AdamW``.

    Each step first multiplies the parameters by ``1 - lr * weight_decay``, then takes
    Adam's step without weight decay in the gradient.

    Parameters
    ----------
    params : iterable of Tensor or of dict
        The parameters, or parameter groups (see :class:`Optimizer`); real floating.
    lr : float, optional
        The learning rate (default 1e-3).
    betas : tuple of float, optional
        The decay rates of the moving averages (default (0.9, 0.999)).
    eps : float, optional
        Added to the denominator (default 1e-8).
    weight_decay : float, optional
        The decay factor (default 1e-2).
    amsgrad : bool, optional
        AMSGrad's variant (see :class:`Adam`).
    maximize : bool, optional
        Maximize the objective instead of minimizing it.

    Examples
    --------
    >>> import xpgrad
    >>> from xpgrad.optim import AdamW
    >>> w = xpgrad.tensor([1.0], requires_grad=True)
    >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
    >>> (w ** 2).sum().backward()
    >>> opt.step()
    >>> w
    tensor([0.8500], requires_grad=True)
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
                 amsgrad: bool = False, *, maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        # AdamW is decoupled whatever a loaded state says (as in PyTorch).
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True

    load_state_dict.__doc__ = Optimizer.load_state_dict.__doc__
