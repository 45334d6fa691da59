"""The pages in real headless Chromium (Debian's), driven by Playwright, against live servers.

The establishment-benefit, refusal and follow-up tests use the real model over the bundled
corpus; the rest use the fake embedder over a small corpus. The chat screenshot is written to
tests/output/chat.png.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.api import create_app
from assistant.config import Settings, load_settings
from assistant.engine import Engine
from assistant.model.embed import HashEmbedder

from .conftest import REPO
from .servers import indexed_app, running

pytestmark = pytest.mark.browser

OUTPUT = REPO / "tests" / "output"
KEY = "browser-test-key"
TIMEOUT_MS = 60_000

# Hostile markup as literal text (entities in HTML), plus the real tags the loader drops.
HOSTILE_HTML = """<html><head><title>Quokka notes</title></head><body><main>
<h1>Quokka zebra notes</h1>
<p>Quokka zebra handbook: &lt;script&gt;window.__pwned = 1&lt;/script&gt; then
&lt;img src=x onerror="window.__pwned = 1"&gt; and
&lt;a href="javascript:window.__pwned = 1"&gt;click&lt;/a&gt; and
![tracking pixel](http://tracker.invalid/pixel.png) and &lt;iframe src="http://tracker.invalid/"&gt;.</p>
<p>Quokka zebra second part <script>window.__pwned = 1</script>
<img src="http://tracker.invalid/x.png" onerror="window.__pwned = 1">
<a href="javascript:window.__pwned = 1">javascript link</a>.</p>
</main></body></html>"""
HOSTILE_MD = """# Quokka zebra markdown

Quokka zebra guidance <script>window.__pwned = 1</script> with
<img src=x onerror="window.__pwned = 1"> and [a link](javascript:window.__pwned=1) and
![pixel](http://tracker.invalid/md.png) inside.
"""
PAYLOAD = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>'


class Site:
    """A live server, and the requests and dialogs its pages cause."""

    def __init__(self, url: str, app: Any) -> None:
        self.url = url
        self.app = app


@pytest.fixture(scope="module")
def hash_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("web")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "ansvar.md").write_text(
        "# Ansvar för nyanlända\n\n## Försäkringskassan\n\n"
        "Försäkringskassan betalar ut etableringsersättningen som Arbetsförmedlingen beslutat "
        "om. Myndigheten ger information på olika språk.\n\n## Kommunerna\n\n"
        "Kommunerna ska erbjuda svenska för invandrare och samhällsorientering.\n",
        encoding="utf-8")
    (corpus / "report.txt").write_text(
        "Annual report\n\nThe county boards collected good examples of outreach work. "
        "A national survey had answers from 269 of 290 municipalities.\n", encoding="utf-8")
    (corpus / "quokka.html").write_text(HOSTILE_HTML, encoding="utf-8")
    (corpus / "quokka.md").write_text(HOSTILE_MD, encoding="utf-8")
    (corpus / "catalog.json").write_text(json.dumps({"documents": {
        "ansvar.md": {"type": "strategy", "year": 2023, "region": "Blekinge", "language": "sv"},
        "report.txt": {"type": "report", "year": 2022, "region": "Sweden", "language": "en"},
    }}), encoding="utf-8")
    yield from fake_embedder_site(root, corpus)


def fake_embedder_site(root: Path, corpus: Path) -> Iterator[Site]:
    """A live server over `corpus` indexed with the fake embedder, its index under `root`."""
    settings = load_settings(env={}, corpus_dir=corpus, index_dir=root / "index", model="hash",
                             model_dir=root / "models", api_keys=KEY, rate_limit=0)
    app = indexed_app(settings, HashEmbedder())
    with running(app) as url:
        yield Site(url, app)


@pytest.fixture(scope="module")
def real_site(real_settings: Settings, real_engine: Any, embedder: Any) -> Iterator[Site]:
    # The session's real index of the bundled corpus (built once, by the real_engine fixture).
    settings = real_settings.with_overrides(rate_limit=0)
    app = create_app(settings, Engine(settings, embedder))
    with running(app) as url:
        yield Site(url, app)


class Watch:
    """What a page did: requests it made, dialogs it opened, script errors it hit."""

    def __init__(self, page: Any) -> None:
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("pageerror", lambda e: self.errors.append(str(e)))

        def dialog(d: Any) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", dialog)


def new_page(browser: Any, locale: str = "en-US",
             bypass_csp: bool = False) -> tuple[Any, Any, Watch]:
    context = browser.new_context(locale=locale, bypass_csp=bypass_csp)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    return context, page, Watch(page)


def ask(page: Any, question: str) -> Any:
    """Type a question, press Enter, and wait for its turn to appear."""
    turns = page.locator(".turn").count()
    page.fill("#question", question)
    page.press("#question", "Enter")
    page.locator(".turn").nth(turns).wait_for()
    return page.locator(".turn").nth(turns)


def wait_until(page: Any, script: str, timeout_ms: int = TIMEOUT_MS) -> None:
    """Poll a JS expression until it is true (wait_for_function would need 'unsafe-eval',
    which the pages' CSP rightly refuses)."""
    for _ in range(timeout_ms // 50):
        if page.evaluate(script):
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"never true: {script}")


def squeeze(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# --- the real model over the bundled corpus ---------------------------------------------------


@pytest.mark.model
def test_establishment_benefit_answer_and_its_citation(browser: Any, real_site: Site) -> None:
    context, page, watch = new_page(browser)
    page.goto(real_site.url + "/")
    turn = ask(page, "Who pays establishment benefit?")
    answer = turn.locator(".answer-text")
    assert "Försäkringskassan" in answer.inner_text()
    assert turn.locator(".a.abstained").count() == 0
    cite = answer.locator("button.cite").first
    assert re.fullmatch(r"\[\d+\]", cite.inner_text())
    cite.click()
    passage = page.locator("#passage")
    passage.wait_for(state="visible")
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "chat.png"), full_page=True)
    mark = passage.locator("mark")
    assert mark.count() == 1
    assert "Försäkringskassan" in mark.inner_text()
    assert squeeze(mark.inner_text()) in squeeze(page.locator("#passage-text").inner_text())
    assert page.locator("#passage-title").inner_text().startswith("Integrationsstrategi Blekinge")
    link = page.locator("#passage-link")
    assert re.fullmatch(r"/api/documents/blekinge-integrationsstrategi-2023-2026\.txt/file"
                        r"(#page=\d+)?", link.get_attribute("href"))
    # The Blekinge text was OCR-repaired: marked so, with the original one click away.
    assert page.locator("#passage-repaired").is_visible()
    toggle = page.locator("#passage-original")
    toggle.click()
    assert toggle.get_attribute("aria-pressed") == "true"
    assert "Forsakringskassan betalar ut" in squeeze(passage.locator("mark").inner_text())
    toggle.click()
    assert "Försäkringskassan betalar ut" in squeeze(passage.locator("mark").inner_text())
    assert watch.errors == [] and watch.dialogs == []
    context.close()


@pytest.mark.model
def test_refusal_shows_the_closest_passages(browser: Any, real_site: Site) -> None:
    context, page, watch = new_page(browser)
    page.goto(real_site.url + "/")
    turn = ask(page, "What is the recipe for a chocolate cake?")
    assert turn.locator(".a.abstained").count() == 1
    closest = turn.locator(".closest li")
    assert closest.count() >= 1
    closest.first.locator("button").click()
    page.locator("#passage").wait_for(state="visible")
    assert page.locator("#passage-text").inner_text().strip()
    assert watch.errors == []
    context.close()


@pytest.mark.model
def test_follow_up_sends_the_conversation(browser: Any, real_site: Site) -> None:
    context, page, watch = new_page(browser)
    bodies: list[dict[str, Any]] = []
    page.on("request", lambda r: bodies.append(r.post_data_json)
            if r.url.endswith("/api/ask") else None)
    page.goto(real_site.url + "/")
    first = ask(page, "Who pays establishment benefit?")
    first_answer = first.locator(".answer-text").inner_text()
    second = ask(page, "And who decides on it?")
    assert second.locator(".answer-text").inner_text().strip()
    assert bodies[0]["history"] == []
    assert bodies[1]["question"] == "And who decides on it?"
    assert [t["question"] for t in bodies[1]["history"]] == ["Who pays establishment benefit?"]
    assert squeeze(bodies[1]["history"][0]["answer"]) == squeeze(first_answer)
    # Keyboard: a citation opens with Enter, Escape closes it and gives the focus back.
    cite = page.locator("button.cite").first
    if cite.count():
        cite.focus()
        page.keyboard.press("Enter")
        page.locator("#passage").wait_for(state="visible")
        page.keyboard.press("Escape")
        page.locator("#passage").wait_for(state="hidden")
        assert page.evaluate("document.activeElement.classList.contains('cite')")
    page.click("#new-chat")
    assert page.locator(".turn").count() == 0
    assert watch.errors == []
    context.close()


# --- the fake embedder over the small corpus --------------------------------------------------


def test_chat_page_is_labelled_and_announces_answers(browser: Any, hash_site: Site) -> None:
    context, page, watch = new_page(browser)
    page.goto(hash_site.url + "/")
    log = page.locator("#conversation")
    assert log.get_attribute("aria-live") == "polite" and log.get_attribute("role") == "log"
    assert page.locator("label[for=question]").inner_text() == "Your question"
    assert page.locator("#status").get_attribute("role") == "status"
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.className") == "skip"
    assert watch.errors == []
    context.close()


def test_language_switch_is_remembered(browser: Any, hash_site: Site) -> None:
    context, page, watch = new_page(browser, locale="sv-SE")
    page.goto(hash_site.url + "/")
    assert page.locator("h1").inner_text() == "Fråga dokumenten"
    assert page.evaluate("document.documentElement.lang") == "sv"
    page.select_option("#lang", "en")
    assert page.locator("h1").inner_text() == "Ask the documents"
    assert page.locator("label[for=question]").inner_text() == "Your question"
    assert page.evaluate("document.documentElement.lang") == "en"
    page.goto(hash_site.url + "/search")  # the choice carries to the other pages
    assert page.locator("h1").inner_text() == "Search the documents"
    page.select_option("#lang", "sv")
    assert page.locator("h1").inner_text() == "Sök i dokumenten"
    page.reload()
    assert page.locator("h1").inner_text() == "Sök i dokumenten"
    context.close()
    context, page, watch = new_page(browser, locale="en-GB")
    page.goto(hash_site.url + "/")
    assert page.locator("h1").inner_text() == "Ask the documents"
    context.close()


def test_search_page_with_a_filter_and_a_shareable_url(browser: Any, hash_site: Site) -> None:
    context, page, watch = new_page(browser)
    page.goto(hash_site.url + "/search")
    page.locator("#f-type option[value=strategy]").wait_for(state="attached")
    assert page.locator("#f-year option[value='2023']").count() == 1
    assert page.locator("#f-region option[value=Blekinge]").count() == 1
    page.fill("#q", "etableringsersättningen kommunerna")
    page.press("#q", "Enter")
    page.locator(".result").first.wait_for()
    unfiltered = {page.locator(".result-title").nth(i).inner_text()
                  for i in range(page.locator(".result").count())}
    assert len(unfiltered) > 1
    page.select_option("#f-type", "strategy")
    page.wait_for_url(re.compile(r"type=strategy"))
    wait_until(page, "document.querySelectorAll('.result').length > 0 && "
               "[...document.querySelectorAll('.result-title')].every("
               "t => t.textContent.startsWith('Ansvar'))")
    assert page.locator(".result mark").count() >= 1
    assert "etableringsersättningen" in page.locator(".result mark").first.inner_text().lower()
    shared = page.url
    assert "q=etablerings" in shared and "type=strategy" in shared
    other_context, other, _ = new_page(browser)
    other.goto(shared)
    other.locator(".result").first.wait_for()
    assert other.input_value("#q") == "etableringsersättningen kommunerna"
    assert other.input_value("#f-type") == "strategy"
    assert other.locator(".result").count() == page.locator(".result").count()
    other_context.close()
    page.go_back()
    wait_until(page, "!location.search.includes('type=')")
    assert page.input_value("#f-type") == ""
    assert watch.errors == []
    context.close()


def _assert_inert(page: Any, watch: Watch, base: str) -> None:
    assert page.evaluate("window.__pwned") is None
    assert watch.dialogs == []
    assert [u for u in watch.requests if not u.startswith(base)] == []
    assert page.locator("main img, main script, main iframe, main a[href^=javascript]").count() == 0


def test_hostile_document_in_search_results_stays_inert(browser: Any, hash_site: Site) -> None:
    context, page, watch = new_page(browser)
    page.goto(hash_site.url + "/search?q=quokka+zebra+script+onerror")
    page.locator(".result").first.wait_for()
    results = page.locator("#results").inner_text()
    assert "<script>" in results and "onerror=" in results and "javascript:" in results
    assert "![tracking pixel](http://tracker.invalid/pixel.png)" in results
    page.wait_for_timeout(300)
    _assert_inert(page, watch, hash_site.url)
    context.close()


def test_hostile_document_in_the_chat_stays_inert(browser: Any, hash_site: Site) -> None:
    context, page, watch = new_page(browser)
    page.goto(hash_site.url + "/")
    turn = ask(page, "quokka zebra handbook")
    shown = turn.locator(".sources button, .closest button")
    assert shown.count() >= 1
    seen = turn.inner_text()
    for i in range(shown.count()):
        shown.nth(i).click()
        page.locator("#passage").wait_for(state="visible")
        seen += page.locator("#passage-text").inner_text()
    assert "Quokka" in seen and ("<script>" in seen or "onerror=" in seen)
    page.wait_for_timeout(300)
    _assert_inert(page, watch, hash_site.url)
    context.close()


@pytest.mark.parametrize("bypass_csp", [False, True], ids=["with-csp", "without-csp"])
def test_hostile_strings_in_every_answer_field_stay_text(browser: Any, hash_site: Site,
                                                         bypass_csp: bool) -> None:
    """Whatever the server sends, the chat page makes text of it, even with no CSP to help."""
    context, page, watch = new_page(browser, bypass_csp=bypass_csp)
    citation = {"n": 1, "doc": "x.pdf", "title": PAYLOAD, "section": PAYLOAD, "page": 2,
                "quote": PAYLOAD, "text": f"Before {PAYLOAD} after.", "id": "x.pdf#1",
                "offsets": [0, 10]}
    hit = {"doc": "x.pdf", "title": PAYLOAD, "section": PAYLOAD, "page": 1, "text": PAYLOAD,
           "score": 1.0, "highlights": [PAYLOAD], "id": "x.pdf#2", "section_path": [],
           "pages": [1, 1], "offsets": [0, 1], "language": "en", "type": None, "year": None,
           "region": None, "ranks": {}}
    body = {"question": PAYLOAD, "language": "en", "answer": f"{PAYLOAD} says [1].",
            "abstained": False, "citations": [citation], "closest": [hit],
            "resolved_question": PAYLOAD}
    page.route("**/api/ask", lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps(body)))
    page.goto(hash_site.url + "/")
    turn = ask(page, "anything")
    assert PAYLOAD in turn.locator(".answer-text").inner_text()
    turn.locator("button.cite").click()
    page.locator("#passage").wait_for(state="visible")
    assert page.locator("#passage mark").inner_text() == PAYLOAD
    assert page.locator("#passage-link").get_attribute("href") == \
        "/api/documents/x.pdf/file#page=2"
    page.wait_for_timeout(300)
    _assert_inert(page, watch, hash_site.url)
    context.close()


def test_upload_page_shows_indexing_progress(browser: Any, hash_site: Site,
                                             tmp_path: Path) -> None:
    context, page, watch = new_page(browser)
    page.goto(hash_site.url + "/upload")
    page.locator("#catalog-body tr").first.wait_for()
    document = tmp_path / "Tolkguide.md"
    document.write_text("# Tolkguide\n\nHandläggaren bokar tolk i god tid.\n", encoding="utf-8")
    page.set_input_files("#file", str(document))
    page.click("#upload")  # no key yet
    assert page.locator("#status").inner_text() == "Enter the API key first."
    page.fill("#key", "wrong")
    page.click("#upload")
    wait_until(page, "document.querySelector('#status').textContent.includes('not valid')")
    page.fill("#key", KEY)
    page.set_input_files("#file", str(document))
    page.fill("#u-title", "Tolkguide för handläggare")
    page.click("#upload")
    row = page.locator("#catalog-body tr", has_text="Tolkguide för handläggare")
    row.locator("[data-status=indexed]").wait_for()
    assert row.locator("td").nth(2).inner_text() == "1"  # one passage
    assert page.evaluate("sessionStorage.getItem('assistant.apiKey')") == KEY
    assert page.evaluate("localStorage.getItem('assistant.apiKey')") is None
    assert watch.errors == []
    context.close()
