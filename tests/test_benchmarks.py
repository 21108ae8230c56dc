"""The benchmark suite runs, and checks every system's gradients before timing them.

Timings are never asserted: only that the run completes and that its gradient checks
(which abort the run on a mismatch) passed for xpgrad.
"""
import importlib.util
import pathlib

SCRIPT = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "overhead.py"


def _load():
    spec = importlib.util.spec_from_file_location("overhead", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_run_checks_and_reports_every_workload(capsys):
    rows = _load().main(["--quick", "--rounds", "1"])
    text = capsys.readouterr().out
    assert "gradients checked against hand-written NumPy" in text
    assert "xpgrad: yes" in text  # float32 gradients stay float32
    workloads = {row["case"] for row in rows if row["system"] == "xpgrad"}
    assert len(workloads) == 4, rows
