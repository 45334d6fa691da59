"""Search results a person can scan: grouped by document, a short snippet with the query's words
marked, counts per filter value, sorting, and rows to export. Pure functions over hits."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

from assistant.serialize import SECTION_JOIN, file_link, hit_json
from assistant.types import Hit

SNIPPET_CHARS = 320
FACETS = ("type", "year", "region", "language")
EXPORT_FIELDS = ("title", "section", "page", "snippet", "link", "doc", "score")
Sort = Literal["relevance", "year"]
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Group:
    """One document's hits, best first."""

    hits: tuple[Hit, ...]

    @property
    def best(self) -> Hit:
        """The best-scoring passage of the document."""
        return self.hits[0]


def _fold_char(char: str) -> str:
    folded = "".join(c for c in unicodedata.normalize("NFD", char)
                     if not unicodedata.combining(c)).lower()
    return folded if len(folded) == 1 else char.lower()


def fold(text: str) -> str:
    """Lower-cased text without diacritics, of the same length (so offsets carry over)."""
    return "".join(_fold_char(c) for c in text)


def word_marks(text: str, query: str) -> list[tuple[int, int]]:
    """[start, end) of each occurrence of a query word (3+ letters) in the text, folded."""
    folded = fold(text)
    words = {w for w in _WORD.findall(fold(query)) if len(w) >= 3}
    marks = []
    for word in sorted(words):
        marks += [(m.start(), m.end()) for m in re.finditer(re.escape(word), folded)]
    marks.sort()
    kept: list[tuple[int, int]] = []
    for start, end in marks:
        if not kept or start >= kept[-1][1]:
            kept.append((start, end))
    return kept


def _best_sentences(hit: Hit, query: str, n: int = 2) -> list[str]:
    """The hit's n best sentences in text order: those holding the most query words first,
    then the ones search found closest to the query."""
    chunk = hit.chunk
    texts = [" ".join(chunk.text[s.start:s.end].split()) for s in chunk.sentences]
    texts = [t for t in texts if t]
    if not texts:
        return [" ".join(chunk.text.split())]
    rank = sorted(range(len(texts)), key=lambda i: (-len(word_marks(texts[i], query)),
                                                    texts[i] not in hit.highlights, i))
    return [texts[i] for i in sorted(rank[:n])]


def snippet(hit: Hit, query: str, limit: int = SNIPPET_CHARS) -> tuple[str, list[tuple[int, int]]]:
    """The hit's best sentences (not the whole chunk), cut to about `limit` characters, and
    where the query's words stand in it."""
    text = " … ".join(_best_sentences(hit, query))
    if len(text) > limit:
        cut = text.rfind(" ", 0, limit)
        text = text[: cut if cut > limit // 2 else limit].rstrip() + " …"
    return text, word_marks(text, query)


def group_hits(hits: list[Hit]) -> list[Group]:
    """Hits grouped by document, in the order of each document's best hit."""
    by_doc: dict[str, list[Hit]] = {}
    for hit in hits:
        by_doc.setdefault(hit.chunk.doc, []).append(hit)
    return [Group(tuple(sorted(h, key=lambda x: -x.score))) for h in by_doc.values()]


def sort_groups(groups: list[Group], by: Sort = "relevance") -> list[Group]:
    """By relevance (as searched) or by year, newest first, then relevance; no year last."""
    if by == "year":
        return sorted(groups, key=lambda g: (g.best.info.year is None, -(g.best.info.year or 0)))
    return list(groups)


def facet_counts(groups: list[Group]) -> dict[str, dict[str, int]]:
    """How many matched documents have each value of each filter field."""
    counts: dict[str, Counter[str]] = {name: Counter() for name in FACETS}
    for group in groups:
        for name in FACETS:
            value = getattr(group.best.info, name)
            if value is not None and value != "und":
                counts[name][str(value)] += 1
    return {name: dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))
            for name, c in counts.items()}


def passage_json(hit: Hit, query: str) -> dict[str, Any]:
    """A hit as search JSON, plus its snippet, the marks in it, and its file link."""
    text, marks = snippet(hit, query)
    return {**hit_json(hit), "snippet": text, "marks": [list(m) for m in marks],
            "link": file_link(hit.chunk.doc, hit.chunk.page_start)}


def grouped_search_json(query: str, hits: list[Hit], by: Sort = "relevance") -> dict[str, Any]:
    """One query's results grouped by document (`group=document`), with filter counts."""
    groups = sort_groups(group_hits(hits), by)
    return {
        "query": query,
        "sort": by,
        "hits": [hit_json(h) for h in hits],
        "groups": [{
            "doc": g.best.chunk.doc, "title": g.best.info.title, "type": g.best.info.type,
            "year": g.best.info.year, "region": g.best.info.region,
            "language": g.best.info.language, "score": g.best.score,
            "passages": [passage_json(h, query) for h in g.hits],
        } for g in groups],
        "facets": facet_counts(groups),
    }


def export_rows(query: str, hits: list[Hit], by: Sort = "relevance",
                base_url: str = "") -> list[dict[str, Any]]:
    """One row per passage, grouped by document: title, section, page, snippet, file link."""
    rows = []
    for group in sort_groups(group_hits(hits), by):
        for hit in group.hits:
            text, _ = snippet(hit, query)
            rows.append({
                "title": hit.info.title, "section": SECTION_JOIN.join(hit.chunk.section),
                "page": hit.chunk.page_start, "snippet": text,
                "link": base_url.rstrip("/") + file_link(hit.chunk.doc, hit.chunk.page_start),
                "doc": hit.chunk.doc, "score": hit.score,
            })
    return rows


def export_csv(rows: list[dict[str, Any]]) -> str:
    """The export rows as CSV with a header line."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row[k] is None else row[k] for k in EXPORT_FIELDS})
    return out.getvalue()
