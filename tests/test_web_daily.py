"""Daily use in real headless Chromium: grouped search (by keyboard, and as a screen reader
sees it), copying an answer with its sources, feedback, bulk upload. The fake embedder over
the bundled corpus (and a tiny one for uploads); screenshots go to tests/output/ (copies in
bench/screenshots/)."""

from __future__ import annotations

import json
import re
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from . import test_web
from .conftest import CORPUS, REPO
from .test_web import KEY, Site, fake_embedder_site, new_page, wait_until

pytestmark = pytest.mark.browser

SHOTS = REPO / "tests" / "output"  # not committed; the copies in bench/screenshots/ are
QUERY = "vem betalar etableringsersättning"
PERSONNUMMER = "19811218-9876"  # valid date and Luhn check digit


@pytest.fixture(scope="module")
def corpus_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("daily")
    shutil.copytree(CORPUS, root / "corpus")
    yield from fake_embedder_site(root, root / "corpus")


@pytest.fixture
def upload_site(tmp_path: Path) -> Iterator[Site]:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "ansvar.md").write_text("# Ansvar\n\nKommunerna ordnar samhällsorientering.\n",
                                      encoding="utf-8")
    yield from fake_embedder_site(tmp_path, corpus)


def get_json(url: str, headers: dict[str, str] | None = None) -> Any:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {})) as reply:
        return json.loads(reply.read())


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def open_search(browser: Any, site: Site) -> tuple[Any, Any, Any]:
    context, page, watch = new_page(browser)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{site.url}/search?q={QUERY.replace(' ', '+')}")
    page.locator(".result").first.wait_for()
    return context, page, watch


def check_grouped_search(page: Any, site: Site) -> dict[str, Any]:
    """The bar: at 1280×900 the page fits two screens, each matched document is shown once,
    and the counts beside the filter values are the API's; returns the API's answer."""
    api: dict[str, Any] = get_json(f"{site.url}/api/search?"
                                   + urlencode({"q": QUERY, "k": 30, "group": "document"}))
    shown = page.eval_on_selector_all(".result", "els => els.map(e => e.dataset.doc)")
    assert shown == [g["doc"] for g in api["groups"]]
    assert len(shown) == len(set(shown)) == len({h["doc"] for h in api["hits"]})
    assert page.evaluate("document.documentElement.scrollHeight") <= 1800
    for name in ("type", "year", "region", "language"):
        texts = page.eval_on_selector_all(
            f"#f-{name} option", "os => os.filter(o => o.value).map(o => [o.value, o.textContent])")
        assert texts
        for value, text in texts:
            count = api["facets"][name].get(value, 0)
            assert text.endswith(f"({count})"), (name, value, text)
    # Snippets are the best sentences, not whole passages.
    best = api["groups"][0]["passages"][0]
    assert page.locator(".result .snippet").first.inner_text() == best["snippet"]
    assert len(best["snippet"]) < len(" ".join(best["text"].split())) or len(best["text"]) < 330
    return api


def test_grouped_search_fits_two_screens_with_each_document_once(browser: Any,
                                                                 corpus_site: Site) -> None:
    context, page, watch = open_search(browser, corpus_site)
    check_grouped_search(page, corpus_site)
    assert page.locator(".result mark").count() >= 1
    # The export links carry the search.
    assert "q=vem" in page.get_attribute("#export-csv", "href")
    csv_text = page.evaluate("fetch(document.querySelector('#export-csv').href)"
                             ".then(r => r.text())")
    assert "title,section,page,snippet,link" in csv_text
    page.select_option("#f-sort", "year")
    page.wait_for_url(re.compile("sort=year"))
    wait_until(page, "document.querySelectorAll('.result').length > 0")
    assert watch.errors == []
    context.close()


real_site = test_web.real_site  # the real model over the bundled corpus, as in test_web


@pytest.mark.model
def test_grouped_search_with_the_real_model(browser: Any, real_site: Site) -> None:
    context, page, watch = open_search(browser, real_site)
    api = check_grouped_search(page, real_site)
    first = page.locator(".result").first
    assert first.get_attribute("data-doc") == "blekinge-integrationsstrategi-2023-2026.txt"
    marks = first.locator(".snippet mark").all_inner_texts()
    assert any(m.lower().startswith("etableringsersättning") for m in marks), marks
    assert "betalar" in api["groups"][0]["passages"][0]["snippet"]
    shot(page, "search-grouped.png")
    assert watch.errors == []
    context.close()


def test_search_page_by_keyboard_only(browser: Any, corpus_site: Site) -> None:
    context, page, watch = new_page(browser)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(corpus_site.url + "/search")
    page.locator("#f-type option[value=strategy]").wait_for(state="attached")
    page.keyboard.press("Tab")  # the skip link
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type(QUERY)
    page.keyboard.press("Enter")
    page.locator(".result").first.wait_for()
    for _ in range(80):  # on through the filters and results to the first "more" button
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('more')"):
            break
    else:
        raise AssertionError("no 'more passages' button reachable by Tab")
    button = "document.activeElement"
    assert page.evaluate(f"{button}.getAttribute('aria-expanded')") == "false"
    page.keyboard.press("Enter")
    assert page.evaluate(f"{button}.getAttribute('aria-expanded')") == "true"
    controlled = page.evaluate(f"{button}.getAttribute('aria-controls')")
    assert page.locator(f"#{controlled}").is_visible()
    page.keyboard.press("Tab")  # into the passages just shown
    assert page.evaluate(f"document.activeElement.closest('#{controlled}') !== null")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Space")
    assert page.locator(f"#{controlled}").is_hidden()
    assert watch.errors == []
    context.close()


def test_screen_reader_view_of_grouped_results(browser: Any, corpus_site: Site) -> None:
    context, page, _ = open_search(browser, corpus_site)
    results = page.get_by_role("list", name="Results, grouped by document")
    items = results.get_by_role("listitem").filter(has=page.locator("h2"))
    titles = page.eval_on_selector_all(".result-title", "els => els.map(e => e.textContent)")
    assert items.count() == len(titles) > 1
    for title in titles:  # each result is named by its document's title
        assert results.get_by_role("listitem", name=title, exact=True).count() == 1
        assert results.get_by_role("heading", name=title, level=2).count() == 1
    more = results.get_by_role("button", name=re.compile(r"^\d+ more passages in "))
    assert more.count() >= 1
    assert more.first.get_attribute("aria-expanded") == "false"
    snapshot = results.aria_snapshot()
    assert "list \"Results, grouped by document\"" in snapshot
    assert page.get_by_role("status").inner_text().endswith("passages")
    page.context.close()


@pytest.mark.model  # an answer with citations needs the real model: under the fake embedder's
# cosines the fitted refusal model refuses every question
def test_copy_answer_with_sources_round_trips(browser: Any, real_site: Site) -> None:
    context = browser.new_context(locale="en-US", permissions=["clipboard-read",
                                                               "clipboard-write"])
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.goto(real_site.url + "/")
    page.fill("#question", "Vem betalar ut etableringsersättningen?")
    page.press("#question", "Enter")
    turn = page.locator(".turn").first
    turn.wait_for()
    api = json.loads(urllib.request.urlopen(urllib.request.Request(
        real_site.url + "/api/ask", method="POST", headers={"Content-Type": "application/json"},
        data=json.dumps({"question": "Vem betalar ut etableringsersättningen?"}).encode()))
        .read())
    turn.get_by_role("button", name="Copy answer with sources").click()
    wait_until(page, "document.querySelector('#status').textContent.includes('clipboard')")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith(api["answer"].strip())
    assert api["citations"]
    for c in api["citations"]:
        line = f"[{c['n']}] {c['title']}" + (f", {c['section']}" if c["section"] else "")
        if c["page"] is not None:
            line += f", {'s.' if api['language'] == 'sv' else 'p.'} {c['page']}"
        assert line in copied
        link = f"{real_site.url}/api/documents/{c['doc']}/file"
        assert link + (f"#page={c['page']}" if c["page"] is not None else "") in copied
    shot(page, "copy-answer.png")
    context.close()


def test_feedback_on_an_answer_is_stored_masked(browser: Any, corpus_site: Site) -> None:
    context, page, watch = new_page(browser)
    page.goto(corpus_site.url + "/")
    page.fill("#question", "Vem betalar ut etableringsersättningen?")
    page.press("#question", "Enter")
    turn = page.locator(".turn").first
    turn.wait_for()
    turn.get_by_role("button", name="Wrong or missing").click()
    assert turn.get_by_role("button", name="Wrong or missing").get_attribute(
        "aria-pressed") == "true"
    turn.get_by_label("Comment (optional)").fill(f"Gäller {PERSONNUMMER}")
    pointer = turn.get_by_label("The passage that answers it (optional)")
    options = pointer.locator("option").all()
    assert len(options) >= 2  # "none" plus the shown passages
    chosen = options[1].get_attribute("value")
    pointer.select_option(chosen)
    shot(page, "feedback.png")
    turn.get_by_role("button", name="Send feedback").click()
    turn.locator(".thanks").wait_for()
    entries = get_json(corpus_site.url + "/api/feedback",
                       {"Authorization": f"Bearer {KEY}"})["entries"]
    last = entries[-1]
    assert last["verdict"] == "wrong" and last["passage_id"] == chosen
    assert "9876" not in json.dumps(entries) and "[personnummer]" in last["comment"]
    assert watch.errors == []
    context.close()


def test_bulk_upload_twenty_files_one_broken(browser: Any, upload_site: Site,
                                             tmp_path: Path) -> None:
    files = []
    for i in range(19):
        path = tmp_path / f"anteckning-{i:02d}.md"
        path.write_text(f"# Anteckning {i}\n\nMottagning av nyanlända, möte {i}.\n",
                        encoding="utf-8")
        files.append(str(path))
    broken = tmp_path / "trasig.pdf"
    broken.write_bytes(b"%PDF-1.7\n1 0 obj <</Type /Catalog")
    files.append(str(broken))
    context, page, watch = new_page(browser)
    page.goto(upload_site.url + "/upload")
    page.locator("#catalog-body tr").first.wait_for()
    page.fill("#key", KEY)
    page.set_input_files("#file", files)
    assert page.locator("#chosen").inner_text() == "20 files chosen"
    with page.expect_request(lambda r: r.url.endswith("/api/documents/batch")):
        page.click("#upload")
    rows = page.locator("#batch-rows li")
    rows.nth(19).wait_for()
    wait_until(page, "document.querySelectorAll('#batch-rows [data-status=indexed]').length"
                     " + document.querySelectorAll('#batch-rows [data-status=failed]').length"
                     " === 20")
    assert page.locator("#batch-rows [data-status=indexed]").count() == 19
    failed = page.locator("#batch-rows li", has=page.locator("[data-status=failed]"))
    assert failed.count() == 1 and "trasig.pdf" in failed.inner_text()
    assert len(failed.inner_text()) > len("trasig.pdf Failed — ")  # with its reason
    shot(page, "bulk-upload.png")
    # Drag and drop: files dropped on the zone are sent the same way.
    page.evaluate("""() => {
        const transfer = new DataTransfer();
        for (const name of ["a.txt", "b.txt"]) {
            transfer.items.add(new File([`Tolk och ${name} för nyanlända`], name,
                                        { type: "text/plain" }));
        }
        document.querySelector('#drop').dispatchEvent(
            new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }""")
    wait_until(page, "document.querySelector('#chosen').textContent === '2 files chosen'")
    page.click("#upload")
    wait_until(page, "document.querySelectorAll('#batch-rows li').length === 2")
    wait_until(page, "document.querySelectorAll('#batch-rows [data-status=indexed]').length"
                     " === 2")
    # A whole folder, chosen with the folder picker: its files go as one batch.
    folder = tmp_path / "mapp"
    folder.mkdir()
    for name in ("c.txt", "d.md"):
        (folder / name).write_text(f"Samhällsorientering {name}\n", encoding="utf-8")
    page.set_input_files("#folder", str(folder))
    assert page.locator("#chosen").inner_text() == "2 files chosen"
    page.click("#upload")
    wait_until(page, "[...document.querySelectorAll('#batch-rows li')].every("
                     "l => !['a.txt', 'b.txt'].includes(l.dataset.name))")
    names = page.eval_on_selector_all("#batch-rows li", "ls => ls.map(l => l.dataset.name)")
    assert sorted(names) == ["mapp/c.txt", "mapp/d.md"], names
    assert watch.errors == []
    context.close()
