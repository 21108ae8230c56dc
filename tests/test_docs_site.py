"""The documentation site: it builds with ``mkdocs build --strict`` (a broken link, an
unresolved reference or a page outside the nav fails), and three of its pages render in a
real browser: the home page, the API reference of ``xpgrad.Tensor`` and a search.

The site is served on 127.0.0.1 and opened in headless Chromium (Debian's ``chromium``
package, driven by playwright, which never downloads a browser of its own); each page must
have its title and log no console error. A screenshot of the home page is saved as a build
artefact in ``build/site-screenshots/`` (or ``$XPGRAD_SCREENSHOT_DIR``).

Without the ``docs`` extra or Chromium these tests skip, saying what to install; CI sets
``XPGRAD_REQUIRE_DOCS_SITE=1``, which turns those skips into failures.
"""
import functools
import http.server
import importlib
import importlib.util
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import xpgrad

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Without the background-networking flags Chromium keeps trying to reach Google's hosts,
# which a machine without internet access refuses (and logs); the site needs none of them.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _unavailable(reason):
    if os.environ.get("XPGRAD_REQUIRE_DOCS_SITE") == "1":
        pytest.fail(f"the site test must run here (XPGRAD_REQUIRE_DOCS_SITE=1), but {reason}")
    pytest.skip(reason)


def _regular_install():
    """mkdocstrings imports xpgrad to document it, and finds its subpackages by their
    folders: an editable install maps ``xpgrad.plugins`` from another folder than
    ``xpgrad``, which it cannot follow."""
    package = Path(xpgrad.__file__).parent
    return (package / "plugins" / "__init__.py").exists()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("mkdocstrings") is None:
        _unavailable('mkdocs is not installed (pip install ".[docs]")')
    if not _regular_install():
        _unavailable('xpgrad is installed in editable mode; the API reference needs pip install ".[docs]"')
    out = tmp_path_factory.mktemp("site")
    built = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                           cwd=ROOT, capture_output=True, text=True, timeout=600,
                           env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert built.returncode == 0, built.stdout + built.stderr
    return out


# Each public module and the reference page that documents it.
REFERENCE = {
    "xpgrad": "xpgrad", "xpgrad.autograd": "autograd", "xpgrad.autograd.functional": "autograd",
    "xpgrad.autograd.graph": "autograd", "xpgrad.func": "func", "xpgrad.linalg": "linalg",
    "xpgrad.xp": "xp", "xpgrad.xp.linalg": "xp", "xpgrad.xp.fft": "xp", "xpgrad.dtypes": "xp",
    "xpgrad.viz": "viz",
    "xpgrad.nn.functional": "nn", "xpgrad.optim": "optim", "xpgrad.optim.lr_scheduler": "optim",
    "xpgrad.special": "special", "xpgrad.utils.checkpoint": "utils", "xpgrad.plugins": "plugins",
    "xpgrad.testing": "testing",
}


def test_the_site_builds_strict_with_every_page_and_the_api_reference(site):
    for page in ["index.html", "getting-started/index.html", "tutorials/index.html", "concepts/index.html",
                 "search/search_index.json"]:
        assert (site / page).is_file(), page
    missing = []
    for module_name, page in REFERENCE.items():
        module = importlib.import_module(module_name)
        html = (site / "api" / page / "index.html").read_text()
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            ours = getattr(obj, "__module__", None) or ""  # not the dtypes, not pluggy's markers
            if not name.startswith("_") and name != "Tensor" and callable(obj) and ours.startswith("xpgrad") \
                    and f'id="{module_name}.{name}"' not in html:
                missing.append(f"{module_name}.{name}")
    html = (site / "api/tensor/index.html").read_text()
    for name in dir(xpgrad.Tensor):
        if not name.startswith("_") and f'id="xpgrad.Tensor.{name}"' not in html:
            missing.append(f"xpgrad.Tensor.{name}")
    assert missing == [], f"public names the API reference does not document: {missing}"


@pytest.fixture(scope="module")
def served(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser(served):
    if CHROMIUM is None:
        _unavailable("Chromium is not installed (Debian: apt-get install chromium)")
    if importlib.util.find_spec("playwright") is None:
        _unavailable('playwright is not installed (pip install ".[docs]")')
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh page that records console errors and uncaught exceptions."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.errors = []
    page.on("console", lambda message: page.errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    context.close()


def _heading(page):
    """The page's first h1 as a reader sees it, without the permalink sign."""
    return page.locator("h1").first.inner_text().replace("\N{PILCROW SIGN}", "").strip()


def test_the_home_page_renders_in_a_browser(page, served):
    page.goto(served + "/", wait_until="networkidle")
    assert page.title() == "xpgrad"
    assert _heading(page) == "xpgrad"
    assert page.locator("nav").first.is_visible()
    assert page.errors == []
    folder = Path(os.environ.get("XPGRAD_SCREENSHOT_DIR", ROOT / "build" / "site-screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / "home.png"), full_page=True)
    assert (folder / "home.png").stat().st_size > 10_000


def test_the_tensor_reference_renders_in_a_browser(page, served):
    page.goto(served + "/api/tensor/", wait_until="networkidle")
    assert page.title().startswith("Tensor - xpgrad")
    assert _heading(page) == "xpgrad.Tensor"
    backward = page.locator('[id="xpgrad.Tensor.backward"]')
    assert backward.count() == 1 and "backward" in backward.inner_text()
    assert page.errors == []


def test_the_search_box_finds_a_page(page, served):
    page.goto(served + "/", wait_until="networkidle")
    page.locator("label.md-search__icon, .md-search__input").first.click()
    # the index loads in a web worker; the box says so until it is ready for a query
    meta = page.locator(".md-search-result__meta")
    page.wait_for_function("el => el.textContent.trim() === 'Type to start searching'",
                           arg=meta.element_handle(), timeout=30_000)
    page.locator("input.md-search__input").press_sequentially("register_hook", delay=20)
    results = page.locator(".md-search-result__item")
    results.first.wait_for(timeout=15_000)
    assert results.count() > 0
    assert "register_hook" in page.locator(".md-search-result").inner_text()
    assert page.errors == []
