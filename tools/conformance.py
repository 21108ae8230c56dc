"""Run the array API conformance suite on xpgrad and write the table of the docs.

The suite is data-apis/array-api-tests, which the project does not vendor: pass a
checkout of it (with its ``array-api`` submodule), in an environment that has xpgrad
installed and the suite's requirements (``pip install -r requirements.txt`` there, and
array-api-strict)::

    python tools/conformance.py path/to/array-api-tests --update-docs

Four runs, each at the standard's 2025.12, derandomized with a fixed hash seed
(Hypothesis draws the same examples on every run, and replays none from an earlier one)
and without Hypothesis's per-example deadline (timing is not conformance):

- ``cpu``: ``xpgrad.xp`` on its default device (NumPy);
- ``array_api_strict``: ``xpgrad.xp`` with array-api-strict as the default device, so
  that every creation function and op runs there;
- ``requires_grad``: ``xpgrad.xp_requires_grad``, whose creation functions return
  floating arrays that require grad, so that the suite records a graph through
  everything it computes;
- ``reference``: ``array_api_compat.numpy``, the suite's usual reference.

Each failure is matched against the causes below, which the documentation explains;
one that no cause explains is printed and makes the exit status 1. The results go to
``build/conformance/results.md`` and, with ``--update-docs``, between the markers of
docs/conformance.md.
"""
import argparse
import datetime
import importlib.metadata
import os
import platform
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "conformance.md"
BEGIN, END = "<!-- conformance-results:begin -->", "<!-- conformance-results:end -->"
VERSION = "2025.12"

RUNS = {
    "cpu": ("`xpgrad.xp` (NumPy, the default device)", "xpgrad.xp"),
    "array_api_strict": ("`xpgrad.xp` on array-api-strict (the default device)",
                         "exec('import xpgrad, xpgrad.xp as xp; xpgrad.set_default_device(\"array_api_strict\")')"),
    "requires_grad": ("`xpgrad.xp_requires_grad` (every floating array requires grad)", "xpgrad.xp_requires_grad"),
    "reference": ("`array_api_compat.numpy` (reference)", "array_api_compat.numpy"),
}

# Why a test fails: by its node id or by the failure's message (None: any), and in which
# runs that is expected. A failure that matches none is a finding: the script says so and
# exits with 1.
CAUSES = [
    ("inplace-leaf", ("requires_grad",), None,
     re.compile(r"a (view of a )?leaf Tensor that requires grad is being used in an in-place operation"),
     "Writing in place into a leaf that requires grad, or into a view of one, is refused, as "
     "in PyTorch: the suite creates its operands as such leaves in this run, then uses "
     "in-place operators (`+=`, `/=`, ...) or item assignment on them."),
    ("dlpack-export", ("requires_grad",), None, re.compile(r"Can't export a Tensor that requires grad through DLPack"),
     "DLPack export of a Tensor that requires grad is refused, as PyTorch refuses it "
     "(the graph would be lost): export `t.detach()`."),
    ("numpy-floor-divide", ("reference",), re.compile(r"floor_?div"), None,
     "NumPy's `floor_divide` with infinite operands (`inf // 1` is `nan`, `-1 // inf` is `-1`); "
     "xpgrad's op corrects these special cases."),
    ("numpy-expm1", ("reference",), re.compile(r"expm1\("), None,
     "NumPy's complex `expm1` at infinities, NaN and zero; xpgrad's op corrects these special cases."),
    ("numpy-tanh", ("reference",), re.compile(r"tanh\(real\(x_i\) is \+infinity"), None,
     "NumPy's complex `tanh(inf + yj)` gives `1 - 0j` for some `y`; xpgrad's op corrects it."),
    ("numpy-finfo", ("reference",), re.compile(r"test_finfo\[(float32|complex64)\]"), None,
     "`array_api_compat.numpy.finfo` returns NumPy scalars for float32 and complex64 "
     "(the standard: Python floats); `xpgrad.xp.finfo` converts them."),
]


def run_suite(checkout, run, max_examples, out_dir):
    """One run of the suite; the path of its JUnit XML report."""
    label, module = RUNS[run]
    report = out_dir / f"{run}.xml"
    # A fixed hash seed too: the strategies' choices follow the order of sets of strings.
    env = dict(os.environ, ARRAY_API_TESTS_MODULE=module, ARRAY_API_TESTS_VERSION=VERSION, PYTHONHASHSEED="0")
    cmd = [sys.executable, "-m", "pytest", "array_api_tests/", f"--max-examples={max_examples}",
           "--hypothesis-derandomize", "--hypothesis-disable-deadline", "-q", "-p", "no:cacheprovider",
           "-W", "ignore", f"--junitxml={report}"]
    print(f"running {run}: {label}", flush=True)
    subprocess.run(cmd, cwd=checkout, env=env, check=False, stdout=subprocess.DEVNULL)
    return report


def parse_report(path):
    """``{"passed": [...], "failed": [(node id, message), ...], "skipped": [...]}``
    from a JUnit XML report of pytest."""
    results = {"passed": [], "failed": [], "skipped": []}
    for case in ET.parse(path).getroot().iter("testcase"):
        cls, name = case.get("classname", ""), case.get("name", "")
        node = cls.replace(".", "/") + ".py::" + name if cls else name
        bad = case.find("failure")
        if bad is None:
            bad = case.find("error")
        if bad is not None:
            results["failed"].append((node, (bad.get("message") or "") + "\n" + (bad.text or "")))
        elif case.find("skipped") is not None:
            results["skipped"].append(node)
        else:
            results["passed"].append(node)
    return results


def explain(run, node, message):
    """The cause (a key of CAUSES) that explains a failure of ``run``, or None."""
    for key, runs, node_pattern, message_pattern, _ in CAUSES:
        if (run in runs and (node_pattern is None or node_pattern.search(node))
                and (message_pattern is None or message_pattern.search(message))):
            return key
    return None


def render(results, meta):
    """The Markdown that docs/conformance.md shows between its markers."""
    lines = ["| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in meta.items()]
    lines += ["", "| run | passed | failed | skipped | total |", "|---|---:|---:|---:|---:|"]
    for run, r in results.items():
        n = {k: len(v) for k, v in r.items()}
        lines.append(f"| {RUNS[run][0]} | {n['passed']} | {n['failed']} | {n['skipped']} | {sum(n.values())} |")
    counts = {}
    unexplained = []
    for run, r in results.items():
        for node, message in r["failed"]:
            key = explain(run, node, message)
            if key is None:
                unexplained.append((run, node))
            else:
                counts[key, run] = counts.get((key, run), 0) + 1
    runs = list(results)
    lines += ["", "Failures, by cause (each explained below the table):", "",
              "| cause | " + " | ".join(runs) + " |", "|---|" + "---:|" * len(runs)]
    for key, *_ in CAUSES:
        if any((key, run) in counts for run in runs):
            lines.append(f"| {key} | " + " | ".join(str(counts.get((key, run), 0)) for run in runs) + " |")
    if unexplained:
        lines.append("| not explained | " + " | ".join(str(sum(1 for r, _ in unexplained if r == run))
                                                    for run in runs) + " |")
    lines.append("")
    lines += [f"- **{key}**: {cause[-1]}" for key, *cause in CAUSES if any((key, run) in counts for run in runs)]
    if unexplained:
        lines += ["", "Not explained (findings to fix):", ""]
        lines += [f"- {run}: `{node}`" for run, node in unexplained]
    return "\n".join(lines) + "\n", unexplained


def update_doc(text, doc=DOC):
    """Put ``text`` between the markers of docs/conformance.md."""
    page = doc.read_text()
    start, end = page.index(BEGIN) + len(BEGIN), page.index(END)
    doc.write_text(page[:start] + "\n" + text + page[end:])


def _meta(checkout, max_examples):
    def version(dist):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=checkout, capture_output=True,
                                text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    libs = ", ".join(f"{d} {version(d)}" for d in ("xpgrad", "numpy", "array-api-compat", "array-api-strict",
                                                   "hypothesis", "pytest"))
    return {"suite": f"data-apis/array-api-tests at `{commit}`",
            "standard": f"{VERSION} (`ARRAY_API_TESTS_VERSION={VERSION}` for every run)",
            "examples": f"`--max-examples={max_examples} --hypothesis-derandomize --hypothesis-disable-deadline`",
            "date": datetime.date.today().isoformat(),
            "machine": f"{platform.machine()} {platform.system()}, Python {platform.python_version()}",
            "libraries": libs}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="a checkout of data-apis/array-api-tests")
    parser.add_argument("--runs", default=",".join(RUNS), help=f"comma-separated, of {', '.join(RUNS)}")
    parser.add_argument("--max-examples", type=int, default=20)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "conformance")
    parser.add_argument("--update-docs", action="store_true", help="write the results into docs/conformance.md")
    args = parser.parse_args(argv)
    if not (args.checkout / "array_api_tests").is_dir():
        parser.error(f"{args.checkout} is not a checkout of data-apis/array-api-tests (no array_api_tests/ there)")
    runs = args.runs.split(",")
    for run in runs:
        if run not in RUNS:
            parser.error(f"unknown run {run!r}; the runs are {', '.join(RUNS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    results = {run: parse_report(run_suite(args.checkout.resolve(), run, args.max_examples, args.out))
               for run in runs}
    text, unexplained = render(results, _meta(args.checkout, args.max_examples))
    (args.out / "results.md").write_text(text)
    print(text)
    if args.update_docs:
        update_doc(text)
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
