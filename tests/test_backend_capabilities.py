"""What the engine asks of a backend's capabilities, through the backend contract.

Writing into memory is a capability of the backend (``Backend.reuses_memory``,
``fresh``, ``chain``, ``add_into``), never guessed from an array's attributes: torch's
backend multiplies into the operand the engine owns as NumPy's does, and a backend that
never writes in place is never asked about ownership at all.
"""
import numpy as np
import pytest

import xpgrad
from xpgrad.plugins.registry import backends

N = 20_000  # 160 kB of float64: above the size where writing in place pays


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


@pytest.fixture
def torch_backend(torch):
    return backends()["torch"]


def test_torch_chain_writes_into_the_operand_the_engine_owns(torch, torch_backend):
    g, d = torch.rand(N, dtype=torch.float64), torch.rand(N, dtype=torch.float64)
    expected = g * d
    g0, d0 = g.clone(), d.clone()
    out, free = torch_backend.chain(g, d, True, False)
    assert out is g and free and torch.equal(out, expected) and torch.equal(d, d0)
    g = g0.clone()
    out, free = torch_backend.chain(g, d, False, True)
    assert out is d and free and torch.equal(out, expected) and torch.equal(g, g0)


def test_torch_chain_leaves_operands_it_does_not_own_alone(torch, torch_backend):
    g, d = torch.rand(N, dtype=torch.float64), torch.rand(N, dtype=torch.float64)
    g0, d0 = g.clone(), d.clone()
    out, free = torch_backend.chain(g, d, False, False)
    assert out is not g and out is not d and free
    assert torch.equal(out, g0 * d0) and torch.equal(g, g0) and torch.equal(d, d0)
    small_g, small_d = torch.rand(4, dtype=torch.float64), torch.rand(4, dtype=torch.float64)
    out, _ = torch_backend.chain(small_g, small_d, True, True)  # small: a new tensor
    assert out is not small_g and out is not small_d


def test_torch_chain_passes_sums_broadcast_one_over_and_conjugates(torch, torch_backend):
    d = torch.rand(N, dtype=torch.float64)
    one = torch.ones((), dtype=torch.float64).expand(N)
    out, free = torch_backend.chain(one, d, False, False)
    assert out is d and not free
    two = torch.full((), 2.0, dtype=torch.float64).expand(N)  # broadcast, but not one
    out, _ = torch_backend.chain(two, d, False, False)
    assert torch.equal(out, 2.0 * d)
    z = torch.rand(N, dtype=torch.complex128)
    out, _ = torch_backend.chain(torch.ones(N, dtype=torch.complex128), z, False, False)
    assert torch.equal(out, z.conj())
    out, free = torch_backend.chain(d.clone(), -1.0, True, False)
    assert torch.equal(out, -d) and free


def test_gradients_on_torch_through_the_in_place_products_are_exact(torch):
    """C's graph on torch, large enough for the in-place products: against the analytic
    gradient, and the user's input untouched."""
    x0 = np.random.default_rng(0).standard_normal(N)
    x = xpgrad.tensor(torch.from_numpy(x0.copy()), requires_grad=True)
    (x.sin() * x + (-x * x).exp()).sum().backward()
    expected = np.sin(x0) + np.cos(x0) * x0 - 2 * x0 * np.exp(-x0 * x0)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-14, atol=1e-15)
    np.testing.assert_array_equal(x.detach().numpy(), x0)


@pytest.mark.parametrize("name", ["array_api_strict", "dask"])
def test_a_backend_that_never_writes_in_place_is_not_asked_about_ownership(name, monkeypatch):
    """reuses_memory False: the engine asks neither fresh() nor an array's size."""
    pytest.importorskip(name)
    backend = backends()[name]
    assert backend.reuses_memory is False

    def fresh(array):
        raise AssertionError("fresh() asked of a backend that never reuses memory")
    monkeypatch.setattr(backend, "fresh", fresh)
    x = xpgrad.tensor(np.linspace(-1.0, 1.0, N).tolist(), dtype=xpgrad.float64, device=name,
                      requires_grad=True)
    (x.sin() * x + (-x * x).exp()).sum().backward()
    x0 = np.linspace(-1.0, 1.0, N)
    np.testing.assert_allclose(x.grad.numpy(), np.sin(x0) + np.cos(x0) * x0 - 2 * x0 * np.exp(-x0 * x0),
                               rtol=1e-14, atol=1e-15)


def test_the_backends_that_write_in_place_say_so():
    found = backends()  # registered whether or not their libraries are installed
    assert found["numpy"].reuses_memory and found["torch"].reuses_memory and found["cupy"].reuses_memory
    assert not found["jax"].reuses_memory and not found["dask"].reuses_memory


def test_temporaries_are_not_looked_for_on_a_backend_that_cannot_elide(torch, torch_backend, monkeypatch):
    """elides_temporaries False (torch): with temporaries turned on, the dispatcher never
    asks elementwise_into, nor reads reference counts, for this backend's Tensors."""
    assert torch_backend.elides_temporaries is False and backends()["numpy"].elides_temporaries

    def elementwise_into(*args):
        raise AssertionError("elementwise_into asked of a backend that cannot elide")
    monkeypatch.setattr(torch_backend, "elementwise_into", elementwise_into)
    x0 = np.linspace(-1.0, 1.0, 100_000)  # above the size temporaries are looked for at
    x = xpgrad.tensor(torch.from_numpy(x0.copy()), requires_grad=True)
    with xpgrad.elide_temporaries():
        y = ((x * 2.0).exp() * 3.0 + 1.0).sin().sum()
    y.backward()
    expected = np.cos(3 * np.exp(2 * x0) + 1) * 6 * np.exp(2 * x0)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-10, atol=1e-12)  # torch's own exp and sin
