"""The programs in examples/ run and do what they say."""
import importlib.util
import pathlib

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_linear_regression_recovers_the_line(capsys):
    slope, intercept, loss = _load("linear_regression").fit(steps=600)
    assert abs(slope - 3) < 0.05 and abs(intercept + 2) < 0.05
    assert loss < 1e-3
    assert "step    0" in capsys.readouterr().out
