"""Manipulation functions of the standard (shapes, layouts), differentiable."""
from xpgrad.dispatch import apply

__all__ = ["reshape", "permute_dims", "broadcast_to", "expand_dims", "squeeze", "astype"]


def reshape(x, /, shape, *, copy=None):
    return apply("reshape", (x,), {"shape": tuple(shape)})


def permute_dims(x, /, axes):
    return apply("permute_dims", (x,), {"axes": tuple(axes)})


def broadcast_to(x, /, shape):
    return apply("broadcast_to", (x,), {"shape": tuple(shape)})


def expand_dims(x, /, *, axis=0):
    return apply("expand_dims", (x,), {"axis": axis})


def squeeze(x, /, axis):
    return apply("squeeze", (x,), {"axis": axis})


def astype(x, dtype, /, *, copy=True, device=None):
    if device is not None:
        x = x.to_device(device)  # an explicit move, recorded (see xpgrad.transfer)
    from xpgrad.creation import resolve_dtype

    dtype = resolve_dtype(dtype, x._dev)
    if dtype == x.dtype and not copy:
        return x
    return apply("astype", (x,), {"dtype": dtype})
