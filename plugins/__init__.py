"""xpgrad's plugin system: hook specs, op and backend contracts, plugin manager and registry.

It holds the hook specifications, the op and backend contracts, the plugin manager and
the registry it compiles.

Writing an op plugin::

    from xpgrad.plugins import Op, hookimpl

    @hookimpl
    def xpgrad_ops():
        return [Op("softplus", lambda xp, x: xp.logaddexp(x, 0.0),
                   vjp={"x": lambda xp, g, x: g / (1 + xp.exp(-x))})]

and advertise the module under the entry-point group ``xpgrad``, or call
``xpgrad.plugins.register(module)`` at run time.
"""
from .backend import Backend, BackendUnavailable
from .hookspecs import hookimpl, hookspec
from .manager import (
    XpgradPluginWarning,
    get_plugin_manager,
    list_plugins,
    register,
    unregister,
)
from .op import Op, OpDefinitionError
from .registry import PluginConflictError

__all__ = [
    "Backend", "BackendUnavailable", "Op", "OpDefinitionError", "PluginConflictError",
    "XpgradPluginWarning", "get_plugin_manager", "hookimpl", "hookspec", "list_plugins",
    "register", "unregister",
]
