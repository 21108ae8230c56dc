"""Small helpers the test modules share: reading a Tensor's values on any backend, the
first- and second-order gradient checks every op test makes, and the complex gradient
check (PyTorch's ``dL/dx + i dL/dy`` against finite differences)."""
import numpy as np

import xpgrad
from xpgrad.plugins import hookimpl
from xpgrad.testing import assert_close  # noqa: F401 (the one the tests use: values, shape, dtype, device)

RTOL, ATOL = 1e-5, 1e-6  # for float32 results


def values(t):
    """The values of a Tensor as a float64 NumPy array, by way of Python lists (works for
    every backend, whatever its device)."""
    return np.array(t.detach().tolist(), dtype=np.float64)




def ops_plugin(*ops):
    """A plugin object (a class instance) whose xpgrad_ops hook answers ``ops``."""

    class OpsPlugin:
        @hookimpl
        def xpgrad_ops(self):
            return list(ops)

    return OpsPlugin()


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


# ---------------------------------------------------------------------- complex gradients


def _real_loss(out, a, b):
    """L = sum(real(out) * a + imag(out) * b): a real function of a complex result (of a
    real result: sum(out * a))."""
    from xpgrad import xp

    if "complex" in str(out.dtype):
        return xp.sum(xp.real(out) * a + xp.imag(out) * b)
    return xp.sum(out * a)


def complex_gradient_check(fn, datas, device, eps=1e-6, rtol=1e-5, atol=1e-7, differentiates=False):
    """Each complex input's gradient against PyTorch's convention, ``dL/dx + i dL/dy``,
    by central differences in the real and imaginary part of every element, for the
    real loss ``L = sum(real(out) * a + imag(out) * b)`` (summed over the outputs when
    ``fn`` returns a tuple) with fixed random weights ``a``, ``b`` shaped like each
    output. ``datas`` are the inputs' values (nested lists of complex numbers), made
    complex128 Tensors. ``differentiates``: ``fn`` itself computes a gradient (a
    second-order check), so the finite differences run with grad enabled."""
    import contextlib

    c128, f64 = xpgrad.complex128, xpgrad.float64
    rng = np.random.default_rng(1)
    zs = [xpgrad.tensor(d, dtype=c128, device=device, requires_grad=True) for d in datas]
    outs = fn(*zs)
    outs = tuple(outs) if isinstance(outs, (tuple, list)) else (outs,)
    weights = []
    for out in outs:
        shape = tuple(out.shape)
        weights.append((xpgrad.tensor(rng.standard_normal(shape).tolist(), dtype=f64, device=device),
                        xpgrad.tensor(rng.standard_normal(shape).tolist(), dtype=f64, device=device)))

    def total(outs):
        outs = tuple(outs) if isinstance(outs, (tuple, list)) else (outs,)
        loss = None
        for out, (a, b) in zip(outs, weights):
            part = _real_loss(out, a, b)
            loss = part if loss is None else loss + part
        return loss

    grads = xpgrad.autograd.grad(total(outs), zs)

    def loss_at(arrays):
        with contextlib.nullcontext() if differentiates else xpgrad.no_grad():
            ts = [xpgrad.tensor(arr.tolist(), dtype=c128, device=device, requires_grad=differentiates)
                  for arr in arrays]
            return float(total(fn(*ts)))

    for k, (d, g) in enumerate(zip(datas, grads)):
        assert g.dtype == zs[k].dtype
        base = [np.asarray(x, dtype=np.complex128) for x in datas]
        expected = np.zeros(np.shape(d), dtype=np.complex128)
        for idx in np.ndindex(np.shape(d)):
            for unit in (1.0, 1j):
                plus = [x.copy() for x in base]
                minus = [x.copy() for x in base]
                plus[k][idx] += eps * unit
                minus[k][idx] -= eps * unit
                expected[idx] += unit * (loss_at(plus) - loss_at(minus)) / (2 * eps)
        np.testing.assert_allclose(np.asarray(g.detach().tolist()), expected, rtol=rtol, atol=atol)
