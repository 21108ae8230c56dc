"""``xpgrad.utils.checkpoint``: PyTorch's ``torch.utils.checkpoint`` API on :func:`xpgrad.func.checkpoint`.

It has ``checkpoint`` and ``checkpoint_sequential``.

The function runs once without recording its intermediates; backward runs it again,
recording, and differentiates that graph. xpgrad has one implementation, so
``use_reentrant=True``, ``False`` and ``None`` behave alike; what differs from PyTorch
is listed in :func:`checkpoint`'s notes.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from xpgrad.func import checkpoint as _checkpoint
from xpgrad.func._pytree import flatten
from xpgrad.tensor import Tensor

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable


__all__ = ["checkpoint", "checkpoint_sequential"]

_DETERMINISM_CHECKS = ("default", "none")


def checkpoint(function: Callable[..., Any], *args: Any, use_reentrant: bool | None = None,
               context_fn: Callable[[], Any] | None = None, determinism_check: str = "default",
               debug: bool = False, early_stop: bool = True, preserve_rng_state: bool = True,
               **kwargs: Any) -> Any:
    """Run ``function(*args, **kwargs)`` without keeping its intermediates for backward.

    Backward recomputes them, as in ``torch.utils.checkpoint.checkpoint``.

    Parameters
    ----------
    function : callable
        Returns a Tensor or a tuple (list, dict) of floating-point Tensors of one dtype.
        It runs twice (forward, and again in backward), so it must be deterministic and
        must not change its inputs in place.
    *args
        Its positional arguments: Tensors, pytrees of them, other values.
    use_reentrant : bool or None
        Accepted for PyTorch's sake: ``True``, ``False`` and ``None`` behave alike (see
        the notes), and ``None`` gives no warning.
    context_fn : None
        Not supported: xpgrad cannot run the function and its recomputation under
        other context managers. Anything but None raises.
    determinism_check : {"default", "none"}
        ``"default"``: backward checks that the recomputed outputs have the shapes,
        dtypes and devices of the first run, and raises if not; ``"none"``: no check.
    debug : bool
        Not supported (``True`` raises): xpgrad keeps no trace of the operators run.
    early_stop : bool
        Accepted; xpgrad always recomputes the whole function, which gives the same
        gradients.
    preserve_rng_state : bool
        Accepted; xpgrad's backends have no random state to stash and restore, so a
        function that draws random numbers draws new ones when recomputed and its
        gradient is that of the new draws: draw them outside and pass them in.
    **kwargs
        Passed to ``function`` (whatever ``use_reentrant`` is; PyTorch's reentrant
        variant refuses them).

    Returns
    -------
    What ``function`` returns.

    Raises
    ------
    RuntimeError
        In backward, where the recomputed outputs differ in shape, dtype or device
        (``determinism_check="default"``), or where the recomputation reads a Tensor
        that requires grad which the first run did not.

    Notes
    -----
    Compared with PyTorch's two variants: the graph is one node (``CheckpointBackward``)
    that works with ``backward()``, ``xpgrad.autograd.grad`` and higher derivatives;
    Tensors inside nested arguments take part, and so do the Tensors that require grad
    which ``function`` reads from a closure or an object (as in the non-reentrant
    variant, whose first run is recorded to find them).

    Examples
    --------
    >>> from xpgrad.utils.checkpoint import checkpoint
    >>> x = xpgrad.tensor([0.0, 1.0], dtype=xpgrad.float64, requires_grad=True)
    >>> checkpoint(lambda x: x.sin().exp().sum(), x, use_reentrant=False).backward()
    >>> x.grad  # cos(x) exp(sin(x))
    tensor([1.0000, 1.2534], dtype=xpgrad.float64)
    """
    if use_reentrant not in (None, True, False):
        raise TypeError(f"use_reentrant must be True, False or None, got {use_reentrant!r}")
    if determinism_check not in _DETERMINISM_CHECKS:
        raise ValueError(
            f"determinism_check should be one of {list(_DETERMINISM_CHECKS)}, but got {determinism_check}"
        )
    if context_fn is not None or debug:
        if use_reentrant is not False:
            raise ValueError("Passing `context_fn` or `debug` is only supported when use_reentrant=False.")
        if context_fn is not None:
            raise NotImplementedError(
                "checkpoint: context_fn is not supported: xpgrad cannot run the function and its "
                "recomputation under other context managers; leave context_fn out"
            )
        raise NotImplementedError(
            "checkpoint: debug=True is not supported: xpgrad keeps no trace of the operators run; leave it out"
        )
    run = _Run(function, determinism_check == "default")
    result = _checkpoint(run)(*args, **kwargs)
    run.recomputing = True  # every later call is backward's
    return result


class _Run:
    """``function`` as the checkpoint calls it: the first time for the forward pass,
    afterwards to recompute, where it checks what the first run cannot see."""

    def __init__(self, function: Callable[..., Any], check_metadata: bool) -> None:
        self.function = function
        self.check_metadata = check_metadata
        self.recomputing = False
        self.metadata: list[tuple[Any, ...]] | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self.recomputing:
            out = self.function(*args, **kwargs)
            if self.check_metadata:
                self.metadata = _metadata(out)
            return out
        out = self.function(*args, **kwargs)  # a weight outside the arguments: func.checkpoint refuses it
        if self.metadata is not None:
            again = _metadata(out)
            if again != self.metadata:
                raise RuntimeError(
                    "checkpoint: recomputed values for the following tensors have different metadata "
                    f"than during the forward pass.\n{_mismatch(self.metadata, again)}.\nThe checkpointed "
                    "function must compute the same thing when it runs again in backward (pass "
                    'determinism_check="none" to skip this check)'
                )
        return out


def _metadata(out: Any) -> list[tuple[Any, ...]]:
    return [(tuple(t.shape), t.dtype, t.device) if isinstance(t, Tensor) else (type(t),) for t in flatten(out)[0]]


def _mismatch(before: list[tuple[Any, ...]], after: list[tuple[Any, ...]]) -> str:
    if len(before) != len(after):
        return f"the function returned {len(before)} values, and {len(after)} when recomputed"
    return "\n".join(f"output {i}: {_describe(b)} in the forward pass, {_describe(a)} when recomputed"
                     for i, (b, a) in enumerate(zip(before, after)) if a != b)


def _describe(meta: tuple[Any, ...]) -> str:
    if len(meta) == 1:
        return f"a {meta[0].__name__}"
    shape, dtype, device = meta
    return f"shape {shape}, dtype {str(dtype).rsplit('.', 1)[-1]}, device {device}"


def checkpoint_sequential(functions: Iterable[Callable[[Any], Any]], segments: int, input: Any,
                          use_reentrant: bool | None = None, **kwargs: Any) -> Any:
    """Run ``functions`` one after the other on ``input``, checkpointing all segments but the last.

    The functions are cut into ``segments`` runs, each checkpointed as by
    :func:`checkpoint`, as in ``torch.utils.checkpoint.checkpoint_sequential``.

    Parameters
    ----------
    functions : sequence of callables
        Each takes one Tensor and returns one Tensor.
    segments : int
        How many segments to cut ``functions`` into (each ``len(functions) // segments``
        long, the last one taking the rest); between 1 and ``len(functions)``.
    input : Tensor
    use_reentrant : bool or None
        As in :func:`checkpoint` (all three behave alike).
    **kwargs
        Only ``preserve_rng_state``, as in PyTorch.

    Returns
    -------
    The output of the last function.

    Examples
    --------
    >>> from xpgrad.utils.checkpoint import checkpoint_sequential
    >>> x = xpgrad.tensor([0.5, 1.0], dtype=xpgrad.float64, requires_grad=True)
    >>> y = checkpoint_sequential([lambda t: t * 2, lambda t: t.exp(), lambda t: t.sum()], 2, x)
    >>> y.backward()
    >>> x.grad  # 2 exp(2 x)
    tensor([ 5.4366, 14.7781], dtype=xpgrad.float64)
    """
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    functions = list(functions)
    if isinstance(segments, bool) or not isinstance(segments, int) or not 1 <= segments <= max(len(functions), 1):
        raise ValueError(
            f"checkpoint_sequential: segments must be an int from 1 to the number of functions "
            f"({len(functions)}), got {segments!r}"
        )

    def run_function(start: int, end: int) -> Callable[[Any], Any]:
        def forward(x: Any) -> Any:
            for j in range(start, end + 1):
                x = functions[j](x)
            return x

        return forward

    segment_size = len(functions) // segments
    end = -1
    for start in range(0, segment_size * (segments - 1), segment_size):
        end = start + segment_size - 1
        input = checkpoint(run_function(start, end), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve)
    return run_function(end + 1, len(functions) - 1)(input)
