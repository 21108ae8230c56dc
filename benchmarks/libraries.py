"""The workloads on another array library's arrays: ``run.py --backend NAME``.

xpgrad's generic path (the engine, the rules, the dispatcher) runs on any library of the
array API standard; this module runs the suite's workloads A, B, B-small, C and E with one
library's arrays as the data, for three systems, interleaved in one run:

``hand-<name>``     the workload written by hand in that library: the same hand-written
                    forward and analytic backward as NumPy's reference (``_np_*`` in each
                    workload module, written once against a namespace), given the
                    library's array API namespace (array-api-compat's where the library's
                    own is not one);
``xpgrad-<name>``   xpgrad's own workload code (the PyTorch-style code of ``xpgrad_*``) on
                    Tensors that hold that library's arrays;
the library's own autograd, where it has one: ``torch`` (PyTorch's autograd, the suite's
                    usual PyTorch system) and ``jax`` (``jax.grad``, run eagerly: the
                    workloads are Python loops that xpgrad cannot compile either).

Every system's gradients are checked against the hand-written NumPy ones before timing, as
in the rest of the suite. On a lazy library (dask) a step ends by computing its gradients,
on an asynchronous one (CuPy, JAX) by waiting for them, so that a step's time is the
work's. Peak memory (C-mem) is the host's resident set (``harness.measure_peak``): on a
GPU it counts the host side only.
"""
import importlib
from dataclasses import dataclass

import numpy as np

# the workloads a backend run measures, and the factories' kinds they use
WORKLOADS = "ABCE"


@dataclass(frozen=True)
class Library:
    """One array library as the benchmarks see it."""

    name: str  # the --backend NAME, xpgrad's backend name
    module: str  # imported to tell whether it is installed
    label: str  # in the table: "<label> by hand", "xpgrad on <label>"
    own: str = None  # the suite's system for the library's own autograd, if any
    mutable: bool = True  # whether hand-written code may update parameters in place

    def namespace(self):
        if self.name == "jax":
            return importlib.import_module("jax.numpy")
        if self.name == "array_api_strict":
            return importlib.import_module("array_api_strict")
        suffix = ".array" if self.name == "dask" else ""
        return importlib.import_module(f"array_api_compat.{self.name}{suffix}")

    def convert(self, data):
        """``data`` (a case's dict: NumPy arrays, numbers, lists) with the library's arrays."""
        xp = self.namespace()
        if self.name == "jax":
            import jax

            jax.config.update("jax_enable_x64", True)  # the workloads are float64 unless said

        def one(v):
            if isinstance(v, np.ndarray):
                return np.copy(v) if self.name == "numpy" else xp.asarray(np.copy(v))
            if isinstance(v, (list, tuple)):
                return type(v)(one(w) for w in v)
            return v
        return {**{k: one(v) for k, v in data.items()}, "mutable": self.mutable}

    def finish(self, arrays):
        """The step's results as concrete arrays: computed (dask), waited for (CuPy, JAX)."""
        if self.name == "dask":
            import dask

            return list(dask.compute(*arrays))
        if self.name == "jax":
            import jax

            return jax.block_until_ready(list(arrays))
        if self.name == "cupy":
            import cupy

            cupy.cuda.get_current_stream().synchronize()
        return list(arrays)


LIBRARIES = {lib.name: lib for lib in (
    Library("numpy", "numpy", "NumPy", own="torch"),
    Library("torch", "torch", "torch", own="torch"),
    Library("array_api_strict", "array_api_strict", "array-api-strict"),
    Library("jax", "jax", "JAX", own="jax", mutable=False),
    Library("dask", "dask", "dask"),
    Library("cupy", "cupy", "CuPy"),
)}


def systems(name):
    """The systems of ``--backend NAME`` in table order: hand-written NumPy (the reference
    of the gradient checks), by hand in the library, xpgrad on it, its own autograd."""
    if name == "numpy":
        return ["numpy", "xpgrad", "torch"]
    lib = LIBRARIES[name]
    return ["numpy", f"hand-{name}", f"xpgrad-{name}"] + ([lib.own] if lib.own else [])


def register(table, makers):
    """Add every library's systems to the suite's ``SYSTEMS`` (``table``: name -> (module,
    label)) and their factory makers to ``makers`` (name -> ``make(case)``)."""
    table.setdefault("jax", ("jax", "JAX (jax.grad)"))
    for lib in LIBRARIES.values():
        if lib.name == "numpy":
            continue
        table[f"hand-{lib.name}"] = (lib.module, f"{lib.label} by hand")
        table[f"xpgrad-{lib.name}"] = (lib.module, f"xpgrad on {lib.label}")
        makers[f"hand-{lib.name}"] = _by_hand(lib)
        makers[f"xpgrad-{lib.name}"] = _xpgrad_on(lib)
    makers["jax"] = _jax_grad


def _module_of(case):
    return case.module if isinstance(case.module, dict) else vars(case.module)


def _by_hand(lib):
    def make(case):
        hand = _module_of(case).get(f"hand_{case.kind}")
        if hand is None:
            from harness import Unsupported

            raise Unsupported(f"no hand-written {case.kind} against a namespace")

        def build(data):
            kwargs = {"mutable": lib.mutable} if case.kind == "mlpsgd" else {}
            step = hand(lib.convert(data), lib.namespace(), **kwargs)  # (the hand code's own flag)
            return lambda: lib.finish(step())
        return build
    return make


def _xpgrad_on(lib):
    def make(case):
        from harness import factory

        xpgrad_make = factory(case, "xpgrad")

        def build(data):
            import xpgrad

            step = xpgrad_make(lib.convert(data))

            def on_backend():
                grads = step()
                return lib.finish(xpgrad.compute(*grads))
            return on_backend
        return build
    return make


# ---------------------------------------------------------------------- JAX's own autograd


def _jax_grad(case):
    """``jax.grad`` of each workload, eager (no ``jit``): the workloads' Python loops as
    written, which is how xpgrad and PyTorch run them too."""
    from harness import Unsupported

    kinds = {"muladd": _jax_muladd, "sincos": _jax_sincos, "mlp": _jax_mlp,
             "mlpsgd": _jax_mlp, "large": _jax_large, "hvp": _jax_hvp}
    if case.kind not in kinds:
        raise Unsupported(f"no {case.kind} implementation for jax")
    lib = LIBRARIES["jax"]

    def build(data):
        step = kinds[case.kind](lib.convert(data))
        return lambda: lib.finish(step())
    return build


def _jax_muladd(data):
    import jax
    from overhead import ADD, MUL

    def f(y):
        for _ in range(data["n"]):
            y = y * MUL + ADD
        return y.sum()
    g, x = jax.grad(f), data["x"]
    return lambda: [g(x)]


def _jax_sincos(data):
    import jax
    import jax.numpy as jnp

    def f(y):
        for i in range(data["n"]):
            y = jnp.sin(y) if i % 2 == 0 else jnp.cos(y)
        return y.sum()
    g, x = jax.grad(f), data["x"]
    return lambda: [g(x)]


def _jax_mlp(data):
    import jax
    import jax.numpy as jnp

    X, onehot, lr = data["X"], data["onehot"], data.get("lr")

    def loss(params):
        W1, b1, W2, b2, W3, b3 = params
        h1 = jnp.tanh(X @ W1 + b1)
        h2 = jnp.tanh(h1 @ W2 + b2)
        logits = h2 @ W3 + b3
        m = jax.lax.stop_gradient(jnp.max(logits, axis=1, keepdims=True))
        lse = m + jnp.log(jnp.sum(jnp.exp(logits - m), axis=1, keepdims=True))
        return jnp.mean(lse - jnp.sum(logits * onehot, axis=1, keepdims=True))
    grad, current = jax.grad(loss), [list(data["params"])]

    def step():
        grads = grad(current[0])
        if lr is not None:
            current[0] = [p - lr * g for p, g in zip(current[0], grads)]
        return list(grads)
    return step


def _jax_large(data):
    import jax
    import jax.numpy as jnp

    g, x = jax.grad(lambda x: jnp.sum(jnp.sin(x) * x + jnp.exp(-x * x))), data["x"]
    return lambda: [g(x)]


def _jax_hvp(data):
    import jax
    import jax.numpy as jnp

    def f(x):
        return jnp.sum(jnp.tanh(x) ** 2)
    x, v = data["x"], data["v"]
    hvp = jax.grad(lambda x: jnp.sum(jax.grad(f)(x) * v))  # double backward, as the others
    return lambda: [hvp(x)]
