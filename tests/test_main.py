"""``python -m xpgrad``: the listing and the tutorial tour, run as a user runs them."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from xpgrad import tour
from xpgrad.__main__ import main


def test_main_lists_backends_ops_and_passes_the_tour(capsys):
    assert main(["--device", "cpu"]) == 0
    text = capsys.readouterr().out
    assert "numpy" in text and "devices: cpu" in text
    assert "xpgrad.ops.elementwise" in text and "multiply" in text
    # the default backend first; the ops users call before the backends' own forwards
    backends = text[text.index("Backends"):text.index("Ops,")].splitlines()[1:]
    assert backends[0].split()[0] == "numpy"
    assert text.index("xpgrad.ops.elementwise") < text.index("Backend-specialised forwards")
    assert "xpgrad.backends.generic" not in text and "[numpy]" not in text
    specialised = text[text.index("Backend-specialised forwards"):text.index("Tutorial tour")]
    assert "  numpy (" in specialised and "scatter_add" in specialised
    assert "FAIL" not in text and "All checks passed." in text
    assert text.count("[ok]") == len(tour.CHECKS)
    assert "[ok] 000" not in text and f"  {tour.TUTORIALS[-1][0]}:" in text  # titles, not numbers


def test_version_and_help_are_plain_text(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    import xpgrad
    assert capsys.readouterr().out.startswith(f"xpgrad {xpgrad.__version__} (Python ")
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "--version" in text and "--device DEVICE" in text and "Exit status" in text
    assert "``" not in text and ":func:" not in text  # no raw reStructuredText


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
    assert len(lines) == len(tour.CHECKS) + len(tour.TUTORIALS)
    assert lines[0] == f"  {tour.TUTORIALS[0][0]}:"  # each tutorial's checks under its title


@pytest.mark.slow
def test_module_entry_point_runs_in_a_fresh_interpreter():
    done = subprocess.run([sys.executable, "-m", "xpgrad"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All checks passed." in done.stdout


def test_the_test_summary_counts_skips_by_reason_and_lists_failures(tmp_path):
    # a run with this project's configuration: the same addopts and conftest hook
    project_conftest = str(Path(__file__).parent / "conftest.py")
    (tmp_path / "conftest.py").write_text(
        "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('project_conftest', {project_conftest!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "pytest_terminal_summary = module.pytest_terminal_summary\n")
    (tmp_path / "test_sample.py").write_text(
        "import pytest\n"
        "@pytest.mark.parametrize('i', range(5))\n"
        "def test_skips(i):\n    pytest.skip('somelib is not installed')\n"
        "def test_fails():\n    assert 1 == 2\n")
    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    addopts = re.search(r'^addopts = "(.*)"$', pyproject, re.M).group(1)
    (tmp_path / "pytest.ini").write_text(f"[pytest]\naddopts = {addopts}\nmarkers = slow\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(tmp_path)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert "FAILED test_sample.py::test_fails" in done.stdout
    assert "SKIPPED [" not in done.stdout
    assert "     5 skipped: somelib is not installed" in done.stdout
