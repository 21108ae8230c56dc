"""What ``xpgrad.<name>`` says for a name it does not have: where the same function is,
when the array API namespace has it (PyTorch code reaches for ``torch.cumsum``,
``torch.arccos``, ``torch.outer``), instead of a bare AttributeError."""
from __future__ import annotations

# PyTorch's (and NumPy's) spellings whose function has another name in the standard.
_STANDARD_NAME = {
    "absolute": "abs", "arccos": "acos", "arccosh": "acosh", "arcsin": "asin", "arcsinh": "asinh",
    "arctan": "atan", "arctanh": "atanh", "arctan2": "atan2", "cumsum": "cumulative_sum",
    "cumprod": "cumulative_prod", "amax": "max", "amin": "min", "bitwise_not": "bitwise_invert",
    "eq": "equal", "ne": "not_equal", "lt": "less", "le": "less_equal", "gt": "greater",
    "ge": "greater_equal", "true_divide": "divide", "repeat_interleave": "repeat",
    "unique": "unique_values", "swapaxes": "permute_dims", "movedim": "moveaxis",
    "ger": "outer",
}


def missing_attribute(name: str) -> AttributeError:
    """The error for ``xpgrad.<name>``: with the place of an equivalent where there is one."""
    from . import linalg, xp

    base = f"module 'xpgrad' has no attribute {name!r}"
    if name.startswith("__"):
        return AttributeError(base)
    target = _STANDARD_NAME.get(name, name)
    if target in xp.__all__:
        return AttributeError(f"{base}; use xpgrad.xp.{target} (the array API namespace)")
    if target in getattr(linalg, "__all__", ()):
        return AttributeError(f"{base}; use xpgrad.linalg.{target}")
    if target in xp.linalg.__all__:
        return AttributeError(f"{base}; use xpgrad.xp.linalg.{target} (the array API namespace)")
    return AttributeError(base)
