"""Shared fixtures. The device matrix is xpgrad's own pytest plugin's (xpgrad.testing,
loaded by pyproject.toml's addopts): its ``backend`` fixture runs a test on every backend
named by the ini option ``xpgrad_backends`` (numpy, array-api-strict and its other
devices, dask, torch, cupy), skipping with the reason where one cannot run here."""
import pytest

import xpgrad
from xpgrad.plugins import manager


@pytest.fixture
def device(backend):
    """The device string of the backend this run of the test is on (``"cpu"``,
    ``"array_api_strict:device1"``...): tests build their Tensors with ``device=device``,
    so one test proves a rule on every backend. array-api-strict's second device behaves
    as a distinct device, which catches any op that mixes devices without a GPU."""
    return backend.device


# The finite-difference checks (gradcheck, gradgradcheck) compute a graph once per
# perturbed input element: cheap on an eager backend, a dask computation each on dask,
# minutes for the whole op-gradient matrix. Such tests mark their dask cases slow with
# ``@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)`` (``pytest -m slow`` runs
# them); test_dask.py instead checks every one of their cases' first and second
# derivatives on dask against NumPy's, in seconds.


@pytest.fixture
def register(request):
    """``register(plugin, name=None)``, undone when the test ends (even if it fails)."""
    pm = manager.get_plugin_manager()

    def _register(plugin, name=None):
        registered_name = xpgrad.plugins.register(plugin, name=name)

        def undo():
            if pm.is_registered(plugin):
                xpgrad.plugins.unregister(plugin)

        request.addfinalizer(undo)
        return registered_name

    return _register


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


def pytest_terminal_summary(terminalreporter):
    """One line per reason for the skipped tests, counted, instead of a line per test:
    most skips are expected (a backend whose library is not installed here) and would bury
    the failures. pyproject's ``-rfE`` lists failures and errors in full; ``-rs`` on the
    command line still lists every skip."""
    if "s" in terminalreporter.reportchars:
        return
    counts = {}
    for report in terminalreporter.stats.get("skipped", []):
        reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        counts[reason] = counts.get(reason, 0) + 1
    if counts:
        terminalreporter.section("skips by reason (-rs lists each)", sep="-")
        for reason, count in sorted(counts.items(), key=lambda item: -item[1]):
            terminalreporter.write_line(f"{count:>6} skipped: {reason}")
