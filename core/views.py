"""Views: Tensors that share memory with another Tensor.

Whether a function returns a view is the backend's business (the standard leaves it
open): NumPy's basic indexing, ``reshape``, ``permute_dims``, ``flip`` ... do; dask and
JAX have none. An op that may return one is declared ``Op(view=True)``. The dispatcher
asks the backend whether such an op's result shares memory with its first argument
(``Backend.shares_memory``); if it does, the result becomes a *view* (:func:`track`). It
knows its *root* (the Tensor at the start of the chain of views, never itself a view)
and the *steps* ``(op, params)`` that lead from the root to it, and it shares the root's
version counter; the root keeps weak references to its views. A backend that cannot tell
gets a copy, so no alias exists that xpgrad cannot see. Writes through any alias are the
business of ``xpgrad.inplace``.
"""
import threading
import weakref

from .grad_mode import GRAD_ENABLED
from .tensor import _shared_version

# Guards each root's list of views (made, pruned and replayed from any thread).
VIEWS_LOCK = threading.Lock()

__all__ = ["ViewInfo", "track", "VIEWS_LOCK", "describe"]


class ViewInfo:
    """What a view Tensor knows of its root: the root, the steps from it, and whether
    grad mode was on when the view was made."""

    __slots__ = ("root", "steps", "grad_mode", "_key")

    def __init__(self, root, steps, grad_mode):
        self.root = root
        self.steps = steps  # ((Op, params or None), ...), the root's first
        self.grad_mode = grad_mode
        self._key = None

    def region(self, view):
        """The key that selects ``view``'s elements of the root, in the view's order and
        shape: the one basic key of a view made by indexing alone, else one integer
        array per axis of the root, found by running the steps on the root's flat
        positions (every step only moves elements, so it moves positions alike)."""
        if self._key is None:
            self._key = self._find_region(view)
        return self._key

    def _find_region(self, view):
        root = self.root
        op, params = self.steps[0]
        if len(self.steps) == 1 and op.name == "getitem":
            return params["key"]
        dev = root._dev
        xp = dev.xp
        shape = tuple(root._data.shape)
        size = 1
        for s in shape:
            size *= s
        positions = xp.reshape(xp.arange(size, device=dev.native), shape)
        for op, params in self.steps:
            positions = op.forward(xp, positions, **params) if params else op.forward(xp, positions)
        if xp.unique_values(xp.reshape(positions, (-1,))).shape[0] != _count(positions.shape):
            raise RuntimeError(
                "in-place write through a view in which several elements are one element of "
                f"its base (made by {describe(self.steps)}): the write cannot be recorded. "
                "Write into a copy (t.clone()) instead."
            )
        key = []
        for s in reversed(shape):
            key.append(positions % s)
            positions = positions // s
        return tuple(reversed(key))


def _count(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def describe(steps):
    return " then ".join(op.name for op, _ in steps)


# ---------------------------------------------------------------------- making views


def track(t, src, op, params):
    """``t``, the result of the view op ``op`` on ``src``, as a view of ``src`` where it
    shares ``src``'s memory; a copy where the backend cannot tell. Returns ``t``."""
    shared = src._dev.backend.shares_memory(t._data, src._data)
    if not shared:
        if shared is None:
            t._data = src._dev.xp.asarray(t._data, copy=True)
        return t
    info = src._view
    if info is None:
        root, steps = src, ((op, params),)
    else:
        root, steps = info.root, info.steps + ((op, params),)
    vc = _shared_version(root)
    node = t._grad_fn
    if node is not None and node.out_vc is not None:
        node.out_vc = vc  # a view op that saved its output: that output is the root's memory
    t._vc = vc
    t._own = False  # the root's memory
    t._view = ViewInfo(root, steps, GRAD_ENABLED.get())
    ref = weakref.ref(t)
    with VIEWS_LOCK:  # a view made in another thread at the same time is never lost
        views = root._views
        if views is None:
            root._views = [ref]
        else:
            n = len(views)
            if n >= 16 and not n & (n - 1):  # at 16, 32, 64 ...: drop the dead, amortised
                views[:] = [r for r in views if r() is not None]
            views.append(ref)
    return t
