"""Dispatch: one op call, from Tensors in to a Tensor (and maybe a graph node) out.

The hot path is a dict lookup in the device's op table, the op's forward on raw arrays,
and, when grad mode is on and an argument requires grad, one Node. No hook, no
``array_namespace`` call, no ``inspect`` per op: everything per-op was compiled when the
plugins were registered.
"""
from __future__ import annotations

import numbers
import sys
from typing import TYPE_CHECKING, Any

from xpgrad.plugins.codegen import define

from . import views
from .device import DeviceError, device_of_array
from .grad_mode import GRAD_ENABLED
from .node import node_source
from .rules import plan as _plan
from .temporaries import ACTIVE, ELIDE_MIN_BYTES, OPERATOR_SYMBOLS, operator_temporaries
from .tensor import INPLACE_EPOCH, Tensor, _accumulate_node

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["apply", "binary", "unary", "call", "record", "binary_method", "rbinary_method",
           "unary_method", "DispatchError", "RECORD_HOOKS", "BATCHED", "batched"]

# Callables ``hook(node, out_tensor, args)`` run after every node is recorded, while the
# list is non-empty: forward mode (tangents), anomaly mode (call sites) and
# saved_tensors_hooks (packing) use it. ``args`` are the op's arguments as passed
# (Tensors or Python scalars). An empty list costs the recorder one truth test. The list
# is the process's; a hook whose state is per thread (forward mode, saved_tensors_hooks)
# is installed while any thread uses it, returns at once in the other threads, and has a
# ``watching()`` attribute saying whether it reads this thread's op arguments.
RECORD_HOOKS = []

# ``(type, call, new_level)`` of vmap's batched values, set when xpgrad.func loads: an
# op with a batched argument goes to ``call(name, args, params)`` (xpgrad.func._batching). Looked
# up only where an argument is neither a Tensor nor a scalar, off the hot path.
BATCHED: list[Any] = []


def batched(value: Any) -> bool:
    """Whether ``value`` is a batched value of vmap (which takes a Tensor's place in ``f``)."""
    return bool(BATCHED) and isinstance(value, BATCHED[0])

_SCALARS = (int, float, bool, complex)
_getrefcount = getattr(sys, "getrefcount", None)


def _python_scalar(value):
    """A scalar of another library (``numpy.float32(2)``) as the Python number it holds,
    so that it is a constant like any Python scalar; None if ``value`` is no scalar."""
    if isinstance(value, numbers.Number):
        item = getattr(value, "item", None)
        value = item() if item is not None else value
        if type(value) in _SCALARS:
            return value
    return None


class DispatchError(TypeError):
    """An op was called with arguments it cannot take."""


# ---------------------------------------------------------------------- temporaries
# While temporaries are on (off by default; see the module temporaries), an op declared
# ``elementwise`` may be computed into the memory of an argument that no one else can
# reach, and that xpgrad allocated itself as an op's result (``Tensor._own``).


def _watched():
    """Whether a record hook reads the arguments of this thread's ops, so that none may
    be overwritten: one that says so through ``watching()``, or one that does not say."""
    for hook in tuple(RECORD_HOOKS):
        watching = getattr(hook, "watching", None)
        if watching is None or watching():
            return True
    return False


def _elide(op, dev, a, ra):
    """The forward of the one-argument elementwise ``op`` computed into the memory of
    ``a``, a temporary Tensor, and of its array ``ra``; None where that is not safe or
    not worth it."""
    if (not dev.backend.elides_temporaries or RECORD_HOOKS and _watched() or not a._own
            or getattr(ra, "nbytes", 0) < ELIDE_MIN_BYTES):
        return None  # forward mode and saved-tensor hooks see the arguments
    if a._rg and GRAD_ENABLED.get() and _plan(op, (True,)).keep[0]:
        return None  # the node saves a for backward
    # held: a._data, unary's raw, this frame's ra and the tuple
    return dev.backend.elementwise_into(op.name, (ra,), 0, 4)


def _elide_operator(op, dev, a, b, ra, rb, brg, count_a, count_b, temporary, symbol):
    """``a <symbol> b`` for the two-argument elementwise ``op`` computed into the memory
    of whichever operand is a temporary (``count_a``, ``count_b``: their reference
    counts in the operator method, ``temporary`` a temporary's); None where neither is,
    or it is not safe."""
    if RECORD_HOOKS and _watched():
        return None  # forward mode and saved-tensor hooks see the arguments
    temp_a, temp_b = operator_temporaries(a, b, count_a, count_b, temporary, symbol)
    temp_a = temp_a and a._own
    temp_b = temp_b and type(b) is Tensor and b._own
    if not (temp_a or temp_b):
        return None
    if (a._rg or brg) and GRAD_ENABLED.get():
        keep = _plan(op, (a._rg, brg)).keep
        temp_a = temp_a and not keep[0]  # the node saves it for backward
        temp_b = temp_b and not keep[1]
    # held, of either array: its Tensor's _data, the method's and this frame's names, the tuple
    args = (ra, rb)
    out = dev.backend.elementwise_into(op.name, args, 0, 4) if temp_a else None
    if out is None and temp_b:
        out = dev.backend.elementwise_into(op.name, args, 1, 4)
    return out


def unary(name, a, params=None, temporary=False):
    """``name(a, **params)`` for a Tensor ``a``: the fast path of methods like ``exp()``.
    ``temporary``: the caller found ``a`` held by no one else (see "temporaries"), so an
    ``elementwise`` op may be computed into its memory."""
    dev = a._dev
    op = dev.ops.get(name)
    if op is None:
        _unknown(name, dev)
    raw = a._data
    out = _elide(op, dev, a, raw) if temporary and op.elementwise else None
    if out is None:
        try:
            out = op.forward(dev.xp, raw, **params) if params else op.forward(dev.xp, raw)
        except Exception as exc:
            raise _forward_error(op, (a,), params, exc) from exc
    if a._rg and GRAD_ENABLED.get():
        record = op.recorders.get(1) or _make_recorder(op, 1)
        t = record(dev, out, params, a, raw)
    else:
        t = Tensor(out, dev)
        t._own = True
    return views.track(t, a, op, params) if op.view else t


def unary_method(name: str) -> Callable[[Tensor], Tensor]:
    """The Tensor method (``t.exp()``, ``-t``) that calls op ``name`` on ``self``."""

    def method(self: Tensor) -> Tensor:
        counts = ACTIVE[0]
        if (counts is not None and self._dev.backend.elides_temporaries
                and _getrefcount(self) == counts.method):
            return unary(name, self, None, True)
        return unary(name, self)

    method.__name__ = method.__qualname__ = name
    return method


def binary_method(name: str) -> Callable[[Tensor, Any], Tensor]:
    """The Tensor operator (``t * other``) for op ``name``: :func:`binary` with the name
    bound, one call fewer per operator, which is most of what user code calls. For
    ``+ - * /`` a temporary operand may give its memory to the result (see temporaries)."""
    # Elision reads the caller's frame, which only an operator's own method may do.
    symbol = OPERATOR_SYMBOLS.get(name)

    def method(a: Tensor, b: Any) -> Tensor:
        dev = a._dev
        tb = type(b)
        if tb is Tensor:
            if b._dev is not dev:
                _mixed(name, (a, b))
            rb = b._data
            brg = b._rg
        elif tb in _SCALARS:
            rb = b
            brg = False
        else:
            return apply(name, (a, b))
        op = dev.ops.get(name)
        if op is None:
            _unknown(name, dev)
        ra = a._data
        out = None
        counts = ACTIVE[0]
        if (counts is not None and counts.operator is not None and symbol is not None
                and op.elementwise and dev.backend.elides_temporaries
                and getattr(ra, "nbytes", 0) >= ELIDE_MIN_BYTES):
            count_a = _getrefcount(a)  # read here: as call arguments, a and b count once more
            count_b = _getrefcount(b)
            out = _elide_operator(op, dev, a, b, ra, rb, brg, count_a, count_b, counts.operator, symbol)
        if out is None:
            try:
                out = op.forward(dev.xp, ra, rb)
            except Exception as exc:
                raise _forward_error(op, (a, b), None, exc) from exc
        if (a._rg or brg) and GRAD_ENABLED.get():
            mask = a._rg | brg << 1
            record = op.recorders.get(mask) or _make_recorder(op, mask)
            return record(dev, out, None, a, b, ra, rb)
        t = Tensor(out, dev)
        t._own = True
        return t

    method.__name__ = method.__qualname__ = name
    return method


_BINARY = {}


def binary(name, a, b):
    """``name(a, b)`` for a Tensor ``a`` and a Tensor or Python scalar ``b``."""
    method = _BINARY.get(name)
    if method is None:
        method = _BINARY[name] = binary_method(name)
    return method(a, b)


def rbinary_method(name: str) -> Callable[[Tensor, Any], Tensor]:
    """The reflected operator (``2 - t``) for op ``name``: with a Python scalar ``b``,
    the one case a reflected operator meets with a Tensor ``a``, straight to the op, as
    in :func:`binary_method` (rules write ``1 - out * out``)."""

    def method(a: Tensor, b: Any) -> Tensor:
        if type(b) not in _SCALARS:
            return rbinary(name, a, b)
        dev = a._dev
        op = dev.ops.get(name)
        if op is None:
            _unknown(name, dev)
        ra = a._data
        try:
            out = op.forward(dev.xp, b, ra)
        except Exception as exc:
            raise _forward_error(op, (b, a), None, exc) from exc
        if a._rg and GRAD_ENABLED.get():
            record = op.recorders.get(2) or _make_recorder(op, 2)
            return record(dev, out, None, b, a, b, ra)
        t = Tensor(out, dev)
        t._own = True
        return t

    method.__name__ = method.__qualname__ = name
    return method


def rbinary(name, a, b):
    """``name(b, a)``: reflected operators (``2 - t``). Python calls one only when ``b``'s
    own operator declined, so an operand that is neither a Tensor nor a Python scalar (a
    NumPy array on the left) gets :func:`apply`'s error naming it and saying to wrap it;
    returning NotImplemented would leave NumPy's unrelated "Concatenation operation is not
    implemented" to the user."""
    return apply(name, (b, a))


def apply(name, args, params=None):
    """The general path: ``name(*args, **params)`` with any mix of Tensors and scalars."""
    dev = None
    for a in args:
        if isinstance(a, Tensor):
            if dev is None:
                dev = a._dev
            elif a._dev is not dev:
                _mixed(name, args)
    if dev is None:
        if BATCHED and any(isinstance(a, BATCHED[0]) for a in args):
            return BATCHED[1](name, args, params)
        raise DispatchError(
            f"op {name!r} needs at least one Tensor argument, got "
            f"({', '.join(type(a).__name__ for a in args)}); wrap the data with xpgrad.tensor(...)"
        )
    op = dev.ops.get(name)
    if op is None:
        _unknown(name, dev)
    if op.variadic:
        if not args:
            raise DispatchError(f"op {name!r} needs at least one array")
        op = op.with_arity(len(args))
    if len(args) != len(op.argnames):
        raise DispatchError(
            f"op {name!r} takes {len(op.argnames)} array argument(s) "
            f"({', '.join(op.argnames)}), got {len(args)}"
        )
    raw, rg = [], []
    for argname, a in zip(op.argnames, args):
        if isinstance(a, Tensor):
            raw.append(a._data)
            rg.append(a._rg)
        elif type(a) in _SCALARS:
            raw.append(a)
            rg.append(False)
        elif _python_scalar(a) is not None:
            raw.append(_python_scalar(a))
            rg.append(False)
        elif BATCHED and isinstance(a, BATCHED[0]):
            return BATCHED[1](name, args, params)
        else:
            raise DispatchError(
                f"op {name!r}: argument {argname!r} must be a Tensor or a Python scalar, got "
                f"{type(a).__name__}; wrap arrays and lists with xpgrad.tensor(...)"
            )
    if params:
        unknown = set(params) - op.params
        if unknown:
            raise DispatchError(
                f"op {name!r} got unexpected parameter(s) {sorted(unknown)}; it takes "
                f"{sorted(op.params) or 'no parameters'}"
            )
    try:
        out = op.forward(dev.xp, *raw, **params) if params else op.forward(dev.xp, *raw)
    except Exception as exc:
        raise _forward_error(op, args, params, exc) from exc
    if GRAD_ENABLED.get() and True in rg:
        mask = 0
        for i, needs in enumerate(rg):
            mask |= needs << i
        record = op.recorders.get(mask) or _make_recorder(op, mask)
        t = record(dev, out, params, *args, *raw)
    else:
        t = Tensor(out, dev)
        t._own = True
    return views.track(t, args[0], op, params) if op.view else t


def record(op, args, out, params=None):
    """A Tensor holding ``out``, recorded as the result of ``op`` on ``args`` (Tensors or
    Python scalars) without running the op's forward: ``out`` is its value already (an
    in-place write put it in memory). A plain Tensor where nothing requires grad or grad
    mode is off."""
    dev = None
    raw, mask = [], 0
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            dev = a._dev
            raw.append(a._data)
            mask |= a._rg << i
        else:
            raw.append(a)
    if mask and GRAD_ENABLED.get():
        recorder = op.recorders.get(mask) or _make_recorder(op, mask)
        t = recorder(dev, out, params, *args, *raw)
        t._own = False  # out was not allocated for this result
        return t
    return Tensor(out, dev)


def _make_recorder(op, mask):
    """Generate the function that records a call of ``op`` whose arguments requiring grad
    are the bits of ``mask``, and keep it in ``op.recorders``.

    What to record is fixed per op and per mask (which arguments get a gradient, what
    their rules read), so the recorder is straight-line code for exactly that case: no
    loop over arguments, no generator, no tuple the node does not keep, no test whose
    answer is known in advance. It runs once per recorded op call; it is made once.
    """
    n = len(op.argnames)
    plan = _plan(op, tuple(bool(mask >> i & 1) for i in range(n)))
    diff = [i for i, rule in enumerate(plan.rules) if rule is not None]
    names = ", ".join([f"a{i}" for i in range(n)] + [f"r{i}" for i in range(n)])
    lines = [f"def record(dev, out, params, {names}):",
             "    if type(out) is not dev.array_type:",
             "        out = dev.backend.coerce(out)",
             "    t = new(Tensor)",
             "    t._data = out",
             "    t._dev = dev",
             "    t._grad = t._accum = t._view = t._views = None",
             "    t._own = True"]
    if not diff:  # no argument of this op is differentiable: a constant result
        lines += ["    t._grad_fn = t._vc = None", "    t._rg = False", "    return t"]
    else:
        def tup(items):
            return "(" + "".join(f"{x}, " for x in items) + ")"

        for i in diff:
            lines += [f"    f{i} = a{i}._grad_fn",
                      f"    if f{i} is None:",
                      f"        f{i} = a{i}._accum or accumulate_node(a{i})"]
        nxt = tup(f"f{i}" if i in diff else "None" for i in range(n))
        shapes = tup(f"r{i}.shape" if i in diff else "None" for i in range(n))
        dtypes = tup(f"r{i}.dtype" if i in diff else "None" for i in range(n))
        saved = tup(f"a{i}" if k else "None" for i, k in enumerate(plan.keep)) \
            if True in plan.keep else "None"
        if op.defaults:
            lines.append("    params = {**defaults, **params} if params else defaults")
        # The node is made inline, as new_node makes it (node_source): one call fewer.
        lines.append("    epoch = EPOCH[0]")
        if plan.out:
            lines.append("    t._vc = out_vc = [epoch]")
        else:
            lines.append("    t._vc = None")
        lines += node_source("node", "Node", next=nxt, saved=saved, shapes=shapes, dtypes=dtypes,
                             params="params", plan="plan", dev="dev", epoch="epoch",
                             **({"out": "out", "out_vc": "out_vc"} if plan.out else {}))
        lines += ["    t._grad_fn = node", "    t._rg = True",
                  "    if HOOKS:",
                  f"        for hook in tuple(HOOKS): hook(node, t, {tup(f'a{i}' for i in range(n))})",
                  "    return t"]
    scope = {"Tensor": Tensor, "new": object.__new__, "Node": op.node_type, "EPOCH": INPLACE_EPOCH,
             "plan": plan, "defaults": op.defaults, "accumulate_node": _accumulate_node,
             "HOOKS": RECORD_HOOKS}
    define("\n".join(lines) + "\n", f"<xpgrad: {op.node_name} recorder, mask {mask:b}>", scope)
    record = op.recorders[mask] = scope["record"]
    return record


def call(xp, name, *args, **params):
    """Run the registered op ``name`` from inside a VJP rule, on raw arrays or Tensors.

    A rule's ``xp`` is a backend namespace in plain backward and ``xpgrad.xp`` under
    ``create_graph``; ``call`` runs the op's forward directly in the first case and
    dispatches it (recording the graph) in the second, so rules can use any registered
    op, not only the standard's functions.
    """
    if any(isinstance(a, Tensor) or batched(a) for a in args):
        return apply(name, args, params or None)
    for a in args:
        if type(a) not in _SCALARS:
            dev = device_of_array(a)
            break
    else:
        raise DispatchError(f"call({name!r}) needs at least one array argument")
    op = dev.ops.get(name)
    if op is None:
        _unknown(name, dev)
    return op.forward(dev.xp, *args, **params)


# ---------------------------------------------------------------------- errors


def _describe(a):
    if isinstance(a, Tensor):
        return f"Tensor(shape={tuple(a._data.shape)}, dtype={a._data.dtype}, device={a._dev})"
    return repr(a)


def _forward_error(op, args, params, exc):
    argtext = ", ".join(f"{n}={_describe(a)}" for n, a in zip(op.argnames, args))
    if params:
        argtext += ", " + ", ".join(f"{k}={v!r}" for k, v in params.items())
    msg = f"op {op.name!r} (plugin {op.plugin!r}) failed on ({argtext}): {exc}"
    try:
        err = type(exc)(msg)
    except Exception:
        err = RuntimeError(msg)
    return err


def _unknown(name, dev):
    import difflib

    from xpgrad.plugins import registry

    close = difflib.get_close_matches(name, list(dev.ops), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    known = registry.all_ops().get(name)
    # Only backend-specific definitions, none for this backend. (A definition that would
    # serve it means the op was registered by another thread during this very call.)
    if known and all(o.backends and dev.backend.name not in o.backends for o in known):
        raise DispatchError(
            f"op {name!r} is registered only for backends "
            f"{sorted(set().union(*(o.backends for o in known)))}, not for {dev.backend.name}"
        )
    raise DispatchError(f"xpgrad has no op {name!r}{hint} (python -m xpgrad lists the ops)"
                        f"{_skipped_plugins()}")


def _skipped_plugins():
    """The plugins that failed to load and are not registered now, and why: one of them
    may be where a missing op was to come from."""
    from xpgrad.plugins import registry
    from xpgrad.plugins.manager import get_plugin_manager

    pm = get_plugin_manager()
    skipped = {name: reason for name, reason in registry.broken() if not pm.has_plugin(name)}
    if not skipped:
        return ""
    return (". Plugins that failed to load, and may define it: "
            + "; ".join(f"plugin {name!r} was skipped: {reason}" for name, reason in skipped.items()))


def _mixed(name, args):
    placed = [f"{_describe(a)}" for a in args if isinstance(a, Tensor)]
    first = next(a for a in args if isinstance(a, Tensor))
    raise DeviceError(
        f"op {name!r} got Tensors on different devices: {' and '.join(placed)}. xpgrad never "
        f"copies between devices behind your back: move one explicitly, e.g. t.to({str(first._dev)!r})"
    )
