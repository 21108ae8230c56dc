"""``xpgrad.viz``: the graph behind a Tensor, as Graphviz DOT text.

:func:`to_dot` needs nothing beyond xpgrad: it returns DOT source, which any Graphviz
tool (``dot -Tsvg``, an online viewer, a notebook extension) draws. :func:`render`
draws it here with Graphviz's ``dot`` program, if it is installed.

The picture reads as the data flows: leaves (light blue boxes, one per Tensor that
requires grad, with its name if ``params`` gives one) at the top, one grey box per
recorded op (its node class, e.g. ``MulBackward``), and the output Tensor (green) at the
bottom. With ``show_saved=True``, the values a node keeps for backward hang off it in
orange, dashed.
"""
import shutil
import subprocess

from .node import _FREED, AccumulateGrad, Packed, walk
from .tensor import Tensor

__all__ = ["to_dot", "render"]

_STYLE = {
    "output": 'shape=box, style=filled, fillcolor="darkolivegreen1"',
    "leaf": 'shape=box, style=filled, fillcolor="lightblue"',
    "op": 'shape=box, style=filled, fillcolor="lightgrey"',
    "saved": 'shape=box, style="filled,dashed", fillcolor="orange"',
    "constant": 'shape=box, style=dashed',
}


def _quote(text):
    """A DOT double-quoted string; ``\\n`` in labels stays a line break."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _describe(shape, dtype):
    return f"{tuple(shape)} {_dtype_name(dtype)}"


def _dtype_name(dtype):
    name = getattr(dtype, "name", None)
    if not isinstance(name, str):  # array-api-strict spells it "array_api_strict.float64"
        name = str(dtype).replace("dtype(", "").strip("')\"").rsplit(".", 1)[-1]
    return name


def to_dot(tensor, params=None, show_saved=False):
    """Graphviz DOT source of the graph that computed ``tensor``.

    Parameters
    ----------
    tensor : Tensor
        The output whose graph to draw (walked through ``grad_fn.next_functions``).
    params : dict of str to Tensor, optional
        Names for the leaves, e.g. ``dict(model.named_parameters())`` or
        ``{"w": w, "b": b}``.
    show_saved : bool, optional
        Also draw the Tensors each node saved for backward.

    Returns
    -------
    str
        ``digraph { ... }`` text: one DOT node per graph node, one per leaf
        (``AccumulateGrad``, labelled with the leaf's name, shape and dtype) and one for
        ``tensor``; an edge from each input node to the node that consumes it.

    Examples
    --------
    >>> x = xpgrad.ones(2, requires_grad=True)
    >>> print(xpgrad.viz.to_dot((x * 2).sum(), params={"x": x}))   # doctest: +SKIP
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dot draws the graph of a Tensor, got {type(tensor).__name__}")
    names = {id(t): name for name, t in (params or {}).items() if isinstance(t, Tensor)}
    lines = ["digraph {", '  graph [rankdir=TB, fontname="Helvetica"];',
             '  node [fontname="Helvetica", fontsize=11, height=0.2];']
    ids = {}

    def ident(obj):
        key = id(obj)
        if key not in ids:
            ids[key] = f"n{len(ids)}"
        return ids[key]

    out_id = "output"
    out_label = "output\n" + _describe(tensor.shape, tensor.dtype)
    root = tensor.grad_fn
    if root is not None:
        style = _STYLE["output"]
    elif tensor.requires_grad:  # a leaf: drawn as one
        out_label = _leaf_label(tensor, names)
        style = _STYLE["leaf"]
    else:
        out_label += "\n(requires_grad=False)"
        style = _STYLE["constant"]
    lines.append(f"  {out_id} [label={_quote(out_label)}, {style}];")
    for node in walk([root]):
        nid = ident(node)
        if type(node) is AccumulateGrad:
            var = node.variable
            label = _leaf_label(var, names) if var is not None else "AccumulateGrad\n(leaf freed)"
            lines.append(f"  {nid} [label={_quote(label)}, {_STYLE['leaf']}];")
        else:
            lines.append(f"  {nid} [label={_quote(type(node).__name__)}, {_STYLE['op']}];")
            if show_saved:
                lines.extend(_saved_lines(node, nid))
        for nxt in node.next:
            if nxt is not None:
                lines.append(f"  {ident(nxt)} -> {nid};")
    if root is not None:
        lines.append(f"  {ident(root)} -> {out_id};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _leaf_label(t, names):
    name = names.get(id(t))
    head = name if name is not None else "AccumulateGrad"
    return f"{head}\n{_describe(t.shape, t.dtype)}"


def _saved_lines(node, nid):
    """The DOT lines of the values ``node`` keeps for backward."""
    saved, out = node.saved, node.out
    if saved is _FREED:
        return [f"  {nid}_freed [label={_quote('saved values freed')}, {_STYLE['constant']}];",
                f"  {nid}_freed -> {nid} [style=dashed, arrowhead=none];"]
    if type(saved) is Packed:
        return [f"  {nid}_packed [label={_quote('saved values packed by saved_tensors_hooks')}, "
                f"{_STYLE['saved']}];", f"  {nid}_packed -> {nid} [style=dashed, arrowhead=none];"]
    argnames = getattr(node._op, "argnames", ()) if node._op is not None else ()
    lines = []
    for i, value in enumerate(saved or ()):
        if isinstance(value, Tensor):
            what = f"saved {argnames[i]}" if i < len(argnames) else f"saved[{i}]"
            label = f"{what}\n{_describe(value.shape, value.dtype)}"
            lines += [f"  {nid}_s{i} [label={_quote(label)}, {_STYLE['saved']}];",
                      f"  {nid}_s{i} -> {nid} [style=dashed, arrowhead=none];"]
    if out is not None:
        label = f"saved output\n{_describe(out.shape, out.dtype)}"
        lines += [f"  {nid}_out [label={_quote(label)}, {_STYLE['saved']}];",
                  f"  {nid}_out -> {nid} [style=dashed, arrowhead=none];"]
    return lines


def render(tensor, path, format="svg", params=None, show_saved=False):
    """Draw the graph of ``tensor`` into the file ``path`` (``format``: svg, png, pdf...).

    Runs Graphviz's ``dot`` program (found on the PATH), which is not a dependency of
    xpgrad. Returns the path written.

    Raises
    ------
    RuntimeError
        If Graphviz is not available: install it (``apt install graphviz``,
        ``brew install graphviz``, ``conda install graphviz``), or draw the text of
        :func:`to_dot` elsewhere.
    """
    source = to_dot(tensor, params=params, show_saved=show_saved)
    exe = shutil.which("dot")
    if exe is None:
        raise RuntimeError(
            "xpgrad.viz.render needs Graphviz's `dot` program, which was not found on the PATH. "
            "Install Graphviz (apt install graphviz, brew install graphviz or conda install "
            "graphviz; the `graphviz` pip package alone is only Python bindings), or draw the "
            "text xpgrad.viz.to_dot(...) returns with any Graphviz viewer."
        )
    result = subprocess.run([exe, f"-T{format}", "-o", str(path)], input=source.encode(),
                            capture_output=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"dot failed on the graph: {result.stderr.decode(errors='replace').strip()}")
    return str(path)
