"""The CuPy backend: devices ``"cuda"`` and ``"cuda:N"``, namespace ``array_api_compat.cupy``.

CuPy is imported only when a ``"cuda"`` device is asked for (or ``python -m xpgrad``
lists the backends): never when xpgrad is imported, when the plugin registry is built,
or when an array's device is looked up (until CuPy is imported no CuPy array can exist,
so :meth:`CupyBackend.array_types` is empty). Without CuPy, asking for ``"cuda"``
raises ``xpgrad.DeviceError`` saying how to install it; with CuPy but no usable GPU,
one saying that no CUDA device is available.

Devices: ``"cuda:N"`` is GPU ``N``; ``"cuda"`` is the GPU that is CuPy's current device
when ``"cuda"`` is first asked for (GPU 0 unless changed), the same Device as its
``"cuda:N"``. Data moves between GPUs with a device-to-device copy, and between the GPU
and NumPy (``t.cpu()``, ``t.cuda()``) through host memory.
"""
import importlib
import importlib.util
import sys

from xpgrad.plugins import Backend, BackendUnavailable, hookimpl

INSTALL = 'pip install "xpgrad[cuda]"'


def _cupy_installed():
    module = sys.modules.get("cupy", False)
    if module is not False:  # imported already (or blocked: sys.modules["cupy"] = None)
        return module is not None
    try:
        return importlib.util.find_spec("cupy") is not None
    except (ImportError, ValueError):
        return False


class CupyBackend(Backend):
    name = "cupy"
    library = "cupy"
    device_prefix = "cuda"
    install = INSTALL
    reuses_memory = True

    def __init__(self):
        self._xp = None
        self._seed = None
        self._states = {}  # GPU index -> cupy.random.RandomState, made on first use

    # ---------------------------------------------------------------- discovery

    def _cupy(self):
        """The cupy module, imported here and only here."""
        if not _cupy_installed():
            raise BackendUnavailable(f"CuPy is not installed; install it with {INSTALL}")
        try:
            return importlib.import_module("cupy")
        except Exception as exc:
            raise BackendUnavailable(
                f"CuPy is installed but cannot be imported ({type(exc).__name__}: {exc}); "
                f"reinstall the CuPy build that matches your CUDA version ({INSTALL} picks one)"
            ) from exc

    def _device_count(self):
        cupy = self._cupy()
        try:
            n = cupy.cuda.runtime.getDeviceCount()
        except Exception as exc:  # CUDARuntimeError: no driver, no device
            raise BackendUnavailable(f"no CUDA device is available ({type(exc).__name__}: {exc})") from exc
        if not n:
            raise BackendUnavailable("no CUDA device is available (CuPy finds no GPU)")
        return n

    def is_available(self):
        try:
            self._device_count()
            self.namespace()
        except BackendUnavailable as exc:
            return False, str(exc)
        except Exception as exc:
            return False, f"{type(exc).__name__}: {exc}"
        return True, ""

    def version(self):
        if not _cupy_installed():
            return None
        try:
            return self._cupy().__version__
        except Exception:
            return None

    def namespace(self):
        if self._xp is None:
            self._cupy()
            from array_api_compat import cupy as cupy_compat

            self._xp = cupy_compat
        return self._xp

    def array_types(self):
        cupy = sys.modules.get("cupy")
        if cupy is None:  # not imported: no CuPy array can exist, and we don't import it
            return ()
        ndarray = getattr(cupy, "ndarray", None)
        return (ndarray,) if ndarray is not None else ()

    def array_type(self):
        return self._cupy().ndarray

    def coerce(self, value):
        return self._cupy().asarray(value)

    # ---------------------------------------------------------------- devices

    def devices(self):
        cupy = self._cupy()
        n = self._device_count()
        current = cupy.cuda.runtime.getDevice()
        return [f"cuda:{current}"] + [f"cuda:{i}" for i in range(n) if i != current]

    def _index(self, device):
        _, _, idx = device.partition(":")
        if not idx:
            return self._cupy().cuda.runtime.getDevice()
        if not idx.isdigit():
            raise ValueError(f"bad CUDA device {device!r}: expected 'cuda' or 'cuda:<index>'")
        return int(idx)

    def device_of(self, array):
        return f"cuda:{array.device.id}"

    def native_device(self, device):
        return self._cupy().cuda.Device(self._index(device))

    def to_device(self, array, device):
        # ndarray.copy() allocates on the current device and copies from the array's own
        # GPU (peer to peer, or through the host where there is no peer access).
        with self.native_device(device):
            return array.copy()

    def from_foreign(self, array, device, source):
        host = source.to_numpy(array)
        with self.native_device(device):
            return self._cupy().array(host, copy=True)

    # ---------------------------------------------------------------- data

    def asarray(self, data, dtype, device):
        with self.native_device(device):
            return self._cupy().asarray(data, dtype=dtype)

    def to_numpy(self, array):
        return array.get()

    def write(self, dst, src):
        with dst.device:
            dst[...] = src

    def shares_memory(self, result, array):
        return bool(self._cupy().may_share_memory(result, array))

    def fresh(self, array):
        return (type(array) is self._cupy().ndarray and array.base is None
                and array.flags.owndata)

    def add_into(self, dst, src):
        cupy = self._cupy()
        with dst.device:
            cupy.add(dst, src, out=dst)
        return dst

    def seed(self, seed):
        # Called by manual_seed for every backend: remember, don't import CuPy.
        self._seed = seed
        self._states.clear()

    def _random_state(self, index):
        state = self._states.get(index)
        if state is None:
            state = self._states[index] = self._cupy().random.RandomState(self._seed)
        return state

    def random_normal(self, shape, dtype, device):
        index = self._index(device)
        with self._cupy().cuda.Device(index):
            return self._random_state(index).standard_normal(shape, dtype=dtype)

    def random_uniform(self, shape, dtype, device):
        index = self._index(device)
        with self._cupy().cuda.Device(index):
            return self._random_state(index).random_sample(shape, dtype=dtype)


@hookimpl
def xpgrad_backends():
    return [CupyBackend()]
