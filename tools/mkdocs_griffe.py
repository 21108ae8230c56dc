"""Griffe extensions for the API reference (mkdocs.yml).

``RestRoles``: the docstrings are numpydoc, written for Sphinx as much as for ``help()``,
so they cross-reference with reST roles (``:func:`xpgrad.grad```). Markdown does not know
roles; this turns each into a code span (``xpgrad.grad``), dropping Sphinx's ``~`` (show
the last name only), so the page reads as the docstring means.

``Exports``: the reference is made by importing xpgrad (Tensor's methods are installed at
import), and an imported module shows every name it imported (``Tensor`` inside
``xpgrad.nn.functional``); a module that declares ``__all__`` documents those names only.
"""
import re

import griffe

_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|attr|mod|data|exc|obj):`(~?)([^`]+)`")


def _code_span(match):
    tilde, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if tilde else target}`"


class RestRoles(griffe.Extension):
    def on_instance(self, *, obj, **kwargs):
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(_code_span, obj.docstring.value)


class Exports(griffe.Extension):
    def on_package(self, *, pkg, **kwargs):
        # after the whole package is loaded: pruning while it loads breaks the resolution
        # of the names other modules import
        modules = [pkg]
        while modules:
            module = modules.pop()
            exported = None if module.exports is None else {str(name) for name in module.exports}
            for name, member in list(module.members.items()):
                # (an alias is not resolved here: its target may be outside xpgrad)
                if not member.is_alias and member.is_module:
                    modules.append(member)
                elif exported is not None and name not in exported:
                    del module.members[name]
