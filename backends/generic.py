"""The generic backend: any array library that array-api-compat knows, by its namespace.

Everything it needs comes from the array API standard itself (creation, ``to_device``,
``__dlpack__``) plus array-api-compat's namespace lookup, so one class serves every
conforming library. A library is imported only when one of its devices is asked for;
until then its arrays cannot exist, so nothing needs it.

Device strings are ``"<library>"`` for the library's default device and
``"<library>:<name>"`` for another (``"array_api_strict:device1"``).
"""
import importlib
import re
import sys

from xpgrad.plugins import Backend, hookimpl


class GenericBackend(Backend):
    """A backend for one array API library, reached through its namespace."""

    def __init__(self, library, hidden_devices=()):
        self.name = self.library = self.device_prefix = library
        self._hidden = frozenset(hidden_devices)
        self._xp = None
        self._rng = None

    # ---------------------------------------------------------------- discovery

    def namespace(self):
        if self._xp is None:
            from array_api_compat import array_namespace

            module = importlib.import_module(self.library)
            self._xp = array_namespace(module.asarray(0))
        return self._xp

    def array_types(self):
        if self.library not in sys.modules:  # its arrays cannot exist yet: don't import it
            return ()
        return (type(self.namespace().asarray(0)),)

    # ---------------------------------------------------------------- devices

    def _native_devices(self):
        devices = self.namespace().__array_namespace_info__().devices()
        return [d for d in devices if _short_name(d) not in self._hidden]

    def _default_native(self):
        return self.namespace().__array_namespace_info__().default_device()

    def _device_name(self, native):
        if native == self._default_native():
            return self.library
        return f"{self.library}:{_short_name(native)}"

    def devices(self):
        default = self._default_native()
        return [self.library] + [self._device_name(d) for d in self._native_devices() if d != default]

    def device_of(self, array):
        return self._device_name(array.device)

    def native_device(self, device):
        for d in self._native_devices():
            if self._device_name(d) == device:
                return d
        raise ValueError(f"{self.library} has no device {device!r}")

    def to_device(self, array, device):
        return array.to_device(self.native_device(device))

    # ---------------------------------------------------------------- data

    def to_numpy(self, array):
        import numpy as np

        default = self._default_native()
        if array.device != default:
            array = array.to_device(default)
        return np.from_dlpack(array)

    def asarray(self, data, dtype, device):
        if hasattr(data, "__array__") and not hasattr(data, "__array_namespace__"):
            import numpy as np  # NumPy arrays and scalars: go through a plain copy

            data = np.asarray(data)
            if dtype is None:
                dtype = getattr(self.namespace(), data.dtype.name)
            data = data.tolist()
        return self.namespace().asarray(data, dtype=dtype, device=self.native_device(device))

    def seed(self, seed):
        import numpy as np

        self._rng = np.random.default_rng(seed)

    def _random(self, fill, shape, dtype, device):
        import numpy as np

        if self._rng is None:
            self._rng = np.random.default_rng()
        values = fill(self._rng, shape).astype(str(dtype).rsplit(".", 1)[-1])
        return self.asarray(values, dtype, device)

    def random_normal(self, shape, dtype, device):
        return self._random(lambda rng, s: rng.standard_normal(s), shape, dtype, device)

    def random_uniform(self, shape, dtype, device):
        return self._random(lambda rng, s: rng.random(s), shape, dtype, device)


def _short_name(native):
    """``Device('device1')`` -> ``device1``; other device objects by their str()."""
    text = str(native)
    quoted = re.fullmatch(r".*\('([^']*)'\)", text)
    return quoted.group(1) if quoted else text


@hookimpl
def xpgrad_backends():
    # array-api-strict's devices without float64 or int64 exist to test dtype support,
    # not to compute on; they are left out of the device list.
    return [GenericBackend("array_api_strict", hidden_devices=("no_float64", "no_x64"))]
