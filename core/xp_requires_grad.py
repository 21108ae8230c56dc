"""``xpgrad.xp`` with every floating-point array it creates requiring grad.

A test suite written against the array API standard, pointed at this namespace, runs
every function it tests through graph recording: each floating-point (real or complex)
array that a creation function returns is a leaf that requires grad, so whatever the
suite computes from it is recorded, as a user's differentiable program would be. The
array API conformance suite runs this way (``ARRAY_API_TESTS_MODULE=xpgrad.xp_requires_grad``;
see ``tools/conformance.py`` and the conformance page of the documentation).

What xpgrad refuses by design then fails, as PyTorch refuses it: writing in place into
a leaf that requires grad, and exporting one through DLPack (export the ``detach()``
of it). Everything else is ``xpgrad.xp``'s, unchanged.
"""
import functools

from xpgrad import xp as _xp
from xpgrad.dtypes import is_kind as _is_kind
from xpgrad.tensor import Tensor as _Tensor

__array_api_version__ = _xp.__array_api_version__

# The creation functions of the standard: what they return becomes a leaf requiring grad.
_CREATION = ("arange", "asarray", "empty", "empty_like", "eye", "from_dlpack", "full", "full_like",
             "linspace", "ones", "ones_like", "zeros", "zeros_like")


def _requiring_grad(fn):
    @functools.wraps(fn)
    def create(*args, **kwargs):
        out = fn(*args, **kwargs)
        # A new floating leaf only: an input handed back (asarray of a Tensor) stays
        # as the caller made it.
        if (isinstance(out, _Tensor) and out.is_leaf and not out.requires_grad
                and all(out is not a for a in args)
                and _is_kind(out.dtype, ("real floating", "complex floating"))):
            out.requires_grad_(True)
        return out

    return create


for _name in _CREATION:
    globals()[_name] = _requiring_grad(getattr(_xp, _name))

__all__ = list(_xp.__all__)


def __getattr__(name):
    return getattr(_xp, name)


def __dir__():
    return sorted(set(globals()) | set(__all__))
