"""``xpgrad.xp``: the differentiable array API namespace (standard 2025.12).

``Tensor.__array_namespace__()`` returns this module, so code written against the
standard (``xp = array_namespace(x)``) records a graph when handed Tensors. The engine
also runs every VJP rule with this namespace under ``create_graph=True``, which is how
gradients of gradients come for free. Functions keep the standard's signatures
(positional-only arrays, keyword-only options); each one dispatches a registered op.

The standard's extensions are the submodules ``linalg`` and ``fft``.

Functions whose result is not differentiable (comparisons, ``sign``, creation) return
Tensors that do not require grad.

The dtype objects (``xp.float64``) are xpgrad's own (:mod:`xpgrad.dtypes`): the same
object as ``Tensor.dtype`` whatever the device, equal to every library's dtype of that
type; the data-type functions accept any backend's dtypes.
"""
from . import (  # noqa: F401 (fft and linalg are the namespace's extensions: xp.fft, xp.linalg)
    _creation,
    _dtypes,
    _elementwise,
    _indexing,
    _manipulation,
    _searching,
    _statistical,
    fft,
    linalg,
)
from ._creation import *  # noqa: F401,F403
from ._dtypes import *  # noqa: F401,F403
from ._dtypes import CONSTANTS as _CONSTANTS
from ._dtypes import DTYPE_NAMES as _DTYPE_NAMES
from ._dtypes import dtype_or_constant as _dtype_or_constant
from ._elementwise import *  # noqa: F401,F403
from ._indexing import *  # noqa: F401,F403
from ._info import __array_namespace_info__  # noqa: F401
from ._manipulation import *  # noqa: F401,F403
from ._searching import *  # noqa: F401,F403
from ._statistical import *  # noqa: F401,F403

__array_api_version__ = "2025.12"

# The linear algebra functions the standard also has in the main namespace.
matmul = linalg.matmul
matrix_transpose = linalg.matrix_transpose
tensordot = linalg.tensordot
vecdot = linalg.vecdot

e = _CONSTANTS["e"]
inf = _CONSTANTS["inf"]
nan = _CONSTANTS["nan"]
newaxis = _CONSTANTS["newaxis"]
pi = _CONSTANTS["pi"]

__all__ = sorted(
    {"__array_api_version__", "__array_namespace_info__", "fft", "linalg", "matmul", "matrix_transpose",
     "tensordot", "vecdot",
     *_CONSTANTS, *_DTYPE_NAMES}
    | {name for module in (_creation, _dtypes, _elementwise, _indexing, _manipulation, _searching,
                           _statistical)
       for name in module.__all__}
)


def __getattr__(name):
    try:
        return _dtype_or_constant(name)
    except AttributeError:
        raise AttributeError(f"module 'xpgrad.xp' has no attribute {name!r}") from None


def __dir__():
    return sorted(set(globals()) | set(__all__))
