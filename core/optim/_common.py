"""What the optimizers' updates share."""
from __future__ import annotations

from typing import TYPE_CHECKING

from xpgrad.dtypes import is_kind

if TYPE_CHECKING:
    from ..tensor import Tensor


# How PyTorch's messages name an option; others are "Invalid <name> value: ..."
_NAMES = {"lr": "learning rate", "eps": "epsilon value"}


def check_nonnegative(**options: float) -> None:
    """Raise PyTorch's ValueError for the first option (in the order given, PyTorch's)
    that is negative or NaN: ``Invalid learning rate: -1.0``."""
    for name, value in options.items():
        if not value >= 0.0:
            raise ValueError(f"Invalid {_NAMES.get(name, name + ' value')}: {value}")


def lerp_(t: Tensor, end: Tensor, weight: float) -> None:
    """``t += weight * (end - t)`` in place, in the form PyTorch's ``lerp_`` rounds:
    from ``t`` for a small weight, from ``end`` for a large one."""
    if weight < 0.5:
        t.add_((end - t) * weight)
    else:
        t.copy_(end - (end - t) * (1 - weight))


def check_real(optimizer: str, p: Tensor) -> None:
    """Refuse a complex parameter, whose moments PyTorch keeps per real and imaginary part."""
    if is_kind(p.dtype, "complex floating"):
        raise TypeError(
            f"{optimizer} does not support complex parameters (this one is {p.dtype}): PyTorch keeps their "
            "squared-gradient averages per real and imaginary part, which is not written here. Optimize the "
            "real and imaginary parts as two real Tensors, or use SGD."
        )
