"""Shared fixtures: the device matrix every op and tutorial test runs across."""
import importlib.util

import pytest

import xpgrad

# Tests take the ``device`` fixture and build their Tensors with ``device=device``, so one
# test proves a rule on every backend. array-api-strict's second device behaves as a
# distinct device, which catches any op that mixes devices without a GPU.
DEVICES = [
    pytest.param("cpu", id="numpy"),
    pytest.param("array_api_strict", id="array_api_strict"),
    pytest.param("array_api_strict:device1", id="array_api_strict:device1"),
]


@pytest.fixture(params=DEVICES)
def device(request):
    library = request.param.split(":")[0]
    if library != "cpu" and importlib.util.find_spec(library) is None:
        pytest.skip(f"{library} is not installed (pip install '.[test]')")
    return request.param


@pytest.fixture(autouse=True)
def _reproducible():
    xpgrad.manual_seed(0)


@pytest.fixture
def shown(device):
    """``repr`` as a tutorial prints it: a Tensor's ``device='...'`` part, which only a
    non-default device shows, is checked and then left out."""

    def shown(obj):
        text = repr(obj)
        if isinstance(obj, xpgrad.Tensor) and device != "cpu":
            part = f", device='{device}'"
            assert part in text, text
            text = text.replace(part, "", 1)
        return text

    return shown
