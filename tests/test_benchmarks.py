"""The benchmark suite runs, and checks every system's gradients before timing them.

Timings are never asserted: only that the runs complete and that their gradient checks
(which abort the run on a mismatch) passed for xpgrad.
"""
import importlib.util
import pathlib
import platform

import pytest

BENCHMARKS = pathlib.Path(__file__).resolve().parent.parent / "benchmarks"
SCRIPT = BENCHMARKS / "overhead.py"
# torch.func.hessian's first forward-mode call loads decompositions through torch.jit.script
torch_jit_deprecated = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")


def _load(path=SCRIPT, name="overhead"):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_run_checks_and_reports_every_workload(capsys):
    rows = _load().main(["--quick", "--rounds", "1"])
    text = capsys.readouterr().out
    assert "gradients checked against hand-written NumPy" in text
    assert "xpgrad: yes" in text  # float32 gradients stay float32
    workloads = {row["case"] for row in rows if row["system"] == "xpgrad"}
    assert workloads == {"A1", "A2", "B-float32", "B-float64", "B-small"}, rows


def test_suite_runs_the_other_workloads_small(capsys):
    """C, D, E and F through run.py, tiny: children, peak memory, double backward, imports."""
    run = _load(BENCHMARKS / "run.py", "run")
    rows = run.main(["--quick", "--rounds", "1", "--only", "CDEF", "--c-size", "20000",
                     "--d-sizes", "1000"])
    text = capsys.readouterr().out
    assert "gradients checked against hand-written NumPy" in text
    xp = {row["case"]: row for row in rows if row["system"] == "xpgrad"}
    assert set(xp) == {"C", "C-fresh", "C-mem", "D-1e3", "D-1e3-mem", "D-1e3-node", "E", "F", "F-first"}, rows
    assert all(row["na"] is None and row["median"] is not None for row in xp.values()), xp
    assert xp["C"]["ratio_numpy"] is not None and xp["D-1e3-mem"]["ratio_numpy"] is None
    assert not any(row["system"] == "xpgrad-loop" for row in rows)  # J's own system
    if platform.libc_ver()[0] == "glibc":  # every in-process sample starts from a trimmed heap
        assert "heap reset: malloc_trim(0) before every sample" in text


@torch_jit_deprecated
def test_jacobians_and_hessians_small(capsys):
    """J through run.py, tiny: xpgrad's vectorised jacrev / hessian and its loop
    (``xpgrad-loop``, a system of J only) checked against NumPy and against PyTorch."""
    run = _load(BENCHMARKS / "run.py", "run")
    rows = run.main(["--quick", "--rounds", "1", "--only", "EJ", "--j-sizes", "8,6"])
    text = capsys.readouterr().out
    by = {(row["case"], row["system"]): row for row in rows}
    assert {c for c, s in by if s == "xpgrad-loop"} == {"J-jac", "J-hess"}, rows  # not E
    ran = [s for s in ("xpgrad", "xpgrad-loop", "torch", "autograd") if ("J-jac", s) in by]
    assert ran[:2] == ["xpgrad", "xpgrad-loop"], rows
    for case in ("J-jac", "J-hess"):
        for system in ran:
            row = by[case, system]
            assert row["na"] is None and row["median"] is not None, row
            assert row["max_err"] < 1e-12, row
        if ("J-jac", "mygrad") in by:
            assert by[case, "mygrad"]["na"], by[case, "mygrad"]
    assert "Jacobian of tanh(W @ x + b), 8 -> 8" in text and "Hessian of sum(tanh(A @ x) ** 2), 6 el." in text
    if "torch" in ran:
        assert "J-jac, max |xpgrad - torch.func| (limit 1e-10): xpgrad " in text
        assert by["J-hess", "xpgrad"]["ratio_torch"] is not None
    assert "J-jac: vectorised at least 10x faster than vectorize=False" in text


@pytest.mark.slow
@torch_jit_deprecated
def test_full_quick_suite(capsys):
    rows = _load(BENCHMARKS / "run.py", "run").main(["--quick"])
    assert "xpgrad's targets:" in capsys.readouterr().out
    assert {row["case"][0] for row in rows if row["system"] == "xpgrad"} == set("ABCDEFJ")


def test_baseline_is_an_earlier_revision_under_its_own_name(tmp_path):
    """--baseline REV: the revision copied out of git as ``xpgrad_at_<sha>``, every
    reference to the package renamed, importable beside xpgrad and computing gradients."""
    import subprocess
    import sys

    root = BENCHMARKS.parent
    if subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True).returncode:
        pytest.skip("not a git checkout: there is no revision to copy")
    sys.path.insert(0, str(BENCHMARKS))
    try:
        baseline = _load(BENCHMARKS / "baseline.py", "baseline")
    finally:
        sys.path.remove(str(BENCHMARKS))
    module, path = baseline.build("HEAD", dest=str(tmp_path))
    assert module.startswith("xpgrad_at_")
    sources = list((tmp_path / module).rglob("*.py"))
    assert (tmp_path / module / "plugins" / "op.py").exists() and (tmp_path / module / "ops").is_dir()
    leftover = [p for p in sources if baseline._NAME.search(p.read_text())]
    assert not leftover, leftover[:3]
    code = (f"import sys; sys.path.insert(0, {path!r}); import {module} as xg; "
            "x = xg.tensor([1.0, 2.0], dtype=xg.float64, requires_grad=True); (x * x).sum().backward(); "
            "assert x.grad.tolist() == [2.0, 4.0]; assert 'xpgrad' not in sys.modules, sorted(sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_backend_runs_put_xpgrad_on_each_librarys_arrays(capsys, tmp_path):
    """--backend: per library, xpgrad on its arrays against the same written by hand in
    it (and its own autograd where it has one), every gradient checked against NumPy's,
    the table's ratios to them, the backend targets, a profile, and the doc section."""
    run = _load(BENCHMARKS / "run.py", "run")
    names = ["array_api_strict"] + (["torch"] if importlib.util.find_spec("torch") else [])
    doc = tmp_path / "performance.md"
    doc.write_text(f"before\n{run.BEGIN}\nold\n{run.END}\nafter\n")
    sections = run.main(["--backend", ",".join(names), "--quick", "--rounds", "1", "--only", "BCE",
                         "--c-size", "2000", "--update-docs", str(doc)])
    text = capsys.readouterr().out
    for name in names:
        rows = {(r["case"], r["system"]): r for r in sections[name]["rows"]}
        for case in ("B-float32", "B-small", "C", "C-fresh", "C-mem", "E"):
            row = rows[case, f"xpgrad-{name}"]
            assert row["na"] is None and row["median"] is not None, row
            if case != "C-mem":  # a small C's peak may be 0 pages
                assert row["ratios"][f"hand-{name}"] > 0 and row["ratio_numpy"] > 0, row
        assert rows["B-float32", f"xpgrad-{name}"]["grad_dtypes"] == ["float32"] * 6
        targets = {t["target"] for t in sections[name]["targets"]}
        label = "array-api-strict" if name == "array_api_strict" else name
        assert f"C: peak memory within 1.25x of {label} by hand" in targets, targets
        assert any(fn.startswith("xpgrad/") for _, _, fn in sections[name]["profiles"][0][2])
        assert f"xpgrad on {label}" in text
    if "torch" in names:
        assert rows["C", "xpgrad-torch"]["ratio_torch"] > 0
        assert "C: within 1.10x of PyTorch's autograd" in {t["target"] for t in sections["torch"]["targets"]}
    written = doc.read_text()
    assert written.startswith("before\n") and written.endswith("after\n") and "old" not in written
    assert "### array-api-strict (`--backend array_api_strict`)" in written
    assert str(BENCHMARKS.parent) not in written  # no machine paths


def test_backend_refuses_an_unknown_library_and_a_doc_without_markers(tmp_path):
    run = _load(BENCHMARKS / "run.py", "run")
    with pytest.raises(SystemExit, match="--backend names \\['numpyy'\\]"):
        run.main(["--backend", "numpyy"])
    doc = tmp_path / "performance.md"
    doc.write_text("no markers\n")
    with pytest.raises(SystemExit, match="has no <!-- backend-results:begin -->"):
        run.write_doc(str(doc), {}, {}, None)
