"""Small helpers the test modules share: reading a Tensor's values on any backend, and
the first- and second-order gradient checks every op test makes."""
import numpy as np

import xpgrad

RTOL, ATOL = 1e-5, 1e-6  # for float32 results


def values(t):
    """The values of a Tensor as a float64 NumPy array, by way of Python lists (works for
    every backend, whatever its device)."""
    return np.array(t.detach().tolist(), dtype=np.float64)


def assert_close(t, expected, rtol=1e-6, atol=1e-6):
    np.testing.assert_allclose(values(t), np.asarray(expected, dtype=np.float64), rtol=rtol, atol=atol)


def dtype_name(dt):
    """``float32`` for any backend's float32 (``array_api_strict.float32`` too)."""
    return str(dt).rsplit(".", 1)[-1]


def is_float32(t):
    return t.dtype == t.device.xp.float32


def check(fn, inputs):
    """Assert that ``fn``'s first and second derivatives at ``inputs`` are right."""
    assert xpgrad.gradcheck(fn, inputs)
    assert xpgrad.gradgradcheck(fn, inputs)


def check_broadcasting(fn, a, b, shapes):
    """A binary ``fn`` of inputs of the two broadcasting ``shapes``: the result's shape,
    first and second derivatives, and first-order gradients in each input's own shape."""
    assert fn(a, b).shape == np.broadcast_shapes(*shapes)
    check(fn, (a, b))
    fn(a, b).sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape
