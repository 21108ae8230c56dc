"""``xpgrad.compute(*tensors)`` and ``Tensor.compute()``: concrete values, in one pass.

On every backend of the matrix the values are the eager ones; on an eager backend the
arrays come back as they are, and on dask several Tensors are computed by one
``dask.compute``, so the graph they share runs once (counted below with a task that
counts its runs). examples/dask_cluster.py, which does this on a ``distributed`` cluster,
runs here as a program.
"""
import contextlib
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import xpgrad
from xpgrad.testing import BackendCase

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "dask_cluster.py"


def _least_squares(make):
    """A loss and the weight it is differentiated with respect to, both on make's device,
    and the same loss and gradient computed by hand in NumPy."""
    x, y = make((6, 3)), make((6,))
    w = make([0.5, -1.0, 2.0], requires_grad=True)
    loss = ((x @ w - y) ** 2).mean()
    loss.backward()
    x_np, y_np = np.array(x.tolist()), np.array(y.tolist())
    r = x_np @ np.array([0.5, -1.0, 2.0]) - y_np
    return loss, w, (r ** 2).mean(), 2 * x_np.T @ r / len(r)


def _as_numpy(backend, array):
    """A computed array as NumPy: dask's are NumPy already, the others are the backend's."""
    return np.asarray(array if backend.name == "dask" else backend.backend.to_numpy(array))


# ---------------------------------------------------------------------- every backend


def test_compute_gives_the_eager_values(backend, make):
    loss, w, loss_np, grad_np = _least_squares(make)
    got = xpgrad.compute(loss, w.grad, w)
    assert isinstance(got, tuple) and len(got) == 3
    if backend.name == "dask":
        assert all(type(a) is np.ndarray for a in got)  # the 0-d loss too, not a NumPy scalar
    else:  # the Tensors' own arrays: no copy, nothing computed
        assert got[0] is loss._data and got[1] is w.grad._data and got[2] is w._data
    value, grad, weight = (_as_numpy(backend, a) for a in got)
    assert value.shape == () and grad.shape == (3,)
    np.testing.assert_allclose(value, loss_np, rtol=1e-12)
    np.testing.assert_allclose(grad, grad_np, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(weight, [0.5, -1.0, 2.0])


def test_tensor_compute_is_compute_of_one(backend, make):
    loss, w, loss_np, grad_np = _least_squares(make)
    np.testing.assert_allclose(_as_numpy(backend, loss.compute()), loss_np, rtol=1e-12)
    np.testing.assert_allclose(_as_numpy(backend, w.grad.compute()), grad_np, rtol=1e-12, atol=1e-15)
    if backend.name != "dask":
        assert w.compute() is w._data  # a leaf that requires grad: its data, outside the graph
    assert xpgrad.compute() == ()


def test_compute_groups_by_backend_and_keeps_the_order(monkeypatch):
    pytest.importorskip("array_api_strict")
    pytest.importorskip("dask.array")
    devices = ["cpu", "dask", "array_api_strict", "dask", "array_api_strict:device1", "cpu"]
    tensors = [xpgrad.tensor([float(i), 10.0 * i], dtype=xpgrad.float64, device=d) for i, d in enumerate(devices)]
    calls = []
    for name in ("cpu", "dask", "array_api_strict"):
        b = xpgrad.device(name).backend

        def counted(arrays, b=b, original=b.compute):
            calls.append((b.name, len(arrays)))
            return original(arrays)

        monkeypatch.setattr(b, "compute", counted)
    got = xpgrad.compute(*tensors)
    # one call per backend, with every array of that backend (both array-api-strict devices)
    assert sorted(calls) == [("array_api_strict", 2), ("dask", 2), ("numpy", 2)]
    assert type(got[1]) is np.ndarray and type(got[3]) is np.ndarray  # dask's, computed
    assert [_as_numpy(BackendCase(d), a).tolist() for d, a in zip(devices, got)] \
        == [[float(i), 10.0 * i] for i in range(len(devices))]


@pytest.mark.parametrize("value, says", [
    (None, "argument 1 is None; a Tensor's .grad is None until backward() has reached it"),
    ([1.0], "argument 1 is of type list; pass the Tensors as separate arguments: xpgrad.compute(*tensors)"),
    (np.ones(2), "argument 1 is of type ndarray; pass Tensors (xpgrad.tensor(data) makes one"),
])
def test_compute_of_something_else_is_a_type_error(value, says):
    t = xpgrad.ones(2)
    with pytest.raises(TypeError, match=re.escape("xpgrad.compute() takes Tensors, but " + says)):
        xpgrad.compute(t, value)


def test_a_grad_not_yet_computed_is_named():
    w = xpgrad.ones(2, requires_grad=True)
    with pytest.raises(TypeError, match=r"argument 0 is None.*call loss\.backward\(\) first"):
        xpgrad.compute(w.grad)


# ---------------------------------------------------------------------- dask: one pass


RUNS = []  # (the distributed worker's name or None, block shape) for each run of _count


def _count(block):
    """A dask task that records its run, and where (module level: a distributed scheduler
    pickles the graph, and this function by reference)."""
    worker = None
    distributed = sys.modules.get("distributed")
    if distributed is not None:
        with contextlib.suppress(ValueError):  # not on a worker
            worker = distributed.get_worker().name
    RUNS.append((worker, block.shape))
    return block


@pytest.fixture
def runs():
    RUNS.clear()
    yield RUNS
    RUNS.clear()


def _counted_problem(da):
    """A least-squares loss on dask whose data passes through a task that counts its runs
    in RUNS (one per block: 4 blocks), and the NumPy data it is made of."""
    rng = np.random.default_rng(1)
    x_np, y_np = rng.standard_normal((400, 5)), rng.standard_normal(400)
    counted = da.map_blocks(_count, da.from_array(x_np, chunks=(100, 5)), meta=np.empty((0, 0)))
    x, y = xpgrad.tensor(counted), xpgrad.tensor(da.from_array(y_np, chunks=100))
    w = xpgrad.tensor(np.linspace(-1.0, 1.0, 5), device="dask", requires_grad=True)
    loss = ((x @ w - y) ** 2).mean()
    loss.backward()
    return loss, w, x_np, y_np


def test_loss_and_gradient_compute_in_one_pass_on_dask(runs):
    da = pytest.importorskip("dask.array")
    loss, w, x_np, y_np = _counted_problem(da)
    assert runs == []  # forward and backward built a graph; nothing ran
    value, grad = xpgrad.compute(loss, w.grad)
    assert len(runs) == 4  # each block of x once, for the loss and the gradient together
    # the naive way, one computation each: every block of x twice
    runs.clear()
    value_again, grad_again = loss.compute(), w.grad.compute()
    assert len(runs) == 8
    np.testing.assert_allclose(value_again, value, rtol=1e-14)
    np.testing.assert_allclose(grad_again, grad, rtol=1e-14)
    # and the values are right
    r = x_np @ np.linspace(-1.0, 1.0, 5) - y_np
    np.testing.assert_allclose(value, (r ** 2).mean(), rtol=1e-12)
    np.testing.assert_allclose(grad, 2 * x_np.T @ r / len(r), rtol=1e-12)


def test_compute_runs_on_the_active_distributed_client(runs):
    da = pytest.importorskip("dask.array")
    distributed = pytest.importorskip("distributed")
    loss, w, _, _ = _counted_problem(da)
    # in-process workers (threads), which see this module's RUNS
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        value, grad = xpgrad.compute(loss, w.grad)
    assert len(runs) == 4  # one pass, on the workers' threads
    assert {worker for worker, _ in runs} <= {0, 1}, runs
    runs.clear()
    expected = xpgrad.compute(loss, w.grad)  # without a Client: dask's local scheduler
    assert [worker for worker, _ in runs] == [None] * 4, runs
    np.testing.assert_allclose(value, expected[0], rtol=1e-14)
    np.testing.assert_allclose(grad, expected[1], rtol=1e-14)


# ---------------------------------------------------------------------- the example


def test_dask_cluster_example_fits_the_weights():
    pytest.importorskip("dask.array")
    pytest.importorskip("distributed")
    done = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=300,
                          cwd=EXAMPLE.parent)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert re.search(r"^data: 200000 x 8 in 4 chunks on 2 workers$", out, re.M), out
    losses = [float(v) for v in re.findall(r"^step \d+  loss ([0-9.]+)  \|grad\| [0-9.]+$", out, re.M)]
    assert len(losses) == 8, out
    assert all(b < a for a, b in zip(losses, losses[1:])), losses  # gradient descent descends
    assert losses[-1] < 0.011  # the noise's variance is 0.01
    assert float(re.search(r"^max error ([0-9.]+)", out, re.M).group(1)) < 0.01, out
