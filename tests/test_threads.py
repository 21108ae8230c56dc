"""Several threads at once: backward on one graph, forward mode, the first call, plugins.

Every test starts its threads together at a ``threading.Barrier`` and compares what each
thread got with the single-threaded result, exactly.
"""
import threading

import numpy as np
import pytest

import xpgrad

from helpers import values

THREADS = 4


def run_in_threads(target, n=THREADS):
    """Run ``target(i)`` in ``n`` threads started together; return their results in
    order, re-raising the first exception one of them raised."""
    barrier = threading.Barrier(n)
    results = [None] * n
    errors = []

    def body(i):
        try:
            barrier.wait()
            results[i] = target(i)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


# ---------------------------------------------------------------------- backward on one graph

SIZE = 262_144  # elements: large enough that NumPy's in-place add lets other threads run


@pytest.mark.parametrize("device", ["cpu", "array_api_strict"])
def test_concurrent_backward_on_one_graph_loses_no_gradient(device):
    # Small integers: every partial sum is exact in float64, so the total must be too.
    xv = (np.arange(SIZE) % 7 + 1).astype(np.float64)
    wv = (np.arange(SIZE) % 5 + 1).astype(np.float64)
    x = xpgrad.tensor(xv, device=device, requires_grad=True)
    w = xpgrad.tensor(wv, device=device, requires_grad=True)
    y = x * w
    y.retain_grad()
    loss = (y * 2.0).sum()
    calls = 25

    def backward(i):
        for _ in range(calls):
            loss.backward(retain_graph=True)

    run_in_threads(backward)
    total = THREADS * calls
    np.testing.assert_array_equal(values(x.grad), total * 2.0 * wv)
    np.testing.assert_array_equal(values(w.grad), total * 2.0 * xv)
    np.testing.assert_array_equal(values(y.grad), np.full(SIZE, total * 2.0))
