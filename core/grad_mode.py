"""Grad mode: whether ops record the graph. Thread- and task-local (contextvars)."""
import contextvars
import functools

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled"]

GRAD_ENABLED = contextvars.ContextVar("xpgrad_grad_enabled", default=True)


def is_grad_enabled():
    """Whether ops record the graph in the current thread or task."""
    return GRAD_ENABLED.get()


class _GradModeContext:
    """A context manager that is also a decorator, as in PyTorch."""

    _mode = None

    def __enter__(self):
        self._tokens = getattr(self, "_tokens", [])
        self._tokens.append(GRAD_ENABLED.set(self._mode))
        return self

    def __exit__(self, *exc):
        GRAD_ENABLED.reset(self._tokens.pop())
        return False

    def __call__(self, fn):
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            token = GRAD_ENABLED.set(mode)
            try:
                return fn(*args, **kwargs)
            finally:
                GRAD_ENABLED.reset(token)

        return wrapper


class no_grad(_GradModeContext):
    """Ops inside record no graph: their results do not require grad.

    Usable as ``with xpgrad.no_grad():`` and as the decorator ``@xpgrad.no_grad()``.
    """

    _mode = False


class enable_grad(_GradModeContext):
    """Re-enables recording inside a ``no_grad`` block; also a decorator."""

    _mode = True


class set_grad_enabled(_GradModeContext):
    """Sets grad mode to ``mode``: as a function call, a context manager or a decorator.

    Called as a function it takes effect at once, as ``torch.set_grad_enabled`` does;
    used in a ``with`` block, the previous mode comes back when the block ends.
    """

    def __init__(self, mode):
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled takes a bool, got {type(mode).__name__}")
        self._mode = mode
        self._prev = GRAD_ENABLED.get()
        GRAD_ENABLED.set(mode)

    def __enter__(self):
        # The constructor already switched the mode; restore the earlier one on exit.
        self._tokens = getattr(self, "_tokens", [])
        self._tokens.append(GRAD_ENABLED.set(self._mode))
        return self

    def __exit__(self, *exc):
        GRAD_ENABLED.reset(self._tokens.pop())
        GRAD_ENABLED.set(self._prev)
        return False

    def __call__(self, fn):
        # As a decorator, undo the immediate switch the constructor made.
        GRAD_ENABLED.set(self._prev)
        return super().__call__(fn)
