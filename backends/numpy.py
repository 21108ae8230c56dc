"""The NumPy backend: device ``"cpu"``, namespace ``array_api_compat.numpy``."""
import sys

import numpy as np
from array_api_compat import numpy as np_compat

from xpgrad.ops.indexing import scatter_add_op
from xpgrad.plugins import Backend, hookimpl
from xpgrad.plugins.arrays import has_integer_array
from xpgrad.temporaries import getrefcount_extra

# The references ``sys.getrefcount(a)`` counts for its own call: the value known for this
# interpreter, not a measurement (a tracer active while it is measured would skew it, and
# with it every answer below); None on an interpreter xpgrad has not checked, where no
# array is ever taken for unshared.
_GETREFCOUNT_EXTRA = getrefcount_extra()

_REAL = (int, float, bool)

# Below this many bytes, a product into memory already there saves less than its checks
# cost (and telling a broadcast one costs more than the multiply it saves).
_IN_PLACE_MIN_BYTES = 1 << 16


def _ufunc(name):
    """The namespace's function ``name`` where it is a NumPy ufunc (it takes ``out=``),
    else False: array_api_compat wraps the functions whose NumPy semantics differ from
    the standard's, and those are left to the op's own forward."""
    fn = getattr(np_compat, name, None)
    return fn if isinstance(fn, np.ufunc) else False


_UFUNCS = {}
# Backend.update's functions: the in-place arithmetic NumPy's own operators do
_UPDATES = {"add": np.add, "subtract": np.subtract, "multiply": np.multiply, "divide": np.divide}


class NumpyBackend(Backend):
    name = "numpy"
    reuses_memory = True
    elides_temporaries = True
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
        # The source's own way to the host (DLPack for most, .get() for CuPy), copied: the
        # host array may be the source's own memory (a CPU PyTorch tensor's, say).
        return np.array(source.to_numpy(array), copy=True)

    def fresh(self, array):
        # An op's result owns its memory and is writable; a view, a read-only array or a
        # NumPy scalar (arithmetic on 0-d arrays gives those) is not one.
        return (type(array) is np.ndarray and array.base is None and array.flags.owndata
                and array.flags.writeable)

    def chain(self, g, d, g_free, d_free):
        if type(d) in _REAL:  # a constant derivative: 1 passes g on, -1 negates it
            if d == 1:
                return g, g_free
            if g_free and type(g) is np.ndarray:
                np.multiply(g, d, out=g)  # exactly g * d: a Python number keeps g's dtype
                return g, True
            p = g * d
            return p, type(p) is np.ndarray
        if type(d) is complex or d.dtype.kind == "c":
            p = g * np.conj(d)
            return p, type(p) is np.ndarray
        if type(g) is np.ndarray and g.nbytes >= _IN_PLACE_MIN_BYTES and type(d) is np.ndarray:
            same = d.shape == g.shape
            if same and d.dtype == g.dtype:
                if not any(g.strides) and g[(0,) * g.ndim] == 1:
                    return d, d_free  # g is sum's broadcast one: 1 * d is d, exactly
                if g_free:
                    np.multiply(g, d, out=g)
                    return g, True
                if d_free:
                    np.multiply(d, g, out=d)
                    return d, True
            elif (g_free or d_free) and np.result_type(g, d) == g.dtype:
                shape = g.shape if same else np.broadcast_shapes(g.shape, d.shape)
                if g_free and shape == g.shape:
                    np.multiply(g, d, out=g)
                    return g, True
                if d_free and shape == d.shape:
                    np.multiply(d, g, out=d)
                    return d, True
        p = g * d
        return p, type(p) is np.ndarray

    def add_into(self, dst, src):
        if type(dst) is np.ndarray:
            np.add(dst, src, out=dst)
            return dst
        return dst + src

    def update(self, name, dst, other):
        fn = _UPDATES.get(name)
        if fn is None or type(dst) is not np.ndarray or not dst.flags.writeable:
            return None
        try:
            if np.result_type(dst, other) != dst.dtype or (
                    type(other) is np.ndarray and other.shape != dst.shape
                    and np.broadcast_shapes(dst.shape, other.shape) != dst.shape):
                return None
            return fn(dst, other, out=dst)  # a ufunc: overlapping memory is buffered, as NumPy's -= is
        except (TypeError, ValueError, OverflowError):  # before any write: the usual way raises
            return None

    def _unshared(self, array, held):
        """Whether no one but the caller (``held`` references, besides this call's) holds
        ``array``: by its reference count, for temporaries only (off by default, see
        xpgrad.temporaries), on an interpreter whose counts xpgrad has checked."""
        return (_GETREFCOUNT_EXTRA is not None and self.fresh(array)
                and sys.getrefcount(array) <= held + 1 + _GETREFCOUNT_EXTRA)

    def elementwise_into(self, name, args, into, held):
        fn = _UFUNCS.get(name)
        if fn is None:
            fn = _UFUNCS[name] = _ufunc(name)
        dst = args[into]
        # a real floating dst keeps its dtype through every one-argument function the ops
        # declare; with two, the result's dtype and shape must be dst's. _unshared() comes
        # before the dtype: it also tells an array from a Python scalar operand.
        if (fn is False or fn.nin != len(args) or not self._unshared(dst, held + 1)
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
