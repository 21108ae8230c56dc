"""``xpgrad.autograd``: the engine's public entry points, named as in ``torch.autograd``."""
from __future__ import annotations

from typing import Any

from xpgrad.engine import backward, grad
from xpgrad.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from xpgrad.gradcheck import GradcheckError, gradcheck, gradgradcheck
from xpgrad.tensor import Tensor

from . import anomaly, function, functional, graph
from .anomaly import detect_anomaly, is_anomaly_check_nan_enabled, is_anomaly_enabled, set_detect_anomaly
from .function import Function, FunctionCtx, once_differentiable
from .graph import saved_tensors_hooks

__all__ = ["backward", "grad", "Variable", "gradcheck", "gradgradcheck", "GradcheckError",
           "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "Function",
           "FunctionCtx", "once_differentiable", "detect_anomaly", "set_detect_anomaly",
           "is_anomaly_enabled", "is_anomaly_check_nan_enabled", "saved_tensors_hooks", "graph",
           "function", "functional", "anomaly"]


def Variable(data: Any, requires_grad: bool = False, volatile: bool = False) -> Tensor:
    """The pre-0.4 PyTorch wrapper, for old code: returns a leaf Tensor.

    ``Variable(t, requires_grad=True)`` is a new leaf sharing ``t``'s storage, as it was
    in PyTorch; Python data and arrays are converted as by :func:`xpgrad.tensor`.
    """
    if volatile:
        raise NotImplementedError("volatile Variables are gone; compute under `with xpgrad.no_grad():`")
    t = Tensor(data._data, data._dev) if isinstance(data, Tensor) else Tensor(data)
    if requires_grad:
        t.requires_grad_(True)
    return t
