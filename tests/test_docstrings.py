"""Every public module, function, class, method and property of xpgrad has a docstring.

The API reference is generated from the docstrings (numpydoc style), so each of them
needs at least a one-line summary: a first line that is a sentence, ending with a
period. A name without one would show up in the reference with no description at all.
"""
import importlib
import inspect
import types

import xpgrad

# The modules whose public names the reference documents: xpgrad itself, and the
# submodules it loads on first use (and the packages above them).
MODULES = (
    "xpgrad",
    "xpgrad.nn",
    "xpgrad.nn.functional",
    "xpgrad.optim",
    "xpgrad.optim.lr_scheduler",
    "xpgrad.special",
    "xpgrad.utils",
    "xpgrad.utils.checkpoint",
    "xpgrad.func",
    "xpgrad.autograd",
    "xpgrad.autograd.functional",
    "xpgrad.autograd.graph",
    "xpgrad.testing",
    "xpgrad.linalg",
    "xpgrad.viz",
    "xpgrad.plugins",
)

# xpgrad.xp's functions are documented from the ops' docs by tools/xp_docs.py, and
# checked against them by tests/test_xp_namespace.py.
_GENERATED = "xpgrad.xp"


def _has_summary(doc):
    """Whether ``doc`` is a docstring whose first line is a sentence ending with a period."""
    if not doc or not doc.strip():
        return False
    return doc.strip().splitlines()[0].rstrip().endswith(".")


def _defined_in_xpgrad(obj):
    """Whether ``obj`` (a function, class, or callable such as a pytest fixture) is xpgrad's own."""
    module = getattr(obj, "__module__", None) or ""
    return (module == "xpgrad" or module.startswith("xpgrad.")) and not (
        module == _GENERATED or module.startswith(_GENERATED + "."))


def _public_objects():
    """``(qualified name, object)`` for each public function and class of the modules."""
    found = []
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in dir(module):
            if name.startswith("_"):
                continue
            obj = getattr(module, name)
            # submodules are documented as modules; dtype constants are not callable
            if isinstance(obj, types.ModuleType) or not callable(obj) or not _defined_in_xpgrad(obj):
                continue
            found.append((f"{module_name}.{name}", obj))
    return found


def _member_doc(raw):
    """The function or property behind a class attribute, or None for anything else."""
    if isinstance(raw, (staticmethod, classmethod)):
        raw = raw.__func__
    if isinstance(raw, property):
        return raw if raw.fget is not None and _defined_in_xpgrad(raw.fget) else None
    if inspect.isfunction(raw) and _defined_in_xpgrad(raw):
        return raw
    return None


def _missing(named):
    return sorted(name for name, obj in named if not _has_summary(obj.__doc__))


def _message(what, missing):
    return (f"{len(missing)} {what} without a docstring whose first line is a sentence ending "
            f"with a period: {', '.join(missing)}")


def test_public_modules_have_docstrings():
    named = [(name, importlib.import_module(name)) for name in MODULES]
    missing = _missing(named)
    assert not missing, _message("modules", missing)


def test_public_functions_and_classes_have_docstrings():
    named = _public_objects()
    assert len(named) > 100  # the walk found the surface, not an empty list
    missing = _missing(named)
    assert not missing, _message("functions and classes", missing)


def test_tensor_methods_and_properties_have_docstrings():
    named = []
    for name in dir(xpgrad.Tensor):
        if name.startswith("_"):
            continue
        member = _member_doc(inspect.getattr_static(xpgrad.Tensor, name))
        if member is not None:
            named.append((f"Tensor.{name}", member))
    assert len(named) > 90  # methods installed from xpgrad.methods are walked too
    missing = _missing(named)
    assert not missing, _message("Tensor methods and properties", missing)


def test_methods_and_properties_of_public_classes_have_docstrings():
    named = []
    seen = set()
    for qualified, cls in _public_objects():
        if not inspect.isclass(cls) or cls is xpgrad.Tensor or cls in seen:
            continue
        seen.add(cls)
        for name, raw in vars(cls).items():
            if name.startswith("_"):
                continue
            member = _member_doc(raw)
            if member is not None:
                named.append((f"{qualified}.{name}", member))
    missing = _missing(named)
    assert not missing, _message("methods and properties", missing)
