"""Least squares on a dask cluster: data made on the workers, loss and gradient in one pass.

Run it as ``python examples/dask_cluster.py``. It starts a two-worker
``distributed.LocalCluster``, generates a chunked data set on the workers, fits the
weights of a linear model by gradient descent on the ``"dask"`` device and prints the loss
of each step, which falls towards the noise level (0.01), and the fitted weights.
"""
import time

import dask.array as da
import distributed
import numpy as np

import xpgrad

N, D, CHUNK = 200_000, 8, 50_000   # 4 chunks of 50,000 rows
STEPS, LR = 8, 0.3


def main():
    start = time.perf_counter()
    # Two worker processes of one thread each, reached over TCP on the loopback
    # interface, as a real cluster's workers are over the network: the graph is pickled
    # and sent to them. They take a second or two to start on a two-core machine, each
    # importing dask and NumPy, and this script again (hence the __main__ guard below);
    # processes=False would run the workers as threads of this process instead (faster
    # to start, nothing pickled). On a real cluster, give Client the scheduler's address.
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        # The data is made where it is used: each worker draws its own chunks. (A NumPy
        # array wrapped by da.from_array would be put into the graph whole, then shipped
        # from here to the workers.) persist() computes the chunks once and keeps them in
        # the workers' memory; the Tensors hold references to them, not the work to redo.
        rng = da.random.default_rng(0)
        x = rng.standard_normal((N, D), chunks=(CHUNK, D))
        w_true = np.linspace(-1.0, 1.0, D)
        y = x @ w_true + 0.1 * rng.standard_normal(N, chunks=CHUNK)
        x, y = client.persist([x, y])
        print(f"data: {N} x {D} in {x.numblocks[0]} chunks on "
              f"{len(client.scheduler_info()['workers'])} workers")
        x, y = xpgrad.tensor(x), xpgrad.tensor(y)   # on the "dask" device, chunked as given

        w = xpgrad.zeros(D, dtype=xpgrad.float64, device="dask", requires_grad=True)
        for step in range(STEPS):
            loss = ((x @ w - y) ** 2).mean()   # lazy: a graph, nothing computed yet
            loss.backward()                    # lazy too: w.grad is a graph over the same chunks
            # One pass for all three: the forward pass that the loss and the gradient
            # share runs once on the workers (computing them one after the other would
            # run it twice). They come back as NumPy arrays.
            loss_value, grad, w_now = xpgrad.compute(loss, w.grad, w)
            print(f"step {step}  loss {float(loss_value):.6f}  |grad| {np.linalg.norm(grad):.6f}")
            # The update, outside the graph. w is D numbers: it is updated here and sent
            # back as a new one-chunk dask array (keeping w the same Tensor, as an
            # optimizer's step does). `with xpgrad.no_grad(): w -= LR * w.grad` would be
            # lazy instead: w's graph would hold this step's whole pass over the data, and
            # each next step's graph every step before it. A large parameter would be
            # persisted instead: computed on the workers and kept there.
            w.data = xpgrad.tensor(w_now - LR * grad, device="dask")
            w.grad = None

        fitted = w.compute()
    print("fitted", np.round(fitted, 3).tolist())
    print("true  ", np.round(w_true, 3).tolist())
    print(f"max error {np.abs(fitted - w_true).max():.4f}  in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
