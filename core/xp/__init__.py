"""``xpgrad.xp``: the differentiable array API namespace.

``Tensor.__array_namespace__()`` returns this module, so code written against the
standard (``xp = array_namespace(x)``) records a graph when handed Tensors. The engine
also runs every VJP rule with this namespace under ``create_graph=True``, which is how
gradients of gradients come for free. Functions keep the standard's signatures
(positional-only arrays, keyword-only options); each one dispatches a registered op.

Functions whose result is not differentiable (comparisons, ``sign``, creation) return
Tensors that do not require grad.
"""
from . import linalg
from ._creation import *  # noqa: F401,F403
from ._dtypes import *  # noqa: F401,F403
from ._elementwise import *  # noqa: F401,F403
from ._manipulation import *  # noqa: F401,F403
from ._statistical import *  # noqa: F401,F403
from . import _creation, _dtypes, _elementwise, _manipulation, _statistical
from ._dtypes import dtype_or_constant as _dtype_or_constant

__array_api_version__ = "2024.12"

matmul = linalg.matmul
matrix_transpose = linalg.matrix_transpose

__all__ = ["linalg", "matmul", "matrix_transpose"] + [
    name for module in (_creation, _dtypes, _elementwise, _manipulation, _statistical)
    for name in module.__all__
]


def __getattr__(name):
    try:
        return _dtype_or_constant(name)
    except AttributeError:
        raise AttributeError(f"module 'xpgrad.xp' has no attribute {name!r}") from None
