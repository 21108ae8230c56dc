"""tools/conformance.py: reading the suite's reports, explaining each failure, and the
table it writes into docs/conformance.md. (The suite itself is not vendored: running
it is the script's job, with a checkout the user passes.)"""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import conformance  # noqa: E402

REPORT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest">
<testcase classname="array_api_tests.test_creation_functions" name="test_arange" time="0.1"/>
<testcase classname="array_api_tests.test_special_cases"
  name="test_iop[__iadd__(x1_i is NaN or x2_i is NaN) -&gt; NaN]">
  <failure message="RuntimeError: a leaf Tensor that requires grad is being used in an in-place operation (+=)">
  trace</failure></testcase>
<testcase classname="array_api_tests.test_dlpack" name="test_dunder_dlpack">
  <error message="RuntimeError: Can't export a Tensor that requires grad through DLPack">x</error></testcase>
<testcase classname="array_api_tests.test_linalg" name="test_matrix_rank">
  <failure message="AssertionError: wrong">trace</failure></testcase>
<testcase classname="array_api_tests.test_fft" name="test_fft"><skipped message="no fft"/></testcase>
</testsuite></testsuites>
"""


@pytest.fixture
def report(tmp_path):
    path = tmp_path / "requires_grad.xml"
    path.write_text(REPORT)
    return path


def test_a_report_is_read_into_passed_failed_and_skipped(report):
    r = conformance.parse_report(report)
    assert r["passed"] == ["array_api_tests/test_creation_functions.py::test_arange"]
    assert r["skipped"] == ["array_api_tests/test_fft.py::test_fft"]
    nodes = [node for node, _ in r["failed"]]
    assert nodes == ["array_api_tests/test_special_cases.py::test_iop[__iadd__(x1_i is NaN or x2_i is NaN) -> NaN]",
                     "array_api_tests/test_dlpack.py::test_dunder_dlpack",
                     "array_api_tests/test_linalg.py::test_matrix_rank"]
    assert "a leaf Tensor that requires grad" in r["failed"][0][1]


def test_failures_are_explained_only_in_the_runs_their_cause_belongs_to(report):
    r = conformance.parse_report(report)
    node_iop, node_dlpack, node_rank = (node for node, _ in r["failed"])
    (_, iop), (_, dlpack), (_, rank) = r["failed"]
    assert conformance.explain("requires_grad", node_iop, iop) == "inplace-leaf"
    assert conformance.explain("cpu", node_iop, iop) is None  # on plain xpgrad.xp it would be a finding
    assert conformance.explain("requires_grad", node_iop, "AssertionError: wrong value") is None  # by message
    assert conformance.explain("requires_grad", node_dlpack, dlpack) == "dlpack-export"
    assert conformance.explain("requires_grad", node_rank, rank) is None
    assert conformance.explain("cpu", "x.py::test_floor_divide[...]", "") is None
    assert conformance.explain("reference", "x.py::test_floor_divide[...]", "") == "numpy-floor-divide"


def test_the_table_counts_each_run_and_lists_what_is_not_explained(report, tmp_path):
    r = conformance.parse_report(report)
    text, unexplained = conformance.render({"requires_grad": r}, {"suite": "x"})
    assert "| `xpgrad.xp_requires_grad` (every floating array requires grad) | 1 | 3 | 1 | 5 |" in text
    assert "| inplace-leaf | 1 |" in text and "| dlpack-export | 1 |" in text and "| not explained | 1 |" in text
    assert unexplained == [("requires_grad", "array_api_tests/test_linalg.py::test_matrix_rank")]
    assert "- requires_grad: `array_api_tests/test_linalg.py::test_matrix_rank`" in text
    doc = tmp_path / "page.md"
    doc.write_text(f"# Title\n\n{conformance.BEGIN}\nold\n{conformance.END}\n\nafter\n")
    conformance.update_doc(text, doc)
    page = doc.read_text()
    assert "old" not in page and text in page and page.endswith(f"{conformance.END}\n\nafter\n")


def test_the_documentation_page_has_the_markers_the_script_writes_between():
    page = conformance.DOC.read_text()
    assert page.index(conformance.BEGIN) < page.index(conformance.END)


def test_the_script_refuses_a_folder_that_is_not_the_suite(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "conformance.py"), str(tmp_path)],
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert f"{tmp_path} is not a checkout of data-apis/array-api-tests (no array_api_tests/ there)" in done.stderr


def test_the_requires_grad_namespace_makes_floating_leaves_that_require_grad():
    import xpgrad
    from xpgrad import xp_requires_grad as rxp

    assert rxp.__array_api_version__ == "2025.12"
    for made in (rxp.asarray([1.0, 2.0]), rxp.zeros(3), rxp.ones((2,), dtype=rxp.complex128), rxp.eye(2),
                 rxp.linspace(0, 1, 3), rxp.full((), 2.0), rxp.arange(3.0)):
        assert made.requires_grad and made.is_leaf
    assert not rxp.arange(3).requires_grad and not rxp.asarray([True]).requires_grad
    given = xpgrad.tensor([1.0])
    assert rxp.asarray(given) is given and not given.requires_grad  # an input handed back stays as it was
    x = rxp.asarray([0.5, 1.5])
    rxp.sum(rxp.sin(x)).backward()
    assert x.grad is not None and rxp.sin is xpgrad.xp.sin
    with pytest.raises(RuntimeError, match="leaf"):
        x += 1
