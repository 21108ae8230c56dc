"""F. Import time: ``python -c "import xpgrad"`` against ``python -c "import numpy"``.

Each sample is the wall time of one fresh interpreter (the interpreter running the
suite, ``sys.executable``, with the same environment) running ``import <module>`` and
exiting, measured from the parent around ``subprocess.run``: interpreter start-up, the
import with everything it pulls in (for xpgrad: array-api-compat, pluggy and its
entry-point discovery, the built-in op plugins), and the exit. The systems are
interleaved round by round; the table gives the median over the rounds in milliseconds.
NumPy's row is ``import numpy``, the other systems' rows import their own package
(``torch``, ``autograd``, ``mygrad``). The start-up of a bare interpreter
(``python -c pass``) is measured alongside and printed, for scale; it is part of every
row. The ratio to NumPy is the target's ratio: ``import xpgrad`` over ``import numpy``.

``F-first`` times, the same way, the import plus a first gradient: ``x = ones(3)``,
``sum(x * x)`` and its gradient (``backward()``, ``autograd.grad``; NumPy by hand:
``2 * x``). A library that defers work to its first use (xpgrad imports NumPy,
array-api-compat and its op plugins lazily) pays it here, so this is the start-up a
script actually sees.
"""
import os
import subprocess
import sys
import time

from harness import SYSTEMS, Case, new_result

FIRST_GRADIENT = {
    "numpy": "import numpy; x = numpy.ones(3); (x * x).sum(); g = 2 * x",
    "xpgrad": "import xpgrad; x = xpgrad.ones(3, requires_grad=True); (x * x).sum().backward()",
    "torch": "import torch; x = torch.ones(3, requires_grad=True); (x * x).sum().backward()",
    "autograd": "import autograd, autograd.numpy as anp; "
                "autograd.grad(lambda x: anp.sum(x * x))(anp.ones(3))",
    "mygrad": "import mygrad; x = mygrad.ones(3); (x * x).sum().backward()",
}


def make_cases():
    me = globals()
    return (Case("F", "python -c 'import <system>'", "import", {}, (), 1, "ms", 1e3, module=me),
            Case("F-first", "import + first gradient", "first", {}, (), 1, "ms", 1e3, module=me))


# Systems that are another one with a setting: what sets it, before the import.
_SETTING = {"xpgrad-temps": ("xpgrad", "import os; os.environ['XPGRAD_TEMPORARIES'] = '1'; ")}


def code(case, system):
    if system.startswith("xpgrad@"):  # an earlier revision: its copy, from where run.py put it
        module = SYSTEMS[system][0]
        path = next(p for p in sys.path if os.path.isdir(os.path.join(p, module)))
        prefix = f"import sys; sys.path.insert(0, {path!r}); "
        if case.kind == "import":
            return prefix + f"import {module}"
        return prefix + FIRST_GRADIENT["xpgrad"].replace("xpgrad", module)
    base, prefix = _SETTING.get(system, (system, ""))
    if case.kind == "import":
        return prefix + f"import {SYSTEMS[base][0]}"
    return prefix + FIRST_GRADIENT[base]


def _once(code):
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - t0


def run_imports(cases, systems, rounds, prime=True, log=None):
    """Time each case's code per system in ``rounds`` fresh interpreters each, interleaved.

    With ``prime``, one untimed run per case and system first (file system cache, .pyc
    files). Returns the results for :func:`report.summarize` and the bare interpreter's
    times.
    """
    results = {case.key: {s: new_result() for s in systems} for case in cases}
    bare = []
    for case in cases if prime else ():
        for s in systems:
            _once(code(case, s))
    for r in range(rounds):
        order = systems[r % len(systems):] + systems[:r % len(systems)]
        bare.append(_once("pass"))
        for case in cases:
            for s in order:
                res = results[case.key][s]
                res["samples"].append(_once(code(case, s)))
                res["number"] = 1
    if log:
        log(f"  {rounds} interpreters per system and case")
    return results, bare


def importtime(module, top=15, source=None):
    """The ``top`` modules by self time in ``python -X importtime -c SOURCE``.

    ``source`` defaults to ``import module``; the total is ``module``'s cumulative time.
    """
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", source or f"import {module}"],
                          capture_output=True, text=True, check=True)
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cum_us, name = line[len("import time:"):].split("|")
        rows.append((int(self_us), int(cum_us), name.rstrip()))
    total = max((c for _, c, n in rows if n.strip() == module), default=None)
    total_all = sum(self_us for self_us, _, _ in rows)
    rows.sort(reverse=True)
    return total, total_all, rows[:top]
