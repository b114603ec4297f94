"""The rendered book in a real browser (headless Chromium driven by Playwright), page by page.

Runs when ``_build/html`` exists (after ``make book``) and a Chromium is installed; ``make browser-test`` (and so
``.ci/run``) sets ``NNC_REQUIRE_BOOK=1``, which turns a missing book or browser into a failure instead of a skip.
Screenshots of each chapter's first screen are kept in ``_build/screenshots`` as a build artefact.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
import yaml
from leftovers import find_leftovers, unexpected

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
REQUIRED = os.environ.get("NNC_REQUIRE_BOOK") == "1"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part.get("chapters", [])]
    return files


PAGES = _toc_files()
CHAPTERS = [f for f in PAGES if f.startswith("notebooks/")]

if not (HTML / "index.html").is_file() or CHROMIUM is None:
    reason = "the book is not built (make book)" if CHROMIUM else "no chromium installed (make chromium)"
    if REQUIRED:
        raise RuntimeError(f"browser test required but {reason}")
    pytest.skip(reason, allow_module_level=True)


@pytest.fixture(scope="module")
def server():
    """Serve _build/html on a loopback port (the search page needs http, not file://)."""
    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(QuietHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _open(browser, url: str):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    # jupyter-book 1.x includes sphinx-thebe's loader twice on every page; that redeclaration is harmless and
    # not ours, every other JavaScript error fails the test
    page.on("pageerror", lambda exc: errors.append(str(exc)) if "THEBE_JS_URL" not in str(exc) else None)
    response = page.goto(url, wait_until="load")
    assert response is not None and response.ok, f"{url}: HTTP {response.status if response else 'none'}"
    page.wait_for_function("() => !window.MathJax || (window.MathJax.startup && window.MathJax.startup.promise)",
                           timeout=30_000)
    page.evaluate("() => window.MathJax ? window.MathJax.startup.promise : null")
    return page, errors


@pytest.mark.parametrize("doc", PAGES)
def test_page_renders(browser, server, doc):
    page, errors = _open(browser, f"{server}/{doc}.html")
    try:
        assert not errors, f"JavaScript errors on {doc}: {errors}"
        main = page.locator("main")
        text = main.inner_text()
        # math is typeset: every math node holds a MathJax container, no raw TeX is left
        raw = page.evaluate("""() => [...document.querySelectorAll('main .math')]
            .filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 60))""")
        assert not raw, f"untypeset math on {doc}: {raw[:3]}"
        prose = page.evaluate("""() => [...document.querySelectorAll('main p, main li, main td, main h1, main h2')]
            .filter(e => !e.closest('.cell_input, pre')).map(e => e.textContent).join('\\n')""")
        assert not re.search(r"(?<![\\\w])\$[^$\s][^$]*\$", prose), f"raw $...$ left in the prose of {doc}"
        # figures load with a non-zero size
        broken = page.evaluate("""() => [...document.querySelectorAll('main img')]
            .filter(i => !(i.complete && i.naturalWidth > 0 && i.naturalHeight > 0)).map(i => i.src)""")
        assert not broken, f"broken images on {doc}: {broken}"
        # no cell output shows an error
        outputs = page.evaluate("""() => [...document.querySelectorAll('main .cell_output')]
            .map(e => e.textContent).join('\\n')""")
        assert "Traceback (most recent call last)" not in outputs and "Error:" not in outputs.replace(
            "max_error", ""), f"error output on {doc}"
        # citations resolve (no unresolved [?] or ?? markers)
        assert "??" not in text and "[?]" not in text, f"unresolved reference on {doc}"
        # internal links point at existing pages and anchors
        for href in page.evaluate("() => [...document.querySelectorAll('main a.reference.internal')]"
                                  ".map(a => a.href)"):
            target = urlparse(href)
            path = HTML / unquote(target.path).lstrip("/")
            assert path.is_file(), f"{doc}: link to missing {target.path}"
            if target.fragment and path.suffix == ".html":
                assert f'id="{target.fragment}"' in path.read_text(), f"{doc}: missing anchor #{target.fragment}"
        if doc in CHAPTERS:
            assert page.locator("main img").count() > 0, f"{doc} has no figure"
            assert "Paper vs. this book" in text, f"{doc} lacks its paper-vs-book table"
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / f"{Path(doc).name}.png"))
    finally:
        page.close()


# The visible text of a page, block by block, with code inputs and error tracebacks removed (test_page_renders
# fails on the latter) and every code literal and math element replaced by a placeholder (their content is
# deliberate; removing them would glue the words around them).
_VISIBLE_TEXT_JS = """() => {
    const main = document.querySelector('main').cloneNode(true);
    main.querySelectorAll('.cell_input, .output.traceback, script, style, .headerlink').forEach(e => e.remove());
    main.querySelectorAll('mjx-container, .math, code, .MathJax').forEach(e => e.replaceWith('X'));
    const blocks = [...main.querySelectorAll(
        'p, li, td, th, dt, dd, h1, h2, h3, caption, figcaption, .cell_output pre')];
    return blocks.filter(e => !e.querySelector('p, li, td, dd')).map(e => e.textContent.replace(/\\s+/g, ' ').trim());
}"""


@pytest.mark.parametrize("doc", PAGES)
def test_no_leftovers(browser, server, doc):
    """No glue, pandas, BibTeX or MyST leftovers in what a reader sees (patterns and allow-list: leftovers.py)."""
    page, _ = _open(browser, f"{server}/{doc}.html")
    try:
        blocks = page.evaluate(_VISIBLE_TEXT_JS)
        empty_glue = page.evaluate("() => [...document.querySelectorAll('main span.pasted-text')]"
                                   ".filter(e => !e.textContent.trim()).length")
    finally:
        page.close()
    found = []
    for block in blocks:
        for name, match in unexpected(doc, find_leftovers(block, page=doc)):
            i = block.find(match)
            found.append(f"{name}: {match!r} in ...{block[max(0, i - 50):i + len(match) + 30]}...")
    assert not empty_glue, f"{doc}: empty glued values: {empty_glue}"
    assert not found, f"{len(found)} leftovers on {doc}:\n" + "\n".join(sorted(set(found)))


PROOF_LABELS = ["proof-canonical-traces", "proof-components", "proof-counts", "proof-split", "proof-canonical-form",
                "proof-relu-rank", "proof-fisher-rank", "proof-piece-bound", "proof-norm-bound"]
GLOSSARY_TERMS = ["stable neuron", "stably active", "stably inactive", "witness", "kink", "trace",
                  "learning coefficient", "multiplicity", "WBIC", "local learning coefficient", "statistical query",
                  "separator", "transfer set", "lossless compression", "reducible", "irreducible", "rank",
                  "bounded-rank region", "generalised sign", "unit partition", "MILP", "big-M", "ISA", "LEO++",
                  "phase", "degenerate phase", "distillation"]


@pytest.mark.skipif("book/proofs" not in PAGES, reason="no proofs page in _toc.yml")
def test_proofs_page(browser, server):
    """Every proof has its anchor, its statement box and its typeset math, and ends with a square."""
    page, _ = _open(browser, f"{server}/book/proofs.html")
    try:
        ids = set(page.evaluate("() => [...document.querySelectorAll('main [id]')].map(e => e.id)"))
        assert not set(PROOF_LABELS) - ids, f"missing proof anchors: {set(PROOF_LABELS) - ids}"
        statements = page.locator("main div.admonition").count()
        assert statements == len(PROOF_LABELS), f"{statements} statement boxes for {len(PROOF_LABELS)} results"
        text = page.locator("main").inner_text()
        assert text.count("Proof.") == len(PROOF_LABELS), "a result without its proof"
        assert (HTML / "book" / "proofs.html").read_text().count(r"\square") >= len(PROOF_LABELS), "a proof not closed"
    finally:
        page.close()


@pytest.mark.skipif("book/glossary" not in PAGES, reason="no glossary page in _toc.yml")
def test_glossary_page(browser, server):
    """The glossary defines the terms the chapters use, each with a non-empty definition."""
    page, _ = _open(browser, f"{server}/book/glossary.html")
    try:
        terms = page.evaluate("() => [...document.querySelectorAll('main dl.glossary dt')]"
                              ".map(e => e.textContent.replace(/#$/, '').trim())")
        empty = page.evaluate("() => [...document.querySelectorAll('main dl.glossary dd')]"
                              ".filter(e => !e.textContent.trim()).length")
    finally:
        page.close()
    assert not set(GLOSSARY_TERMS) - set(terms), f"glossary lacks {set(GLOSSARY_TERMS) - set(terms)}"
    assert not empty, f"{empty} empty glossary definitions"


def _search_term(doc: str) -> str:
    """A distinctive word of the chapter's title (the longest one)."""
    title = (HTML / f"{doc}.html").read_text().split("<title>")[1].split("</title>")[0]
    title = re.sub(r"^[\d.]+\s*", "", re.split(r"—|&#8212;|&mdash;", title)[0]).strip()
    return max(re.findall(r"[A-Za-z]{4,}", title), key=len)


@pytest.mark.parametrize("doc", CHAPTERS)
def test_search_finds_each_chapter(browser, server, doc):
    term = _search_term(doc)
    page, errors = _open(browser, f"{server}/search.html?q={term}")
    try:
        page.wait_for_selector("#search-results li", timeout=30_000)
        hrefs = page.evaluate("() => [...document.querySelectorAll('#search-results li a')].map(a => a.href)")
        assert any(doc in h for h in hrefs), f"searching {term!r} does not find {doc}: {hrefs[:5]}"
    finally:
        page.close()
