"""Pytrees: nested tuples, lists and dicts of Tensors, flattened and rebuilt.

A pytree's structure (its *treedef*) is everything but the leaves: the container types,
their lengths and dict keys. Transforms flatten their inputs and outputs to lists of
leaves, work on those, and rebuild results with the same structure. Each leaf also gets
a path (``[0]['w']``) so that errors can name exactly which one was wrong.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from xpgrad.tensor import Tensor

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

__all__ = ["flatten", "unflatten", "tree_map", "describe_path"]


class _Leaf:
    """The treedef of a single leaf."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return type(other) is _Leaf

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "*"


LEAF = _Leaf()


class TreeDef:
    """The structure of a container node: its type, its keys (dicts) and its children."""

    __slots__ = ("kind", "keys", "children")

    def __init__(self, kind: type, keys: tuple[Any, ...] | None, children: tuple[Any, ...]) -> None:
        self.kind = kind  # tuple, list, dict, or a namedtuple class
        self.keys: Any = keys  # dict keys, in order; None otherwise
        self.children = children  # tuple of treedefs

    def __eq__(self, other: object) -> bool:
        return (type(other) is TreeDef and self.kind is other.kind and self.keys == other.keys
                and self.children == other.children)

    def __hash__(self) -> int:
        return hash((self.kind, self.keys, self.children))

    def __repr__(self) -> str:
        if self.kind is dict:
            return "{" + ", ".join(f"{k!r}: {c!r}" for k, c in zip(self.keys, self.children)) + "}"
        inner = ", ".join(repr(c) for c in self.children)
        if self.kind is list:
            return f"[{inner}]"
        if self.kind is tuple:
            return f"({inner}{',' if len(self.children) == 1 else ''})"
        return f"{self.kind.__name__}({inner})"

    @property
    def num_leaves(self) -> int:
        return sum(1 if c is LEAF else c.num_leaves for c in self.children)


def _is_namedtuple(x: object) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def flatten(tree: Any, path: str = "") -> tuple[list[Any], list[str], TreeDef | _Leaf]:
    """``(leaves, paths, treedef)`` of ``tree``; a leaf is anything but a tuple, list or dict.

    ``paths[i]`` names leaf ``i`` relative to ``path``, e.g. ``"[1]['b']"``.
    """
    leaves: list[Any]
    paths: list[str]
    leaves, paths = [], []
    treedef = _flatten(tree, path, leaves, paths)
    return leaves, paths, treedef


def _flatten(tree: Any, path: str, leaves: list[Any], paths: list[str]) -> TreeDef | _Leaf:
    if isinstance(tree, dict):
        keys = tuple(tree)
        children = tuple(_flatten(tree[k], f"{path}[{k!r}]", leaves, paths) for k in keys)
        return TreeDef(dict, keys, children)
    if isinstance(tree, (tuple, list)):
        kind = type(tree) if _is_namedtuple(tree) else (list if isinstance(tree, list) else tuple)
        children = tuple(_flatten(c, f"{path}[{i}]", leaves, paths) for i, c in enumerate(tree))
        return TreeDef(kind, None, children)
    leaves.append(tree)
    paths.append(path)
    return LEAF


def unflatten(treedef: TreeDef | _Leaf, leaves: Iterable[Any]) -> Any:
    """The pytree of structure ``treedef`` whose leaves are ``leaves`` (in order)."""
    it = iter(leaves)
    tree = _build(treedef, it)
    return tree


def _build(treedef: Any, it: Iterator[Any]) -> Any:
    if treedef is LEAF:
        return next(it)
    children = [_build(c, it) for c in treedef.children]
    if treedef.kind is dict:
        return dict(zip(treedef.keys, children))
    if treedef.kind is list:
        return children
    if treedef.kind is tuple:
        return tuple(children)
    return treedef.kind(*children)  # a namedtuple


def tree_map(fn: Callable[[Any], Any], tree: Any) -> Any:
    """``tree`` with every leaf replaced by ``fn(leaf)``."""
    leaves, _, treedef = flatten(tree)
    return unflatten(treedef, [fn(x) for x in leaves])


def describe_path(name: str, path: str) -> str:
    """``"tangents[0]['w']"`` from ``"tangents"`` and ``"[0]['w']"``."""
    return f"{name}{path}"


def tensor_leaves(tree: Any, what: str) -> tuple[list[Tensor], list[str], TreeDef | _Leaf]:
    """The leaves of ``tree``, checked to be Tensors; errors name the offending leaf."""
    leaves, paths, treedef = flatten(tree)
    for leaf, path in zip(leaves, paths):
        if not isinstance(leaf, Tensor):
            raise TypeError(
                f"{describe_path(what, path)} is a {type(leaf).__name__}, not a Tensor: "
                "xpgrad.func transforms take and return Tensors (and tuples, lists and "
                "dicts of them); wrap values with xpgrad.tensor(...)"
            )
    return leaves, paths, treedef
