"""``xpgrad.xp.__array_namespace_info__()``: what this namespace supports, and where.

The answers come from the backends registered (see :mod:`xpgrad.device`): the devices
are every usable device of every registered backend, and a device's default and
supported dtypes are its library's (as xpgrad's dtype objects, which are the same on
every device). Every function that takes ``device=`` answers for that device.
"""
from xpgrad.device import get_default_device, get_device
from xpgrad.dtypes import BY_NAME, of_native

__all__ = ["__array_namespace_info__"]

_KINDS = {
    "bool": ("bool",),
    "signed integer": ("int8", "int16", "int32", "int64"),
    "unsigned integer": ("uint8", "uint16", "uint32", "uint64"),
    "integral": ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"),
    "real floating": ("float32", "float64"),
    "complex floating": ("complex64", "complex128"),
    "numeric": ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                "float32", "float64", "complex64", "complex128"),
}


class Info:
    """The inspection object of the standard (``__array_namespace_info__()``)."""

    __module__ = "xpgrad.xp"

    def capabilities(self, *, device=None):
        """What ``device``'s library supports (the default device's if None): ``"boolean
        indexing"``, ``"data-dependent shapes"`` and ``"max dimensions"``. (The standard's
        ``capabilities()`` takes no device; xpgrad answers per device as its other
        inspection functions do.)"""
        dev = get_device(device)
        caps = dict(_backend_info(dev).capabilities())
        if dev.backend.name == "dask":
            # A lazy graph does not know the shape of a mask's selection: xpgrad's dask
            # device refuses boolean masks (see xpgrad.backends.generic).
            caps["boolean indexing"] = caps["data-dependent shapes"] = False
        return caps

    def default_device(self):
        """The device that creation functions use when given none."""
        return get_default_device()

    def devices(self):
        """Every usable device of every registered backend, the default device first, as
        a tuple."""
        from xpgrad.plugins import registry
        from xpgrad.plugins.manager import get_plugin_manager

        get_plugin_manager()
        found = [get_default_device()]
        for backend in registry.backends().values():
            ok, _ = backend.is_available()
            if not ok:
                continue
            for name in backend.devices():
                dev = get_device(name)
                if all(dev is not d for d in found):
                    found.append(dev)
        return tuple(found)

    def default_dtypes(self, *, device=None):
        """The default dtypes of ``device`` (the default device if None), by kind:
        ``"real floating"``, ``"complex floating"``, ``"integral"``, ``"indexing"``."""
        dev = get_device(device)
        return {kind: of_native(dt) for kind, dt in _backend_info(dev).default_dtypes(device=dev.native).items()}

    def dtypes(self, *, device=None, kind=None):
        """The dtypes ``device`` supports, by name, of ``kind`` (a kind name, a tuple of
        them, or None for all)."""
        dev = get_device(device)
        xp = dev.xp
        supported = _backend_info(dev).dtypes(device=dev.native)
        names = set(_names_of_kind(kind))
        return {name: BY_NAME[name] for name in supported if name in names and hasattr(xp, name)}

    def __repr__(self):
        return "<xpgrad.xp.__array_namespace_info__()>"


def _names_of_kind(kind):
    if kind is None:
        return _KINDS["bool"] + _KINDS["numeric"]
    if isinstance(kind, tuple):
        return tuple(name for k in kind for name in _names_of_kind(k))
    if kind not in _KINDS:
        raise ValueError(f"unknown dtype kind {kind!r}; the kinds are {sorted(_KINDS)}")
    return _KINDS[kind]


def _backend_info(dev):
    return dev.xp.__array_namespace_info__()


def __array_namespace_info__():
    """The inspection object of the standard: devices, default dtypes, capabilities."""
    return Info()
