"""``python -m xpgrad``: the listing and the tutorial tour, run as a user runs them."""
import subprocess
import sys

import pytest

from xpgrad import tour
from xpgrad.__main__ import main


def test_main_lists_backends_ops_and_passes_the_tour(capsys):
    assert main(["--device", "cpu"]) == 0
    text = capsys.readouterr().out
    assert "numpy" in text and "devices: cpu" in text
    assert "xpgrad.ops.elementwise" in text and "multiply" in text
    assert "scatter_add[numpy]" in text  # a backend-specialised op is listed as such
    assert "FAIL" not in text and "All checks passed." in text
    assert text.count("[ok]") == len(tour.CHECKS)


def test_main_exits_nonzero_when_a_check_fails(capsys, monkeypatch):
    def wrong(device):
        return "a deliberately wrong check", [1.0], [2.0]

    monkeypatch.setattr(tour, "CHECKS", tour.CHECKS + [wrong])
    assert main(["--device", "cpu"]) == 1
    text = capsys.readouterr().out
    assert "[FAIL] a deliberately wrong check" in text and "1 check(s) FAILED." in text


def test_a_crashing_check_is_reported_not_raised(capsys, monkeypatch):
    def crash(device):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(tour, "CHECKS", [crash])
    assert main(["--device", "cpu"]) == 1
    assert "[FAIL] crash: raised ZeroDivisionError: boom" in capsys.readouterr().out


def test_tour_runs_on_each_device(device):
    lines = []
    assert tour.run(device, lines.append) == 0
    assert len(lines) == len(tour.CHECKS)


@pytest.mark.slow
def test_module_entry_point_runs_in_a_fresh_interpreter():
    done = subprocess.run([sys.executable, "-m", "xpgrad"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All checks passed." in done.stdout
