"""The registry: what the plugins' hooks answered, compiled into plain dicts.

``table(backend_name)`` is the dict the dispatcher reads per op call: the generic ops,
with any op specialised for that backend in place of the generic one. Whenever plugins
change, the whole registry (every table, the backends, the listings) is built aside and
swapped in with one assignment, and the Devices are pointed at their new tables: an op
call, in any thread, sees the plugins as they were before a change or after it, never
half of it. Changes are serialised by ``LOCK``, which the plugin manager and the
creation of Devices hold too.
"""
import threading

from .op import Op

__all__ = ["PluginConflictError", "table", "ops", "all_ops", "backends", "broken", "record_broken",
           "rebuild", "LOCK", "on_rebuild"]


class PluginConflictError(RuntimeError):
    """Two plugins define the same op for the same backends and neither overrides."""


class _Snapshot:
    """One state of the registry. Never changed once published, except that a table for
    a backend name asked for the first time is added (under LOCK)."""

    __slots__ = ("generic", "special", "providers", "backends", "tables")

    def __init__(self, generic, special, providers, backends, tables):
        self.generic = generic  # op name -> Op, the backend-neutral definitions
        self.special = special  # backend name -> {op name -> Op}
        self.providers = providers  # op name -> [Op, ...] every definition, for listings
        self.backends = backends  # backend name -> Backend
        self.tables = tables  # backend name -> the compiled dict the dispatcher reads


_CURRENT = _Snapshot({}, {}, {}, {}, {})
_BROKEN = []  # (plugin name, what went wrong), reported by `python -m xpgrad`
_LISTENERS = []  # called after every swap (the Devices take their new tables)

# Re-entrant: the plugin manager's set-up registers plugins, rebuilds and may create
# Devices while it holds it.
LOCK = threading.RLock()


def on_rebuild(fn):
    """Call ``fn()`` after every rebuild, with the new registry in place (under LOCK)."""
    _LISTENERS.append(fn)


def table(backend_name):
    """The dispatch dict for one backend (created, with the generic ops, if the backend
    is new). A rebuild replaces it by a new dict: ask again after plugins change."""
    t = _CURRENT.tables.get(backend_name)
    if t is None:
        with LOCK:
            current = _CURRENT
            t = current.tables.get(backend_name)
            if t is None:
                t = current.tables[backend_name] = _compiled(current.generic, current.special, backend_name)
    return t


def ops():
    """Every generic op by name (a copy)."""
    return dict(_CURRENT.generic)


def all_ops():
    """Every op definition, generic and specialised, by name (a copy)."""
    return {k: list(v) for k, v in _CURRENT.providers.items()}


def backends():
    """Every registered backend by name (a copy)."""
    return dict(_CURRENT.backends)


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
    with LOCK:
        _rebuild(op_answers, backend_answers)


def _rebuild(op_answers, backend_answers):
    global _CURRENT
    current = _CURRENT
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
            old = current.backends.get(b.name)
            if old is not None and type(old) is type(b) and getattr(old, "_plugin", None) == plugin:
                # The hook answers a fresh object at every rebuild, but the Devices made so
                # far hold the old one (its random generator, its caches): keep that one, so
                # that manual_seed, which seeds the registered backends, reaches them.
                b = old
            b._plugin = plugin
            backends_[b.name] = b
    if Op.compiler is not None:  # the engine compiles each op before anyone can call it
        for defs in providers.values():
            for op in defs:
                Op.compiler.compile_op(op)
    tables = {name: _compiled(generic, special, name) for name in set(current.tables) | set(backends_)}
    _CURRENT = _Snapshot(generic, special, providers, backends_, tables)
    for fn in _LISTENERS:
        fn()


def _compiled(generic, special, backend_name):
    t = dict(generic)
    t.update(special.get(backend_name, {}))
    return t


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
