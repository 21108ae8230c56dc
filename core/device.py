"""Devices: which backend and which of its devices an array lives on.

A Device pairs a backend with one of its devices and carries what the dispatcher needs
per op: the backend's namespace and its compiled op table. Two Tensors are on the same
device exactly when their Device objects are the same object, so the dispatcher checks
placement with one identity test. Devices are made under the registry's lock, so that
threads asking for one at the same time get the same object, and each is pointed at its
backend's new op table whenever the plugins change.
"""
import contextlib
import contextvars

from xpgrad.plugins import registry
from xpgrad.plugins.manager import get_plugin_manager

__all__ = ["Device", "device", "get_device", "device_of_array", "set_default_device",
           "get_default_device", "default_device", "DeviceError"]


class DeviceError(RuntimeError):
    """An unknown device, an unusable backend, or Tensors on different devices."""


class Device:
    """A backend and one of its devices (``"cpu"``, ``"cuda:0"``).

    Compares equal to its name, so ``t.device == "cpu"`` works; it is also what
    ``xpgrad.xp`` creation functions accept as ``device=``.
    """

    __slots__ = ("backend", "name", "native", "xp", "ops", "array_type")

    def __init__(self, backend, name):
        self.backend = backend
        self.name = name
        self.native = backend.native_device(name)
        self.xp = backend.namespace()
        self.ops = registry.table(backend.name)
        # What a Tensor on this device holds; anything else an op returns (NumPy's
        # scalars, from arithmetic on 0-d arrays) is coerced to it when wrapped.
        self.array_type = backend.array_type()

    @property
    def type(self):
        """The device type: the name before any ``:index`` (``"cuda"`` for ``"cuda:1"``), as ``torch.device.type``."""
        return self.name.split(":")[0]

    @property
    def index(self):
        """The device index after the ``:`` in the name, or None, as ``torch.device.index``."""
        _, _, idx = self.name.partition(":")
        return int(idx) if idx.isdigit() else None

    def __eq__(self, other):
        if isinstance(other, Device):
            return self is other or self.name == other.name and self.backend is other.backend
        if isinstance(other, str):
            return other == self.name or other == self.type and self.index in (None, 0)
        return NotImplemented

    def __hash__(self):
        return hash(self.name)

    def __str__(self):
        return self.name

    def __repr__(self):
        return f"device({self.name!r})"


_DEVICES = {}  # canonical device name -> Device
_BY_TYPE = {}  # array type -> Device (one-device backend) or Backend (ask it per array)
_DEFAULT = contextvars.ContextVar("xpgrad_default_device", default="cpu")


def _backend_for_prefix(prefix):
    for b in registry.backends().values():
        if b.device_prefix == prefix:
            return b
    return None


def get_device(spec=None):
    """The Device for ``spec``: a Device, a device string, or None for the default."""
    if isinstance(spec, Device):
        return spec
    if spec is None:
        spec = _DEFAULT.get()
        if isinstance(spec, Device):
            return spec
    dev = _DEVICES.get(spec)
    if dev is not None:
        return dev
    if not isinstance(spec, str):
        raise TypeError(f"device must be a string such as 'cpu' or 'cuda:0', got {spec!r}")
    get_plugin_manager()
    with registry.LOCK:
        dev = _DEVICES.get(spec)
        if dev is None:
            dev = _new_device(spec)
    return dev


def _new_device(spec):
    prefix = spec.split(":")[0]
    backend = _backend_for_prefix(prefix)
    if backend is None:
        known = sorted({b.device_prefix for b in registry.backends().values()})
        raise DeviceError(f"unknown device {spec!r}: the backends registered here serve {known}")
    ok, why = backend.is_available()
    if not ok:
        raise DeviceError(f"device {spec!r} needs the {backend.name} backend, which cannot run here: {why}")
    devices = backend.devices()
    name = spec if spec in devices else (devices[0] if spec == prefix and devices else None)
    if name is None:
        raise DeviceError(f"unknown device {spec!r}: the {backend.name} backend has devices {devices}")
    dev = _DEVICES.get(name)
    if dev is None:
        dev = _DEVICES[name] = Device(backend, name)
        if len(devices) == 1:
            for t in backend.array_types():
                _BY_TYPE[t] = dev
        else:
            for t in backend.array_types():
                _BY_TYPE.setdefault(t, backend)
    _DEVICES[spec] = dev
    return dev


def _take_new_tables():
    """After a rebuild of the registry (under its lock): every Device reads its backend's
    new op table from now on."""
    for dev in {id(d): d for d in list(_DEVICES.values())}.values():
        dev.ops = registry.table(dev.backend.name)


registry.on_rebuild(_take_new_tables)


device = get_device


def device_of_array(raw):
    """The Device of a backend array, or None if no registered backend owns it."""
    found = _BY_TYPE.get(type(raw))
    if found is None:
        get_plugin_manager()
        for backend in registry.backends().values():
            try:
                types = backend.array_types()
            except Exception:
                continue
            if isinstance(raw, types):
                found = backend
                break
        else:
            return None
    if isinstance(found, Device):
        return found
    return get_device(found.device_of(raw))


def set_default_device(spec):
    """Make ``spec`` the device that creation functions use when none is given.

    The setting is a context variable: it holds for the current thread (and asyncio
    tasks started from it afterwards), never for other threads. :func:`default_device`
    sets it for a ``with`` block only.
    """
    _DEFAULT.set(get_device(spec))


def get_default_device():
    """The Device that creation functions use when none is given (``"cpu"`` unless set)."""
    return get_device(None)


@contextlib.contextmanager
def default_device(spec):
    """Within the ``with`` block, creation functions without ``device=`` use ``spec``.

    >>> with xpgrad.default_device("array_api_strict"):
    ...     w = xpgrad.randn(3, 3)       # on array_api_strict
    >>> xpgrad.ones(2).device            # the previous default again
    device('cpu')

    Thread- and task-local (a context variable), nestable, and restored on the way out
    even when the block raises. It applies to Python data and creation functions
    (``ones``, ``randn``, ``tensor([...])``, ``arange``); a Tensor made from an existing
    array keeps that array's device, and ops compute wherever their inputs live.
    """
    dev = get_device(spec)
    token = _DEFAULT.set(dev)
    try:
        yield dev
    finally:
        _DEFAULT.reset(token)
