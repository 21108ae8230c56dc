"""The layers point one way, read from the sources.

    plugins/  the contract: hook specifications, Op and Backend declarations, helpers
        ^     for rules (xpgrad.plugins.arrays); imports nothing of the others
    core/     the engine: compiles the rules, runs them, the Tensor, the namespaces;
        ^     imports the contract, never ops/ or backends/
    ops/, backends/   plugins that use the contract and the engine; a backend may use an
              op plugin's public factories (scatter_add_op), never a private helper

Inside core/ no import cycle exists, with the imports made inside functions counted:
no module needs a late import to work. The graph is read with ``ast`` from the files,
as the package maps them (setuptools' package-dir in pyproject.toml).
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"core": "xpgrad", "plugins": "xpgrad.plugins", "ops": "xpgrad.ops", "backends": "xpgrad.backends"}
# who may import whom (besides itself)
ALLOWED = {"plugins": set(), "core": {"plugins"}, "ops": {"plugins", "core"},
           "backends": {"plugins", "core", "ops"}}


def _module_name(path):
    rel = path.relative_to(ROOT)
    parts = list(rel.parts[1:])
    parts[-1] = parts[-1][:-3]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([PACKAGES[rel.parts[0]]] + parts)


def _modules():
    return {_module_name(p): p for top in PACKAGES for p in (ROOT / top).rglob("*.py")}


def _layer(module):
    for top, package in sorted(PACKAGES.items(), key=lambda kv: -len(kv[1])):
        if module == package or module.startswith(package + "."):
            return top
    raise AssertionError(module)


def _imports(module, path, modules):
    """``(imported module, line, inside a function)`` for each import of xpgrad's own
    modules in ``path``; ``from pkg import sub`` counts as an import of the submodule."""
    tree = ast.parse(path.read_text())
    top = {id(n) for n in tree.body}
    # imports under `if TYPE_CHECKING:` are read by type checkers only, never run
    typing_only = {id(n) for block in ast.walk(tree)
                   if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
                   for stmt in block.body for n in ast.walk(stmt)}
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = ".".join(base[:len(base) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        found += [(n, node.lineno, id(node) not in top) for n in names if n in modules and n != module]
    return found


@pytest.fixture(scope="module")
def graph():
    modules = _modules()
    return {m: _imports(m, p, modules) for m, p in modules.items()}


def test_dependencies_point_one_way(graph):
    wrong = []
    for module, imports in graph.items():
        for target, line, _ in imports:
            a, b = _layer(module), _layer(target)
            if a != b and b not in ALLOWED[a]:
                wrong.append(f"{module}:{line} imports {target} ({a}/ may not import {b}/)")
            elif a == "backends" and b == "ops" and any(p.startswith("_") for p in target.split(".")[2:]):
                wrong.append(f"{module}:{line} imports the private module {target}")
    assert not wrong, "\n".join(wrong)


def test_backends_use_no_private_helper_of_ops():
    wrong = []
    for path in (ROOT / "backends").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("xpgrad.ops"):
                wrong += [f"{path.name}:{node.lineno} imports {node.module}.{a.name}"
                          for a in node.names if a.name.startswith("_")]
    assert not wrong, "\n".join(wrong)


def test_core_has_no_import_cycle(graph):
    edges = {m: {t for t, _, _ in imports if _layer(t) == "core"}
             for m, imports in graph.items() if _layer(m) == "core"}
    # depth-first search for a back edge, without recursion
    state = dict.fromkeys(edges, 0)  # 0 new, 1 on the path, 2 done
    for start in sorted(edges):
        if state[start]:
            continue
        path, stack = [], [(start, iter(sorted(edges[start])))]
        state[start] = 1
        path.append(start)
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(child) == 1:
                cycle = path[path.index(child):] + [child]
                pytest.fail("import cycle inside core/: " + " -> ".join(cycle))
            elif state.get(child) == 0:
                state[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(edges[child]))))


def test_the_contract_imports_nothing_of_the_engine(graph):
    # (the first test covers it too; this one says it in the contract's own words)
    for module, imports in graph.items():
        if _layer(module) == "plugins":
            assert all(_layer(t) == "plugins" for t, _, _ in imports), (module, imports)
