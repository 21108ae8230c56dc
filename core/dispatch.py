"""Dispatch: one op call, from Tensors in to a Tensor (and maybe a graph node) out.

The hot path is a dict lookup in the device's op table, the op's forward on raw arrays,
and, when grad mode is on and an argument requires grad, one Node. No hook, no
``array_namespace`` call, no ``inspect`` per op: everything per-op was compiled when the
plugins were registered.
"""
import numbers

from .grad_mode import GRAD_ENABLED
from .tensor import INPLACE_EPOCH, Tensor, _accumulate_node

__all__ = ["apply", "binary", "unary", "call", "DispatchError"]

_SCALARS = (int, float, bool, complex)


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


def unary(name, a, params=None):
    """``name(a, **params)`` for a Tensor ``a``: the fast path of methods like ``exp()``."""
    dev = a._dev
    op = dev.ops.get(name)
    if op is None:
        _unknown(name, dev)
    raw = a._data
    try:
        out = op.forward(dev.xp, raw, **params) if params else op.forward(dev.xp, raw)
    except Exception as exc:
        raise _forward_error(op, (a,), params, exc) from exc
    if a._rg and GRAD_ENABLED.get():
        return _record(op, dev, out, (a,), (raw,), (True,), params)
    return Tensor(out, dev)


def binary(name, a, b):
    """``name(a, b)`` for a Tensor ``a`` and a Tensor or Python scalar ``b`` (operators)."""
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
    try:
        out = op.forward(dev.xp, ra, rb)
    except Exception as exc:
        raise _forward_error(op, (a, b), None, exc) from exc
    if (a._rg or brg) and GRAD_ENABLED.get():
        return _record(op, dev, out, (a, b), (ra, rb), (a._rg, brg), None)
    return Tensor(out, dev)


def rbinary(name, a, b):
    """``name(b, a)``: reflected operators (``2 - t``)."""
    if type(b) in _SCALARS:
        return apply(name, (b, a))
    scalar = _python_scalar(b)
    if scalar is not None:
        return apply(name, (scalar, a))
    return NotImplemented


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
        raise DispatchError(
            f"op {name!r} needs at least one Tensor argument, got "
            f"({', '.join(type(a).__name__ for a in args)}); wrap the data with xpgrad.tensor(...)"
        )
    op = dev.ops.get(name)
    if op is None:
        _unknown(name, dev)
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
        return _record(op, dev, out, tuple(args), tuple(raw), tuple(rg), params)
    return Tensor(out, dev)


def _record(op, dev, out, args, raw, rg, params):
    plan = op.plan(rg)
    rules = plan.rules
    nxt = []
    shapes = []
    dtypes = []
    for a, rule in zip(args, rules):
        if rule is None:
            nxt.append(None)
            shapes.append(None)
            dtypes.append(None)
        else:
            fn = a._grad_fn
            nxt.append(fn if fn is not None else (a._accum or _accumulate_node(a)))
            d = a._data
            shapes.append(d.shape)
            dtypes.append(d.dtype)
    if not any(nxt):
        return Tensor(out, dev)
    keep = plan.keep
    if True in keep:
        saved_raw = tuple(r if k else None for r, k in zip(raw, keep))
        saved_args = tuple(a if k else None for a, k in zip(args, keep))
    else:
        saved_raw = saved_args = None
    if params and op.defaults:
        params = {**op.defaults, **params}
    elif not params:
        params = op.defaults
    t = Tensor(out, dev)
    if plan.out:
        vc = t._vc = [INPLACE_EPOCH[0]]
        node = op.node_type(tuple(nxt), saved_raw, saved_args, out, tuple(shapes), tuple(dtypes),
                            params, plan, dev, INPLACE_EPOCH[0], vc)
    else:
        node = op.node_type(tuple(nxt), saved_raw, saved_args, None, tuple(shapes), tuple(dtypes),
                            params, plan, dev, INPLACE_EPOCH[0], None)
    t._grad_fn = node
    t._rg = True
    return t


def call(xp, name, *args, **params):
    """Run the registered op ``name`` from inside a VJP rule, on raw arrays or Tensors.

    A rule's ``xp`` is a backend namespace in plain backward and ``xpgrad.xp`` under
    ``create_graph``; ``call`` runs the op's forward directly in the first case and
    dispatches it (recording the graph) in the second, so rules can use any registered
    op, not only the standard's functions.
    """
    if any(isinstance(a, Tensor) for a in args):
        return apply(name, args, params or None)
    from .device import device_of_array

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
    if known:
        raise DispatchError(
            f"op {name!r} is registered only for backends "
            f"{sorted(set().union(*(o.backends or () for o in known)))}, not for {dev.backend.name}"
        )
    raise DispatchError(f"xpgrad has no op {name!r}{hint} (python -m xpgrad lists the ops)")


def _mixed(name, args):
    from .device import DeviceError

    placed = [f"{_describe(a)}" for a in args if isinstance(a, Tensor)]
    first = next(a for a in args if isinstance(a, Tensor))
    raise DeviceError(
        f"op {name!r} got Tensors on different devices: {' and '.join(placed)}. xpgrad never "
        f"copies between devices behind your back: move one explicitly, e.g. t.to({str(first._dev)!r})"
    )
