"""Neural-network functions with ``torch.nn``'s names.

>>> import xpgrad
>>> import xpgrad.nn.functional as F
>>> logits = xpgrad.tensor([[2.0, 0.5, -1.0]], requires_grad=True)
>>> F.cross_entropy(logits, xpgrad.tensor([0]))
tensor(0.2413, grad_fn=<...>)

:mod:`xpgrad.nn.functional` holds the activations and losses, composed of xpgrad's
differentiable functions, so they run on every backend and differentiate to any order.
"""
from . import functional

__all__ = ["functional"]
