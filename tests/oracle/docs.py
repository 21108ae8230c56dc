"""The tables of ``docs/oracle.md``, generated from :data:`DIFFERENCES` and
:data:`KNOWN_BUGS`. ``python -m tests.oracle.docs`` (from the repository root) rewrites
them; ``test_docs_tables_are_current`` fails when the page and the tables disagree."""
import pathlib
import re

from .differences import DIFFERENCES, PROGRAM_DIFFERENCES
from .known_bugs import KNOWN_BUGS

PAGE = pathlib.Path(__file__).resolve().parents[2] / "docs" / "oracle.md"
_BLOCK = "<!-- {name}: generated from tests/oracle by `python -m tests.oracle.docs`; do not edit -->"
_END = "<!-- end {name} -->"


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def differences_table():
    rows = ["| kind | cases | components | what differs | why |", "| --- | --- | --- | --- | --- |"]
    for d in DIFFERENCES:
        cases = ", ".join(f"`{c}`" for c in d.cases)
        rows.append(f"| {_cell(d.kind)} | {cases} | {', '.join(d.components)} | {_cell(d.what.describe())} "
                    f"| {_cell(d.reason)} |")
    return "\n".join(rows)


def known_bugs_table():
    rows = ["| cases | bug | reproduction |", "| --- | --- | --- |"]
    for pattern, bug in KNOWN_BUGS.items():
        rows.append(f"| `{pattern}` | {_cell(bug.reason)} | `{_cell(bug.repro)}` |")
    return "\n".join(rows)


def program_differences_table():
    rows = ["| program | PyTorch | xpgrad | why | asserted by |", "| --- | --- | --- | --- | --- |"]
    for d in PROGRAM_DIFFERENCES:
        tests = ", ".join(f"`tests/{t}`" for t in d.tests)
        rows.append(f"| {_cell(d.program)} | {_cell(d.torch)} | {_cell(d.ours)} | {_cell(d.reason)} | {tests} |")
    return "\n".join(rows)


TABLES = {"differences": differences_table, "program-differences": program_differences_table,
          "known-bugs": known_bugs_table}


def render(text):
    """``text`` with every generated block replaced by the current table."""
    for name, make in TABLES.items():
        start, end = _BLOCK.format(name=name), _END.format(name=name)
        pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
        if not pattern.search(text):
            raise ValueError(f"{PAGE} has no block {start!r} ... {end!r}")
        text = pattern.sub(lambda m: f"{start}\n{make()}\n{end}", text)
    return text


if __name__ == "__main__":
    PAGE.write_text(render(PAGE.read_text()))
    print(f"wrote {PAGE}")
