"""What every benchmark module shares: systems, cases, gradient checks, timing, children.

The workload modules (``overhead.py``: A and B, ``elementwise.py``: C, ``chain.py``: D,
``hvp.py``: E, ``imports.py``: F) define cases and, per system, one factory per kind of
case: ``{system}_{case.kind}(case.data)`` sets the problem up (leaves, parameters) and
returns a ``step()`` closure, the timed part, which returns the gradients as a list. A
system that cannot run a kind defines no factory, or one that raises :class:`Unsupported`
with the reason; the report shows "n/a" and the reason.

Two ways to measure:

* **In process, interleaved** (:func:`run_benchmark`; A, B, C's time, E): every system's
  gradients are checked against the hand-written NumPy ones, every step is warmed up, then
  every (case, system) is timed once per round, the order of the systems rotating from
  round to round, each sample starting from a trimmed heap.
* **One fresh child process per system and round** (:func:`run_children`; C's memory, D):
  ``child.py`` imports one system, warms it up and checks its gradients on a small
  instance, then measures one call (see :func:`measure_peak` for how memory is measured)
  and checks the full-size gradients afterwards. The parent kills a child that runs past
  its time limit or whose resident memory passes a cap, and records "n/a" with the reason.

A gradient that does not match the reference aborts the run (``SystemExit`` with the
details), in process as in a child.
"""
import gc
import importlib.metadata
import json
import math
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))

# One BLAS / OpenMP thread per library unless the caller says otherwise: this measures
# overhead, not parallel BLAS, and NumPy's and PyTorch's spinning thread pools, interleaved
# in one process, slow each other down by large and erratic amounts on a small machine.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def set_thread_env():
    """Default the thread variables to 1 (call before NumPy is imported to take effect)."""
    for var in THREAD_VARS:
        os.environ.setdefault(var, "1")


import baseline  # noqa: E402
import libraries  # noqa: E402
import numpy as np  # noqa: E402

# name -> (module to import, label); the factories are found as f"{name}_{case.kind}".
# "xpgrad-temps" is xpgrad with temporaries turned on (off by default): xpgrad's own
# factories, each step run inside ``xpgrad.elide_temporaries()``.
SYSTEMS = {
    "numpy": ("numpy", "NumPy (by hand)"),
    "xpgrad": ("xpgrad", "xpgrad"),
    "xpgrad-temps": ("xpgrad", "xpgrad, temporaries on"),
    "torch": ("torch", "PyTorch"),
    "autograd": ("autograd", "HIPS autograd"),
    "mygrad": ("mygrad", "MyGrad"),
}
baseline.register_from_env(SYSTEMS)  # in a child: the revisions the parent measures
# The systems of ``run.py --backend NAME`` (libraries.py): name -> make(case) -> factory.
MAKERS = {}
libraries.register(SYSTEMS, MAKERS)

# Per dtype: rtol, and atol as a fraction of the reference gradient's largest magnitude.
TOLERANCES = {np.dtype(np.float32): (1e-4, 1e-5), np.dtype(np.float64): (1e-9, 1e-11)}


class Unsupported(Exception):
    """A system cannot run a workload; the message says why (shown as "n/a: ...")."""


@dataclass
class Case:
    """One workload instance: its data, what one call counts as, and how to report it.

    ``scale`` converts the measured quantity (seconds, or bytes for ``metric="peak"``)
    to ``unit``, after dividing it by ``per``. ``module`` holds the factories: a module,
    or the ``globals()`` of the module that defines them.
    """

    key: str  # "A1", "B-float32", "C", "C-mem", "D-1e5", ...
    title: str
    kind: str  # picks each system's factory: f"{system}_{kind}"
    data: dict
    grad_names: tuple
    per: int
    unit: str
    scale: float
    dtype: np.dtype = field(default=np.dtype(np.float64))
    module: object = None  # a module or a dict (globals())
    metric: str = "time"  # "time" (seconds) or "peak" (bytes), for child-measured cases
    group: str = ""  # the child run that measures it ("" for in-process cases)
    vs_numpy: bool = True  # is a ratio to NumPy meaningful (not for a graph's memory)
    tolerance: tuple = None  # (rtol, atol fraction) instead of TOLERANCES[dtype]


def available_systems(wanted=None):
    """The importable systems (``{name: version}``), and the names of the missing ones."""
    found, missing = {}, []
    for name, (module, _) in SYSTEMS.items():
        if wanted is not None and name not in wanted and name != "numpy":
            continue
        if wanted is None and name in MAKERS:  # another library's arrays: --backend only
            continue
        try:
            mod = __import__(module)
        except ImportError:
            missing.append(name)
            continue
        try:
            found[name] = importlib.metadata.version(module)
        except importlib.metadata.PackageNotFoundError:
            found[name] = getattr(mod, "__version__", "?")
    return found, missing


def factory(case, system):
    if system == "xpgrad-temps":
        return _with_temporaries(factory(case, "xpgrad"))
    if system.startswith("xpgrad@"):  # an earlier revision (baseline.py): xpgrad's own factories
        return baseline.as_xpgrad(SYSTEMS[system][0], factory(case, "xpgrad"))
    if system in MAKERS:  # another library's arrays (libraries.py)
        return MAKERS[system](case)
    namespace = case.module if isinstance(case.module, dict) else vars(case.module)
    fn = namespace.get(f"{system}_{case.kind}")
    if fn is None:
        raise Unsupported(f"no {case.kind} implementation for {system}")
    return fn


def _with_temporaries(make):
    """xpgrad's factory ``make``, its steps run with temporaries turned on (Unsupported
    where they cannot turn on: an interpreter they have not been checked on)."""
    def make_on(data):
        import warnings

        import xpgrad

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", xpgrad.TemporariesWarning)
            with xpgrad.elide_temporaries() as on:
                pass
        if not on:
            why = str(caught[0].message) if caught else "they cannot turn on here"
            raise Unsupported(why.removeprefix("xpgrad: "))
        step = make(data)

        def step_on():
            with xpgrad.elide_temporaries():
                return step()
        return step_on
    return make_on


def build(case, system):
    """The system's ``step()`` for ``case`` (raises :class:`Unsupported`)."""
    return factory(case, system)(case.data)


def _profiled(case, system, calls):
    """cProfile's Profile of ``calls`` of ``system``'s step of ``case``, after one warm-up."""
    import cProfile

    step = build(case, system)
    step()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(calls):
        step()
    prof.disable()
    return prof


def profile_xpgrad_case(case, calls, top, label):
    """Print cProfile's ``top`` functions by own time for ``calls`` of xpgrad's step."""
    import pstats

    prof = _profiled(case, "xpgrad", calls)
    print(f"cProfile, xpgrad, {case.key} {case.title}: {label}")
    pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(top)


def profile_rows(case, system, calls, top):
    """Where ``system``'s step of ``case`` spends its time: cProfile's ``top`` functions by
    own time, as ``(ms per step, calls per step, function)``, the function named by its
    file relative to the package or repository it lives in (no machine paths), and the
    step's total time under the profiler in ms."""
    import pstats

    stats = pstats.Stats(_profiled(case, system, calls)).stats
    total = sum(tt for _, _, tt, _, _ in stats.values()) / calls * 1e3
    rows = sorted(stats.items(), key=lambda kv: -kv[1][2])[:top]
    return total, [(tt / calls * 1e3, nc / calls, _function_name(fn)) for fn, (_, nc, tt, _, _) in rows]


_SUBPACKAGES = ("ops", "plugins", "backends")


def _function_name(fn):
    path, line, name = fn
    if path == "~":  # a built-in: "<method 'add' of ...>"
        return name
    parts = path.replace(os.sep, "/").split("/")
    for anchor in ("site-packages", "lib"):
        if anchor in parts:
            parts = parts[len(parts) - parts[::-1].index(anchor):]
            break
    else:
        root = os.path.dirname(HERE).replace(os.sep, "/").split("/")
        if parts[:len(root)] == root:  # a checkout: core/ is the package xpgrad, ops/ xpgrad.ops, ...
            top = parts[len(root)]
            parts = (["xpgrad"] if top == "core" else ["xpgrad", top] if top in _SUBPACKAGES
                     else [top]) + parts[len(root) + 1:]
        else:
            parts = parts[-1:]
    return f"{'/'.join(parts)}:{line}({name})"


# ---------------------------------------------------------------------- checking


def check_gradients(case, system, grads, reference):
    """Abort unless ``grads`` match the NumPy reference; return (max scaled error, dtypes)."""
    rtol, atol = case.tolerance or TOLERANCES[case.dtype]
    worst, dtypes = 0.0, []
    if len(grads) != len(reference):
        sys.exit(f"error: {system} returned {len(grads)} gradients for {case.key}, "
                 f"expected {len(reference)}")
    for name, g, ref in zip(case.grad_names, grads, reference):
        g = to_numpy(g)
        dtypes.append(g.dtype.name)
        scale = float(np.max(np.abs(ref))) or 1.0
        if g.shape != ref.shape or not np.allclose(g, ref, rtol=rtol, atol=atol * scale):
            err = (float(np.max(np.abs(g.astype(np.float64) - ref))) / scale
                   if g.shape == ref.shape else float("nan"))
            sys.exit(
                f"error: {system} gradient of {name} in {case.key} ({case.title}) does not match the "
                f"hand-written NumPy gradient: shape {g.shape} vs {ref.shape}, max |diff| / max |ref| "
                f"= {err:.3g} (rtol={rtol}, atol={atol} * max |ref|)"
            )
        worst = max(worst, float(np.max(np.abs(g.astype(np.float64) - ref))) / scale)
    return worst, dtypes


def to_numpy(g):
    """A gradient of any system as a NumPy array (xpgrad and torch tensors, MyGrad
    arrays, the arrays of the libraries of ``--backend``)."""
    if hasattr(g, "detach"):  # torch.Tensor, xpgrad.Tensor
        g = g.detach()
    if hasattr(g, "numpy") and not isinstance(g, np.ndarray):
        g = g.numpy()
    if type(g).__module__.startswith("cupy"):
        g = g.get()
    return np.asarray(g)


# ---------------------------------------------------------------------- timing in process


def _heap_trimmer():
    """glibc's ``malloc_trim``, or None where the C library has none.

    Systems timed in one process share one heap. A step that ends with memory freed in
    the middle of the heap (a gradient still held above it) leaves pages the next system
    then reuses without faulting them in, while a step that frees everything gives its
    pages back to the kernel and the next system pays for them again: which system runs
    after which decided up to 15% of workload C's times. Trimming the heap before every
    sample starts each system as it starts when it runs alone, in a loop of its own."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    return trim


_TRIM = _heap_trimmer()
HEAP_RESET = "malloc_trim(0) before every sample" if _TRIM is not None else "none"


def _time(step, number):
    if _TRIM is not None:
        _TRIM(0)
    t0 = time.perf_counter()
    for _ in range(number):
        step()
    return (time.perf_counter() - t0) / number


def new_result(na=None):
    return {"samples": [], "max_err": None, "dtypes": [], "number": None, "na": na}


def run_benchmark(cases, systems, rounds, warmup, min_sample, log=None):
    """Check, warm up, then time every (case, system) once per round, interleaved.

    Each sample repeats the step ``number`` times, ``number`` chosen in the warm-up so
    that a sample lasts at least ``min_sample`` seconds, and starts from a trimmed heap
    (see :func:`_heap_trimmer`). The order of the systems rotates from round to round.

    Returns
    -------
    dict
        ``{case.key: {system: {"samples": [...], "number": n, "max_err": e, "dtypes": [...],
        "na": None or reason}}}`` with the samples in seconds per step.
    """
    steps, results = {}, {}
    for case in cases:
        reference = build(case, "numpy")()
        results[case.key] = {}
        for system in systems:
            res = results[case.key][system] = new_result()
            try:
                step = build(case, system)
                grads = step()
            except Unsupported as exc:
                res["na"] = str(exc)
                continue
            except RecursionError as exc:  # dask computing a graph 2000 tasks deep
                res["na"] = f"RecursionError: {exc}"
                continue
            res["max_err"], res["dtypes"] = check_gradients(case, system, grads, reference)
            steps[case.key, system] = step
        del reference
    # Whatever the imports and the set-up left on the heap (PyTorch alone leaves hundreds
    # of thousands of objects) moves out of the cyclic collector's reach: otherwise each
    # full collection a workload triggers walks it all, and the systems timed alongside
    # a large library look slower than when timed alone.
    gc.collect()
    gc.freeze()
    try:
        for (key, system), step in steps.items():
            best = min(_time(step, 1) for _ in range(warmup))
            results[key][system]["number"] = max(1, math.ceil(min_sample / best)) if best else 1
        for r in range(rounds):
            gc.collect()
            order = systems[r % len(systems):] + systems[:r % len(systems)]
            for case in cases:
                for system in order:
                    if (case.key, system) in steps:
                        res = results[case.key][system]
                        res["samples"].append(_time(steps[case.key, system], res["number"]))
            if log:
                log(f"  round {r + 1}/{rounds} done")
    finally:
        gc.unfreeze()
    return results


# ---------------------------------------------------------------------- peak memory


def _status_kb(field_name):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise KeyError(field_name)


def reset_peak():
    """Reset the peak resident size to the current one; return (method, baseline bytes).

    On Linux, writing "5" to ``/proc/self/clear_refs`` sets the process's high-water mark
    (VmHWM) to its current resident size (VmRSS): the peak read afterwards is the peak of
    what follows. Where that is not permitted, the fallback is ``getrusage``'s
    ``ru_maxrss``, which cannot be reset: the delta is then only right when what follows
    goes above every earlier peak of the process (a fresh child that did little yet).
    """
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return "VmHWM", _status_kb("VmRSS") * 1024
    except OSError:
        import resource
        rss = _status_kb("VmRSS") * 1024 if os.path.exists("/proc/self/status") else 0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return "ru_maxrss", max(rss, peak)


def read_peak(method):
    if method == "VmHWM":
        return _status_kb("VmHWM") * 1024
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure_peak(step):
    """Run ``step()`` once; return (its result, seconds, peak bytes above the baseline, method)."""
    method, base = reset_peak()
    t0 = time.perf_counter()
    out = step()
    elapsed = time.perf_counter() - t0
    return out, elapsed, max(0, read_peak(method) - base), method


# ---------------------------------------------------------------------- child processes


def _child_rss_bytes(pid):
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_child(jobs, system, timeout, mem_cap):
    """Run ``child.py SYSTEM JOBS`` in a fresh interpreter; ``jobs``: [(group, module, params)].

    The child measures the jobs one after the other and prints one JSON line each.
    Returns ``{group: result}``, a result being the dict the child printed for the group,
    or ``{"na": reason}`` when the child ran past ``timeout`` seconds, passed ``mem_cap``
    bytes resident, or failed before printing it. A child that found wrong gradients
    makes this abort the run.
    """
    cmd = [sys.executable, os.path.join(HERE, "child.py"), system, json.dumps(jobs)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0, why = time.perf_counter(), None
    while proc.poll() is None:
        elapsed = time.perf_counter() - t0
        rss = _child_rss_bytes(proc.pid)
        if elapsed > timeout:
            why = f"stopped after {timeout:.0f} s (time limit)"
        elif mem_cap and rss > mem_cap:
            why = f"stopped at {rss / 1e9:.1f} GB resident after {elapsed:.0f} s (memory cap)"
        if why:
            proc.kill()
            break
        time.sleep(0.02)
    out, err = proc.communicate()
    results = {}
    for line in out.splitlines():
        if line.startswith("{"):
            result = json.loads(line)
            if result.get("mismatch"):
                sys.exit(result["mismatch"])
            results[result.pop("group")] = result
    if why is None:
        tail = (err.strip().splitlines() or ["no output"])[-1]
        why = f"failed (exit {proc.returncode}): {tail[:200]}"
    return {group: results.get(group, {"na": why}) for group, _, _ in jobs}


def run_children(groups, systems, rounds, timeout, mem_cap, batch=False, log=None):
    """Measure every (group, system) in a fresh child, once per round, interleaved.

    ``groups`` maps a group name to ``(module name, params, cases)``: one child run
    measures ``time`` and ``peak`` for all the group's cases. With ``batch``, one child
    per system and round measures all the groups one after the other (cheaper, for
    ``--quick``: the later groups' memory then starts from a heap the earlier ones used).
    A system that fails a group (time limit, memory cap, exception, unsupported) is not
    run again for that group.

    Returns ``{case.key: {system: result}}`` like :func:`run_benchmark`, the samples in
    the case's raw metric (seconds or bytes).
    """
    results = {case.key: {s: new_result() for s in systems}
               for _, _, cases in groups.values() for case in cases}
    dead = set()
    for r in range(rounds):
        order = systems[r % len(systems):] + systems[:r % len(systems)]
        runs = ([[g] for g in groups] if not batch else [list(groups)])
        for names in runs:
            for system in order:
                jobs = [(g, groups[g][0], groups[g][1]) for g in names if (g, system) not in dead]
                if not jobs:
                    continue
                outs = run_child(jobs, system, timeout * len(jobs), mem_cap)
                for group, out in outs.items():
                    cases = groups[group][2]
                    if "na" in out:
                        dead.add((group, system))
                        for case in cases:
                            results[case.key][system]["na"] = out["na"]
                        if log:
                            log(f"  {group} {system}: n/a, {out['na']}")
                        continue
                    for case in cases:
                        res = results[case.key][system]
                        res["samples"].append(out[case.metric])
                        res["max_err"] = max(res["max_err"] or 0.0, out["max_err"])
                        res["dtypes"] = out["dtypes"]
                        res["number"] = 1
                        res["method"] = out.get("method")
                    if log:
                        log(f"  {group} {system}: {out['time']:.3g} s, "
                            f"peak +{out['peak'] / 1e6:.1f} MB")
    return results


# ---------------------------------------------------------------------- the machine


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_total():
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def machine_info(versions):
    return {
        "platform": platform.platform(),
        "processor": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "memory_bytes": _memory_total(),
        "python": platform.python_version(),
        "threads": {v: os.environ.get(v, "unset") for v in THREAD_VARS},
        "versions": versions,
        "loadavg_start": load_average(),
        "heap_reset": HEAP_RESET,
    }


def load_average():
    """The 1, 5 and 15-minute load averages (other work on the machine), or None."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def print_machine(info, missing=()):
    mem = f", {info['memory_bytes'] / 2**30:.0f} GiB" if info.get("memory_bytes") else ""
    print(f"machine: {info['platform']}, {info['processor']}, {info['cpu_count']} CPUs{mem}")
    print("versions: python " + info["python"] + ", "
          + ", ".join(f"{s} {v}" for s, v in info["versions"].items()))
    print("threads: " + ", ".join(f"{v}={n}" for v, n in info["threads"].items())
          + (f"; load average {info['loadavg_start']}" if info.get("loadavg_start") else ""))
    if missing:
        print(f"not installed, skipped: {', '.join(missing)}")
