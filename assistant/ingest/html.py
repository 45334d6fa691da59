"""HTML loader: the page's main text and h1–h6 headings, without navigation, scripts or forms."""

from __future__ import annotations

import codecs
import re

from bs4 import BeautifulSoup, Comment, NavigableString, Tag
from bs4.exceptions import ParserRejectedMarkup

from assistant.errors import IngestError
from assistant.ingest.furniture import is_boilerplate
from assistant.ingest.normalize import clean_chars, collapse_whitespace, decode
from assistant.ingest.text import INVALID_UTF8, build_blocks
from assistant.types import Document

_DROPPED = (
    "script", "style", "nav", "header", "footer", "aside", "form", "noscript",
    "template", "svg", "iframe", "button", "select", "head",
)  # fmt: skip
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_BLOCKS = {
    "address", "article", "blockquote", "body", "caption", "dd", "details", "dialog", "div",
    "dl", "dt", "fieldset", "figcaption", "figure", "hr", "html", "li", "main", "menu", "ol",
    "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
}  # fmt: skip
_FOOTNOTE = re.compile(r"^[\d*†‡,\s]{1,12}$")
_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.IGNORECASE)


def _decode_html(data: bytes) -> tuple[str, bool]:
    """Text of an HTML file: its declared charset if not UTF-8, else UTF-8 with replacement."""
    declared = _CHARSET.search(data[:4096])
    if declared:
        try:
            codec = codecs.lookup(declared.group(1).decode("ascii")).name
        except LookupError:
            codec = "utf-8"
        if codec != "utf-8":
            return data.decode(codec, errors="replace"), False
    return decode(data)


def _text(node: Tag | NavigableString) -> str:
    return collapse_whitespace(node.get_text(" ") if isinstance(node, Tag) else str(node))


class _Walker:
    """Collects (kind, level, text) blocks from an element tree in reading order."""

    def __init__(self) -> None:
        self.out: list[tuple[str, int, str]] = []

    def walk(self, node: Tag, kind: str = "paragraph") -> None:
        """Emit the blocks inside `node`; loose inline text becomes one block of `kind`."""
        inline: list[str] = []

        def flush() -> None:
            text = collapse_whitespace("".join(inline))
            if text and not is_boilerplate(text):
                self.out.append((kind, 0, text))
            inline.clear()

        for child in node.children:
            if isinstance(child, Comment):
                continue
            if isinstance(child, NavigableString):
                inline.append(str(child))
            elif not isinstance(child, Tag):
                continue
            elif child.name in _HEADINGS:
                flush()
                if heading := _text(child):
                    self.out.append(("heading", _HEADINGS[child.name], heading))
            elif child.name == "li":
                flush()
                self.walk(child, "item")
            elif child.name == "tr":
                flush()
                cells = [_text(c) for c in child.find_all(["td", "th"], recursive=False)]
                if row := " | ".join(c for c in cells if c):
                    self.out.append(("paragraph", 0, row))
            elif child.name in _BLOCKS:
                flush()
                self.walk(child, kind if child.name in ("p", "div") else "paragraph")
            else:
                inline.append(child.get_text())
        flush()


def _root(soup: BeautifulSoup) -> Tag:
    """The part of the page with its content: <main>, else the <article>s, else <body>."""
    main = soup.find("main")
    if isinstance(main, Tag):
        return main
    articles = soup.find_all("article")
    if articles:
        wrapper = soup.new_tag("div")
        for article in articles:
            wrapper.append(article.extract())
        return wrapper
    body = soup.body
    return body if isinstance(body, Tag) else soup


def parse(data: bytes, doc: str) -> Document:
    """Load an HTML (.html, .htm) file's bytes."""
    text, replaced = _decode_html(data)
    try:
        soup = BeautifulSoup(clean_chars(text), "html.parser")
    except ParserRejectedMarkup as exc:  # e.g. a malformed <!DOCTYPE> or <![ section
        reason = str(exc).splitlines()[-1].strip()
        raise IngestError(f"{doc}: not valid HTML: {reason}") from exc
    title_tag = soup.find("title")
    page_title = collapse_whitespace(title_tag.get_text()) if isinstance(title_tag, Tag) else ""
    for tag in soup.find_all(list(_DROPPED)):
        tag.decompose()
    for tag in soup.find_all(attrs={"hidden": True}):
        tag.decompose()
    for sup in soup.find_all("sup"):
        if _FOOTNOTE.match(sup.get_text()):
            sup.decompose()  # a footnote mark, not part of the sentence
    for br in soup.find_all("br"):
        br.replace_with("\n")
    walker = _Walker()
    walker.walk(_root(soup))
    blocks, first_heading = build_blocks((k, lvl, t, None) for k, lvl, t in walker.out)
    h1 = next((t for k, lvl, t in walker.out if k == "heading" and lvl == 1), None)
    return Document(
        doc=doc,
        blocks=blocks,
        title=h1 or page_title or first_heading,
        problems=(INVALID_UTF8,) if replaced else (),
    )
