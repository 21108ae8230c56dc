"""Per-op overhead and small-network step time of xpgrad, against hand-written NumPy.

Workloads A and B of the suite (``run.py`` runs them with the others); the timing,
checking and reporting code is shared with it (``harness.py``, ``report.py``).
Run ``python benchmarks/overhead.py`` (``--quick`` for a short run, ``--json PATH`` to
also write the results). Every system runs every workload once per round, the systems
interleaved round by round after warm-ups, so that a drift of the machine (frequency
scaling, a neighbour's load) touches all of them alike; the table gives the median and
the range over the rounds and each system's ratio to hand-written NumPy (and to PyTorch,
when it is installed).

Workloads
---------
A1. mul-add chain
    ``y = y * 1.0001 + 0.0001`` repeated 1000 times (2000 recorded ops) on a float64
    vector of 16 elements, starting from a leaf ``x`` that requires grad, then
    ``y.sum().backward()``. With so little data per op, the time is the library's
    per-op overhead; it is reported in microseconds per op (forward + backward time
    divided by 2000). The NumPy reference runs the same forward loop and a backward loop
    of 1000 multiplies by 1.0001 (the analytic gradient).
A2. sin/cos chain
    ``y = sin(y)`` then ``y = cos(y)``, alternately, 1000 ops in all, on the same kind of
    vector. The NumPy reference saves each op's input in the forward and applies the
    chain rule by hand in the backward (``g * cos(x)``, ``g * -sin(x)``).
B. MLP step
    Batch 256, 784 -> 512 -> 512 -> 10 with tanh activations and a cross-entropy loss on
    integer labels: the batch mean of ``logsumexp(logits) - logits[label]``, the
    log-sum-exp taken stably as ``m + log(sum(exp(logits - m)))`` with ``m`` the row
    maximum held constant (detached), the label picked with a one-hot product
    ``(logits * onehot).sum(1)``. One step is the forward and the backward with respect
    to the three weight matrices and the three bias vectors, in float32 and in float64,
    reported in milliseconds per step. The NumPy reference writes the backward out
    (``softmax - onehot``, ``tanh' = 1 - t ** 2``, ...).

Before any timing, every system's gradients are compared with the hand-written NumPy
ones (``np.allclose`` with a tolerance for the dtype, the absolute part scaled by the
gradient's magnitude); a mismatch aborts the run. The NumPy references are themselves
checked against central finite differences on small float64 instances. In B, the dtype
of every float32 gradient is checked and reported.

Systems: ``numpy`` (the reference) and ``xpgrad`` always; ``torch`` (PyTorch),
``autograd`` (HIPS autograd) and ``mygrad`` (MyGrad) when they can be imported. Each
system has one function per workload, which sets the problem up (leaves, parameters)
and returns a ``step()`` closure: the timed part, returning the gradients.

The cyclic garbage collector stays on (its cost is part of a library's cost), but what
the imports and the set-up left on the heap is frozen out of its reach (``gc.freeze``)
before timing, so that a large library in the process (PyTorch) does not slow the
others' collections. ``--profile`` prints a cProfile of xpgrad on workload A instead.

Run as a script, it sets ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and
``MKL_NUM_THREADS`` to 1 unless they are already set, so that every system computes on
one core (set them to compare multithreaded BLAS). The header prints the machine, the
versions and these settings.
"""
import argparse
import importlib
import math
import os
import sys

# The modules of the suite import each other by their plain names (``import harness``),
# whether this file runs as a script or is loaded by path (tests/test_benchmarks.py).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

if __name__ == "__main__":  # before NumPy loads its BLAS (harness.THREAD_VARS)
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import report  # noqa: E402
from harness import (  # noqa: E402
    Case,
    available_systems,
    machine_info,
    print_machine,
    profile_xpgrad_case,  # noqa: E402
    run_benchmark,  # noqa: E402
)

# ---------------------------------------------------------------------- workloads

N_CHAIN = 1000  # loop iterations of A1 (two ops each) and ops of A2
VEC = 16  # elements of the chains' vector
MUL, ADD = 1.0001, 0.0001
BATCH, SIZES = 256, (784, 512, 512, 10)
SMALL_BATCH, SMALL_SIZES, LR = 64, (784, 256, 256, 10), 0.01  # B-small
PARAM_NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")

def make_cases(seed=0):
    """A1, A2, B-float32, B-float64, B-small."""
    rng = np.random.default_rng(seed)
    me = globals()
    cases = [
        Case("A1", f"mul-add chain ({2 * N_CHAIN} ops)", "muladd",
             {"x": rng.standard_normal(VEC), "n": N_CHAIN}, ("x",), 2 * N_CHAIN, "us/op", 1e6, module=me),
        Case("A2", f"sin/cos chain ({N_CHAIN} ops)", "sincos",
             {"x": rng.uniform(-1.0, 1.0, VEC), "n": N_CHAIN}, ("x",), N_CHAIN, "us/op", 1e6, module=me),
    ]
    for dtype in (np.float32, np.float64):
        cases.append(Case(f"B-{np.dtype(dtype).name}", f"MLP step {np.dtype(dtype).name}", "mlp",
                          mlp_data(rng, dtype), PARAM_NAMES, 1, "ms/step", 1e3, np.dtype(dtype),
                          module=me))
    small = mlp_data(rng, np.float32, SMALL_BATCH, SMALL_SIZES)
    small["lr"] = LR
    cases.append(Case("B-small", "MLP step 784-256-256-10, batch 64, float32, SGD", "mlpsgd", small,
                      PARAM_NAMES, 1, "ms/step", 1e3, np.dtype(np.float32), module=me))
    return cases


def mlp_data(rng, dtype, batch=BATCH, sizes=SIZES):
    """Inputs, one-hot labels and parameters (W as (fan_in, fan_out), scaled by 1/sqrt(fan_in))."""
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        params.append((rng.standard_normal((fan_in, fan_out)) / math.sqrt(fan_in)).astype(dtype))
        params.append((0.1 * rng.standard_normal(fan_out)).astype(dtype))
    labels = rng.integers(0, sizes[-1], batch)
    onehot = np.zeros((batch, sizes[-1]), dtype=dtype)
    onehot[np.arange(batch), labels] = 1
    return {"X": rng.standard_normal((batch, sizes[0])).astype(dtype), "labels": labels,
            "onehot": onehot, "params": params}


# ---------------------------------------------------------------------- NumPy, by hand


# Each is written once against an array API namespace ``xp``: NumPy's own for the
# reference, another library's for ``run.py --backend`` (``libraries.py``).


def _np_muladd(x, n, xp=np):
    y = x
    for _ in range(n):
        y = y * MUL + ADD
    loss = xp.sum(y)
    g = xp.ones_like(y)
    for _ in range(n):
        g = g * MUL
    return loss, g


def _np_sincos(x, n, xp=np):
    y, saved = x, []
    for i in range(n):
        saved.append(y)
        y = xp.sin(y) if i % 2 == 0 else xp.cos(y)
    loss = xp.sum(y)
    g = xp.ones_like(y)
    for i in reversed(range(n)):
        g = g * xp.cos(saved[i]) if i % 2 == 0 else g * -xp.sin(saved[i])
    return loss, g


def _np_mlp(X, onehot, params, xp=np):
    W1, b1, W2, b2, W3, b3 = params
    h1 = xp.tanh(X @ W1 + b1)
    h2 = xp.tanh(h1 @ W2 + b2)
    logits = h2 @ W3 + b3
    m = xp.max(logits, axis=1, keepdims=True)
    e = xp.exp(logits - m)
    s = xp.sum(e, axis=1, keepdims=True)
    lse = m + xp.log(s)
    loss = xp.mean(lse - xp.sum(logits * onehot, axis=1, keepdims=True))
    dlogits = (e / s - onehot) / X.shape[0]
    dW3, db3 = h2.T @ dlogits, xp.sum(dlogits, axis=0)
    dz2 = (dlogits @ W3.T) * (1 - h2 * h2)
    dW2, db2 = h1.T @ dz2, xp.sum(dz2, axis=0)
    dz1 = (dz2 @ W2.T) * (1 - h1 * h1)
    dW1, db1 = X.T @ dz1, xp.sum(dz1, axis=0)
    return loss, [dW1, db1, dW2, db2, dW3, db3]


def hand_muladd(data, xp=np):
    x, n = data["x"], data["n"]
    return lambda: [_np_muladd(x, n, xp)[1]]


def hand_sincos(data, xp=np):
    x, n = data["x"], data["n"]
    return lambda: [_np_sincos(x, n, xp)[1]]


def hand_mlp(data, xp=np):
    X, onehot, params = data["X"], data["onehot"], data["params"]
    return lambda: _np_mlp(X, onehot, params, xp)[1]


def hand_mlpsgd(data, xp=np, mutable=True):
    """B-small's step by hand: the gradients, then ``p -= lr * g`` (a new array per
    parameter where the library's arrays cannot be written: JAX)."""
    X, onehot, lr = data["X"], data["onehot"], data["lr"]
    params = [xp.asarray(p, copy=True) for p in data["params"]]

    def step():
        grads = _np_mlp(X, onehot, params, xp)[1]
        for i, g in enumerate(grads):
            if mutable:
                params[i] -= lr * g
            else:
                params[i] = params[i] - lr * g
        return grads
    return step


numpy_muladd, numpy_sincos, numpy_mlp, numpy_mlpsgd = hand_muladd, hand_sincos, hand_mlp, hand_mlpsgd


def check_references(seed=1):
    """Compare the hand-written gradients with central differences along a random direction."""
    rng = np.random.default_rng(seed)

    def directional(loss_fn, grads, args, eps=1e-6):
        dirs = [rng.standard_normal(a.shape) for a in args]
        plus = loss_fn([a + eps * d for a, d in zip(args, dirs)])
        minus = loss_fn([a - eps * d for a, d in zip(args, dirs)])
        numeric = (plus - minus) / (2 * eps)
        analytic = sum(float(np.sum(g * d)) for g, d in zip(grads, dirs))
        return math.isclose(numeric, analytic, rel_tol=1e-5, abs_tol=1e-8)

    x = rng.uniform(-1, 1, VEC)
    data = mlp_data(rng, np.float64, batch=8, sizes=(6, 5, 4, 3))
    checks = {
        "muladd": directional(lambda a: _np_muladd(a[0], 7)[0], [_np_muladd(x, 7)[1]], [x]),
        "sincos": directional(lambda a: _np_sincos(a[0], 6)[0], [_np_sincos(x, 6)[1]], [x]),
        "mlp": directional(lambda p: _np_mlp(data["X"], data["onehot"], p)[0],
                           _np_mlp(data["X"], data["onehot"], data["params"])[1], data["params"]),
    }
    bad = [k for k, ok in checks.items() if not ok]
    if bad:
        sys.exit(f"error: the hand-written NumPy gradients of {bad} disagree with finite differences")


# ---------------------------------------------------------------------- xpgrad


def _pytorch_style_muladd(library, data):
    """The mul-add chain as PyTorch code; xpgrad runs the very same code."""
    lib = importlib.import_module(library)
    x, n = lib.tensor(data["x"], requires_grad=True), data["n"]

    def step():
        x.grad = None
        y = x
        for _ in range(n):
            y = y * MUL + ADD
        y.sum().backward()
        return [x.grad]
    return step


def _pytorch_style_sincos(library, data):
    """The sin/cos chain as PyTorch code; xpgrad runs the very same code."""
    lib = importlib.import_module(library)
    x, n = lib.tensor(data["x"], requires_grad=True), data["n"]

    def step():
        x.grad = None
        y = x
        for i in range(n):
            y = lib.sin(y) if i % 2 == 0 else lib.cos(y)
        y.sum().backward()
        return [x.grad]
    return step


def _pytorch_style_mlp(library, data, lr=None):
    """The MLP step as PyTorch code; xpgrad runs the very same code. The row max of the
    log-sum-exp is a constant (detached), as numerically stable code writes it. With
    ``lr``, the step ends with a plain SGD update of the parameters under ``no_grad``
    (new parameters where the arrays cannot be written: ``data["mutable"]`` False, JAX's)."""
    lib = importlib.import_module(library)
    X, onehot = lib.as_tensor(data["X"]), lib.as_tensor(data["onehot"])
    params = [lib.tensor(p, requires_grad=True) for p in data["params"]]
    mutable = data.get("mutable", True)

    def step():
        for p in params:
            p.grad = None
        W1, b1, W2, b2, W3, b3 = params
        h1 = lib.tanh(X @ W1 + b1)
        h2 = lib.tanh(h1 @ W2 + b2)
        logits = h2 @ W3 + b3
        m = logits.detach().amax(dim=1, keepdim=True)
        lse = m + lib.log(lib.exp(logits - m).sum(dim=1, keepdim=True))
        loss = (lse - (logits * onehot).sum(dim=1, keepdim=True)).mean()
        loss.backward()
        grads = [p.grad for p in params]
        if lr is not None:
            with lib.no_grad():
                for i, p in enumerate(params):
                    if mutable:
                        p -= lr * p.grad
                    else:
                        params[i] = (p - lr * p.grad).requires_grad_()
        return grads
    return step


def xpgrad_muladd(data):
    return _pytorch_style_muladd("xpgrad", data)


def xpgrad_sincos(data):
    return _pytorch_style_sincos("xpgrad", data)


def xpgrad_mlp(data):
    return _pytorch_style_mlp("xpgrad", data)


def xpgrad_mlpsgd(data):
    return _pytorch_style_mlp("xpgrad", data, data["lr"])


# ---------------------------------------------------------------------- PyTorch


def torch_muladd(data):
    return _pytorch_style_muladd("torch", data)


def torch_sincos(data):
    return _pytorch_style_sincos("torch", data)


def torch_mlp(data):
    return _pytorch_style_mlp("torch", data)


def torch_mlpsgd(data):
    return _pytorch_style_mlp("torch", data, data["lr"])


# ---------------------------------------------------------------------- HIPS autograd


def autograd_muladd(data):
    import autograd

    x, n = data["x"], data["n"]

    def loss(y):
        for _ in range(n):
            y = y * MUL + ADD
        return y.sum()
    grad = autograd.grad(loss)
    return lambda: [grad(x)]


def autograd_sincos(data):
    import autograd
    import autograd.numpy as anp

    x, n = data["x"], data["n"]

    def loss(y):
        for i in range(n):
            y = anp.sin(y) if i % 2 == 0 else anp.cos(y)
        return anp.sum(y)
    grad = autograd.grad(loss)
    return lambda: [grad(x)]


def autograd_mlp(data):
    import autograd
    import autograd.numpy as anp
    from autograd.tracer import getval

    X, onehot = data["X"], data["onehot"]

    def loss(params):
        W1, b1, W2, b2, W3, b3 = params
        h1 = anp.tanh(anp.dot(X, W1) + b1)
        h2 = anp.tanh(anp.dot(h1, W2) + b2)
        logits = anp.dot(h2, W3) + b3
        m = np.max(getval(logits), axis=1, keepdims=True)  # a constant: no gradient path
        lse = m + anp.log(anp.sum(anp.exp(logits - m), axis=1, keepdims=True))
        return anp.mean(lse - anp.sum(logits * onehot, axis=1, keepdims=True))
    grad, params = autograd.grad(loss), tuple(data["params"])
    if "lr" not in data:
        return lambda: list(grad(params))
    lr, current = data["lr"], [params]

    def step():  # B-small: the gradients, then new parameters (autograd's arrays are NumPy's)
        grads = grad(current[0])
        current[0] = tuple(p - lr * g for p, g in zip(current[0], grads))
        return list(grads)
    return step


autograd_mlpsgd = autograd_mlp


# ---------------------------------------------------------------------- MyGrad


def mygrad_muladd(data):
    import mygrad as mg

    x, n = mg.Tensor(data["x"]), data["n"]

    def step():
        x.null_grad()
        y = x
        for _ in range(n):
            y = y * MUL + ADD
        y.sum().backward()
        return [x.grad]
    return step


def mygrad_sincos(data):
    import mygrad as mg

    x, n = mg.Tensor(data["x"]), data["n"]

    def step():
        x.null_grad()
        y = x
        for i in range(n):
            y = mg.sin(y) if i % 2 == 0 else mg.cos(y)
        y.sum().backward()
        return [x.grad]
    return step


def mygrad_mlp(data):
    import mygrad as mg

    X, onehot = data["X"], data["onehot"]  # plain arrays are constants to MyGrad
    params = [mg.Tensor(p) for p in data["params"]]
    W1, b1, W2, b2, W3, b3 = params

    def step():
        for p in params:
            p.null_grad()
        h1 = mg.tanh(mg.matmul(X, W1) + b1)
        h2 = mg.tanh(mg.matmul(h1, W2) + b2)
        logits = mg.matmul(h2, W3) + b3
        m = logits.data.max(axis=1, keepdims=True)
        lse = m + mg.log(mg.exp(logits - m).sum(axis=1, keepdims=True))
        loss = (lse - (logits * onehot).sum(axis=1, keepdims=True)).mean()
        loss.backward()
        grads = [p.grad for p in params]
        if "lr" in data:  # B-small: MyGrad's .grad and .data are NumPy arrays
            for p, g in zip(params, grads):
                p.data -= data["lr"] * g
        return grads
    return step


mygrad_mlpsgd = mygrad_mlp


# ---------------------------------------------------------------------- running


def profile_xpgrad(calls=20, top=25):
    """Print cProfile's ``top`` functions by own time for xpgrad's ``calls`` steps of A1, A2."""
    for case in (c for c in make_cases() if c.kind in ("muladd", "sincos")):
        profile_xpgrad_case(case, calls, top, f"{calls} steps = {calls * case.per} ops")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="3 rounds, short samples (for tests)")
    p.add_argument("--rounds", type=int, help="timed rounds (default 7, 3 with --quick)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    p.add_argument("--profile", action="store_true",
                   help="instead of timing, print a cProfile of xpgrad on workload A")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.profile:
        profile_xpgrad()
        return None
    rounds = args.rounds or (3 if args.quick else 7)
    warmup, min_sample = (1, 0.0) if args.quick else (3, 0.1)

    versions, missing = available_systems()
    systems = list(versions)
    info = machine_info(versions)
    print_machine(info, missing)
    print(f"rounds: {rounds} (interleaved, after {warmup} warm-up call(s) each); "
          f"samples of >= {min_sample * 1e3:.0f} ms\n")

    check_references()
    cases = make_cases()
    results = run_benchmark(cases, systems, rounds, warmup, min_sample)
    rows = report.summarize(cases, results, systems)
    report.print_checks(cases, results, systems)
    print()
    report.print_table(rows, "torch" in systems)

    if args.json:
        report.write_json(args.json, {"machine": info, "rounds": rounds, "warmup": warmup,
                                      "min_sample_s": min_sample, "skipped": missing,
                                      "results": rows})
        print(f"\nwrote {args.json}")
    return rows


if __name__ == "__main__":
    main()
