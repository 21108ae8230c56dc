"""The NumPy backend: device ``"cpu"``, namespace ``array_api_compat.numpy``."""
import sys

import numpy as np
from array_api_compat import numpy as np_compat

from xpgrad.ops.indexing import has_integer_array, scatter_add_op
from xpgrad.plugins import Backend, hookimpl
from xpgrad.temporaries import getrefcount_extra


# The references ``sys.getrefcount(a)`` counts for its own call: the value known for this
# interpreter, not a measurement (a tracer active while it is measured would skew it, and
# with it every answer below); None on an interpreter xpgrad has not checked, where no
# array is ever taken for unshared.
_GETREFCOUNT_EXTRA = getrefcount_extra()


def _ufunc(name):
    """The namespace's function ``name`` where it is a NumPy ufunc (it takes ``out=``),
    else False: array_api_compat wraps the functions whose NumPy semantics differ from
    the standard's, and those are left to the op's own forward."""
    fn = getattr(np_compat, name, None)
    return fn if isinstance(fn, np.ufunc) else False


_UFUNCS = {}


class NumpyBackend(Backend):
    name = "numpy"
    library = "numpy"
    device_prefix = "cpu"

    def __init__(self):
        self._rng = np.random.default_rng()

    def array_types(self):
        return (np.ndarray, np.generic)

    def array_type(self):
        return np.ndarray

    def coerce(self, value):
        return np.asarray(value)

    def namespace(self):
        return np_compat

    def version(self):
        return np.__version__

    def native_device(self, device):
        return "cpu"

    def asarray(self, data, dtype, device):
        if isinstance(data, np.generic):
            data = np.asarray(data)
        return np.asarray(data, dtype=dtype)

    def to_numpy(self, array):
        return array

    def from_foreign(self, array, device, source):
        # The source's own way to the host (DLPack for most, .get() for CuPy); copied
        # unless that already made a fresh array no one else holds.
        host = np.asarray(source.to_numpy(array))
        return np.array(host, copy=True) if self.may_alias(host, held=1) else host

    def accumulate(self, dst, src):
        np.add(dst, src, out=dst)

    def sum_gradients(self, dst, src, held=0):
        if self.owns(dst, held + 1):
            np.add(dst, src, out=dst)
            return dst
        return dst + src

    def owns(self, array, held=0):
        return (type(array) is np.ndarray and array.flags.writeable
                and not self.may_alias(array, held + 1))

    def elementwise_into(self, name, args, into, held):
        fn = _UFUNCS.get(name)
        if fn is None:
            fn = _UFUNCS[name] = _ufunc(name)
        dst = args[into]
        # a real floating dst keeps its dtype through every one-argument function the ops
        # declare; with two, the result's dtype and shape must be dst's. owns() comes
        # before the dtype: it also tells an array from a Python scalar operand.
        if (fn is False or fn.nin != len(args) or not self.owns(dst, held + 1)
                or dst.dtype.kind != "f"):
            return None
        if len(args) > 1 and (np.result_type(*args) != dst.dtype
                              or np.broadcast_shapes(*map(np.shape, args)) != dst.shape):
            return None
        return fn(*args, out=dst)

    def shares_memory(self, result, array):
        # Bounds only (no exact overlap search): a view of array lies within its buffer,
        # and a fresh result never does.
        return np.may_share_memory(result, array)

    def may_alias(self, array, held=0):
        # A fresh result of a computation owns its memory and is referenced only by the
        # caller's own variables (``held``), this argument and whatever getrefcount's own
        # call adds (see _GETREFCOUNT_EXTRA).
        return (_GETREFCOUNT_EXTRA is None or array.base is not None or not array.flags.owndata
                or sys.getrefcount(array) > held + 1 + _GETREFCOUNT_EXTRA)

    def seed(self, seed):
        self._rng = np.random.default_rng(seed)

    def random_normal(self, shape, dtype, device):
        return self._rng.standard_normal(shape, dtype=np.dtype(dtype))

    def random_uniform(self, shape, dtype, device):
        return self._rng.random(shape, dtype=np.dtype(dtype))


@hookimpl
def xpgrad_backends():
    return [NumpyBackend()]


def _scatter_add(xp, g, *, shape, key):
    # add.at accumulates repeated integer indices in one pass, where the generic rule
    # sorts; basic keys never repeat, so plain assignment is enough for them.
    out = np.zeros(shape, dtype=g.dtype)
    if has_integer_array(xp, key):
        np.add.at(out, key, g)
    else:
        out[key] = g
    return out


@hookimpl
def xpgrad_ops():
    return [scatter_add_op(_scatter_add, backends={"numpy"})]
