"""The base class of the optimizers: parameter groups, per-parameter state, ``zero_grad``
and ``state_dict``, in ``torch.optim.Optimizer``'s layout.

An optimizer changes its parameters in place (``p.add_``, ``p.copy_``) under
``no_grad``: a parameter stays the same Tensor object, so a user's references to it,
and other optimizers' state keyed by it, remain valid, and no step is recorded in a
graph. Its state (momentum buffers, moving averages) is Tensors on each parameter's
own device, written in place too.
"""
from __future__ import annotations

import copy
from collections import defaultdict
from itertools import chain
from typing import TYPE_CHECKING, Any

from xpgrad.dtypes import is_kind

from ..grad_mode import enable_grad, no_grad
from ..tensor import Tensor

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

__all__ = ["Optimizer"]


def _copied(value: Any, param: Tensor | None = None) -> Any:
    """A deep copy of a state value: Tensors cloned out of any graph (moved to ``param``'s
    device, and cast to its dtype when it is floating, as PyTorch loads state), dicts,
    lists and tuples copied item by item."""
    if isinstance(value, Tensor):
        with no_grad():
            if param is None:
                return value.detach().clone()
            floating = is_kind(param.dtype, ("real floating", "complex floating"))
            return value.detach().to(device=param.device, dtype=param.dtype if floating else None, copy=True)
    if isinstance(value, dict):
        return {k: _copied(v, param) for k, v in value.items()}
    if type(value) in (list, tuple):
        return type(value)(_copied(v, param) for v in value)
    return copy.deepcopy(value)


class Optimizer:
    """The base class of xpgrad's optimizers, as ``torch.optim.Optimizer``.

    Parameters
    ----------
    params : iterable of Tensor or iterable of dict
        The Tensors to optimize, or parameter groups: dicts with a ``"params"`` entry
        (a Tensor or a list of Tensors) and any options of their own; options a group
        does not give come from ``defaults``.
    defaults : dict
        The options of the optimizer (``lr``, ...), the defaults of every group.

    Attributes
    ----------
    param_groups : list of dict
        The groups, each with its ``"params"`` list and all its options; changing an
        option here (``group["lr"] = 0.01``) changes the next steps.
    state : collections.defaultdict
        The per-parameter state (``{"momentum_buffer": Tensor}``, ...), keyed by the
        parameter Tensor (Tensors hash by identity), as in PyTorch.
    defaults : dict
        The options given to the constructor.

    Notes
    -----
    A subclass implements ``_update_group(group)``, which updates the parameters of one
    group that have a ``.grad``; :meth:`step` runs it for every group under ``no_grad``.
    A subclass written for PyTorch, which overrides ``step`` itself, works as well.

    Examples
    --------
    >>> import xpgrad
    >>> from xpgrad.optim import SGD
    >>> w = xpgrad.tensor([1.0, 2.0], requires_grad=True)
    >>> opt = SGD([w], lr=0.5)
    >>> (w ** 2).sum().backward()
    >>> opt.step()
    >>> w
    tensor([0., 0.], requires_grad=True)
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            "but got xpgrad.Tensor")
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        text = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            for key in sorted(group):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"

    # ---------------------------------------------------------------- groups

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a parameter group, with options of its own (the others from ``defaults``).

        Parameters
        ----------
        param_group : dict
            ``{"params": Tensor or list of Tensor, "lr": ..., ...}``; the dict is copied,
            not changed.

        Examples
        --------
        >>> import xpgrad
        >>> from xpgrad.optim import SGD
        >>> a, b = xpgrad.zeros(2, requires_grad=True), xpgrad.zeros(3, requires_grad=True)
        >>> opt = SGD([a], lr=0.1)
        >>> opt.add_param_group({"params": b, "lr": 0.01})
        >>> [g["lr"] for g in opt.param_groups]
        [0.1, 0.01]
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        param_group = dict(param_group)
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                            "of tensors in sets will change between runs. Please use a list instead.")
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        param_group["params"] = params
        for name, default in self.defaults.items():
            param_group.setdefault(name, default)
        ids = {id(p) for p in params}
        if len(ids) != len(params):
            # PyTorch warns and steps such a parameter twice per step; never what is meant.
            raise ValueError("optimizer contains a parameter group with duplicate parameters; list each "
                             "parameter once")
        if any(id(p) in ids for group in self.param_groups for p in group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ---------------------------------------------------------------- stepping

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all the parameters.

        Parameters
        ----------
        set_to_none : bool, optional
            True (the default): set each ``.grad`` to None, so that the next backward
            makes a new one and a parameter that gets no gradient is skipped by
            :meth:`step`. False: write zeros into each existing ``.grad`` in place (cut
            from any graph it had).

        Examples
        --------
        >>> import xpgrad
        >>> from xpgrad.optim import SGD
        >>> w = xpgrad.tensor([1.0], requires_grad=True)
        >>> opt = SGD([w])
        >>> (3 * w).sum().backward()
        >>> opt.zero_grad(set_to_none=False)
        >>> w.grad
        tensor([0.])
        """
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                    continue
                if g.grad_fn is not None:
                    g.detach_()
                else:
                    g.requires_grad_(False)
                with no_grad():
                    g.zero_()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a ``.grad``, in place.

        Parameters
        ----------
        closure : callable, optional
            Called first, with grad mode on, to re-evaluate the model: it zeroes the
            gradients, computes the loss, calls ``backward`` and returns the loss.

        Returns
        -------
        The closure's loss, or None without a closure.

        Examples
        --------
        >>> import xpgrad
        >>> from xpgrad.optim import SGD
        >>> w = xpgrad.tensor([1.0], requires_grad=True)
        >>> opt = SGD([w], lr=0.25)
        >>> def closure():
        ...     opt.zero_grad()
        ...     loss = (w ** 2).sum()
        ...     loss.backward()
        ...     return loss
        >>> opt.step(closure)
        tensor(1., grad_fn=<SumBackward0>)
        >>> w
        tensor([0.5000], requires_grad=True)
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                self._update_group(group)
        return loss

    def _update_group(self, group: dict[str, Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__} defines no update: implement step() or _update_group()")

    @staticmethod
    def _gradients(group: dict[str, Any]) -> Iterator[tuple[Tensor, Tensor]]:
        """``(parameter, gradient)`` for each parameter of ``group`` that has a ``.grad``
        (the others are skipped, as in PyTorch), the gradient negated where the group
        maximizes."""
        maximize = group["maximize"]
        for p in group["params"]:
            grad = p.grad
            if grad is not None:
                yield p, -grad if maximize else grad

    # ---------------------------------------------------------------- saving

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state, in PyTorch's layout, as copies.

        Returns
        -------
        dict
            ``{"state": {index: {name: value}}, "param_groups": [{..., "params":
            [index, ...]}]}``: each parameter is named by its position across the
            groups, in order. The Tensors are copies (unlike PyTorch, whose state dict
            holds the live buffers that the next step changes).

        Examples
        --------
        >>> import xpgrad
        >>> from xpgrad.optim import SGD
        >>> w = xpgrad.tensor([1.0], requires_grad=True)
        >>> opt = SGD([w], lr=0.1, momentum=0.9)
        >>> (2 * w).sum().backward()
        >>> opt.step()
        >>> opt.state_dict()["state"]
        {0: {'momentum_buffer': tensor([2.])}}
        """
        index: dict[int, int] = {}
        groups = []
        start = 0
        for group in self.param_groups:
            packed = {k: _copied(v) for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                index.setdefault(id(p), i)
            packed["params"] = [index[id(p)] for p in group["params"]]
            start += len(packed["params"])
            groups.append(packed)
        state = {(index[id(k)] if isinstance(k, Tensor) else k): _copied(v) for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state made by :meth:`state_dict`, over this optimizer's own parameters.

        The groups' options are replaced by the saved ones; each parameter gets the
        state saved for the parameter at its position (copied, moved to its device and,
        for a floating parameter, cast to its dtype).

        Parameters
        ----------
        state_dict : dict
            As :meth:`state_dict` returns it.

        Raises
        ------
        ValueError
            When the numbers of groups, or of parameters in a group, differ, or a saved
            state Tensor's shape differs from its parameter's.

        Examples
        --------
        >>> import xpgrad
        >>> from xpgrad.optim import Adam
        >>> w = xpgrad.tensor([1.0], requires_grad=True)
        >>> opt = Adam([w], lr=0.1)
        >>> (w ** 2).sum().backward()
        >>> opt.step()
        >>> again = Adam([w], lr=0.5)
        >>> again.load_state_dict(opt.state_dict())
        >>> again.param_groups[0]["lr"], again.state[w]["step"]
        (0.1, 1.0)
        """
        groups = self.param_groups
        saved_groups = state_dict["param_groups"]
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                             "optimizer's group")
        id_map = dict(zip(chain.from_iterable(s["params"] for s in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))
        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for k, v in state_dict["state"].items():
            param = id_map.get(k) if isinstance(k, int) else None
            if param is None:
                state[k] = _copied(v)
                continue
            for name, value in v.items():
                if isinstance(value, Tensor) and name != "step" and tuple(value.shape) != tuple(param.shape):
                    raise ValueError(
                        f"loaded state dict has {name!r} of shape {tuple(value.shape)} for parameter {k}, whose "
                        f"shape in this optimizer is {tuple(param.shape)}; the state dict was saved for other "
                        "parameters (or in another order)"
                    )
            state[param] = _copied(v, param)
        new_groups = []
        for group, saved in zip(groups, saved_groups):
            new = {k: _copied(v) for k, v in saved.items() if k != "params"}
            for name, default in self.defaults.items():
                new.setdefault(name, default)
            new["params"] = group["params"]
            new_groups.append(new)
        self.state = state
        self.param_groups = new_groups
