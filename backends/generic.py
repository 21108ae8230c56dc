"""The generic backend: any array library that array-api-compat knows, by its namespace.

Everything it needs comes from the array API standard itself (creation, ``to_device``,
``__dlpack__``) plus array-api-compat's helpers, so one class serves every conforming
library; the quirks of a library (dask is lazy, JAX arrays are immutable, PyTorch
refuses negative slice steps) live in a small subclass or a backend-specialised op below.

A library is imported only when one of its devices is asked for (or when
``python -m xpgrad`` lists the backends): until then its arrays cannot exist, so looking
up an array's device never needs it. Registered here, each usable once its library is
installed (backend name = device prefix):

- ``array_api_strict`` (namespace ``array_api_strict``): ``"array_api_strict"``,
  ``"array_api_strict:device1"``, ...
- ``dask`` (``array_api_compat.dask.array``): ``"dask"``, lazy; computed by dask's
  scheduler or a ``dask.distributed`` cluster when asked.
- ``torch`` (``array_api_compat.torch``): ``"torch"`` (the CPU), ``"torch:cuda:0"``, ...
- ``jax`` (``jax.numpy``): ``"jax"`` (JAX's default device), ``"jax:cuda:0"``,
  ``"jax:cpu:0"``, ...

Device strings are ``"<backend>"`` for the library's default device and
``"<backend>:<name>"`` for another.

In-place ops (``add_``, ``zero_``, ``fill_``, ``copy_``, item assignment) write with
``dst[...] = src``. Dask implements that by rebinding the dask Array object to a new
lazy graph: every Tensor holding that object (``t.data``, ``t.detach()``) sees the
change, but a Tensor sliced from it earlier does not (dask has no views). JAX arrays
cannot be written at all: in-place ops on ``"jax"`` Tensors raise a RuntimeError saying
so. (A second backward makes ``.grad`` a new Tensor holding the sum, on every backend.)
"""
import importlib
import importlib.util
import re
import sys

from xpgrad.plugins import Backend, hookimpl


class GenericBackend(Backend):
    """A backend for one array API library, reached through its namespace.

    Parameters
    ----------
    library : str
        The import name of the array library (``"dask"``); also the backend's name and
        device prefix unless ``name`` is given.
    hidden_devices : iterable of str
        Devices of the library left out of :meth:`devices` (by their short name).
    name : str, optional
        The backend's name and device prefix, if not ``library``.
    namespace : str, optional
        The module that is the library's array API namespace
        (``"array_api_compat.dask.array"``); by default, what array-api-compat finds
        for ``library.asarray(0)``.
    requires : str, optional
        The module whose import makes the library's arrays exist (``"dask.array"``);
        default ``library``. Until it is imported the backend owns no array type, so
        looking up an array's device never imports a library.
    distribution : str, optional
        The name ``pip`` installs it by and its metadata is kept under; default
        ``library``.
    """

    def __init__(self, library, hidden_devices=(), *, name=None, namespace=None, requires=None,
                 distribution=None):
        self.library = library
        self.name = self.device_prefix = name or library
        self._namespace_module = namespace
        self._requires = requires or library
        self._distribution = distribution or library
        self._hidden = frozenset(hidden_devices)
        self._xp = None
        self._types = None
        self._rng = None

    # ---------------------------------------------------------------- discovery

    def _installed(self):
        module = sys.modules.get(self.library, False)
        if module is not False:  # imported already (or blocked: sys.modules[name] = None)
            return module is not None
        try:
            return importlib.util.find_spec(self.library) is not None
        except (ImportError, ValueError):
            return False

    def is_available(self):
        if not self._installed():
            install = self.install or f"pip install {self._distribution.replace('_', '-')}"
            return False, f"{self.library} is not installed; install it with {install}"
        return super().is_available()

    def namespace(self):
        if self._xp is None:
            if self._namespace_module is not None:
                self._xp = importlib.import_module(self._namespace_module)
            else:
                from array_api_compat import array_namespace

                module = importlib.import_module(self.library)
                self._xp = array_namespace(module.asarray(0))
        return self._xp

    def version(self):
        # From the package metadata when there is some: listing a backend's version
        # does not import the library.
        if not self._installed():
            return None
        from importlib import metadata

        try:
            return metadata.version(self._distribution)
        except Exception:
            return super().version()

    def array_types(self):
        if self._types is None:
            if sys.modules.get(self._requires) is None:  # its arrays cannot exist yet: don't import it
                return ()
            self._types = (type(self.namespace().asarray(0)),)
        return self._types

    # ---------------------------------------------------------------- devices

    def _all_native_devices(self):
        return self.namespace().__array_namespace_info__().devices()

    def _native_devices(self):
        return [d for d in self._all_native_devices() if self._short_name(d) not in self._hidden]

    def _default_native(self):
        return self.namespace().__array_namespace_info__().default_device()

    def _short_name(self, native):
        return _short_name(native)

    def _device_name(self, native):
        if native == self._default_native():
            return self.name
        return f"{self.name}:{self._short_name(native)}"

    def devices(self):
        default = self._default_native()
        return [self.name] + [self._device_name(d) for d in self._native_devices() if d != default]

    def device_of(self, array):
        from array_api_compat import device

        return self._device_name(device(array))

    def native_device(self, device):
        if device == self.name:
            return self._default_native()
        for d in self._native_devices():
            if self._device_name(d) == device:
                return d
        raise ValueError(f"{self.library} has no device {device!r}")

    def to_device(self, array, device):
        from array_api_compat import to_device

        return to_device(array, self.native_device(device))

    # ---------------------------------------------------------------- data

    def to_numpy(self, array):
        import numpy as np
        from array_api_compat import device, to_device

        default = self._default_native()
        if device(array) != default:
            array = to_device(array, default)
        return np.from_dlpack(array)

    #: Whether the namespace's ``asarray`` takes NumPy arrays (copying them); if not,
    #: NumPy data goes through a Python list.
    _takes_numpy = False

    def asarray(self, data, dtype, device):
        xp = self.namespace()
        if hasattr(data, "__array__") and not hasattr(data, "__array_namespace__"):
            import numpy as np  # NumPy arrays and scalars

            data = np.asarray(data)
            if dtype is None:
                dtype = getattr(xp, data.dtype.name)
            if self._takes_numpy:
                return xp.asarray(data, dtype=dtype, device=self.native_device(device), copy=True)
            data = data.tolist()
        return xp.asarray(data, dtype=dtype, device=self.native_device(device))

    def shares_memory(self, result, array):
        # Through DLPack, both as NumPy arrays over the same memory, where the library
        # exports host memory that way; otherwise unknown (the dispatcher then copies).
        import numpy as np

        try:
            return bool(np.may_share_memory(np.from_dlpack(result), np.from_dlpack(array)))
        except Exception:
            return None

    def write(self, dst, src):
        if not self.mutable:
            raise RuntimeError(
                f"{self.library} arrays are immutable: in-place ops (add_, zero_, fill_, copy_, "
                "item assignment...) cannot run on the "
                f"{self.name!r} device. Use the out-of-place op and rebind, e.g. "
                "w = (w - lr * w.grad).detach().requires_grad_()"
            )
        dst[...] = src

    def seed(self, seed):
        import numpy as np

        self._rng = np.random.default_rng(seed)

    def _random(self, fill, shape, dtype, device):
        import numpy as np

        if self._rng is None:
            self._rng = np.random.default_rng()
        values = fill(self._rng, shape).astype(_numpy_dtype_name(dtype))
        return self.asarray(values, dtype, device)

    def random_normal(self, shape, dtype, device):
        return self._random(lambda rng, s: rng.standard_normal(s), shape, dtype, device)

    def random_uniform(self, shape, dtype, device):
        return self._random(lambda rng, s: rng.random(s), shape, dtype, device)


class DaskBackend(GenericBackend):
    """dask.array: lazy, chunked arrays; forward and backward build a dask graph.

    Nothing here calls ``compute()`` except :meth:`to_numpy` (printing, ``item()``,
    ``tolist()``, ``numpy()``) and :meth:`compute` (``xpgrad.compute``,
    ``Tensor.compute()``): a gradient stays a dask array until its user computes it,
    with dask's scheduler or a ``dask.distributed`` cluster. Random numbers are drawn
    with NumPy and wrapped as one chunk; to spread work, make the Tensor from a chunked
    dask array (``xpgrad.tensor(dask.array.random.default_rng(0).random((n, d),
    chunks=...))`` keeps its chunks).
    Boolean-mask indexing raises (its shape depends on the values); ``inv`` inverts each
    matrix in one block with NumPy (dask's own needs SciPy).
    """

    _takes_numpy = True
    install = 'pip install "dask[array]"'

    def __init__(self):
        # array-api-compat's DASK_DEVICE is a placeholder device for meta arrays.
        super().__init__("dask", hidden_devices=("DASK_DEVICE",),
                         namespace="array_api_compat.dask.array", requires="dask.array")

    def namespace(self):
        if self._xp is None:
            self._xp = _dask_namespace()
        return self._xp

    def _default_native(self):
        return "cpu"

    def devices(self):
        return [self.name]

    def device_of(self, array):
        return self.name

    def native_device(self, device):
        if device != self.name:
            raise ValueError(f"dask has no device {device!r}; its one device is 'dask'")
        return "cpu"

    def to_device(self, array, device):
        self.native_device(device)
        return array

    def coerce(self, value):
        # An op that returned something other than a dask array (a NumPy scalar, say).
        return self.namespace().asarray(value)

    def to_numpy(self, array):
        import numpy as np

        return np.asarray(array.compute())

    def compute(self, arrays):
        # One dask.compute call: the graphs are merged, so a task several arrays need
        # (the forward pass shared by a loss and its gradients) runs once. It runs on the
        # current scheduler, a dask.distributed Client's if one is active.
        # A 0-d result comes back as a NumPy scalar: made a 0-d array, as the others are
        # arrays (of the chunks' library: NumPy, or CuPy for CuPy chunks).
        import dask
        import numpy as np

        return tuple(np.asarray(a) if isinstance(a, np.generic) else a for a in dask.compute(*arrays))

    def shares_memory(self, result, array):
        # dask has no views; only the same Array object (a reshape to its own shape, say)
        # sees a write through the other, which rebinds that object.
        return result is array

    # write: ``dst[...] = src`` rebinds the dask Array object to a new graph (dask's
    # __setitem__), lazily. fresh() stays False: the engine never writes into a gradient
    # it has, and copies one before it becomes a .grad that such a rebinding may change.


_REAL = (int, float, bool)
_TORCH_UPDATES = {"add": "add_", "subtract": "sub_", "multiply": "mul_", "divide": "div_"}
# Below this many bytes an in-place product saves less than its checks cost.
_IN_PLACE_MIN_BYTES = 1 << 16


class TorchBackend(GenericBackend):
    """PyTorch tensors through array-api-compat: ``"torch"`` is the CPU, ``"torch:cuda:N"``
    the GPUs (and ``"torch:mps:0"`` on Apple silicon). Slices with a negative step, which
    PyTorch refuses, are taken as positive-step slices and flipped."""

    _takes_numpy = True
    reuses_memory = True

    def __init__(self):
        super().__init__("torch", namespace="array_api_compat.torch")

    def _all_native_devices(self):
        # Not __array_namespace_info__().devices(): it probes every device type torch
        # knows (meta, mkldnn, ...), warning as it goes.
        import torch

        found = [torch.device("cpu")]
        if torch.cuda.is_available():
            found += [torch.device("cuda", i) for i in range(torch.cuda.device_count())]
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            found.append(torch.device("mps", 0))
        return found

    def _default_native(self):
        import torch

        return torch.device("cpu")  # "torch" is the CPU, whatever torch's default device

    def device_of(self, array):
        dev = array.device
        return self.name if dev.type == "cpu" else f"{self.name}:{dev}"

    def to_numpy(self, array):
        return array.detach().cpu().numpy()

    def fresh(self, array):
        # An op's result is no view (its _base is None) and is not a leaf of torch's own
        # autograd, which in-place writes would trip over.
        return array._base is None and not array.requires_grad

    def add_into(self, dst, src):
        return dst.add_(src)

    def update(self, name, dst, other):
        # torch casts an in-place result to dst's dtype (float64 into float32) where the
        # standard, and xpgrad, refuse: those go the out-of-place way, which raises.
        import torch

        method = _TORCH_UPDATES.get(name)
        if method is None or type(dst) is not torch.Tensor or dst.requires_grad:
            return None
        try:
            # Another tensor on dst's storage (x -= x[:, :1]) is declined: torch's own
            # overlap check gives up on memory that is not one dense block, and its
            # in-place op then reads values it has already written.
            if type(other) is torch.Tensor and other is not dst and (
                    other.device != dst.device
                    or other.untyped_storage().data_ptr() == dst.untyped_storage().data_ptr()
                    or (other.shape != dst.shape
                        and torch.broadcast_shapes(dst.shape, other.shape) != dst.shape)):
                return None
            if torch.result_type(dst, other) != dst.dtype:
                return None
            return getattr(dst, method)(other)
        except (RuntimeError, OverflowError, TypeError):  # before any write: the usual way raises
            return None

    def chain(self, g, d, g_free, d_free):
        # As NumPy's backend: the product written into whichever operand the engine owns
        # (mul_), the broadcast one of a sum's gradient passed over, and a product of
        # torch's always a new tensor of its own (free). Small tensors multiply out of
        # place: there the in-place form saves nothing.
        if type(d) in _REAL:
            if d == 1:
                return g, g_free
            if g_free:
                return g.mul_(d), True  # exactly g * d: a Python number keeps g's dtype
            return g * d, True
        if type(d) is complex or d.is_complex():
            return g * d.conj(), True
        if g.dtype == d.dtype and g.shape == d.shape and g.nbytes >= _IN_PLACE_MIN_BYTES:
            # the one of a sum's gradient, expanded (strides 0); its value read on the CPU
            # only, where that costs no device synchronisation
            if not any(g.stride()) and g.device.type == "cpu" and g[(0,) * g.ndim] == 1:
                return d, d_free
            if g_free:
                return g.mul_(d), True
            if d_free:
                return d.mul_(g), True
        return g * d, True

    def shares_memory(self, result, array):
        # A view shares its base's storage, on any device.
        return result.untyped_storage().data_ptr() == array.untyped_storage().data_ptr()


class JaxBackend(GenericBackend):
    """JAX arrays through ``jax.numpy`` (itself an array API namespace). ``"jax"`` is JAX's
    default device; others are ``"jax:<platform>:<id>"`` (``"jax:cuda:0"``, ``"jax:cpu:0"``).

    JAX arrays are immutable: see the module docstring. float64 needs JAX's x64 mode
    (``JAX_ENABLE_X64=1`` or ``jax.config.update("jax_enable_x64", True)``), which
    xpgrad leaves to the user.
    """

    mutable = False
    _takes_numpy = True

    def __init__(self):
        super().__init__("jax", namespace="jax.numpy")

    def _all_native_devices(self):
        import jax

        return jax.devices()

    def _default_native(self):
        import jax

        return jax.devices()[0]

    def _short_name(self, native):
        platform = "cuda" if native.platform == "gpu" else native.platform
        return f"{platform}:{native.id}"

    def to_numpy(self, array):
        import numpy as np

        return np.asarray(array)

    def shares_memory(self, result, array):
        return False  # nothing can write through an alias


def _dask_namespace():
    """array_api_compat.dask.array with dask's quirks worked around (same functions else).

    ``dask.array.eye(n, m)`` with fewer rows than columns builds an array whose chunks
    do not match its tasks ("Missing dependency" when computed); its first ``n`` rows
    of ``eye(m, m)`` are the same matrix and compute.
    """
    import types

    from array_api_compat.dask import array as base

    ns = types.ModuleType(base.__name__, base.__doc__)
    ns.__dict__.update(vars(base))

    def eye(n_rows, n_cols=None, /, *, k=0, dtype=None, device=None, **kwargs):
        if n_cols is not None and n_rows < n_cols:
            return base.eye(n_cols, n_cols, k=k, dtype=dtype, device=device, **kwargs)[:n_rows, :]
        return base.eye(n_rows, n_cols, k=k, dtype=dtype, device=device, **kwargs)

    ns.eye = eye
    return ns


def _dask_getitem(xp, x, *, key):
    from xpgrad.ops.indexing import getitem
    from xpgrad.plugins.arrays import key_items

    for k in key_items(key):
        if hasattr(k, "dtype") and xp.isdtype(k.dtype, "bool"):
            raise NotImplementedError(
                "boolean-mask indexing is not supported on the 'dask' device: its result's "
                "shape depends on the mask's values, which a lazy graph does not know until "
                "computed (the array API lets lazy libraries leave it out). Use "
                "xpgrad.xp.where(mask, x, 0) instead, or compute the mask and index with "
                "integer positions"
            )
    return getitem(xp, x, key=key)


def _dask_add_flat(xp, positions, values, size):
    """dask's own sum of ``values`` into ``size`` flat ``positions`` (may repeat):
    ``bincount`` with weights, blockwise and lazy, which accumulates in float64 (NumPy's
    bincount does), so a float32 sum loses no more than its final rounding. The generic
    sums by doubling would take a number of steps read from the data, and each step
    re-slices the lazy array."""
    import dask.array as da

    def add(w):
        w = w.rechunk(positions.chunks)
        return da.bincount(positions, weights=w, minlength=size)

    if xp.isdtype(values.dtype, "complex floating"):
        total = xp.astype(add(xp.real(values)), values.dtype) + xp.astype(add(xp.imag(values)), values.dtype) * 1j
    else:
        total = add(values)
    return xp.astype(total, values.dtype)


def _positive_steps(key, shape):
    """A basic key for an array of ``shape`` without negative slice steps, and the axes
    of the result to flip after indexing with it.

    PyTorch refuses slices with a negative step; the same elements in the opposite order
    are a positive-step slice, flipped. Keys holding arrays are returned as they are.
    """
    items = key if isinstance(key, tuple) else (key,)
    if not any(type(k) is slice and k.step is not None and k.step < 0 for k in items) \
            or any(hasattr(k, "shape") or isinstance(k, list) for k in items):
        return key, ()
    ndim = len(shape)
    indexed = sum(1 for k in items if k is not None and k is not Ellipsis)
    if indexed > ndim:  # as NumPy and PyTorch refuse it, before shape[axis] runs past the end
        raise IndexError(f"too many indices for an array of {ndim} dimension(s): {indexed} were indexed")
    out, flips, axis, result_axis = [], [], 0, 0
    for k in items:
        if k is Ellipsis:
            axis += ndim - indexed
            result_axis += ndim - indexed
        elif k is None:
            result_axis += 1
        elif type(k) is slice:
            if k.step is not None and k.step < 0:
                picked = range(*k.indices(shape[axis]))
                k = slice(picked[-1], picked[0] + 1, -k.step) if picked else slice(0, 0)
                flips.append(result_axis)
            axis += 1
            result_axis += 1
        else:  # an integer
            axis += 1
        out.append(k)
    return tuple(out), tuple(flips)


def _torch_getitem(xp, x, *, key):
    from xpgrad.ops.indexing import getitem

    key, flips = _positive_steps(key, tuple(x.shape))
    out = getitem(xp, x, key=key)
    return xp.flip(out, axis=flips) if flips else out


def _torch_scatter_add(xp, g, *, shape, key):
    from xpgrad.ops.indexing import scatter_add

    key, flips = _positive_steps(key, shape)
    return scatter_add(xp, xp.flip(g, axis=flips) if flips else g, shape=shape, key=key)


def _setitem_positive_steps(xp, x, value, *, key):
    """Item assignment with slices of a negative step taken as positive-step slices, the
    value flipped to match: PyTorch refuses negative steps, and dask's assignment fails
    on one after an integer (``y[1, ::-2] = v``, an IndexError in dask 2026.8)."""
    from xpgrad.ops.indexing import setitem

    positive, flips = _positive_steps(key, tuple(x.shape))
    if flips and hasattr(value, "ndim"):
        # The value runs along the selection as x[key] does, the positive-step selection
        # the other way along the flipped axes; broadcasting aligns the value's axes with
        # the selection's last ones (an axis it lacks, or of length 1, needs no flip).
        lead = value.ndim - x[positive].ndim
        axes = tuple(a + lead for a in flips if a + lead >= 0)
        value = xp.flip(value, axis=axes) if axes else value
    return setitem(xp, x, value, key=positive)


def _jax_scatter_add(xp, g, *, shape, key):
    # JAX's functional update, out.at[key].add(g), accumulates repeated indices in one
    # pass (as NumPy's add.at), where the generic rule would write into zeros.
    from array_api_compat import device

    from xpgrad.plugins.arrays import key_items

    out = xp.zeros(shape, dtype=g.dtype, device=device(g))
    if not any(hasattr(k, "dtype") for k in key_items(key)):
        key = tuple(k for k in key_items(key) if k is not None)  # None: no place in an update
        g = xp.reshape(g, tuple(out[key].shape))
    return out.at[key].add(g)


def _short_name(native):
    """``Device('device1')`` -> ``device1``; other device objects by their str()."""
    text = str(native)
    quoted = re.fullmatch(r".*\('([^']*)'\)", text)
    return quoted.group(1) if quoted else text


def _numpy_dtype_name(dtype):
    """NumPy's name for a backend dtype: ``torch.float32``, ``<class 'jax.numpy.float32'>``
    and ``dtype('float32')`` all give ``float32``."""
    found = re.search(r"(bool|u?int\d+|float\d+|complex\d+)", str(dtype))
    if found is None:
        raise TypeError(f"no NumPy dtype for {dtype!r}")
    return found.group(1)


@hookimpl
def xpgrad_backends():
    # array-api-strict's devices without float64 or int64 exist to test dtype support,
    # not to compute on; they are left out of the device list.
    return [
        GenericBackend("array_api_strict", hidden_devices=("no_float64", "no_x64"),
                       namespace="array_api_strict"),
        DaskBackend(),
        TorchBackend(),
        JaxBackend(),
    ]


@hookimpl
def xpgrad_ops():
    from xpgrad.ops import decompositions, linalg
    from xpgrad.ops.indexing import getitem_op, scatter_add_op, scatter_add_with, setitem_op

    from ._dask_linalg import dask_variants

    return [
        getitem_op(_dask_getitem, backends={"dask"},
                   doc="x[key], without boolean masks (data-dependent shapes)"),
        scatter_add_op(scatter_add_with(_dask_add_flat), backends={"dask"}),
        getitem_op(_torch_getitem, backends={"torch"}, doc="x[key], negative slice steps as flipped slices"),
        scatter_add_op(_torch_scatter_add, backends={"torch"}),
        setitem_op(_setitem_positive_steps, backends={"torch", "dask"}),
        scatter_add_op(_jax_scatter_add, backends={"jax"}),
        *dask_variants(linalg.xpgrad_ops() + decompositions.xpgrad_ops()),
    ]
