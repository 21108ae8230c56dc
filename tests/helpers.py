"""Small helpers the test modules share: reading a Tensor's values on any backend."""
import numpy as np

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
