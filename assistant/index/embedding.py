"""What a document becomes in an index: parsed, repaired, masked, chunked, and embedded with
the context each chunk and sentence is embedded in."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import Settings
from assistant.errors import IngestError
from assistant.index.abbreviations import definitions, spell_out, used
from assistant.index.chunking import chunk_document, document_text
from assistant.index.storage import StoredDocument
from assistant.ingest.catalog import doc_info
from assistant.ingest.sandbox import load_isolated
from assistant.lang.diacritics import repair_document
from assistant.lang.personal import mask_document, mask_text
from assistant.model.embed import Embedder
from assistant.types import Chunk, DocInfo, Document

log = logging.getLogger(__name__)


def passage_text(info: DocInfo, chunk: Chunk) -> str:
    """What is embedded for a chunk: document title and section path give the text context;
    abbreviations are spelled out after their first use."""
    context = " › ".join((info.title, *chunk.section))
    return f"{context}\n{spell_out(chunk.text, chunk.abbreviations)}"


def sentence_text(info: DocInfo, chunk: Chunk, index: int) -> str:
    """What is embedded for a sentence: the document's main title and the sentence's own
    section path before it, so "Delmål:" lists and short statements keep their topic, and
    for a list item the sentence introducing the list (figures in bench/RESULTS.md)."""
    sentence = chunk.sentences[index]
    context = " › ".join((main_title(info.title), *sentence.section))
    text = " ".join(chunk.text[sentence.start:sentence.end].split())
    if sentence.lead:
        text = f"{sentence.lead} {text}"
    return f"{context}: {spell_out(text, chunk.abbreviations)}"


def main_title(title: str) -> str:
    """A title without its subtitle: "Strategisk överenskommelse … i Kronoberg" of
    "Strategisk överenskommelse … i Kronoberg – Rapport om utveckling och resultat 2019–2024".
    Repeated before every sentence, a long subtitle drowns short sentences."""
    return re.split(r"\s[–—-]\s|:\s", title, maxsplit=1)[0].strip() or title


def embed_document(
    path: Path, name: str, entry: dict[str, Any] | None, fingerprint: str,
    settings: Settings, embedder: Embedder,
) -> StoredDocument:
    """A corpus file parsed (in a sandboxed child process), repaired, masked, chunked and
    embedded: what an index stores of it. IngestError when it yields nothing to index."""
    document = load_isolated(path, name, settings.parse_timeout_s, settings.parse_memory_mb)
    words = sum(len(b.text.split()) for b in document.blocks)
    if settings.max_document_words and words > settings.max_document_words:
        raise IngestError(f"{name}: too large to index: {words:,} words (the limit is "
                          f"{settings.max_document_words:,}; set ASSISTANT_MAX_DOCUMENT_WORDS)")
    document = repair_document(document)
    info = doc_info(document, entry)
    if settings.mask_personal_numbers:
        document = mask_document(document)  # before chunking, so offsets match the text
        info = _mask_info(info)
    chunks = chunk_document(
        document, settings.chunk_words, settings.chunk_max_words,
        settings.chunk_overlap_sentences,
    )
    if not chunks:
        raise IngestError(_no_text(document))
    defined = definitions(document_text(document))
    chunks = [replace(c, abbreviations=used(c.text, defined)) for c in chunks]
    log.debug("parsed %s: title %r, %d blocks, %d chunks", name, info.title,
              len(document.blocks), len(chunks))
    sentences = [sentence_text(info, c, i) for c in chunks for i in range(len(c.sentences))]
    empty = np.zeros((0, embedder.dim), dtype=np.float32)
    chunk_vectors = embedder.passages([passage_text(info, c) for c in chunks]) if chunks else empty
    sentence_vectors = _embed_unique(embedder, sentences) if sentences else empty
    return StoredDocument(info, fingerprint, document.pages, document.problems, tuple(chunks),
                          chunk_vectors, sentence_vectors)


def _mask_info(info: DocInfo) -> DocInfo:
    """Catalog facts with personal numbers masked in the free-text fields."""
    return replace(info, title=mask_text(info.title),
                   **{k: mask_text(v) for k in ("publisher", "region", "form")
                      if isinstance(v := getattr(info, k), str)})


def _no_text(document: Document) -> str:
    """Why a document gave no passages: an empty file, pages without a text layer, damage."""
    name, pages, problems = document.doc, document.pages, document.problems
    if pages and sum("no text extracted" in p for p in problems) == pages:
        return (f"{name}: no text extracted from any of its {pages} page(s) — a scan without "
                f"a text layer? Run OCR on it first")
    where = f"any of its {pages} page(s)" if pages else "the file"
    details = f" ({'; '.join(problems[:2])})" if problems else ""
    return f"{name}: no usable text found in {where}{details}"


def _embed_unique(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Embed each distinct text once (overlapping chunks repeat sentences)."""
    unique = list(dict.fromkeys(texts))
    vectors = embedder.passages(unique)
    position = {t: i for i, t in enumerate(unique)}
    return np.asarray(vectors[[position[t] for t in texts]], dtype=np.float32)
