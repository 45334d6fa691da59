"""A synthetic corpus of any size, recombined deterministically from real paragraphs.

The seed corpus and the SweFAQ dev documents give a pool of real paragraphs (Swedish and
English) and headings. Each synthetic document is a Markdown file of a few thousand words:
a title, then sections under `##`/`###` headings, each a run of paragraphs sampled from the
pool of the document's language. Documents are written one at a time (nothing is held but the
pool), with a catalog entry each, until the estimated number of chunks reaches the target.
The same seed and target give byte-identical files.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Words per indexed chunk, measured on synthetic builds (Settings.chunk_words is 90, but
# chunks end at section breaks and overlap by one sentence); only used to size the corpus.
WORDS_PER_CHUNK = 72
DOC_WORDS = (1500, 5000)  # words per document, uniform
SECTION_PARAGRAPHS = (2, 7)
FILES_PER_FOLDER = 1000
MARKER = ".scale-corpus.json"  # written last, its presence means complete; a dot name is
# not a corpus file to the builder
REGIONS = (
    "Sweden", "Blekinge", "Dalarna", "Gotland", "Gävleborg", "Halland", "Jämtland",
    "Jönköping", "Kalmar", "Kronoberg", "Norrbotten", "Skåne", "Stockholm", "Södermanland",
    "Uppsala", "Värmland", "Västerbotten", "Västernorrland", "Västmanland", "Västra Götaland",
    "Örebro", "Östergötland",
)
TYPES = ("strategy", "report", "service")
PUBLISHERS = {"sv": ("Länsstyrelsen", "Kommunen", "Regionen", "Socialstyrelsen"),
              "en": ("OECD", "County Administrative Board", "Ministry of Employment")}
ENGLISH_SHARE = 0.15
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÅÄÖ0-9])")
_MIN_WORDS = 12  # shorter blocks are logos, captions and page furniture
_MAX_WORDS = 160  # longer blocks (unbroken web text) are cut at sentence ends


@dataclass(frozen=True)
class Pool:
    """Real paragraphs and headings by language."""

    paragraphs: dict[str, tuple[str, ...]]
    headings: dict[str, tuple[str, ...]]


def source_folders(repo: Path) -> list[Path]:
    """The folders of real documents the paragraphs come from."""
    shared = next((p / "shared" for p in repo.parents if (p / "shared" / "eval").is_dir()),
                  repo.parent / "shared")  # a worktree sits deeper than the main checkout
    faq = shared / "eval" / "swefaq-dev"
    return [repo / "corpus", *(f for f in (faq / "corpus-ret", faq / "corpus-ref") if f.is_dir())]


def read_pool(folders: list[Path]) -> Pool:
    """Distinct paragraphs and headings of every .md/.txt file, by its catalog language."""
    paragraphs: dict[str, dict[str, None]] = {"sv": {}, "en": {}}
    headings: dict[str, dict[str, None]] = {"sv": {}, "en": {}}
    for folder in folders:
        catalog = _catalog(folder)
        for path in sorted(folder.iterdir()):
            if path.suffix not in (".md", ".txt"):
                continue
            language = (catalog.get(path.name) or {}).get("language") or "sv"
            for kind, text in _blocks(path.read_text(encoding="utf-8")):
                target = headings if kind == "heading" else paragraphs
                target.setdefault(language, {})[text] = None
    for language, found in list(paragraphs.items()):  # headings from paragraph openings too
        for text in found:
            words = re.sub(r"[^\w\s-]", "", text).split()[:5]
            if len(words) >= 3:
                headings[language].setdefault(" ".join(words).capitalize(), None)
    return Pool({k: tuple(v) for k, v in paragraphs.items() if v},
                {k: tuple(v) for k, v in headings.items() if v})


def _catalog(folder: Path) -> dict[str, dict[str, object]]:
    path = folder / "catalog.json"
    if not path.exists():
        return {}
    return dict(json.loads(path.read_text(encoding="utf-8")).get("documents", {}))


def _blocks(text: str) -> Iterator[tuple[str, str]]:
    """("heading" | "paragraph", text) of a file: Markdown headings, and blank-line separated
    blocks joined into one line, split at lines or sentences when they run long."""
    for block in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in block.strip().splitlines() if line.strip()]
        if not lines:
            continue
        if lines[0].startswith("#"):
            heading = lines[0].lstrip("#").replace("*", "").strip()
            if 2 <= len(heading.split()) <= 12:
                yield "heading", heading
            lines = lines[1:]
        # web text keeps one paragraph per line; OCR text breaks lines inside paragraphs
        if len(lines) > 1 and all(len(line.split()) >= _MIN_WORDS for line in lines):
            pieces = lines
        else:
            pieces = [" ".join(lines)]
        for piece in pieces:
            for paragraph in _split_long(piece):
                if len(paragraph.split()) >= _MIN_WORDS:
                    yield "paragraph", paragraph


def _split_long(text: str) -> list[str]:
    """A long paragraph cut at sentence ends into parts of at most about _MAX_WORDS words."""
    if len(text.split()) <= _MAX_WORDS:
        return [text]
    parts, current = [], []
    for sentence in _SENTENCE_END.split(text):
        if current and len(" ".join([*current, sentence]).split()) > _MAX_WORDS:
            parts.append(" ".join(current))
            current = []
        current.append(sentence)
    if current:
        parts.append(" ".join(current))
    return parts


@dataclass(frozen=True)
class Synthetic:
    """One generated document: its corpus-relative name, Markdown text and catalog entry."""

    name: str
    text: str
    entry: dict[str, object]
    chunks: int  # estimated


def document(pool: Pool, seed: int, number: int, brief: bool = False) -> Synthetic:
    """The number-th synthetic document of a seed; each depends on (seed, number) alone.
    `brief`: one section of one paragraph, about one chunk (many documents at few chunks: a
    large corpus's per-document costs without its encoding)."""
    rng = random.Random(f"{seed}/{number}")
    language = "en" if rng.random() < ENGLISH_SHARE else "sv"
    paragraphs, headings = pool.paragraphs[language], pool.headings[language]
    target = 1 if brief else rng.randint(*DOC_WORDS)
    title = f"{rng.choice(headings)} {number}"
    lines, words, chunks = [f"# {title}", ""], 0, 0
    while words < target:
        level = "##" if rng.random() < 0.7 else "###"
        lines += [f"{level} {rng.choice(headings)}", ""]
        section = 0
        for _ in range(1 if brief else rng.randint(*SECTION_PARAGRAPHS)):
            paragraph = rng.choice(paragraphs)
            lines += [paragraph, ""]
            section += len(paragraph.split())
        words += section
        chunks += max(1, round(section / WORDS_PER_CHUNK))
    region = rng.choice(REGIONS)
    entry: dict[str, object] = {
        "title": title,
        "publisher": f"{rng.choice(PUBLISHERS[language])} ({region})",
        "year": rng.randint(2015, 2026),
        "type": rng.choice(TYPES),
        "region": region,
        "language": language,
        "form": "synthetic: real paragraphs recombined (bench/scale_corpus.py)",
    }
    folder = f"d{number // FILES_PER_FOLDER:04d}"
    return Synthetic(f"{folder}/synth-{number:07d}.md", "\n".join(lines), entry, chunks)


def small_document(pool: Pool, seed: int) -> Synthetic:
    """A short document (about 300 words) for the one-document update."""
    rng = random.Random(f"{seed}/small")
    lines = ["# Tillägg till samverkansöverenskommelsen", ""]
    words = 0
    while words < 300:
        paragraph = rng.choice(pool.paragraphs["sv"])
        lines += [paragraph, ""]
        words += len(paragraph.split())
    entry = {"title": "Tillägg till samverkansöverenskommelsen", "year": 2026,
             "type": "report", "region": "Kronoberg", "language": "sv"}
    return Synthetic("added/tillagg.md", "\n".join(lines), entry, 0)


def ensure_corpus(target: Path, pool: Pool, chunks: int, seed: int, brief: bool = False
                  ) -> dict[str, object]:
    """The corpus folder for (chunks, seed, brief), generated if missing; returns its marker
    facts."""
    marker = target / MARKER
    if marker.exists():
        return dict(json.loads(marker.read_text(encoding="utf-8")))
    work = target.with_name(target.name + ".tmp")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    facts = write_corpus(work, pool, chunks, seed, brief)
    (work / MARKER).write_text(json.dumps(facts) + "\n", encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    os.replace(work, target)
    return facts


def write_corpus(folder: Path, pool: Pool, chunks: int, seed: int, brief: bool = False
                 ) -> dict[str, object]:
    """Write documents and catalog.json into folder until about `chunks` chunks; streaming."""
    estimated = words = number = 0
    with (folder / "catalog.json").open("w", encoding="utf-8") as catalog:
        catalog.write('{"documents": {\n')
        while estimated < chunks:
            doc = document(pool, seed, number, brief)
            path = folder / doc.name
            path.parent.mkdir(exist_ok=True)
            path.write_text(doc.text, encoding="utf-8")
            separator = ",\n" if number else ""
            catalog.write(f"{separator}{json.dumps(doc.name)}: "
                          f"{json.dumps(doc.entry, ensure_ascii=False)}")
            estimated += doc.chunks
            words += len(doc.text.split())
            number += 1
        catalog.write("\n}}\n")
    return {"documents": number, "words": words, "estimated_chunks": estimated,
            "target_chunks": chunks, "seed": seed, **({"brief": True} if brief else {})}
