"""In-place writes, through any alias: recorded in the graph or refused, as in PyTorch.

- **Versions.** Every in-place write bumps the version counter that a root and all its
  views share (``xpgrad.views``), so a node that saved any of them raises at backward,
  naming itself.
- **History** (PyTorch's CopySlices and view replay). An in-place op computes its result
  out of place (from a copy of the Tensor's old values where its rule needs them) and
  :func:`commit` writes that into the Tensor's memory. A Tensor that is no view simply
  stands for the result's node from then on. For a view, the root gets a new history,
  ``setitem(root, result, key=the view's region)`` (node ``CopySlices``), recorded without
  being run, since the memory already holds its value. Either way every live view of the
  root then replays its steps from the root's new history, so later uses of the root and
  of every view see the write, and their gradients are exact.
- **Kept.** Two common patterns keep what they saved instead of raising at backward as
  PyTorch does: a write into an output that its own node saved (``s = sqrt(v);
  s[s == 0] = 1``; the node gets a copy of its output first, :func:`keep_output`), and an
  assignment whose value was computed directly from the memory it overwrites
  (``t[i] = maximum(t[i], y)``; :func:`keep_saved` copies what that computation saved).
- **Refused** at the write, with a clear error: an in-place op under grad on a leaf that
  requires grad, on a view of one, or on a view made under ``no_grad`` (ambiguous: PyTorch
  refuses it too); a write through a view whose dtype differs from its root's
  (``real``, ``imag``) or that reaches an element twice (``broadcast_to``), whose
  history cannot be rewritten.
"""

from . import dispatch
from .grad_mode import GRAD_ENABLED
from .tensor import Tensor
from .views import VIEWS_LOCK, describe

__all__ = ["check_inplace", "commit", "keep_saved", "keep_output", "write_failed"]


def check_inplace(t, what, value_requires_grad):
    """Whether an in-place op ``what`` on ``t`` under grad mode must be recorded
    (``value_requires_grad``: whether the value written depends on something that
    requires grad); raises where it must be and cannot."""
    info = t._view
    root = t if info is None else info.root
    if not (t._rg or value_requires_grad or root._rg):
        return False
    if t._grad_fn is None and t._rg:
        raise RuntimeError(
            f"a leaf Tensor that requires grad is being used in an in-place operation ({what}). "
            "Change its values under `with xpgrad.no_grad():` (as an optimizer step does), or "
            "work on a copy (t.clone())."
        )
    if info is None:
        return True
    if root._grad_fn is None and root._rg:
        raise RuntimeError(
            f"a view of a leaf Tensor that requires grad is being used in an in-place operation "
            f"({what}). Change the leaf's values under `with xpgrad.no_grad():`, or work on a "
            "copy (t.clone())."
        )
    if not info.grad_mode:
        raise RuntimeError(
            f"a view made under no_grad is being modified in place ({what}) with grad mode "
            "enabled: whether the write should be recorded is ambiguous, so it is refused. "
            "Make the view and write through it both inside the no_grad block (not "
            "recorded) or both outside it (recorded)."
        )
    if t._data.dtype != root._data.dtype:
        raise RuntimeError(
            f"in-place {what} through a view of another dtype ({t._data.dtype}, made by "
            f"{describe(info.steps)} from a base of dtype {root._data.dtype}) cannot be "
            "recorded. Compute the new value out of place and assign it to the base."
        )
    return True


def keep_saved(value, t):
    """Before ``t`` is overwritten with ``value``: if the node that computed ``value``
    saved an alias of ``t``'s memory (``t[i] = maximum(t[i], y)``, which is how
    array-api-extra's ``at(t, i).max(y)`` writes), give that node a copy of the saved
    values, so that the write does not invalidate it. PyTorch raises at backward here;
    the copy makes the gradient exact instead. Only the one node that made ``value``,
    and only while the saved alias is unchanged since it was saved."""
    node = value._grad_fn
    vc = t._vc
    saved = getattr(node, "saved", None)
    if vc is None or type(saved) is not tuple:
        return
    if any(type(a) is Tensor and a._vc is vc for a in saved) and vc[0] <= node.epoch:
        node.saved = tuple(a._snapshot() if type(a) is Tensor and a._vc is vc else a for a in saved)


def keep_output(t):
    """Before ``t``'s memory is overwritten: if the node that made it (or made the root
    of the view ``t``) saved that output for its own backward (``exp``, ``sqrt``,
    ``eigh``), give the node a copy of it, so that the write does not invalidate it.
    PyTorch raises at backward here (scikit-learn's StandardScaler writes into
    ``sqrt(var)``, its PCA into a view of ``eigh``'s eigenvectors); the copy keeps the
    gradient exact. Only while the output is unchanged since it was saved."""
    info = t._view
    root = t if info is None else info.root
    node = root._grad_fn
    vc = root._vc
    if vc is not None and getattr(node, "out_vc", None) is vc and vc[0] <= node.epoch:
        node.out = root._dev.xp.asarray(node.out, copy=True)
        node.out_vc = None


def write_failed(t, what, exc):
    """The error for a write into ``t`` that its backend refused (a read-only view)."""
    info = t._view
    made = f", a view made by {describe(info.steps)}," if info is not None else ""
    return RuntimeError(
        f"in-place {what} could not write into this Tensor{made} ({type(exc).__name__}: {exc}). "
        "Write into a copy (t.clone()) instead."
    )


def commit(t, result, what):
    """Write ``result``'s values into ``t``'s memory, in place, and make ``t`` (and every
    alias of it) stand for ``result`` in the graph. ``check_inplace`` has passed;
    ``what`` names the in-place op for errors."""
    keep_output(t)
    try:
        t._dev.backend.write(t._data, result._data)
    except (ValueError, TypeError) as exc:
        raise write_failed(t, what, exc) from exc
    t._bump_version()
    if result._grad_fn is None or not GRAD_ENABLED.get():
        return  # nothing recorded: the history stays (under no_grad, as in PyTorch)
    info = t._view
    if info is None:
        t._grad_fn = result._grad_fn
        t._rg = True
        if t._views:
            _replay_views(t)
        return
    root = info.root
    if root._data.ndim == 0:  # the view is the root's one element, reshaped
        new = dispatch.record(root._dev.ops["reshape"], (result,), root._data, {"shape": ()})
    else:
        new = dispatch.record(root._dev.ops["setitem"], (root, result), root._data,
                              {"key": info.region(t)})
    root._grad_fn = new._grad_fn
    root._rg = True
    _replay_views(root)


def _replay_views(root):
    """Give every live view of ``root`` the history of its steps replayed from the root's."""
    with VIEWS_LOCK:
        pairs = [(ref, ref()) for ref in root._views]
        root._views[:] = [ref for ref, v in pairs if v is not None]
    for _, v in pairs:
        if v is None:
            continue
        u = root
        for op, params in v._view.steps:
            raw = op.forward(u._dev.xp, u._data, **params) if params else op.forward(u._dev.xp, u._data)
            u = dispatch.record(op, (u,), raw, params)
        v._grad_fn = u._grad_fn
        v._rg = u._rg
