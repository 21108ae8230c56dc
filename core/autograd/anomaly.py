"""Anomaly mode: find the forward line behind a NaN gradient.

While anomaly mode is on, every recorded graph node remembers where in the user's code
it was created (a short traceback, kept in a weak dictionary, so it dies with the node),
and the engine hands every gradient a VJP rule returns to a check that raises as soon as
one contains NaN, naming the node and showing that traceback. Both cost time: turn the
mode on to debug, not to train.

Only NaN is checked, as PyTorch does: an infinite gradient is often legitimate (log at
0), and an inf that matters turns into a NaN a few steps later (inf - inf, 0 * inf).
"""
from __future__ import annotations

import os
import threading
import traceback
import weakref
from typing import TYPE_CHECKING, Any

from xpgrad import dispatch, engine
from xpgrad.tensor import Tensor

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Literal, ParamSpec, TypeVar

    from xpgrad.node import Node

    _P = ParamSpec("_P")
    _R = TypeVar("_R")

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "is_anomaly_check_nan_enabled"]

# node -> traceback.StackSummary of its forward call
_SITES: weakref.WeakKeyDictionary[Node, traceback.StackSummary] = weakref.WeakKeyDictionary()
_STATE = {"enabled": False, "check_nan": True}
_LOCK = threading.Lock()
_MAX_FRAMES = 10


def _package_dirs() -> tuple[str, ...]:
    # xpgrad's own folder: this file's parent's parent (xpgrad/autograd/anomaly.py)
    dirs = {os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}
    for name in ("ops", "plugins", "backends"):
        try:
            module = __import__(f"xpgrad.{name}", fromlist=["_"])
            dirs.add(os.path.dirname(os.path.abspath(module.__file__)))  # type: ignore[arg-type, type-var]
        except Exception:  # a package that is absent has no frames to hide
            pass
    return tuple(d + os.sep for d in dirs)


_INTERNAL: tuple[str, ...] | None = None


def _user_stack() -> traceback.StackSummary:
    """The current call stack without xpgrad's own frames (dispatch, recorders, Tensor
    methods): the user's lines, most recent last, at most ``_MAX_FRAMES`` of them."""
    global _INTERNAL
    if _INTERNAL is None:
        _INTERNAL = _package_dirs()
    # "<xpgrad: ...>": the code xpgrad generates (xpgrad.plugins.codegen.define)
    frames = [f for f in traceback.extract_stack()
              if not f.filename.startswith(_INTERNAL) and not f.filename.startswith("<xpgrad:")
              and f.filename != "<string>"]
    return traceback.StackSummary.from_list(frames[-_MAX_FRAMES:])


def _record_site(node: Node, out: Tensor, args: tuple[Any, ...]) -> None:
    _SITES[node] = _user_stack()


def forward_traceback(node: Node) -> str | None:
    """The recorded forward call site of ``node`` as text, or None if anomaly mode was
    off when it was created."""
    stack = _SITES.get(node)
    return None if stack is None else "".join(stack.format())


def _check_nan(node: Node, i: int, gradient: Any) -> None:
    """The engine's anomaly check: raise if the gradient a rule returned has a NaN."""
    if isinstance(gradient, Tensor):
        raw, xp = gradient._data, gradient._dev.xp
    else:
        raw, xp = gradient, _namespace(node, gradient)
    if not xp.isdtype(raw.dtype, ("real floating", "complex floating")):
        return
    if not bool(xp.any(xp.isnan(raw))):
        return
    op = getattr(node, "_op", None)
    argnames = getattr(op, "argnames", ())
    which = f" (the gradient of its argument {argnames[i]!r})" if i < len(argnames) else ""
    site = forward_traceback(node)
    if site is None:
        where = ("The forward call that created it was not recorded: run the forward pass "
                 "inside detect_anomaly() too, to see it.")
    else:
        where = "The forward call that created it (most recent call last):\n" + site.rstrip("\n")
    raise RuntimeError(
        f"Function '{type(node).__name__}' returned nan values in its {_ordinal(i)} output{which}.\n"
        f"{where}"
    )


def _namespace(node: Node, raw: Any) -> Any:
    xp = node.dev.xp
    if type(raw) is node.dev.array_type:
        return xp
    from array_api_compat import array_namespace

    return array_namespace(raw)


def _ordinal(i: int) -> str:
    n = i + 1
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _apply(enabled: bool, check_nan: bool) -> None:
    with _LOCK:
        _STATE["enabled"] = enabled
        _STATE["check_nan"] = check_nan
        hooks = dispatch.RECORD_HOOKS
        if enabled and _record_site not in hooks:
            hooks.append(_record_site)
        elif not enabled and _record_site in hooks:
            hooks.remove(_record_site)
        engine.ANOMALY_CHECK[0] = _check_nan if enabled and check_nan else None


def is_anomaly_enabled() -> bool:
    """Whether anomaly mode is on."""
    return _STATE["enabled"]


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly mode checks the gradients for NaN."""
    return _STATE["enabled"] and _STATE["check_nan"]


class set_detect_anomaly:
    """Turn anomaly mode on or off, as ``torch.autograd.set_detect_anomaly``.

    Called as a function it sets the mode; used as a context manager it restores the
    previous state on exit.

    Parameters
    ----------
    mode : bool
        Whether to record forward call sites (and check for NaN).
    check_nan : bool, optional
        Raise as soon as a VJP rule returns a gradient containing NaN (default True).
    """

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self._previous = (_STATE["enabled"], _STATE["check_nan"])
        _apply(bool(mode), bool(check_nan))

    def __enter__(self) -> set_detect_anomaly:
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        _apply(*self._previous)
        return False


class detect_anomaly:
    """Context manager (and decorator) turning anomaly mode on, as ``torch.autograd.detect_anomaly``.

    Backward then raises ``RuntimeError`` at the first gradient containing NaN, naming
    the graph node ("Function 'DivBackward' returned nan values in its 1st output") and
    showing the line of the forward pass that created that node.

    Parameters
    ----------
    check_nan : bool, optional
        Check gradients for NaN (default True); with False only the call sites are
        recorded.

    Examples
    --------
    >>> with xpgrad.autograd.detect_anomaly():
    ...     y = xpgrad.sqrt(x) * 0
    ...     y.sum().backward()    # RuntimeError: Function 'SqrtBackward' returned nan ...
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = bool(check_nan)
        self._previous: list[tuple[bool, bool]] = []

    def __enter__(self) -> detect_anomaly:
        self._previous.append((_STATE["enabled"], _STATE["check_nan"]))
        _apply(True, self.check_nan)
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        _apply(*self._previous.pop())
        return False

    def __call__(self, fn: Callable[_P, _R]) -> Callable[_P, _R]:
        import functools

        @functools.wraps(fn)
        def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            with self.__class__(self.check_nan):
                return fn(*args, **kwargs)

        return wrapper
