"""The programs in examples/ run and do what they say."""
import importlib.util
import pathlib

import pytest

import xpgrad

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


# The examples' own dependencies come with the ``examples`` extra (pip install ".[examples]").
needs_matplotlib = pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None,
                                      reason='needs matplotlib: pip install ".[examples]"')
needs_sklearn = pytest.mark.skipif(
    importlib.util.find_spec("sklearn") is None or importlib.util.find_spec("tqdm") is None,
    reason='needs scikit-learn and tqdm: pip install ".[examples]"')


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


# ----------------------------------------------------------------- tanh_derivatives.py


@needs_matplotlib
def test_tanh_derivatives_match_the_analytic_ones_and_the_plot_is_written(tmp_path):
    import numpy as np

    path = tmp_path / "sub" / "tanh.png"
    curves = _load("tanh_derivatives").main(path, n=11)
    assert len(curves) == 7 and all(c.shape == (11,) for c in curves)
    x = np.linspace(-7, 7, 11)
    t = np.tanh(x)
    d1 = 1 - t ** 2
    d2 = -2 * t * d1
    d3 = -2 * d1 ** 2 + 4 * t ** 2 * d1
    for curve, want in zip(curves, (t, d1, d2, d3)):
        np.testing.assert_allclose(curve.numpy(), want, rtol=1e-10, atol=1e-12)
    data = path.read_bytes()
    assert len(data) > 1000 and data.startswith(b"\x89PNG\r\n\x1a\n")


def test_tanh_derivatives_sixth_is_the_derivative_of_the_fifth():
    import numpy as np

    module = _load("tanh_derivatives")
    x = xpgrad.tensor([-1.5, -0.2, 0.0, 0.7, 2.0], dtype=xpgrad.float64)
    h = 1e-5
    d5_plus = module.derivatives(x + h, order=5)[5].numpy()
    d5_minus = module.derivatives(x - h, order=5)[5].numpy()
    d6 = module.derivatives(x, order=6)[6].numpy()
    np.testing.assert_allclose(d6, (d5_plus - d5_minus) / (2 * h), rtol=1e-6, atol=1e-6)


# --------------------------------------------------------------------------- newton.py


@pytest.mark.parametrize("device", ["cpu", "array_api_strict"])
def test_newton_reaches_the_rosenbrock_minimum_quadratically(device, capsys):
    if device != "cpu":
        pytest.importorskip(device)
    module = _load("newton")
    x0 = xpgrad.tensor([-1.2, 1.0], dtype=xpgrad.float64, device=device)
    x, history = module.minimize(module.rosenbrock, x0, tol=1e-10, verbose=True)
    assert history[-1] < 1e-10
    assert len(history) - 1 <= 10
    assert x.tolist() == pytest.approx([1.0, 1.0], abs=1e-12)
    # Quadratic convergence: near the minimum each gradient norm is at most a constant
    # times the square of the one before (the constant grows with the Hessian's condition).
    close = [(a, b) for a, b in zip(history, history[1:]) if a < 1e-3]
    assert close and all(b <= 1e3 * a ** 2 for a, b in close)
    assert "step  0" in capsys.readouterr().out


# --------------------------------------------------------------------------- digits.py


@needs_sklearn
def test_digits_trains_to_high_accuracy_on_numpy():
    params, losses, accuracy = _load("digits").train("cpu", epochs=8, progress=False)
    assert accuracy > 0.9
    assert sum(losses[-10:]) / 10 < 0.5 * sum(losses[:10]) / 10
    assert all(p.requires_grad is False for p in params)


@needs_sklearn
def test_digits_runs_the_same_on_array_api_strict():
    pytest.importorskip("array_api_strict")
    module = _load("digits")
    kwargs = dict(epochs=1, n_train=256, batch_size=64, progress=False)
    _, losses, _ = module.train("array_api_strict", **kwargs)
    _, reference, _ = module.train("cpu", **kwargs)
    assert len(losses) == 4 and losses[-1] < losses[0]
    assert losses == pytest.approx(reference, rel=1e-4)  # same data, init and order


@needs_sklearn
def test_digits_command_line(capsys):
    accuracy = _load("digits").main(["--epochs", "2", "--device", "cpu", "--dtype", "float64"])
    out, err = capsys.readouterr()
    assert f"test accuracy {accuracy:.1%} on cpu" in out
    assert "training on cpu" in err  # the progress bar


@needs_sklearn
def test_digits_runs_the_same_on_dask():
    pytest.importorskip("dask.array")
    module = _load("digits")
    kwargs = dict(epochs=1, n_train=128, batch_size=64, progress=False)
    _, losses, accuracy = module.train("dask", **kwargs)
    _, reference, reference_accuracy = module.train("cpu", **kwargs)
    assert losses == pytest.approx(reference, rel=1e-4)
    assert accuracy == pytest.approx(reference_accuracy)
