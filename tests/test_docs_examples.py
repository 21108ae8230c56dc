"""Every Python example in README.md and docs/ runs as written, and prints what it says.

What is collected: each fenced block whose info string starts with ``python``, ``py`` or
``pycon`` in README.md and in every ``docs/**/*.md`` (every folder below docs/ included).
Blocks of any other language (``bash``, ``toml``, ``text``, none) are not run.

How a page runs: one test per page (its id is the page's path), in a fresh Python
process (so that global state, the default device, seeds, temporaries mode, plugins,
never leaks from one page to another), with a temporary directory as the working
directory and a time limit (``PAGE_TIMEOUT`` seconds). The page's blocks run in order in
one namespace, as the module ``__main__``: a block may use what an earlier block of the
same page defined, never what another page did. A deprecation warning (also
``PendingDeprecationWarning``, ``FutureWarning``) is an error: the docs use no API on its
way out; other warnings are shown, as the user sees them. A failure names the page and
the line of the block, with the traceback (whose lines are the page's own).

- ``python``/``py`` blocks run as a script. A ``pycon`` block is an interactive session
  (``>>>`` and ``...`` prompts, each followed by what it prints): it runs as a doctest,
  and what it shows is compared.
- Output: a block whose info string is ``text title="Output"`` right after a
  ``python``/``py`` block (only blank lines between) holds exactly what that block
  prints to stdout. It is compared with ``doctest.OutputChecker`` with ``ELLIPSIS`` and
  ``NORMALIZE_WHITESPACE``: ``...`` stands for anything (random digits), and runs of
  whitespace compare equal. A block with no Output block may print anything.
- Skip: the line ``<!-- docs-test: skip: REASON -->`` directly above a fence skips that
  block, reported as a skipped test that shows REASON. Only a block that needs a GPU, a
  cluster or a network may be skipped, so REASON must say which (it must mention
  "GPU", "cluster" or "network"). The page's other blocks still run, so they must not
  depend on a skipped one.
- Snippets: a line ``--8<-- "path"`` inside a fence is replaced by the content of the
  file at ``path``, relative to the repository root (what pymdownx.snippets does for the
  site, with its base path at the root). A block that includes a file is reported with
  its own line numbers, after the inclusion.

The example plugin package (examples/xpgrad-plugin-example), which docs/plugins.md tells
the reader to install, is on the path with its entry point, as if installed (CI installs
it for the whole suite), unless it is installed already.
"""
from __future__ import annotations

import dataclasses
import doctest
import importlib.metadata
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGE_TIMEOUT = 120  # seconds, for one page's blocks together
RUN = {"python", "py", "pycon"}
ALLOWED_SKIP = re.compile(r"GPU|cluster|network", re.IGNORECASE)
OUTPUT_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
EXAMPLE_PLUGIN = ROOT / "examples" / "xpgrad-plugin-example"

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`]*?)\s*$")
_DIRECTIVE = re.compile(r"^\s*<!--\s*docs-test\b(?P<rest>.*?)-->\s*$")
_SKIP = re.compile(r"^:\s*skip:\s*(?P<reason>\S.*?)\s*$")
_SNIPPET = re.compile(r"""^\s*-{1,}8<-{1,}\s+(?P<q>["'])(?P<path>[^"']+)(?P=q)\s*$""")


@dataclasses.dataclass
class Block:
    page: str  # the page's path, relative to the repository root
    line: int  # the line of the opening fence (1-based)
    lang: str  # the first word of the info string, lower case
    info: str
    code: str  # the content, the fence's indentation removed, snippets included
    first: int  # the page's line of the content's first line
    snippets: bool = False  # whether a snippet was included (the line numbers then shift)
    skip: str | None = None  # the skip directive's REASON
    output: str | None = None  # the following Output block's content
    output_line: int | None = None
    end: int = 0  # the line of the closing fence

    @property
    def where(self):
        return f"{self.page}:{self.line}"


def _pages():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return [p.relative_to(ROOT).as_posix() for p in pages if p.is_file()]


def _parse(page):
    """The page's fenced blocks, and the problems with its test markup."""
    lines = (ROOT / page).read_text(encoding="utf-8").splitlines()
    blocks, problems = [], []
    pending_skip = None  # (line, reason) of a directive waiting for its fence
    i = 0
    while i < len(lines):
        text = lines[i]
        directive = _DIRECTIVE.match(text)
        if directive:
            if pending_skip:
                problems.append(f"{page}:{pending_skip[0]}: a skip directive not directly above a fence")
            skip = _SKIP.match(directive["rest"])
            if skip:
                pending_skip = (i + 1, skip["reason"])
            else:
                pending_skip = None
                problems.append(f"{page}:{i + 1}: not a docs-test directive: {text.strip()!r} "
                                "(the one there is: <!-- docs-test: skip: REASON -->)")
            i += 1
            continue
        fence = _FENCE.match(text)
        if not fence:
            if pending_skip:
                problems.append(f"{page}:{pending_skip[0]}: a skip directive not directly above a fence")
                pending_skip = None
            i += 1
            continue
        indent, marker, info = fence["indent"], fence["fence"], fence["info"]
        start = i
        content, snippets = [], False
        i += 1
        while i < len(lines):
            close = _FENCE.match(lines[i])
            if (close and not close["info"] and close["fence"][0] == marker[0]
                    and len(close["fence"]) >= len(marker) and len(close["indent"]) <= len(indent) + 3):
                break
            line = lines[i][len(indent):] if lines[i].startswith(indent) else lines[i].lstrip()
            snippet = _SNIPPET.match(line)
            if snippet:
                path = ROOT / snippet["path"]
                if path.is_file():
                    content.extend(path.read_text(encoding="utf-8").splitlines())
                    snippets = True
                else:
                    problems.append(f"{page}:{i + 1}: the snippet {snippet['path']!r} is no file "
                                    "(a snippet's path is relative to the repository root)")
            else:
                content.append(line)
            i += 1
        else:
            problems.append(f"{page}:{start + 1}: this fence is never closed")
        i += 1
        lang = info.split()[0].lower() if info.split() else ""
        block = Block(page, start + 1, lang, info, "\n".join(content) + "\n", start + 2, snippets)
        if pending_skip:
            if lang in RUN:
                block.skip = pending_skip[1]
            else:
                problems.append(f"{page}:{pending_skip[0]}: a skip directive above a block that "
                                f"is not run anyway ({info or 'no language'!r})")
            pending_skip = None
        if lang == "text" and re.search(r'\btitle="Output"', info):
            previous = blocks[-1] if blocks else None
            between = lines[previous.end:start] if previous else ["?"]
            if previous is None or previous.lang not in {"python", "py"} or any(s.strip() for s in between):
                problems.append(f"{page}:{start + 1}: an Output block must follow a python block, "
                                "with only blank lines between")
            else:
                previous.output, previous.output_line = block.code, block.first
            block.end = i
            blocks.append(block)
            continue
        block.end = i
        blocks.append(block)
    if pending_skip:
        problems.append(f"{page}:{pending_skip[0]}: a skip directive not directly above a fence")
    return [b for b in blocks if b.lang in RUN], problems


PAGES = {page: _parse(page) for page in _pages()}
RUN_PAGES = [page for page, (blocks, _) in PAGES.items() if blocks]
SKIPPED = [b for blocks, _ in PAGES.values() for b in blocks if b.skip is not None]


# ---------------------------------------------------------------------- the markup


def test_docs_markup():
    """The pages are found, and their test markup (skips, Output blocks, snippets) is well-formed."""
    assert "README.md" in PAGES and any(p.startswith("docs/") for p in PAGES)
    problems = [problem for _, page_problems in PAGES.values() for problem in page_problems]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("block", SKIPPED, ids=[b.where for b in SKIPPED])
def test_docs_skipped_block(block):
    """Only blocks that need a GPU, a cluster or a network are skipped, and say so."""
    assert ALLOWED_SKIP.search(block.skip), (
        f"{block.where}: skipped for {block.skip!r}; only a block that needs a GPU, a cluster "
        "or a network may be skipped, and its reason must say which")
    pytest.skip(f"{block.where}: {block.skip}")


# ---------------------------------------------------------------------- the pages


@pytest.fixture(scope="session")
def docs_env(tmp_path_factory):
    """The environment a page runs in: the user's, without xpgrad's settings, with the
    example plugin package as if installed, and matplotlib drawing to no screen."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("XPGRAD_")}
    env["MPLBACKEND"] = "Agg"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    try:
        importlib.metadata.distribution("xpgrad-plugin-example")
    except importlib.metadata.PackageNotFoundError:
        site = tmp_path_factory.mktemp("site")
        shutil.copytree(EXAMPLE_PLUGIN / "src" / "xpgrad_plugin_example", site / "xpgrad_plugin_example")
        info = site / "xpgrad_plugin_example-0.1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: xpgrad-plugin-example\nVersion: 0.1.0\n")
        (info / "entry_points.txt").write_text("[xpgrad]\nexample = xpgrad_plugin_example.ops\n")
        env["PYTHONPATH"] = os.pathsep.join([str(site)] + [p for p in [env.get("PYTHONPATH")] if p])
    return env


@pytest.mark.parametrize("page", RUN_PAGES)
def test_docs_page(page, tmp_path, docs_env):
    """The page's blocks run in order in one fresh process, and print what they show."""
    blocks = [b for b in PAGES[page][0] if b.skip is None]
    if not blocks:
        pytest.skip(f"{page}: every block is skipped")
    job = tmp_path / "blocks.json"
    results = tmp_path / "results.jsonl"
    job.write_text(json.dumps({
        "page": page,
        "text": (ROOT / page).read_text(encoding="utf-8"),
        "blocks": [dataclasses.asdict(b) for b in blocks],
    }))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    try:
        proc = subprocess.run([sys.executable, __file__, str(job), str(results)], cwd=cwd,
                              env=docs_env, capture_output=True, text=True, timeout=PAGE_TIMEOUT)
    except subprocess.TimeoutExpired:
        started = _results(results)["started"]
        where = blocks[started[-1]].where if started else page
        pytest.fail(f"{where}: the page's blocks did not finish in {PAGE_TIMEOUT} s", pytrace=False)
    done = _results(results)
    if done["failure"]:
        pytest.fail(done["failure"], pytrace=False)
    if proc.returncode != 0 or len(done["passed"]) != len(blocks):
        pytest.fail(f"{page}: the process running its blocks ended with status {proc.returncode} "
                    f"after {len(done['passed'])} of {len(blocks)} blocks\n{proc.stdout}\n{proc.stderr}",
                    pytrace=False)


def _results(path):
    done = {"started": [], "passed": [], "failure": None}
    if path.exists():
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if record["event"] == "failed":
                done["failure"] = record["report"]
            else:
                done[record["event"]].append(record["index"])
    return done


# ---------------------------------------------------------------------- the runner
# This file run as a script is the process that runs one page: ``python
# test_docs_examples.py BLOCKS_JSON RESULTS_JSONL``. It writes a line to RESULTS_JSONL
# as each block starts and as it passes, and the report of the first that fails.


def _run_page(job_path, results_path):
    import contextlib
    import io
    import linecache
    import traceback
    import types
    import warnings

    job = json.loads(pathlib.Path(job_path).read_text())
    page = job["page"]
    # Tracebacks show the page's own lines.
    page_lines = [line + "\n" for line in job["text"].splitlines()]
    linecache.cache[page] = (len(job["text"]), None, page_lines, page)
    # A user's script: its directory (the working directory) first on the path, the
    # module __main__ its namespace.
    sys.path[0] = os.getcwd()
    main = types.ModuleType("__main__")
    main.__dict__["__builtins__"] = __builtins__
    sys.modules["__main__"] = main
    for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
        warnings.filterwarnings("error", category=category)
    results = open(results_path, "a")  # noqa: SIM115 (open for the whole run)

    def record(**fields):
        results.write(json.dumps(fields) + "\n")
        results.flush()

    for index, block in enumerate(job["blocks"]):
        record(event="started", index=index)
        where = f"{block['page']}:{block['line']}"
        out = io.StringIO()
        if block["lang"] == "pycon":
            report = io.StringIO()
            test = doctest.DocTestParser().get_doctest(block["code"], main.__dict__, where, page,
                                                       block["first"] - 1)
            runner = doctest.DocTestRunner(optionflags=OUTPUT_FLAGS)
            result = runner.run(test, out=report.write, clear_globs=False)
            if result.failed:
                record(event="failed", index=index,
                       report=f"{where}: the session's output differs\n{report.getvalue()}")
                return
            record(event="passed", index=index)
            continue
        if block["snippets"]:
            filename = f"{where} (with its snippets)"
            source = block["code"]
            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        else:
            filename = page  # padded, so that the line numbers are the page's
            source = "\n" * (block["first"] - 1) + block["code"]
        try:
            code = compile(source, filename, "exec")
            with contextlib.redirect_stdout(out):
                exec(code, main.__dict__)
        except BaseException as exc:  # noqa: BLE001 (reported, with its traceback)
            tb = exc.__traceback__
            while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
                tb = tb.tb_next  # the runner's own frames
            lines = traceback.format_exception(type(exc), exc, tb)
            hint = ""
            if isinstance(exc, SyntaxError) and block["code"].lstrip().startswith(">>>"):
                hint = "\n(a session with >>> prompts is a ```pycon block)"
            printed = out.getvalue()
            record(event="failed", index=index,
                   report=f"{where}: the block raised\n{''.join(lines)}{hint}"
                          + (f"\nwhat it printed first:\n{printed}" if printed else ""))
            return
        if block["output"] is not None:
            want, got = block["output"], out.getvalue()
            checker = doctest.OutputChecker()
            if not checker.check_output(want, got, OUTPUT_FLAGS):
                example = doctest.Example(block["code"], want)
                record(event="failed", index=index,
                       report=f"{where}: what the block prints differs from its Output block "
                              f"(line {block['output_line']})\n"
                              + checker.output_difference(example, got, OUTPUT_FLAGS))
                return
        record(event="passed", index=index)


if __name__ == "__main__":
    _run_page(sys.argv[1], sys.argv[2])
