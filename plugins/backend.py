"""The backend definition: what xpgrad needs to know about one array library.

A backend is a plugin answer to the ``xpgrad_backends`` hook. The engine never imports
an array library itself: it asks the backends which of them owns an array, and each
backend hands out its array API namespace, its devices and the few things the standard
does not cover (random numbers, moving data, writing into storage).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["Backend", "BackendUnavailable"]


def _conj(xp: Any, d: Any) -> Any:
    """``conj(d)`` for a complex derivative, ``d`` itself for a real one."""
    if type(d) is complex:
        return d.conjugate()
    if type(d) in (int, float, bool) or "complex" not in str(d.dtype):
        return d
    return xp.conj(d)


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
    install : str or None
        The command that installs the library (``'pip install "xpgrad[cuda]"'``), shown
        by ``python -m xpgrad`` when it is missing; ``pip install <library>`` if None.
    mutable : bool
        Whether its arrays can be written in place. JAX's cannot: its :meth:`write`
        raises, and :meth:`accumulate` returns the sum instead.
    reuses_memory : bool
        Whether :meth:`fresh` can ever say yes: only then does the engine ask an array's
        size and ownership to write into it (NumPy, PyTorch, CuPy). False by default, as
        :meth:`fresh` is.
    elides_temporaries : bool
        Whether :meth:`elementwise_into` can ever compute into a temporary: only then,
        with temporaries turned on, does the dispatcher look for temporaries (reference
        counts, sizes) on this backend's Tensors at all (NumPy). False by default, as
        :meth:`elementwise_into` declines.
    """

    # None here; every backend sets them (typed as what it sets)
    name: str = None  # type: ignore[assignment]
    library: str = None  # type: ignore[assignment]
    device_prefix: str = None  # type: ignore[assignment]
    install: str | None = None
    mutable: bool = True
    reuses_memory: bool = False
    elides_temporaries: bool = False

    # ---------------------------------------------------------------- discovery

    def is_available(self) -> tuple[bool, str]:
        """Return ``(True, "")`` if the backend can run here, else ``(False, why)``."""
        try:
            self.namespace()
        except Exception as exc:  # a broken library is reported, never fatal
            return False, f"{type(exc).__name__}: {exc}"
        return True, ""

    def version(self) -> str | None:
        """The library's version string, or ``None`` if it is not importable."""
        import importlib

        try:
            return importlib.import_module(self.library).__version__
        except Exception:
            return None

    def array_types(self) -> tuple[type, ...]:
        """The array classes this backend owns (used to cache dispatch per type)."""
        raise NotImplementedError

    def namespace(self) -> Any:
        """The array API namespace that computes on this backend's arrays."""
        raise NotImplementedError

    def array_type(self) -> type:
        """The one array class a Tensor of this backend holds (see :meth:`coerce`)."""
        return type(self.namespace().asarray(0))

    def coerce(self, value: Any) -> Any:
        """``value``, an op's result that is not of :meth:`array_type`, as one that is.

        NumPy returns scalars, not 0-d arrays, from arithmetic on 0-d arrays; a Tensor
        must hold an array (something in-place ops can write into).
        """
        return value

    # ---------------------------------------------------------------- devices

    def devices(self) -> list[str]:
        """Device strings usable here, the default first (``["cpu"]``)."""
        return [self.device_prefix]

    def device_of(self, array: Any) -> str:
        """The device string of an array this backend owns."""
        return self.device_prefix

    def native_device(self, device: str) -> Any:
        """The library's own device object for a device string."""
        return None

    def to_device(self, array: Any, device: str) -> Any:
        """Copy ``array`` to ``device``, another device string of this backend.

        Called only to move between two different devices of this backend, so a
        backend with a single device never sees it. The result must not share memory
        with ``array``.
        """
        return array

    def from_foreign(self, array: Any, device: str, source: Backend) -> Any:
        """A copy of ``array``, an array of another backend (``source``), on ``device``.

        This is the one way data crosses from one array library to another, and only
        when asked (``Tensor.to``, ``xpgrad.tensor(..., device=)``). The default tries
        DLPack first (the standard's ``from_dlpack(array, device=, copy=True)``), then
        goes through the host: ``source.to_numpy(array)``, copied, then :meth:`asarray`.
        The result must not share memory with ``array``.
        """
        try:
            return self.namespace().from_dlpack(array, device=self.native_device(device), copy=True)
        except Exception:  # no DLPack path between these two (device, version): via NumPy
            pass
        import numpy as np

        host = np.array(source.to_numpy(array), copy=True)
        return self.asarray(host, None, device)

    # ---------------------------------------------------------------- data

    def asarray(self, data: Any, dtype: Any, device: str) -> Any:
        """An array of this backend from Python data or another array."""
        xp = self.namespace()
        return xp.asarray(data, dtype=dtype, device=self.native_device(device))

    def to_numpy(self, array: Any) -> Any:
        """A NumPy array with the same values (for printing and ``Tensor.numpy()``)."""
        raise NotImplementedError

    def compute(self, arrays: Sequence[Any]) -> tuple[Any, ...]:
        """The concrete values of ``arrays``, this backend's arrays, computed together.

        ``xpgrad.compute`` and ``Tensor.compute`` call this once per backend with all
        the arrays asked of it, so that a lazy library can compute them in one pass:
        the parts of their graphs they share are then computed once. The default, for
        an eager library, returns the arrays themselves (no copy).

        Parameters
        ----------
        arrays : sequence of array
            Arrays this backend owns, on any of its devices.

        Returns
        -------
        tuple of array
            One concrete array per array of ``arrays``, in the same order.
        """
        return tuple(arrays)

    def write(self, dst: Any, src: Any) -> None:
        """Write ``src`` into ``dst``'s storage, in place (``Tensor.add_`` and friends).

        A backend whose arrays cannot be written (JAX) raises an error saying so.
        """
        dst[...] = src

    # ---------------------------------------------------------------- gradients
    # The engine writes in place only into arrays it can prove are its own: results it
    # made itself, and results of the built-in rules that are no array the rule was
    # handed (``fresh``). These three methods say, per library, what "fresh" is and how
    # to compute into such an array; the defaults never write in place.

    def fresh(self, array: Any) -> bool:
        """Whether ``array`` is a new, writable array with memory of its own (no view of another).

        An op's result is one. The engine asks this of what a rule returned, after
        checking it is none of the arrays the rule was handed: only then may it write
        into it or hand it out without a copy. The default says no. Asked only where
        :attr:`reuses_memory` is True: a backend that overrides it sets that too.
        """
        return False

    def chain(self, g: Any, d: Any, g_free: bool, d_free: bool) -> tuple[Any, bool]:
        """Chain a cotangent ``g`` through an elementwise derivative ``d``: ``(g * conj(d), free)``.

        ``d`` is an array broadcasting with ``g``, or a Python number; ``free`` says
        whether the result is an array the engine may write into.

        ``g_free`` and ``d_free`` say whether the engine owns ``g`` and ``d`` and no one
        reads them after this: the product may then be written into one of them. Where
        ``g`` is a broadcast one the product is ``d`` itself (free only if ``d`` is). The
        default multiplies into a new array. Called only where :attr:`reuses_memory` is
        True (elsewhere the rule's own product runs).
        """
        p = g * _conj(self.namespace(), d)
        return p, self.fresh(p)

    def add_into(self, dst: Any, src: Any) -> Any:
        """``dst + src``, written into ``dst`` and returned where the library can, else a new array.

        The engine sums with it the gradients an input receives from several
        consumers, ``dst`` being an array the engine owns (see :meth:`fresh`).
        ``dst`` and ``src`` have the same shape and dtype.
        """
        return dst + src

    def elementwise_into(self, name: str, args: tuple[Any, ...], into: int, held: int) -> Any:
        """The standard's elementwise function ``name`` of ``args``, computed into ``args[into]``.

        ``name`` is, say, ``exp`` or ``add``, and ``args`` are arrays, or an array and a
        Python scalar. The result is computed into the memory of ``args[into]`` and
        returned, or None is returned where this backend will not.

        The dispatcher asks this only where the user turned temporaries on
        (``xpgrad.set_temporaries_enabled``), for a temporary: an argument of an op
        declared ``elementwise``, a Tensor nothing else can reach over memory xpgrad
        allocated, whose array the graph does not save. The backend makes the final
        checks: ``args[into]`` is no view and no one else holds it (``held`` references
        are the dispatcher's own, besides this call's), and the result has its dtype and
        shape. The default declines: the op runs out of place.
        """
        return None

    def update(self, name: str, dst: Any, other: Any) -> Any:
        """``dst = name(dst, other)`` computed into ``dst``'s memory, one pass, no new array.

        ``name`` is ``add``, ``subtract``, ``multiply`` or ``divide``: the in-place
        arithmetic of ``t += u``, ``t.sub_(u)`` and friends where nothing is recorded (no
        grad mode, or nothing requires grad: an optimizer's step). ``other`` is an array
        of this backend on ``dst``'s device, or a Python scalar. Return ``dst`` where the
        result has ``dst``'s dtype and shape and ``dst`` can be written, else None:
        xpgrad then computes out of place and writes (and raises the errors). The
        default returns None.
        """
        return None

    def shares_memory(self, result: Any, array: Any) -> bool | None:
        """Whether ``result`` shares memory with ``array``: True, False, or None if unknown.

        ``result`` is what an op declared ``view`` returned and ``array`` its first
        argument; None means this backend cannot tell.

        A view makes writes through either array visible in the other, so the
        dispatcher tracks it (the graph is rewritten when one is written in place).
        Where the answer is None the dispatcher copies ``result``, so that no alias it
        cannot see exists. A library without views (dask, JAX) answers False.
        """
        return None

    def seed(self, seed: int) -> None:
        """Reseed this backend's random number generator."""

    def random_normal(self, shape: tuple[int, ...], dtype: Any, device: str) -> Any:
        """A new array of ``shape`` and ``dtype`` on ``device``, drawn from the standard normal.

        It comes from this backend's random number generator (see :meth:`seed`);
        ``xpgrad.randn`` calls it. The default raises NotImplementedError.
        """
        raise NotImplementedError

    def random_uniform(self, shape: tuple[int, ...], dtype: Any, device: str) -> Any:
        """A new array of ``shape`` and ``dtype`` on ``device``, drawn uniformly from [0, 1).

        It comes from this backend's random number generator (see :meth:`seed`);
        ``xpgrad.rand`` calls it. The default raises NotImplementedError.
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<Backend {self.name} ({self.library})>"
