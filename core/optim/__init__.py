"""Optimizers and learning-rate schedulers, with ``torch.optim``'s API.

>>> import xpgrad
>>> from xpgrad import optim
>>> w = xpgrad.tensor([3.0, -1.0], requires_grad=True)
>>> opt = optim.SGD([w], lr=0.25)
>>> for _ in range(2):
...     opt.zero_grad()
...     (w ** 2).sum().backward()
...     opt.step()
>>> w
tensor([ 0.7500, -0.2500], requires_grad=True)

Each optimizer updates its parameters in place under ``no_grad``, with PyTorch's
formulas (its single-tensor code path), on whichever backend each parameter lives.
"""
from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler"]
