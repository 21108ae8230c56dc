"""The hook specifications: the contract between xpgrad and its plugins.

A plugin is any module or object with functions marked ``@hookimpl`` whose names are
listed here. Built-in ops and backends answer these hooks exactly as a third-party
package does. Hooks are called only when the set of plugins changes (registration,
unregistration, entry-point discovery); what they return is compiled into plain dicts
that the dispatcher reads per op, so no hook is ever called on the hot path.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .backend import Backend
    from .op import Op

hookspec = pluggy.HookspecMarker("xpgrad")
hookimpl = pluggy.HookimplMarker("xpgrad")


# ------------------------------------------------------------------ ops


@hookspec
def xpgrad_ops() -> Iterable[Op]:  # type: ignore[empty-body]  # a specification: never called
    """Return the ops this plugin provides, as an iterable of :class:`xpgrad.plugins.Op`.

    Called once when the plugin is registered, and again whenever another plugin is
    registered or unregistered (the registry is rebuilt from every plugin's answer).
    Two plugins that define the same op name for the same backends is an error naming
    both, unless one of the ops is declared with ``overrides=True``.
    """


# ------------------------------------------------------------------ backends


@hookspec
def xpgrad_backends() -> Iterable[Backend]:  # type: ignore[empty-body]  # a specification: never called
    """Return the array backends this plugin provides, as an iterable of
    :class:`xpgrad.plugins.Backend`.

    Called when the plugin is registered and whenever the set of plugins changes. A
    backend says which arrays are its own, which array API namespace computes on them,
    which devices it has and how data moves between them.
    """
