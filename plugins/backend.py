"""The backend definition: what xpgrad needs to know about one array library.

A backend is a plugin answer to the ``xpgrad_backends`` hook. The engine never imports
an array library itself: it asks the backends which of them owns an array, and each
backend hands out its array API namespace, its devices and the few things the standard
does not cover (random numbers, moving data, writing into storage).
"""

__all__ = ["Backend", "BackendUnavailable"]


class BackendUnavailable(RuntimeError):
    """The backend's library is missing or cannot run here (no GPU, say)."""


class Backend:
    """Base class for backends; subclasses override what their library needs.

    Attributes
    ----------
    name : str
        The backend's name, as ops name it in ``Op(backends=...)`` (``"numpy"``).
    library : str
        The import name of its array library; the library is imported only when the
        backend is first used.
    device_prefix : str
        The device strings it serves: ``"cpu"``, or ``"cuda"`` for ``"cuda"`` and
        ``"cuda:N"``.
    """

    name = None
    library = None
    device_prefix = None

    # ---------------------------------------------------------------- discovery

    def is_available(self):
        """Return ``(True, "")`` if the backend can run here, else ``(False, why)``."""
        try:
            self.namespace()
        except Exception as exc:  # a broken library is reported, never fatal
            return False, f"{type(exc).__name__}: {exc}"
        return True, ""

    def version(self):
        """The library's version string, or ``None`` if it is not importable."""
        import importlib

        try:
            return importlib.import_module(self.library).__version__
        except Exception:
            return None

    def array_types(self):
        """The array classes this backend owns (used to cache dispatch per type)."""
        raise NotImplementedError

    def namespace(self):
        """The array API namespace that computes on this backend's arrays."""
        raise NotImplementedError

    def array_type(self):
        """The one array class a Tensor of this backend holds (see :meth:`coerce`)."""
        return type(self.namespace().asarray(0))

    def coerce(self, value):
        """``value``, an op's result that is not of :meth:`array_type`, as one that is.

        NumPy returns scalars, not 0-d arrays, from arithmetic on 0-d arrays; a Tensor
        must hold an array (something in-place ops can write into).
        """
        return value

    # ---------------------------------------------------------------- devices

    def devices(self):
        """Device strings usable here, the default first (``["cpu"]``)."""
        return [self.device_prefix]

    def device_of(self, array):
        """The device string of an array this backend owns."""
        return self.device_prefix

    def native_device(self, device):
        """The library's own device object for a device string."""
        return None

    def to_device(self, array, device):
        """Copy ``array`` to ``device`` (a device string of this backend)."""
        return array

    # ---------------------------------------------------------------- data

    def asarray(self, data, dtype, device):
        """An array of this backend from Python data or another array."""
        xp = self.namespace()
        return xp.asarray(data, dtype=dtype, device=self.native_device(device))

    def to_numpy(self, array):
        """A NumPy array with the same values (for printing and ``Tensor.numpy()``)."""
        raise NotImplementedError

    def write(self, dst, src):
        """Write ``src`` into ``dst``'s storage, in place (``Tensor.add_`` and friends)."""
        dst[...] = src

    def accumulate(self, dst, src):
        """Add ``src`` into ``dst`` in place (a second backward adding to ``.grad``)."""
        dst[...] = dst + src

    def may_alias(self, array, held=0):
        """Whether ``array`` may share memory with an array someone else holds.

        The engine copies such a gradient before it becomes a leaf's ``.grad``, so that
        an in-place change to one ``.grad`` never shows up in another. Backends that can
        tell a fresh array from a view or a shared one say so here and save the copy.
        ``held`` is how many references to ``array`` the caller itself holds (besides
        the argument): those do not count as someone else's.
        """
        return True

    def seed(self, seed):
        """Reseed this backend's random number generator."""

    def random_normal(self, shape, dtype, device):
        raise NotImplementedError

    def random_uniform(self, shape, dtype, device):
        raise NotImplementedError

    def __repr__(self):
        return f"<Backend {self.name} ({self.library})>"
