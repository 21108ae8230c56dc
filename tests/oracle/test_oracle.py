"""The differential test against PyTorch (``docs/oracle.md``): every case of
``cases.py`` runs on ``xpgrad.xp`` and on ``array_api_compat.torch``; values, gradients,
second derivatives and JVPs must agree, except where ``differences.py`` documents
otherwise or ``known_bugs.py`` lists a bug."""
import fnmatch
import warnings

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("array_api_compat.torch")

from . import cases as _cases  # noqa: E402
from .differences import DIFFERENCES, check_component, entries_for  # noqa: E402
from .harness import TorchSide, XpgradSide, run  # noqa: E402
from .known_bugs import KNOWN_BUGS  # noqa: E402

ALL = _cases.all_cases()


def _bug(case_id):
    for pattern, bug in KNOWN_BUGS.items():
        if fnmatch.fnmatchcase(case_id, pattern):
            return bug
    return None


def _params(cases, bugs=True):
    out = []
    for c in cases:
        marks = [pytest.mark.slow] if c.slow else []
        bug = _bug(c.id) if bugs else None
        if bug is not None:
            marks.append(pytest.mark.xfail(strict=True, reason=f"{bug.reason} -- {bug.repro}"))
        out.append(pytest.param(c, id=c.id, marks=marks))
    return out


@pytest.fixture(scope="module")
def sides():
    return XpgradSide(), TorchSide()


def _quiet(fn, *args):
    # Special values overflow and divide by zero on purpose: the libraries' warnings are
    # not what this test checks.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return fn(*args)


def _check_case(case, ours_side, torch_side):
    ours = _quiet(run, case, ours_side, case.checks)
    theirs = _quiet(run, case, torch_side, case.checks)
    failures = []
    for component in case.checks:
        try:
            _quiet(check_component, case, component, ours[component], theirs[component],
                   entries_for(case.id, component))
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, f"{case.id}:\n" + "\n".join(failures)


@pytest.mark.parametrize("case", _params(ALL))
def test_against_torch(case, sides):
    _check_case(case, *sides)


@pytest.mark.parametrize("case", _params(ALL, bugs=False))
def test_case_reaches_its_op(case, sides):
    """The op a case claims to cover is recorded in its graph (first or second order)."""
    from xpgrad.plugins import registry

    if not registry.ops()[case.op].differentiable:
        pytest.skip("a non-differentiable op records no graph")
    side = sides[0]
    found = _quiet(_recorded_ops, case, side)
    assert case.op in found, f"{case.id}: the program records {sorted(found)}, not {case.op!r}"


def _recorded_ops(case, side):
    from .harness import _as_outputs

    xs = [side.array(a, requires_grad=True) for a in case.arrays()]
    outs = [o for o in _as_outputs(case.prog(side.ns, *xs)) if side.requires_grad(o)]
    found = side.graph_ops(outs)
    if outs and not found >= {case.op}:
        loss = None
        for o in outs:
            s = side.ns.sum(side.ns.real(o) if "complex" in str(o.dtype) else o)
            loss = s if loss is None else loss + s
        grads = side.grad(loss, xs, create_graph=True)
        found |= side.graph_ops([g for g in grads if g is not None])
    return found


def test_every_op_has_a_case():
    """Every differentiable op of xpgrad's own plugins has a case or a reason to have none
    (ops of third-party plugins installed beside it are their authors' to test)."""
    from xpgrad.plugins import registry
    from xpgrad.plugins.manager import BUILTIN_PLUGINS

    covered = {c.op for c in ALL}
    missing = sorted(name for name, op in registry.ops().items()
                     if op.differentiable and op.plugin in BUILTIN_PLUGINS
                     and name not in covered and name not in _cases.EXCLUDED)
    assert not missing, (
        f"differentiable ops with no oracle case: {missing}. Give each a generator in "
        "tests/oracle/explicit_cases.py (@explicit(name)), or make xpgrad.xp.<name> reachable so the "
        "default cases apply, or list it in EXCLUDED in tests/oracle/cases.py with the reason.")
    stale = sorted(set(_cases.EXCLUDED) & covered)
    assert not stale, f"ops in EXCLUDED that have cases: {stale}"


def test_tables_name_existing_cases():
    """Every entry of DIFFERENCES and KNOWN_BUGS matches some case."""
    ids = [c.id for c in ALL]
    stale = [p for e in DIFFERENCES for p in e.cases if not fnmatch.filter(ids, p)]
    stale += [p for p in KNOWN_BUGS if not fnmatch.filter(ids, p)]
    assert not stale, f"table entries that match no case: {stale}"


def test_case_ids_are_unique():
    ids = [c.id for c in ALL]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    assert not dupes, dupes


def test_program_differences_are_asserted():
    """Every program-level difference names tests that exist."""
    import ast
    import pathlib

    from .differences import PROGRAM_DIFFERENCES

    root = pathlib.Path(__file__).resolve().parents[1]
    for d in PROGRAM_DIFFERENCES:
        assert d.tests, d.program
        for test in d.tests:
            module, name = test.split("::")
            tree = ast.parse((root / module).read_text())
            names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
            assert name in names, f"{test}, named for {d.program!r}, does not exist"


def test_docs_tables_are_current():
    """docs/oracle.md shows exactly the tables the oracle asserts."""
    from .docs import PAGE, render

    text = PAGE.read_text()
    assert render(text) == text, (
        "docs/oracle.md is out of date with tests/oracle/differences.py or known_bugs.py: "
        "run `python -m tests.oracle.docs` from the repository root")


def _strict_subset():
    """One case per op (its first float64 case): the same comparison with xpgrad on
    array-api-strict, whose namespace has only what the standard says."""
    from xpgrad.plugins import registry

    seen, out = set(), []
    for c in ALL:
        if (c.dtype == "float64" and c.op not in seen and not c.slow and _bug(c.id) is None
                and registry.ops()[c.op].differentiable):
            seen.add(c.op)
            out.append(c)
    return out


@pytest.mark.parametrize("case", _params(_strict_subset(), bugs=False))
def test_array_api_strict(case, sides):
    pytest.importorskip("array_api_strict")
    _check_case(case, XpgradSide("array_api_strict"), sides[1])
