"""An earlier revision of xpgrad, measured beside the current one in the same run.

``python benchmarks/run.py --baseline REV`` (a commit, tag or branch of this repository)
adds the system ``xpgrad@REV``: xpgrad as it was at REV, timed in the same interleaved
rounds and child processes as every other system, so that a change's effect on A, B and
C reads as a ratio from one run rather than from two runs on a machine that drifted.

Two versions of one package cannot share an interpreter under one name, so the revision
is copied out of git (``git archive``) into a package of its own name, ``xpgrad_at_<sha>``,
laid out as its pyproject.toml maps the folders, with every reference to the package name
``xpgrad`` in its sources renamed (imports, the plugin modules' names, the plugin
manager's project name; so it sees no entry-point plugin installed for xpgrad). The
workloads' xpgrad factories then run with ``sys.modules["xpgrad"]`` pointing at the copy
while they set their problem up: the very same code, on the older package.
"""
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# "rev=module=path" entries joined by ";": how run.py tells its children about baselines
ENV = "XPGRAD_BENCH_BASELINES"

_NAME = re.compile(r"(?<![\w.-])xpgrad(?![\w-])")


def _git(*args):
    return subprocess.run(["git", "-C", REPO, *args], check=True, capture_output=True).stdout


def _package_dirs(pyproject):
    """``{package: folder}`` from setuptools' package-dir table of a pyproject.toml text."""
    table = re.search(r"\[tool\.setuptools\.package-dir\]\n(.*?)(?:\n\[|\Z)", pyproject, re.S)
    if table is None:
        raise SystemExit("--baseline: that revision's pyproject.toml has no [tool.setuptools.package-dir]")
    return dict(re.findall(r'^"([\w.]+)"\s*=\s*"([\w./-]+)"', table.group(1), re.M))


def build(rev, dest=None):
    """Copy revision ``rev`` out as a package of its own; returns ``(module, path)``:
    ``import module`` works once ``path`` is on ``sys.path``. Made once per commit."""
    sha = _git("rev-parse", "--short=10", f"{rev}^{{commit}}").decode().strip()
    module = f"xpgrad_at_{sha}"
    dest = dest or os.path.join(tempfile.gettempdir(), "xpgrad-bench-baselines")
    target = os.path.join(dest, module)
    if os.path.isdir(target):
        return module, dest
    dirs = _package_dirs(_git("show", f"{sha}:pyproject.toml").decode())
    with tempfile.TemporaryDirectory() as tmp:
        archive = os.path.join(tmp, "tree.tar")
        with open(archive, "wb") as f:
            f.write(_git("archive", "--format=tar", sha, *sorted(set(dirs.values()))))
        with tarfile.open(archive) as tar:
            tar.extractall(os.path.join(tmp, "tree"), filter="data")
        staging = os.path.join(tmp, module)
        # the top package first, then its subpackages inside it
        for package, folder in sorted(dirs.items(), key=lambda kv: kv[0].count(".")):
            inside = package.split(".")[1:]
            shutil.copytree(os.path.join(tmp, "tree", folder), os.path.join(staging, *inside),
                            dirs_exist_ok=True)
        for root, _, files in os.walk(staging):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(root, name)
                    with open(path) as f:
                        text = f.read()
                    with open(path, "w") as f:
                        f.write(_NAME.sub(module, text))
        os.makedirs(dest, exist_ok=True)
        shutil.move(staging, target)
    return module, dest


def register(systems, rev, module, path):
    """Add the system ``xpgrad@rev`` to ``systems`` (harness.SYSTEMS) and tell children."""
    if path not in sys.path:
        sys.path.insert(0, path)
    name = f"xpgrad@{rev}"
    systems[name] = (module, f"xpgrad at {rev}")
    entries = [e for e in os.environ.get(ENV, "").split(";") if e and not e.startswith(f"{rev}=")]
    os.environ[ENV] = ";".join(entries + [f"{rev}={module}={path}"])
    return name


def register_from_env(systems):
    """In a child: the baselines the parent registered."""
    for entry in os.environ.get(ENV, "").split(";"):
        if entry:
            rev, module, path = entry.split("=", 2)
            register(systems, rev, module, path)


def as_xpgrad(module, make):
    """xpgrad's factory ``make``, run with ``import xpgrad`` giving ``module`` (the copy)."""
    def make_baseline(data):
        import importlib

        package = importlib.import_module(module)
        saved = sys.modules.get("xpgrad")
        sys.modules["xpgrad"] = package
        try:
            return make(data)
        finally:
            if saved is None:
                del sys.modules["xpgrad"]
            else:
                sys.modules["xpgrad"] = saved
    return make_baseline
