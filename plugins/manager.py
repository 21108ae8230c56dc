"""The plugin manager: pluggy at the edges.

Built-in ops and backends are plugins registered exactly as third-party ones are.
Packages advertise plugins under the entry-point group ``xpgrad``; setting the
environment variable ``XPGRAD_DISABLE_PLUGIN_AUTOLOAD`` turns that discovery off.
Whenever the set of plugins changes, every plugin's hooks are asked once and the answers
are compiled into the registry; op calls never touch pluggy.

The manager is set up once, on first use, under the registry's lock, and published only
when the built-in plugins and the entry points are registered: threads that make their
first xpgrad call at the same time wait for the one that sets it up. Registering and
unregistering hold the same lock.
"""
from __future__ import annotations

import importlib
import os
import warnings
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from collections.abc import Container

from . import hookspecs, registry
from .op import OpDefinitionError

__all__ = ["register", "unregister", "get_plugin_manager", "list_plugins", "XpgradPluginWarning",
           "BUILTIN_PLUGINS", "ENTRY_POINT_GROUP", "DISABLE_AUTOLOAD_ENV"]

ENTRY_POINT_GROUP = "xpgrad"
DISABLE_AUTOLOAD_ENV = "XPGRAD_DISABLE_PLUGIN_AUTOLOAD"
BUILTIN_PLUGINS = (
    "xpgrad.backends.numpy",
    "xpgrad.backends.generic",
    "xpgrad.backends.cupy",
    "xpgrad.ops.elementwise",
    "xpgrad.ops.statistical",
    "xpgrad.ops.linalg",
    "xpgrad.ops.manipulation",
    "xpgrad.ops.indexing",
    "xpgrad.ops.searching",
    "xpgrad.ops.sorting",
    "xpgrad.ops.sets",
    "xpgrad.ops.utility",
    "xpgrad.ops.decompositions",
    "xpgrad.ops.bitwise",
    "xpgrad.ops.fft",
    "xpgrad.ops.einsum",
    "xpgrad.ops.special",
)


class XpgradPluginWarning(UserWarning):
    """A plugin could not be loaded or answered its hooks with an error; it is skipped."""


_pm: pluggy.PluginManager | None = None  # published once set up
_building: pluggy.PluginManager | None = None  # the manager while the thread holding the lock sets it up
_LOCK = registry.LOCK


def get_plugin_manager() -> pluggy.PluginManager:
    """The pluggy PluginManager for project ``"xpgrad"``, created on first use."""
    global _pm, _building
    pm = _pm
    if pm is not None:
        return pm
    with _LOCK:
        if _pm is not None:
            return _pm
        if _building is not None:
            return _building  # asked again by the set-up itself (a plugin's import)
        pm = _building = pluggy.PluginManager("xpgrad")
        try:
            pm.add_hookspecs(hookspecs)
            for modname in BUILTIN_PLUGINS:
                pm.register(importlib.import_module(modname), name=modname)
            pm.check_pending()
            _rebuild(pm, strict=True)
            if not os.environ.get(DISABLE_AUTOLOAD_ENV):
                _load_entry_points(pm)
        finally:
            _building = None
        _pm = pm
    return pm


def register(plugin: object, name: str | None = None) -> str:
    """Register a plugin (a module or any object with ``@hookimpl`` functions) at run time.

    Returns the name it was registered under. Raises, and leaves the plugin
    unregistered, if its hooks fail: ``OpDefinitionError`` naming the plugin and the op
    for an invalid op, the hook's own error (naming the plugin) if a hook raises,
    ``PluginConflictError`` if it defines an op another plugin already defines for the
    same backends without ``overrides=True``, ``pluggy.PluginValidationError`` if it
    implements a hook that xpgrad does not specify. (A plugin found through an entry
    point is skipped with a warning instead: importing xpgrad never fails.)
    """
    pm = get_plugin_manager()
    if isinstance(plugin, str):
        plugin = importlib.import_module(plugin)
    with _LOCK:
        name = pm.register(plugin, name=name)
        if name is None:
            raise ValueError(f"plugin {plugin!r} is already registered")
        try:
            pm.check_pending()
            _rebuild(pm, strict=True, raising=(name,))
        except Exception:
            pm.unregister(plugin)
            _rebuild(pm, strict=True)
            raise
    return name


def unregister(plugin: object | None = None, name: str | None = None) -> object:
    """Unregister a plugin, given the object or the name it was registered under."""
    pm = get_plugin_manager()
    if plugin is None and name is None:
        raise TypeError("unregister() needs the plugin or its name")
    with _LOCK:
        removed = pm.unregister(plugin=plugin, name=name)
        if removed is None:
            raise ValueError(f"no plugin {name or plugin!r} is registered")
        _rebuild(pm, strict=True)
    return removed


def list_plugins() -> list[str]:
    """Names of the registered plugins, in registration order."""
    return [name for name, plugin in get_plugin_manager().list_name_plugin() if plugin is not None]


def _answers(pm: pluggy.PluginManager, hook: pluggy.HookCaller, strict: bool,
             raising: Container[str] = ()) -> list[tuple[str, list[Any]]]:
    """Every plugin's answer to ``hook``, as ``(plugin name, items)``. A plugin whose
    hook raises is skipped with a warning, unless it is built in (under ``strict``) or
    named in ``raising`` (the one ``register()`` is registering): then the error is
    raised, naming the plugin."""
    out = []
    for impl in reversed(hook.get_hookimpls()):  # pluggy lists them last-registered first
        try:
            # (pluggy types what a hook returns as object)
            out.append((impl.plugin_name, list(impl.function() or ())))  # type: ignore[call-overload]
        except Exception as exc:
            if strict and impl.plugin_name in BUILTIN_PLUGINS:
                raise
            if impl.plugin_name in raising:
                raise _plugin_error(impl.plugin_name, hook.name, exc) from exc
            reason = f"{hook.name} raised {type(exc).__name__}: {exc}"
            registry.record_broken(impl.plugin_name, reason)
            warnings.warn(f"xpgrad plugin {impl.plugin_name!r} skipped: {reason}",
                          XpgradPluginWarning, stacklevel=3)
            pm.unregister(name=impl.plugin_name)
    return out


def _plugin_error(plugin_name: str, hook_name: str, exc: Exception) -> Exception:
    """``exc``, raised by a plugin's hook, as the same kind of error naming the plugin
    (an invalid ``Op`` names itself already)."""
    if isinstance(exc, OpDefinitionError):
        msg = f"plugin {plugin_name!r}: {exc}"
    else:
        msg = f"plugin {plugin_name!r}: its {hook_name} hook raised {type(exc).__name__}: {exc}"
    try:
        return type(exc)(msg)
    except Exception:
        return RuntimeError(msg)


def _rebuild(pm: pluggy.PluginManager, strict: bool, raising: Container[str] = ()) -> None:
    registry.rebuild(_answers(pm, pm.hook.xpgrad_ops, strict, raising),
                     _answers(pm, pm.hook.xpgrad_backends, strict, raising))


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if pm.has_plugin(ep.name):
            continue
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
            pm.check_pending()
            _rebuild(pm, strict=False)
        except Exception as exc:
            if pm.has_plugin(ep.name):
                pm.unregister(name=ep.name)
                _rebuild(pm, strict=False)
            reason = f"{type(exc).__name__}: {exc}"
            registry.record_broken(ep.name, reason)
            warnings.warn(f"xpgrad plugin {ep.name!r} (entry point {ep.value}) skipped: {reason}",
                          XpgradPluginWarning, stacklevel=2)
