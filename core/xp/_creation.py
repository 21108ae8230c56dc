"""Creation functions of the standard.

Most results are constants (they do not require grad). Three take arrays and are
differentiable in them: ``asarray`` of a Tensor (a cast or a copy is recorded),
``meshgrid`` (reshapes and broadcasts) and ``tril``/``triu`` (``where`` with a constant
mask). ``device=`` takes a Device, a device string (``"array_api_strict:device1"``) or
None for the default device; ``dtype=`` takes any backend's dtype or an xpgrad dtype
name.
"""
from xpgrad.creation import _from_data, resolve_dtype
from xpgrad.device import device_of_array, get_device
from xpgrad.dispatch import apply, batched
from xpgrad.dtypes import is_kind, of_native
from xpgrad.tensor import Tensor
from xpgrad.transfer import move_array

__all__ = ["arange", "asarray", "empty", "empty_like", "eye", "from_dlpack", "full", "full_like",
           "linspace", "meshgrid", "ones", "ones_like", "tril", "triu", "zeros", "zeros_like"]

_SCALARS = (bool, int, float, complex)


def _dev(device, like=None):
    """The Device for ``device=``, or ``like``'s device when it is None."""
    if device is None and like is not None:
        return like._dev
    return get_device(device)


def _dtype(dtype, dev):
    return resolve_dtype(dtype, dev)


def _shape(shape):
    """A shape argument (an int or a sequence of ints) as a tuple."""
    if isinstance(shape, int) and not isinstance(shape, bool):
        return (shape,)
    return tuple(int(s) for s in shape)


def _new(fn, *args, dtype=None, device=None):
    dev = _dev(device)
    return Tensor(getattr(dev.xp, fn)(*args, dtype=_dtype(dtype, dev), device=dev.native), dev)


# ---------------------------------------------------------------------- from data


def asarray(obj, /, *, dtype=None, device=None, copy=None):
    """An array from Python data, a backend array or a Tensor.

    Parameters
    ----------
    obj : Tensor, array, Python scalar or (nested) sequence of them
        The data. Python floats give the device's default floating-point dtype
        (float64 on NumPy), as the standard asks; ``xpgrad.tensor`` gives float32.
    dtype : dtype, optional
        The result's dtype (inferred from ``obj`` if None).
    device : Device or str, optional
        The result's device: ``obj``'s own for an array, else the default device.
    copy : bool, optional
        True: always copy. False: never copy (ValueError if a copy is needed).
        None: copy only if needed.

    Returns
    -------
    Tensor
        For a Tensor ``obj``, the result stays in its graph: a cast or a move is
        recorded, and ``copy=True`` records a copy.
    """
    if isinstance(obj, Tensor):
        return _asarray_tensor(obj, dtype, device, copy)
    own = device_of_array(obj) if not isinstance(obj, (list, tuple) + _SCALARS) else None
    if own is not None:
        return _asarray_array(obj, own, dtype, device, copy)
    dev = _dev(device)
    dt = _dtype(dtype, dev)
    if isinstance(obj, (list, tuple) + _SCALARS):
        if copy is False:
            raise ValueError("asarray(copy=False) cannot make an array from Python data without a copy; "
                             "pass copy=None or copy=True")
        return Tensor(dev.xp.asarray(_unwrap(obj), dtype=dt, device=dev.native), dev)
    # A foreign array or a buffer: the backend's own conversion (NumPy, DLPack, lists).
    if copy is False:
        raise ValueError(f"asarray(copy=False) cannot share the memory of a {type(obj).__name__} "
                         "with this device's arrays; pass copy=None or copy=True")
    raw, dev = _from_data(obj, dt, dev)
    return Tensor(raw, dev)


def _unwrap(obj):
    """Nested Python data with any 0-d Tensors in it replaced by their Python values."""
    if isinstance(obj, (list, tuple)):
        return [_unwrap(o) for o in obj]
    if isinstance(obj, Tensor):
        return obj._scalar(_python_kind(obj))
    return obj


def _python_kind(t):
    for kind, py in (("bool", bool), ("integral", int), ("real floating", float)):
        if is_kind(t.dtype, kind):
            return py
    return complex


def _asarray_tensor(x, dtype, device, copy):
    dev = _dev(device, x)
    dt = _dtype(dtype, dev)
    moved = dev is not x._dev
    cast = dt is not None and of_native(dt) is not x.dtype  # xpgrad's dtype objects: one per type
    if copy is False and (moved or cast):
        what = f"a move to {dev}" if moved else f"a cast to {dt}"
        raise ValueError(f"asarray(copy=False) would need {what}, which copies; pass copy=None")
    out = x.to_device(dev) if moved else x
    if cast:
        out = apply("astype", (out,), {"dtype": dt})
    if copy and out is x:
        out = apply("clone", (x,))
    return out


def _asarray_array(obj, own, dtype, device, copy):
    dev = _dev(device) if device is not None else own
    if dev is not own:
        if copy is False:
            raise ValueError(f"asarray(copy=False) would need a move from {own} to {dev}, which copies")
        obj, copy = move_array(obj, own, dev), None
    dt = _dtype(dtype, dev)
    return Tensor(dev.xp.asarray(obj, dtype=dt, copy=copy), dev)


def from_dlpack(x, /, *, device=None, copy=None):
    """An array from any object with ``__dlpack__`` (a Tensor, a NumPy array, ...).

    The result lives on ``device`` (by default, on ``x``'s own device if a registered
    backend owns it, else on the default device) and does not require grad. As in
    PyTorch, a Tensor that requires grad cannot be exported: pass ``t.detach()``.
    """
    if isinstance(x, Tensor):
        own = x._dev
    else:
        own = device_of_array(x)
    dev = _dev(device) if device is not None else (own or get_device(None))
    kwargs = {} if copy is None else {"copy": copy}
    if device is not None:
        kwargs["device"] = dev.native
    return Tensor(dev.xp.from_dlpack(x, **kwargs), dev)


# ---------------------------------------------------------------------- constants


def zeros(shape, *, dtype=None, device=None):
    """An array of zeros (the device's default floating-point dtype unless ``dtype``)."""
    return _new("zeros", _shape(shape), dtype=dtype, device=device)


def ones(shape, *, dtype=None, device=None):
    """An array of ones (the device's default floating-point dtype unless ``dtype``)."""
    return _new("ones", _shape(shape), dtype=dtype, device=device)


def empty(shape, *, dtype=None, device=None):
    """An uninitialised array."""
    return _new("empty", _shape(shape), dtype=dtype, device=device)


def full(shape, fill_value, *, dtype=None, device=None):
    """An array filled with ``fill_value`` (dtype inferred from it unless ``dtype``)."""
    if isinstance(fill_value, Tensor):
        fill_value = fill_value._scalar(_python_kind(fill_value))
    return _new("full", _shape(shape), fill_value, dtype=dtype, device=device)


def eye(n_rows, n_cols=None, /, *, k=0, dtype=None, device=None):
    """A 2-D array with ones on the ``k``-th diagonal."""
    dev = _dev(device)
    return Tensor(dev.xp.eye(n_rows, n_cols, k=k, dtype=_dtype(dtype, dev), device=dev.native), dev)


def arange(start, /, stop=None, step=1, *, dtype=None, device=None):
    """Evenly spaced values in ``[start, stop)`` (``[0, start)`` if ``stop`` is None)."""
    return _new("arange", start, stop, step, dtype=dtype, device=device)


def linspace(start, stop, /, num, *, dtype=None, device=None, endpoint=True):
    """``num`` evenly spaced values from ``start`` to ``stop``."""
    dev = _dev(device)
    raw = dev.xp.linspace(start, stop, num, dtype=_dtype(dtype, dev), device=dev.native,
                          endpoint=endpoint)
    return Tensor(raw, dev)


def _like(fn, x, *args, dtype, device):
    if batched(x):  # inside vmap: the same for every example, so one unbatched Tensor
        base = x
        while batched(base):
            base = base._value
        dev = _dev(device, base)
        dt = _dtype(x.dtype if dtype is None else dtype, dev)
        return Tensor(getattr(dev.xp, fn[:-5])(x.shape, *args, dtype=dt, device=dev.native), dev)
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}() takes a Tensor, got {type(x).__name__}; use xpgrad.xp.asarray first")
    dev = _dev(device, x)
    if dev is x._dev:
        return Tensor(getattr(dev.xp, fn)(x._data, *args, dtype=_dtype(dtype, dev), device=dev.native), dev)
    # On another device (maybe another library): from the shape, not from the array.
    dt = _dtype(x.dtype if dtype is None else dtype, dev)
    return Tensor(getattr(dev.xp, fn[:-5])(x.shape, *args, dtype=dt, device=dev.native), dev)


def zeros_like(x, /, *, dtype=None, device=None):
    """Zeros with the shape of ``x`` (and its dtype and device unless given)."""
    return _like("zeros_like", x, dtype=dtype, device=device)


def ones_like(x, /, *, dtype=None, device=None):
    """Ones with the shape of ``x`` (and its dtype and device unless given)."""
    return _like("ones_like", x, dtype=dtype, device=device)


def empty_like(x, /, *, dtype=None, device=None):
    """An uninitialised array with the shape of ``x`` (and its dtype and device unless given)."""
    return _like("empty_like", x, dtype=dtype, device=device)


def full_like(x, /, fill_value, *, dtype=None, device=None):
    """``fill_value`` in the shape of ``x`` (and its dtype and device unless given)."""
    return _like("full_like", x, fill_value, dtype=dtype, device=device)


# ---------------------------------------------------------------------- from arrays, differentiable


def meshgrid(*arrays, indexing="xy"):
    """Coordinate matrices from 1-D arrays, as a tuple; differentiable in each of them.

    Each result is its input reshaped and broadcast to the grid's shape, so the
    gradient of an input sums over the other axes. ``indexing="xy"`` (Cartesian) swaps
    the first two axes of the grid; ``"ij"`` (matrix) does not.
    """
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid(indexing=...) takes 'xy' or 'ij', got {indexing!r}")
    for a in arrays:
        if not isinstance(a, Tensor) or a.ndim != 1:
            raise ValueError(f"meshgrid takes 1-D arrays, got {_describe(a)}")
    n = len(arrays)
    sizes = [a.shape[0] for a in arrays]
    axes = list(range(n))
    if indexing == "xy" and n > 1:
        axes[0], axes[1] = 1, 0  # input i varies along result axis axes[i]
    grid = [0] * n
    for i, size in enumerate(sizes):
        grid[axes[i]] = size
    out = []
    for i, a in enumerate(arrays):
        shape = [1] * n
        shape[axes[i]] = sizes[i]
        r = apply("reshape", (a,), {"shape": tuple(shape)})
        out.append(apply("broadcast_to", (r,), {"shape": tuple(grid)}))
    return tuple(out)


def _describe(a):
    if isinstance(a, Tensor):
        return f"a {a.ndim}-d Tensor"
    return type(a).__name__


def _triangle(x, k, lower):
    if not isinstance(x, Tensor) and not batched(x):
        raise TypeError(f"{'tril' if lower else 'triu'}() takes a Tensor, got {type(x).__name__}")
    if x.ndim < 2:
        raise ValueError(f"{'tril' if lower else 'triu'}() takes an array of at least 2 dimensions, "
                         f"got shape {x.shape}")
    dev, xp = x._dev, x._dev.xp
    n_rows, n_cols = x.shape[-2], x.shape[-1]
    rows = xp.reshape(xp.arange(n_rows, device=dev.native), (n_rows, 1))
    cols = xp.reshape(xp.arange(n_cols, device=dev.native), (1, n_cols))
    # The mask is a constant: where(mask, x, 0) passes the gradient through the kept
    # triangle and gives zero elsewhere, at every order.
    mask = (cols - rows <= k) if lower else (cols - rows >= k)
    # the zero as a Python scalar of x's kind, so that it promotes to x's dtype
    zero = False if is_kind(x.dtype, "bool") else 0
    return apply("where", (Tensor(mask, dev), x, zero))


def tril(x, /, *, k=0):
    """The lower triangle of each matrix of ``x`` (on and below diagonal ``k``); zeros above.

    Differentiable: the gradient is the incoming one's lower triangle.
    """
    return _triangle(x, k, True)


def triu(x, /, *, k=0):
    """The upper triangle of each matrix of ``x`` (on and above diagonal ``k``); zeros below.

    Differentiable: the gradient is the incoming one's upper triangle.
    """
    return _triangle(x, k, False)
