"""The example's ops on every backend: values, stability, first and second derivatives.

The ``backend`` and ``make`` fixtures and ``check_grads`` come from xpgrad's pytest
plugin (``-p xpgrad.testing``, set in pyproject.toml): every test that takes ``make``
runs once per backend device (numpy, array_api_strict, ..., cupy where there is a GPU).
"""
import math
import os

import numpy as np
import pytest

import xpgrad
import xpgrad_plugin_example
from xpgrad.plugins import list_plugins, registry
from xpgrad.plugins.manager import DISABLE_AUTOLOAD_ENV, get_plugin_manager
from xpgrad.testing import check_grads
from xpgrad_plugin_example import logsumexp, softplus

AXES = [None, 0, 1, -1, (0, 1)]


def values(t):
    return np.array(t.detach().tolist(), dtype=np.float64)


def np_softplus(x):
    return np.logaddexp(0.0, x)


def np_logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


# ---------------------------------------------------------------------- discovery


def test_ops_are_discovered_through_the_entry_point():
    # Nothing here calls xpgrad.plugins.register(): installing the package is enough.
    if os.environ.get(DISABLE_AUTOLOAD_ENV):
        pytest.fail(f"{DISABLE_AUTOLOAD_ENV} is set, so xpgrad does not load entry points")
    get_plugin_manager()
    assert "example" in list_plugins(), (
        "the entry point was not loaded: install the package "
        f"(pip install ./examples/xpgrad-plugin-example); broken plugins: {registry.broken()}"
    )
    for name in ("softplus", "logsumexp"):
        providers = [op.plugin for op in registry.all_ops().get(name, [])]
        assert providers == ["example"], (name, providers)
        assert registry.ops()[name].plugin == "example"
    plugin = get_plugin_manager().get_plugin("example")
    assert plugin is xpgrad_plugin_example.ops


# ---------------------------------------------------------------------- values


def test_softplus_matches_numpy(backend, make):
    x = make((3, 4))
    y = softplus(x)
    assert y.device == backend.device and y.shape == (3, 4) and y.dtype == x.dtype
    np.testing.assert_allclose(values(y), np_softplus(values(x)), rtol=1e-12, atol=1e-15)
    assert type(softplus(make((2,), requires_grad=True)).grad_fn).__name__ == "SoftplusBackward0"


def test_softplus_keeps_float32(make):
    x = make([-2.0, 0.0, 3.0], dtype=xpgrad.float32)
    y = softplus(x)
    assert y.dtype == x.dtype
    np.testing.assert_allclose(values(y), np_softplus(np.array([-2.0, 0.0, 3.0])), rtol=1e-6)


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES)
def test_logsumexp_matches_numpy(make, axis, keepdims):
    x = make((3, 4))
    y = logsumexp(x, axis=axis, keepdims=keepdims)
    expected = np_logsumexp(values(x), axis=axis, keepdims=keepdims)
    assert y.shape == expected.shape
    np.testing.assert_allclose(values(y), expected, rtol=1e-12)


def test_logsumexp_of_a_0d_tensor_is_itself(make):
    y = logsumexp(make(2.5))
    assert y.shape == () and y.item() == 2.5


# ---------------------------------------------------------------------- stability


def test_softplus_does_not_overflow(make):
    x = make([1000.0, -1000.0, 0.0, 50.0], requires_grad=True)
    y = softplus(x)
    out = values(y)
    assert np.all(np.isfinite(out))
    assert out[0] == 1000.0 and out[1] == 0.0 and out[2] == math.log(2.0) and out[3] == 50.0
    y.sum().backward()
    grad = values(x.grad)
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, [1.0, 0.0, 0.5, 1.0], atol=1e-15)


def test_softplus_second_derivative_is_finite_far_out(make):
    x = make([1000.0, -1000.0, 0.0], requires_grad=True)
    (g,) = xpgrad.autograd.grad(softplus(x).sum(), x, create_graph=True)
    (h,) = xpgrad.autograd.grad(g.sum(), x)
    h = values(h)
    assert np.all(np.isfinite(h))
    np.testing.assert_allclose(h, [0.0, 0.0, 0.25], atol=1e-15)  # sigmoid' = s (1 - s)


def test_logsumexp_does_not_overflow(make):
    x = make([1000.0, 1000.0], requires_grad=True)
    y = logsumexp(x)
    assert math.isfinite(y.item())
    assert y.item() == pytest.approx(1000.0 + math.log(2.0), rel=1e-15)
    y.backward()
    # exp(x - out), with out = 1000 + log 2 rounded at the scale of 1000 (ulp 1e-13)
    np.testing.assert_allclose(values(x.grad), [0.5, 0.5], rtol=1e-12)

    x = make([-1000.0, -1000.0, -1e4], requires_grad=True)
    y = logsumexp(x)
    assert y.item() == pytest.approx(-1000.0 + math.log(2.0), rel=1e-15)
    y.backward()
    grad = values(x.grad)
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, [0.5, 0.5, 0.0], rtol=1e-12, atol=1e-15)


def test_logsumexp_with_minus_infinity(make):
    # A -inf term contributes nothing, to the value or the gradient.
    x = make([-math.inf, 0.0], requires_grad=True)
    y = logsumexp(x)
    assert y.item() == 0.0
    y.backward()
    np.testing.assert_allclose(values(x.grad), [0.0, 1.0])


# ---------------------------------------------------------------------- gradients


# Finite differences cost a forward per input element and a backward per output element
# (and, at second order, as many again for the cotangents): the shapes are kept small.


def test_softplus_gradients(make):
    check_grads(softplus, make([-3.0, -0.5, 0.0, 0.7, 4.0], requires_grad=True), order=2)
    check_grads(softplus, make((2, 2), requires_grad=True), order=2)


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES)
def test_logsumexp_gradients(make, axis, keepdims):
    x = make((2, 3), requires_grad=True)
    check_grads(lambda t: logsumexp(t, axis=axis, keepdims=keepdims), x, order=2)


def test_gradients_of_a_composition(make):
    # Both ops in one graph, next to built-in ones, differentiated twice.
    def fn(x, w):
        return softplus(logsumexp(xpgrad.matmul(x, w), axis=1) - 1.0).sum()

    check_grads(fn, make((2, 2), requires_grad=True), make((2, 3), requires_grad=True), order=2)
