"""Generate docs/gradients.md: the gradient status of every function of the array API
standard (2025.12) in xpgrad, read from the op registry.

    python tools/gradient_status.py          # (re)write docs/gradients.md
    python tools/gradient_status.py --check  # exit 1 if docs/gradients.md is stale

For each function of the standard (the main namespace and the ``linalg`` and ``fft``
extensions; the names are the data below) the page says whether it is

- **differentiable**: the op(s) it dispatches have VJP rules; with "forward mode:
  rules" if they also declare JVP rules, "forward mode: derived" if forward mode derives
  them from the VJP rules;
- **first order only**: differentiable once (``Op(first_order_only=True)``);
- **not differentiable**: ``vjp=None`` (integer or bool results);
- **composed**: no op of its own; it calls differentiable ops (named);
- **not an op**: a constant, a creation or data-type function, or an inspection;
- **missing**: not in ``xpgrad.xp`` yet, or its op is not registered.

It also lists the registered ops that are not functions of the standard (PyTorch
extras, plugin ops). Only built-in plugins are read: installed third-party plugins do
not change the page.
"""
import argparse
import ast
import inspect
import os
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "gradients.md"
STANDARD = "2025.12"

# ---------------------------------------------------------------------- the standard, as data

# Functions of the main namespace, by the standard's group (its section names).
MAIN = {
    "Constants": ["e", "inf", "nan", "newaxis", "pi"],
    "Creation functions": [
        "arange", "asarray", "empty", "empty_like", "eye", "from_dlpack", "full", "full_like",
        "linspace", "meshgrid", "ones", "ones_like", "tril", "triu", "zeros", "zeros_like"],
    "Data type functions": ["astype", "can_cast", "finfo", "iinfo", "isdtype", "result_type"],
    "Element-wise functions": [
        "abs", "acos", "acosh", "add", "asin", "asinh", "atan", "atan2", "atanh", "bitwise_and",
        "bitwise_left_shift", "bitwise_invert", "bitwise_or", "bitwise_right_shift",
        "bitwise_xor", "ceil", "clip", "conj", "copysign", "cos", "cosh", "divide", "equal",
        "exp", "expm1", "floor", "floor_divide", "greater", "greater_equal", "hypot", "imag",
        "isfinite", "isinf", "isnan", "less", "less_equal", "log", "log1p", "log2", "log10",
        "logaddexp", "logical_and", "logical_not", "logical_or", "logical_xor", "maximum",
        "minimum", "multiply", "negative", "nextafter", "not_equal", "positive", "pow", "real",
        "reciprocal", "remainder", "round", "sign", "signbit", "sin", "sinh", "square", "sqrt",
        "subtract", "tan", "tanh", "trunc"],
    "Indexing functions": ["take", "take_along_axis"],
    "Inspection": ["__array_namespace_info__"],
    "Linear algebra functions": ["matmul", "matrix_transpose", "tensordot", "vecdot"],
    "Manipulation functions": [
        "broadcast_arrays", "broadcast_shapes", "broadcast_to", "concat", "expand_dims", "flip", "moveaxis",
        "permute_dims", "repeat", "reshape", "roll", "squeeze", "stack", "tile", "unstack"],
    "Searching functions": ["argmax", "argmin", "count_nonzero", "nonzero", "searchsorted", "where"],
    "Set functions": ["isin", "unique_all", "unique_counts", "unique_inverse", "unique_values"],
    "Sorting functions": ["argsort", "sort"],
    "Statistical functions": [
        "cumulative_prod", "cumulative_sum", "max", "mean", "min", "prod", "std", "sum", "var"],
    "Utility functions": ["all", "any", "diff"],
}

LINALG = [
    "cholesky", "cross", "det", "diagonal", "eig", "eigh", "eigvals", "eigvalsh", "inv", "matmul",
    "matrix_norm", "matrix_power", "matrix_rank", "matrix_transpose", "outer", "pinv", "qr", "slogdet",
    "solve", "svd", "svdvals", "tensordot", "trace", "vecdot", "vector_norm"]

FFT = [
    "fft", "ifft", "fftn", "ifftn", "rfft", "irfft", "rfftn", "irfftn", "hfft", "ihfft", "fftfreq",
    "rfftfreq", "fftshift", "ifftshift"]

# Functions that dispatch no op: constants, creation, data-type functions and inspection.
NOT_OPS = {
    **{name: "constant" for name in MAIN["Constants"]},
    **{name: "creation: a constant result" for name in MAIN["Creation functions"]},
    **{name: "data-type function" for name in MAIN["Data type functions"] if name != "astype"},
    "__array_namespace_info__": "inspection",
    "broadcast_shapes": "shapes in, a shape out: no arrays",
    "nonzero": "integer indices: a constant result",
    "fftfreq": "creation: a constant result",
    "rfftfreq": "creation: a constant result",
}

# Functions with no op of their own that compose registered ops (and are differentiable
# through them), with the ops they call.
COMPOSED = {
    "asarray": ("astype", "clone"),  # of a Tensor: a cast or copy stays in the graph
    "meshgrid": ("reshape", "broadcast_to"),
    "tril": ("where",),
    "triu": ("where",),
    "diff": ("concat", "getitem", "subtract"),  # with Tensor operators: y[1:] - y[:-1]
}

# Standard names whose op has another name, or that dispatch several ops (one per
# output, or per case). Names not listed map to the op of the same name or, failing
# that, to the ops their source dispatches by name (``apply("op", ...)``).
OP_NAMES = {
    "unique_all": ("unique_values",),  # the values carry the gradient; indices and counts are integers
    "unique_counts": ("unique_values",),
    "unique_inverse": ("unique_values",),
    "sign": ("sign", "sgn"),  # real input: the constant sign; complex input: sgn
    "eigvals": ("eig_eigenvalues",),  # while recording: eig's eigenvalues, as PyTorch computes them
}

# The notes of the functions in OP_NAMES (their ops' own one-line docs do not apply).
OP_NOTES = {
    "unique_all": "values differentiable; indices and counts are integers",
    "unique_counts": "values differentiable; indices and counts are integers",
    "unique_inverse": "values differentiable; indices and counts are integers",
    "sign": "real: -1, 0 or 1, a constant; complex: z / |z| (0 at 0), differentiable as PyTorch's sgn",
    "eigvals": "eig's eigenvalues while a graph is recorded (their gradient needs the eigenvectors); "
               "the backend's eigvals otherwise",
}

# Ops that are not functions of the standard but serve one of its operators.
OPERATOR_OPS = {"getitem": "Tensor.__getitem__", "scatter_add": "the VJP of Tensor.__getitem__",
                "setitem": "Tensor.__setitem__"}


# ---------------------------------------------------------------------- reading the registry


def _load():
    os.environ["XPGRAD_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # the built-in plugins only
    sys.path.insert(0, str(ROOT))
    import xpgrad
    from xpgrad.plugins import registry
    from xpgrad.plugins.manager import get_plugin_manager

    get_plugin_manager()
    ops = {}
    for name, defs in registry.all_ops().items():
        generic = [op for op in defs if op.backends is None]
        ops[name] = (generic or defs)[0]
    return xpgrad, ops


def _has_jvp(op):
    if op.variadic:
        return op._rule_factories[1] is not None
    return op.jvp_rules is not None and any(r is not None for r in op.jvp_rules)


def op_status(op):
    """``(status, forward mode)`` of one registered op."""
    if not op.differentiable:
        return "not differentiable", ""
    forward = "forward mode: rules" if _has_jvp(op) else "forward mode: derived"
    return ("first order only" if op.first_order_only else "differentiable"), forward


def _dispatched(fn, ops):
    """The registered ops a function's code names, docstring aside: ops dispatched by a
    literal name (``apply("where", ...)``), namespace functions of an op's name that it
    calls (``broadcast_to(a, shape)``, ``xp.matmul``) or imports, in order of appearance."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return []
    own = getattr(fn, "__name__", None)
    scope = getattr(fn, "__globals__", {})
    found = []
    nodes = sorted((n for n in ast.walk(tree) if hasattr(n, "lineno")),
                   key=lambda n: (n.lineno, n.col_offset))  # in order of appearance
    for node in nodes:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            name = node.value
        elif isinstance(node, ast.Name):
            # a name bound to a namespace function under another name (``_sum``) is that
            # function
            target = scope.get(node.id)
            name = getattr(target, "__name__", node.id) if callable(target) else node.id
        elif isinstance(node, ast.Attribute):
            name = node.attr
        elif isinstance(node, ast.alias):
            name = node.name
        else:
            continue
        if name in ops and name != own and name not in found:
            found.append(name)
    return found


def _ops_for(name, namespace, ops):
    """``(op names, composed)`` for a standard function: the names in OP_NAMES, its own
    name, or the ops its source dispatches (then it is composed of them)."""
    if name in OP_NAMES:
        return [n for n in OP_NAMES[name] if n in ops] or None, False
    if name in ops:
        return [name], False
    parts = sorted(n for n in ops if n.startswith(name + "_"))
    if parts:  # one op per output of a multi-output function (svd_u, svd_s, svd_vh)
        return parts, False
    fn = getattr(namespace, name, None)
    found = _dispatched(fn, ops) if fn is not None else []
    return found or None, True


def function_row(name, namespace, ops):
    """``(status, forward mode, ops, note)`` for one function of the standard."""
    present = hasattr(namespace, name)
    if name in COMPOSED:
        calls = COMPOSED[name]
        lacking = [n for n in calls if n not in ops]
        if not present or lacking:
            return "missing", "", ", ".join(calls), "needs ops " + ", ".join(lacking) if lacking else ""
        statuses = {op_status(ops[n])[0] for n in calls}
        status = "composed" if statuses == {"differentiable"} else "composed (" + ", ".join(sorted(statuses)) + ")"
        note = "differentiable in its array arguments" if name in NOT_OPS else "no op of its own"
        return status, "", ", ".join(calls), note
    if name in NOT_OPS:
        return ("not an op" if present else "missing"), "", "", NOT_OPS[name]
    names, composed = _ops_for(name, namespace, ops)
    if names is None:
        return "missing", "", "", "no op registered" if present else "not in the namespace, no op registered"
    rows = [op_status(ops[n]) for n in names]
    statuses = sorted({s for s, _ in rows})
    if composed:
        status = "composed" if statuses == ["differentiable"] else "composed (" + ", ".join(
            f"{n} {s}" for n, (s, _) in zip(names, rows)) + ")"
        return status, "", ", ".join(names), "no op of its own"
    forwards = sorted({f for _, f in rows if f})
    status = statuses[0] if len(statuses) == 1 else "mixed: " + ", ".join(
        f"{n} {s}" for n, (s, _) in zip(names, rows))
    forward = forwards[0] if len(forwards) == 1 else ", ".join(
        f"{n} {f.split(': ')[1]}" for n, (_, f) in zip(names, rows) if f)
    note = "" if present else "op registered, but not in the namespace yet"
    if not note and len(names) == 1:
        note = ops[names[0]].doc or ""
    if name in OP_NOTES:
        note = OP_NOTES[name]
    return status, forward, ", ".join(names), note


# ---------------------------------------------------------------------- the page


def _table(rows, header):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        out.append("| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |")
    return out


def render():
    """The text of docs/gradients.md."""
    xpgrad, ops = _load()
    xp = xpgrad.xp
    counts = {}
    used = set()
    sections = []

    def rows_for(names, namespace, prefix):
        rows = []
        for name in names:
            status, forward, op_names, note = function_row(name, namespace, ops)
            key = status.split(" (")[0].split(":")[0]
            counts[key] = counts.get(key, 0) + 1
            if not status.startswith("composed"):  # the function's own ops, not ones it calls
                used.update(n.strip() for n in op_names.split(",") if n.strip())
            rows.append((f"`{prefix}{name}`", status, forward, f"`{op_names}`" if op_names else "", note))
        return rows

    header = ("function", "status", "forward mode", "ops", "notes")
    for group, names in MAIN.items():
        sections += ["", f"### {group}", ""] + _table(rows_for(names, xp, ""), header)
    sections += ["", "### Linear algebra extension (`xpgrad.xp.linalg`)", ""]
    sections += _table(rows_for(LINALG, xp.linalg, "linalg."), header)
    sections += ["", "### Fourier transform extension (`xpgrad.xp.fft`)", ""]
    sections += _table(rows_for(FFT, xp.fft, "fft."), header)

    extras = []
    standard = {n for names in MAIN.values() for n in names} | set(LINALG) | set(FFT)
    for name in sorted(set(ops) - used - standard):
        op = ops[name]
        status, forward = op_status(op)
        serves = OPERATOR_OPS.get(name, "")
        extras.append((f"`{name}`", status, forward, op.plugin, serves or (op.doc or "")))

    total = sum(len(v) for v in MAIN.values()) + len(LINALG) + len(FFT)
    summary = ", ".join(f"{counts[k]} {k}" for k in sorted(counts))
    lines = [
        "# Gradient status of the array API standard",
        "",
        "<!-- Generated by tools/gradient_status.py from the op registry; do not edit by hand. -->",
        "",
        f"Every function of the array API standard {STANDARD} (the main namespace and the",
        "`linalg` and `fft` extensions) as `xpgrad.xp` implements it, and what its gradient is:",
        "",
        "- **differentiable**: its op has VJP rules; *forward mode: rules* if it also declares",
        "  JVP rules, *forward mode: derived* if forward mode derives them from the VJP rules;",
        "- **first order only**: differentiable once; `create_graph=True` through it is an error;",
        "- **not differentiable**: integer or bool results; they never require grad;",
        "- **composed**: no op of its own, differentiable through the ops it calls;",
        "- **not an op**: a constant, creation, data-type or inspection function;",
        "- **missing**: not implemented yet.",
        "",
        f"{total} functions: {summary}.",
        "",
        "Regenerate with `python tools/gradient_status.py`; `--check` fails if this page is stale.",
        "",
        "## Functions of the standard",
    ] + sections + [
        "",
        "## Registered ops that are not functions of the standard",
        "",
        "PyTorch-face extras, ops that serve an operator of the array object, and ops of the",
        "built-in plugins that no standard function dispatches by name.",
        "",
    ] + _table(extras, ("op", "status", "forward mode", "plugin", "notes")) + [""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if docs/gradients.md differs from what would be generated")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = PAGE.read_text() if PAGE.exists() else ""
        if current != text:
            print(f"{PAGE.relative_to(ROOT)} is stale: run python tools/gradient_status.py", file=sys.stderr)
            return 1
        print(f"{PAGE.relative_to(ROOT)} is up to date")
        return 0
    PAGE.write_text(text)
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
