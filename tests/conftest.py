"""Shared fixtures: the device matrix every op and tutorial test runs across."""
import pytest

import xpgrad

# Every device whose backend is usable here; tests take the ``device`` fixture and build
# their Tensors with ``device=device`` so that one test proves a rule on every backend.
DEVICES = ["cpu"]


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


@pytest.fixture(autouse=True)
def _reproducible():
    xpgrad.manual_seed(0)
