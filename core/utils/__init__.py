"""``xpgrad.utils``: utilities named as in ``torch.utils`` (:mod:`xpgrad.utils.checkpoint`)."""
from . import checkpoint

__all__ = ["checkpoint"]
