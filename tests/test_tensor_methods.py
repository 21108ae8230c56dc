"""The PyTorch-style methods beyond the tutorials' (``t.max(1)``, ``t.std()``, ``t.sort()``
...): values against NumPy, gradients against finite differences, PyTorch's defaults."""
import numpy as np
import pytest

import xpgrad

from helpers import values

F64 = xpgrad.float64
DATA = [[1.0, 3.0, 2.5], [2.0, 0.5, 5.0]]

# The dask cases of the finite-difference tests are slow (see conftest.py).

METHODS = {
    "max": (lambda t: t.max(), lambda a: a.max()),
    "max-dim": (lambda t: t.max(1).values, lambda a: a.max(1)),
    "min-dim-keepdim": (lambda t: t.min(0, keepdim=True).values, lambda a: a.min(0, keepdims=True)),
    "amax": (lambda t: t.amax(0), lambda a: a.max(0)),
    "amin": (lambda t: t.amin((0, 1)), lambda a: a.min()),
    "prod": (lambda t: t.prod(1), lambda a: a.prod(1)),
    "var": (lambda t: t.var(), lambda a: a.var(ddof=1)),
    "var-biased": (lambda t: t.var(1, unbiased=False), lambda a: a.var(1)),
    "std": (lambda t: t.std(0), lambda a: a.std(0, ddof=1)),
    "cumsum": (lambda t: t.cumsum(1), lambda a: a.cumsum(1)),
    "cumprod": (lambda t: t.cumprod(0), lambda a: a.cumprod(0)),
    "sort-descending": (lambda t: t.sort(1, descending=True).values, lambda a: -np.sort(-a, 1)),
    "clamp": (lambda t: t.clamp(1.0, 2.75), lambda a: np.clip(a, 1.0, 2.75)),
    "flip": (lambda t: t.flip([0]), lambda a: a[::-1]),
    "log1p": (lambda t: t.log1p(), np.log1p),
    "sinh": (lambda t: t.sinh(), np.sinh),
    "square": (lambda t: t.square(), np.square),
}


@pytest.mark.parametrize("name", METHODS)
def test_method_values(name, device):
    method, reference = METHODS[name]
    t = xpgrad.tensor(DATA, dtype=F64, device=device)
    np.testing.assert_allclose(values(method(t)), reference(np.array(DATA)), rtol=1e-12)


@pytest.mark.parametrize("name", [n for n in METHODS if n not in ("clamp",)])
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_method_gradients(name, device):
    method, _ = METHODS[name]
    t = xpgrad.tensor(DATA, dtype=F64, device=device, requires_grad=True)
    assert xpgrad.gradcheck(method, (t,))


def test_max_along_a_dim_gives_values_and_indices_and_ties_share_the_gradient():
    t = xpgrad.tensor([[1.0, 3.0, 3.0]], requires_grad=True)
    values_, indices = t.max(1)
    assert indices.tolist() == [1] and not indices.requires_grad
    assert t.max(1).values is not None and t.max(1).indices.tolist() == [1]
    values_.sum().backward()
    assert t.grad.tolist() == [[0.0, 0.5, 0.5]]


def test_sort_indices_and_argmax_are_integer_tensors_without_grad():
    t = xpgrad.tensor([3.0, 1.0, 2.0], requires_grad=True)
    assert t.sort().indices.tolist() == [1, 2, 0]
    assert t.argmax().item() == 0 and t.argmin().item() == 1
    assert not t.argmax().requires_grad
    assert t.all().item() is True and (t > 2.5).any().item() is True
