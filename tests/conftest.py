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
    pytest.param("dask", id="dask"),
    pytest.param("cuda", id="cupy"),
]

# The finite-difference checks (gradcheck, gradgradcheck) compute a graph once per
# perturbed input element: cheap on an eager backend, a dask computation each on dask,
# minutes for the whole op-gradient matrix. These tests' dask cases are marked slow
# (``pytest -m slow`` runs them); test_dask.py instead checks every one of their cases'
# first and second derivatives on dask against NumPy's, in seconds. A test module may
# also name its own such tests in a module-level ``SLOW_ON_DASK`` set.
SLOW_ON_DASK = {
    "test_op_gradients.py": {"test_elementwise", "test_binary_broadcasting", "test_reduction",
                             "test_reduction_variants", "test_matmul", "test_linalg",
                             "test_vector_norm", "test_layout", "test_getitem"},
}


@pytest.hookimpl(tryfirst=True)  # before -m 'not slow' deselects
def pytest_collection_modifyitems(items):
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None or callspec.params.get("device") != "dask":
            continue
        own = getattr(getattr(item, "module", None), "SLOW_ON_DASK", ())
        if item.originalname in SLOW_ON_DASK.get(item.path.name, ()) or item.originalname in own:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(params=DEVICES)
def device(request):
    library = request.param.split(":")[0]
    if library == "cuda":
        if importlib.util.find_spec("cupy") is None:
            pytest.skip("cupy is not installed (pip install '.[cuda]' on a machine with a GPU)")
        try:
            xpgrad.device(request.param)
        except xpgrad.DeviceError as exc:
            pytest.skip(f"no usable CUDA device: {exc}")
    elif library != "cpu" and importlib.util.find_spec(library) is None:
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
