"""Creation functions of the standard: constants, so their results do not require grad."""
from xpgrad.device import get_device
from xpgrad.tensor import Tensor

__all__ = ["asarray", "zeros", "ones", "empty", "full", "eye", "arange", "zeros_like", "ones_like", "empty_like", "full_like"]


def _dev(device, like=None):
    if device is None and like is not None:
        return like._dev
    return get_device(device)


def asarray(obj, /, *, dtype=None, device=None, copy=None):
    if isinstance(obj, Tensor) and dtype in (None, obj.dtype) and device in (None, obj.device) \
            and not copy:
        return obj
    from xpgrad.creation import _from_data

    raw, dev = _from_data(obj, dtype, device)
    return Tensor(raw, dev)


def _make(fn, *args, dtype=None, device=None, like=None):
    dev = _dev(device, like)
    return Tensor(getattr(dev.xp, fn)(*args, dtype=dtype, device=dev.native), dev)


def zeros(shape, *, dtype=None, device=None):
    return _make("zeros", shape, dtype=dtype, device=device)


def ones(shape, *, dtype=None, device=None):
    return _make("ones", shape, dtype=dtype, device=device)


def empty(shape, *, dtype=None, device=None):
    return _make("empty", shape, dtype=dtype, device=device)


def full(shape, fill_value, *, dtype=None, device=None):
    return _make("full", shape, fill_value, dtype=dtype, device=device)


def eye(n_rows, n_cols=None, /, *, k=0, dtype=None, device=None):
    dev = _dev(device)
    return Tensor(dev.xp.eye(n_rows, n_cols, k=k, dtype=dtype, device=dev.native), dev)


def arange(start, /, stop=None, step=1, *, dtype=None, device=None):
    return _make("arange", start, stop, step, dtype=dtype, device=device)


def _like(fn, x, *args, dtype, device):
    dev = _dev(device, x)
    return Tensor(getattr(dev.xp, fn)(x._data, *args, dtype=dtype, device=dev.native), dev)


def zeros_like(x, /, *, dtype=None, device=None):
    return _like("zeros_like", x, dtype=dtype, device=device)


def ones_like(x, /, *, dtype=None, device=None):
    return _like("ones_like", x, dtype=dtype, device=device)


def empty_like(x, /, *, dtype=None, device=None):
    return _like("empty_like", x, dtype=dtype, device=device)


def full_like(x, /, fill_value, *, dtype=None, device=None):
    return _like("full_like", x, fill_value, dtype=dtype, device=device)
