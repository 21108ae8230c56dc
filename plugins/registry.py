"""The registry: what the plugins' hooks answered, compiled into plain dicts.

``table(backend_name)`` is the dict the dispatcher reads per op call: the generic ops,
with any op specialised for that backend in place of the generic one. Tables are rebuilt
in place whenever plugins change, so a Device that holds a reference to its table always
sees the current one.
"""
from .op import Op

__all__ = ["PluginConflictError", "table", "ops", "all_ops", "backends", "broken", "record_broken", "rebuild"]


class PluginConflictError(RuntimeError):
    """Two plugins define the same op for the same backends and neither overrides."""


_GENERIC = {}  # op name -> Op, the backend-neutral definitions
_SPECIAL = {}  # backend name -> {op name -> Op}
_TABLES = {}  # backend name -> the compiled dict the dispatcher reads
_BACKENDS = {}  # backend name -> Backend
_PROVIDERS = {}  # op name -> [Op, ...] every definition, for listings
_BROKEN = []  # (plugin name, what went wrong), reported by `python -m xpgrad`


def table(backend_name):
    """The dispatch dict for one backend (created empty if the backend is new)."""
    t = _TABLES.get(backend_name)
    if t is None:
        t = _TABLES[backend_name] = {}
        _compile(backend_name)
    return t


def ops():
    """Every generic op by name (a copy)."""
    return dict(_GENERIC)


def all_ops():
    """Every op definition, generic and specialised, by name (a copy)."""
    return {k: list(v) for k, v in _PROVIDERS.items()}


def backends():
    """Every registered backend by name (a copy)."""
    return dict(_BACKENDS)


def broken():
    """The plugins that failed to load or answer, with the reason, as (name, reason)."""
    return list(_BROKEN)


def record_broken(plugin_name, reason):
    _BROKEN.append((plugin_name, reason))


def rebuild(op_answers, backend_answers):
    """Replace the registry by what the plugins answered.

    ``op_answers`` and ``backend_answers`` are lists of ``(plugin_name, items)``. Raises
    PluginConflictError, leaving the registry as it was, if two plugins clash.
    """
    generic, special, providers = {}, {}, {}
    for plugin, items in op_answers:
        for op in items:
            if not isinstance(op, Op):
                raise TypeError(
                    f"plugin {plugin!r}: xpgrad_ops must return xpgrad.plugins.Op objects, "
                    f"got {type(op).__name__}"
                )
            op.plugin = plugin
            providers.setdefault(op.name, []).append(op)
            if op.backends is None:
                _place(generic, op.name, op)
            else:
                for b in op.backends:
                    _place(special.setdefault(b, {}), op.name, op)
    backends_ = {}
    for plugin, items in backend_answers:
        for b in items:
            if b.name in backends_:
                raise PluginConflictError(
                    f"backend {b.name!r} is defined by two plugins: {backends_[b.name]._plugin!r} "
                    f"and {plugin!r}"
                )
            old = _BACKENDS.get(b.name)
            if old is not None and type(old) is type(b) and getattr(old, "_plugin", None) == plugin:
                # The hook answers a fresh object at every rebuild, but the Devices made so
                # far hold the old one (its random generator, its caches): keep that one, so
                # that manual_seed, which seeds the registered backends, reaches them.
                b = old
            b._plugin = plugin
            backends_[b.name] = b
    from xpgrad.node import Node

    for defs in providers.values():
        for op in defs:
            if op.node_type is None:
                op.node_type = type(op.node_name, (Node,), {"__slots__": (), "_op": op})
    _GENERIC.clear()
    _GENERIC.update(generic)
    _SPECIAL.clear()
    _SPECIAL.update(special)
    _PROVIDERS.clear()
    _PROVIDERS.update(providers)
    _BACKENDS.clear()
    _BACKENDS.update(backends_)
    for name in set(_TABLES) | set(_BACKENDS):
        table(name)
        _compile(name)


def _place(where, name, op):
    other = where.get(name)
    if other is None or op.overrides and not other.overrides:
        where[name] = op
    elif other.overrides and not op.overrides:
        pass
    else:
        scope = "generic" if op.backends is None else f"backends {sorted(op.backends)}"
        raise PluginConflictError(
            f"op {name!r} ({scope}) is defined by two plugins: {other.plugin!r} and "
            f"{op.plugin!r}. Unregister one, or declare the replacement with "
            "Op(..., overrides=True)."
        )


def _compile(backend_name):
    t = _TABLES[backend_name]
    t.clear()
    t.update(_GENERIC)
    t.update(_SPECIAL.get(backend_name, {}))
