"""Learning-rate schedulers, as ``torch.optim.lr_scheduler``.

Each changes the ``"lr"`` of its optimizer's parameter groups when stepped (once per
epoch, after the optimizer's own steps).
"""
from __future__ import annotations

import copy
import math
from typing import Any

from .optimizer import Optimizer

__all__ = ["LRScheduler", "StepLR", "CosineAnnealingLR", "ReduceLROnPlateau"]


class LRScheduler:
    """The base class of the schedulers, as ``torch.optim.lr_scheduler.LRScheduler``.

    A fresh scheduler (``last_epoch=-1``) sets each group's ``"initial_lr"`` to its
    ``"lr"`` (unless the group has one already) and takes its first step (epoch 0),
    which sets the learning rates of epoch 0. A subclass implements :meth:`get_lr`.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer whose learning rates are scheduled.
    last_epoch : int, optional
        The index of the last epoch, to resume a schedule; -1 (the default) starts one.
        Resuming needs ``"initial_lr"`` in every group (a loaded optimizer state has it).

    Attributes
    ----------
    optimizer : Optimizer
    base_lrs : list of float
        The groups' ``"initial_lr"``.
    last_epoch : int
        The epoch of the learning rates in force (0 after construction).

    Examples
    --------
    >>> import xpgrad
    >>> from xpgrad.optim import SGD, lr_scheduler
    >>> w = xpgrad.zeros(2, requires_grad=True)
    >>> opt = SGD([w], lr=1.0)
    >>> sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    >>> lrs = []
    >>> for epoch in range(5):
    ...     opt.step()
    ...     sched.step()
    ...     lrs += sched.get_last_lr()
    >>> lrs
    [1.0, 0.5, 0.5, 0.25, 0.25]
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when resuming scheduler with "
                        "last_epoch >= 0. Load the optimizer's saved state first, or start with last_epoch=-1."
                    )
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The learning rates of epoch ``last_epoch``, one per group, computed from the current ones.

        Called by :meth:`step`; read them with :meth:`get_last_lr`.
        """
        raise NotImplementedError(f"{type(self).__name__} does not define get_lr()")

    def step(self) -> None:
        """Advance one epoch and set the groups' learning rates for it.

        Examples
        --------
        >>> import xpgrad
        >>> from xpgrad.optim import SGD, lr_scheduler
        >>> opt = SGD([xpgrad.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.1)
        >>> sched.step()
        >>> opt.param_groups[0]["lr"]
        0.1
        """
        self._step_count += 1
        self.last_epoch += 1
        values = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates the last :meth:`step` set, one per group.

        Returns
        -------
        list of float
        """
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state: a copy of its attributes, the optimizer left out.

        Returns
        -------
        dict

        Examples
        --------
        >>> import xpgrad
        >>> from xpgrad.optim import SGD, lr_scheduler
        >>> opt = SGD([xpgrad.zeros(1, requires_grad=True)], lr=1.0)
        >>> lr_scheduler.StepLR(opt, step_size=3).state_dict()["last_epoch"]
        0
        """
        return copy.deepcopy({k: v for k, v in self.__dict__.items() if k != "optimizer"})

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state made by :meth:`state_dict`.

        Parameters
        ----------
        state_dict : dict
        """
        self.__dict__.update(copy.deepcopy(state_dict))


class StepLR(LRScheduler):
    """Multiply the learning rates by ``gamma`` every ``step_size`` epochs, as ``torch.optim.lr_scheduler.StepLR``.

    Parameters
    ----------
    optimizer : Optimizer
    step_size : int
        The number of epochs between decays.
    gamma : float, optional
        The factor of each decay (default 0.1).
    last_epoch : int, optional
        See :class:`LRScheduler`.

    Examples
    --------
    >>> import xpgrad
    >>> from xpgrad.optim import SGD, lr_scheduler
    >>> opt = SGD([xpgrad.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    >>> for _ in range(4):
    ...     opt.step()
    ...     sched.step()
    >>> sched.get_last_lr()
    [0.25]
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """The learning rates of epoch ``last_epoch``: the current ones, times ``gamma`` every ``step_size`` epochs."""
        groups = self.optimizer.param_groups
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]


class CosineAnnealingLR(LRScheduler):
    """Anneal the learning rates along a cosine, as ``torch.optim.lr_scheduler.CosineAnnealingLR``.

    The rates go from their initial values down to ``eta_min`` along a half cosine over
    ``T_max`` epochs (and back up over the next ``T_max``, and so on).

    The rate is computed from the previous one, as PyTorch does, so that a change made
    to a group's ``"lr"`` between epochs carries on: ``lr_t = eta_min + (lr_{t-1} -
    eta_min) * (1 + cos(pi t / T_max)) / (1 + cos(pi (t - 1) / T_max))``, which without
    such changes is ``eta_min + (base_lr - eta_min) * (1 + cos(pi t / T_max)) / 2``.

    Parameters
    ----------
    optimizer : Optimizer
    T_max : int
        The number of epochs of a half period.
    eta_min : float, optional
        The smallest learning rate (default 0).
    last_epoch : int, optional
        See :class:`LRScheduler`.

    Examples
    --------
    >>> import xpgrad
    >>> from xpgrad.optim import SGD, lr_scheduler
    >>> opt = SGD([xpgrad.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = lr_scheduler.CosineAnnealingLR(opt, T_max=2)
    >>> opt.step()
    >>> sched.step()
    >>> round(sched.get_last_lr()[0], 12)
    0.5
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,  # noqa: N803 (PyTorch's name)
                 last_epoch: int = -1) -> None:
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """The learning rates of epoch ``last_epoch``, one step along the cosine from the current ones."""
        groups = self.optimizer.param_groups
        t, t_max, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return [group["lr"] for group in groups]
        if self._step_count == 1 and t > 0:  # resumed: the closed form
            return [eta_min + (base_lr - eta_min) * (1 + math.cos(t * math.pi / t_max)) / 2
                    for base_lr in self.base_lrs]
        if (t - 1 - t_max) % (2 * t_max) == 0:  # past the minimum: the ratio below would divide by zero
            return [group["lr"] + (base_lr - eta_min) * (1 - math.cos(math.pi / t_max)) / 2
                    for base_lr, group in zip(self.base_lrs, groups)]
        return [(1 + math.cos(math.pi * t / t_max)) / (1 + math.cos(math.pi * (t - 1) / t_max))
                * (group["lr"] - eta_min) + eta_min for group in groups]


class ReduceLROnPlateau(LRScheduler):
    """Reduce the learning rates when a metric has stopped improving, as PyTorch's ``ReduceLROnPlateau``.

    Each :meth:`step` takes the epoch's metric; once more than ``patience`` epochs in a
    row have not improved on the best value (by ``threshold``), every group's rate is
    multiplied by ``factor`` (not below its ``min_lr``; a change smaller than ``eps`` is
    skipped), and ``cooldown`` epochs follow in which bad epochs are not counted. It sets
    no ``"initial_lr"`` (as in PyTorch).

    Parameters
    ----------
    optimizer : Optimizer
    mode : {"min", "max"}, optional
        Whether the metric should go down (the default) or up.
    factor : float, optional
        The factor of each reduction, below 1 (default 0.1).
    patience : int, optional
        The number of epochs without improvement that are tolerated (default 10).
    threshold : float, optional
        The smallest improvement that counts (default 1e-4).
    threshold_mode : {"rel", "abs"}, optional
        Whether ``threshold`` is relative to the best value (the default) or absolute.
    cooldown : int, optional
        The number of epochs to wait after a reduction (default 0).
    min_lr : float or list of float, optional
        The lower bound of the rates, for all groups or one per group (default 0).
    eps : float, optional
        The smallest change of a rate that is made (default 1e-8).

    Examples
    --------
    >>> import xpgrad
    >>> from xpgrad.optim import SGD, lr_scheduler
    >>> opt = SGD([xpgrad.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5)
    >>> for loss in [3.0, 2.0, 2.0, 2.0, 1.0]:
    ...     sched.step(loss)
    >>> sched.get_last_lr()
    [0.5]
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float | list[float] = 0, eps: float = 1e-8) -> None:
        if factor >= 1.0:
            raise ValueError("Factor should be < 1.0.")
        self.factor = factor
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ValueError(f"expected {n} min_lrs, got {len(min_lr)}")
            self.default_min_lr: float | None = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * n
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]
        self._init_is_better(mode, threshold, threshold_mode)
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def _init_is_better(self, mode: str, threshold: float, threshold_mode: str) -> None:
        if mode not in {"min", "max"}:
            raise ValueError("mode " + mode + " is unknown!")
        if threshold_mode not in {"rel", "abs"}:
            raise ValueError("threshold mode " + threshold_mode + " is unknown!")
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode

    def step(self, metrics: Any) -> None:  # type: ignore[override]
        """Count the epoch whose metric is ``metrics``, and reduce the learning rates if it ends a plateau.

        ``metrics`` is a number or a one-element Tensor.

        Examples
        --------
        >>> import xpgrad
        >>> from xpgrad.optim import SGD, lr_scheduler
        >>> opt = SGD([xpgrad.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = lr_scheduler.ReduceLROnPlateau(opt, patience=0)
        >>> sched.step(1.0)
        >>> sched.step(2.0)
        >>> opt.param_groups[0]["lr"]
        0.1
        """
        current = float(metrics)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in the cooldown are not counted
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(
                    f"The number of param groups in the `optimizer` ({len(groups)}) differs from when "
                    f"`ReduceLROnPlateau` was initialized ({len(self.min_lrs)}), usually due to a new param group "
                    "being added to the optimizer. Please modify the `min_lrs` field to match the length of the "
                    "`optimizer` param groups."
                )
            self.min_lrs = [self.default_min_lr] * len(groups)
        for i, group in enumerate(groups):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, self.min_lrs[i])
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr

    @property
    def in_cooldown(self) -> bool:
        """Whether the scheduler is waiting after a reduction."""
        return self.cooldown_counter > 0

    def is_better(self, a: float, best: float) -> bool:
        """Whether the metric ``a`` improves on ``best`` by more than the threshold."""
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self._init_is_better(self.mode, self.threshold, self.threshold_mode)

    load_state_dict.__doc__ = LRScheduler.load_state_dict.__doc__
