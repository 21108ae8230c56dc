"""Measurements in a fresh interpreter, for ``harness.run_child`` (not run by hand).

``python child.py SYSTEM JOBS_JSON``, JOBS a list of ``[group, module, params]``: for each
job, imports the workload module, calls its ``child_measure(group, system, params)`` and
prints the result as one JSON line: ``{"group": g, "time": s, "peak": bytes, "method": ...,
"max_err": e, "dtypes": [...]}``, or ``{"group": g, "na": reason}`` when the system cannot
run it, or ``{"group": g, "mismatch": message}`` when its gradients disagree with the
hand-written ones (the parent then aborts the run).
"""
import gc
import importlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # before NumPy
    os.environ.setdefault(_var, "1")


def measure(module, group, system, params):
    from harness import Unsupported

    try:
        return importlib.import_module(module).child_measure(group, system, params)
    except Unsupported as exc:
        return {"na": str(exc)}
    except SystemExit as exc:  # harness.check_gradients' verdict
        if not isinstance(exc.code, str):
            raise
        return {"mismatch": exc.code}
    except RecursionError as exc:
        return {"na": f"RecursionError: {exc}"}
    except MemoryError:
        return {"na": "MemoryError"}


def main(argv):
    system, jobs = argv[1], json.loads(argv[2])
    for group, module, params in jobs:
        out = measure(module, group, system, params)
        gc.collect()
        print(json.dumps({"group": group, **out}), flush=True)


if __name__ == "__main__":
    main(sys.argv)
