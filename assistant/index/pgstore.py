"""The PostgreSQL store (read side): the same `IndexStore` as the FAISS + SQLite generations,
over tables that several servers and workers share (`assistant.index.pgschema`).

Vectors: the HNSW index over each vector's halfvec proposes candidates (iterative scans keep a
document filter complete); they are re-scored exactly on the full-precision vectors. The
lexical leg matches the same folded text and compound parts as the embedded store's FTS5 table,
tokenised the same way in Python, and scores with FTS5's BM25 (k1 1.2, b 0.75) in SQL, so
both backends rank alike. A committed build bumps `meta.version`; a reader notices within
`REFRESH_S` and reloads the catalog. Rows are never reused, so what is cached by row stays true.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from assistant.errors import IndexMismatchError, IndexMissingError
from assistant.index.pgschema import Pool, mask_url, migrate
from assistant.index.storage import DocumentFacts, StoredDocument
from assistant.types import Chunk, DocInfo, Sentence

REFRESH_S = 1.0  # how stale a reader's view of the catalog may be
_TOKEN = re.compile(r"[^\W_]+")  # FTS5's unicode61: letters and digits; "_" separates
_CHUNK_COLUMNS = ('row, id, doc, ordinal, section, page_start, page_end, start, "end", text, '
                  "sentences, original, abbreviations")
_BM25 = """
WITH q AS (SELECT * FROM unnest(%(terms)s::text[], %(prefix)s::bool[], %(idf)s::float8[])
           AS q(term, prefix, idf)),
     stats AS (SELECT avg(terms_length)::float8 AS avgdl FROM chunks)
SELECT c.row, sum(q.idf * t.tf * 2.2
                  / (t.tf + 1.2 * (0.25 + 0.75 * c.terms_length / stats.avgdl))) AS score
FROM chunks c CROSS JOIN stats CROSS JOIN q
CROSS JOIN LATERAL (SELECT sum(cardinality(u.positions))::float8 AS tf FROM unnest(c.terms) u
                    WHERE u.lexeme = q.term OR (q.prefix AND starts_with(u.lexeme, q.term))) t
WHERE c.terms @@ %(query)s::tsquery AND t.tf > 0
GROUP BY c.row ORDER BY score DESC, c.row LIMIT %(limit)s
"""


def terms(text: str) -> list[str]:
    """The tokens FTS5's unicode61 tokenizer makes of a folded text."""
    return _TOKEN.findall(text)


def tsvector(text: str, compounds: Sequence[str]) -> tuple[str, int]:
    """A tsvector literal of a chunk's tokens and compound parts (positions in order, so
    each token counts), and how many tokens it holds."""
    positions: dict[str, list[int]] = {}
    tokens = terms(text) + [t for c in compounds for t in terms(c)]
    for i, token in enumerate(tokens, start=1):
        positions.setdefault(token, []).append(min(i, 16383))
    return " ".join(f"'{t}':{','.join(map(str, p[:256]))}" for t, p in positions.items()), len(
        tokens)


def tsquery(words: Iterable[str], prefix_min: int) -> str:
    """The tsquery for chunks holding any of the folded words (long ones also as prefixes)."""
    return " | ".join(f"'{w}':*" if len(w) >= prefix_min else f"'{w}'"
                      for w in dict.fromkeys(t for word in words for t in terms(word)))


def vector_text(vector: np.ndarray) -> str:
    """pgvector's text form of a vector; 9 digits give float32 back exactly."""
    return "[" + ",".join(f"{x:.9g}" for x in np.asarray(vector, dtype=np.float32).tolist()) + "]"


def parse_vector(text: str) -> np.ndarray:
    """A vector from pgvector's text form."""
    return np.array(json.loads(text), dtype=np.float32)


def open_pg_store(url: str, model: str | None = None) -> PgStore:
    """The index in the database at `url` (schema migrated first); when `model` is given, it
    must be the model the index was built with."""
    pool = Pool(url)
    with pool.connection() as conn:
        migrate(conn)
    store = PgStore(pool)
    if not store.build:
        store.close()
        raise IndexMissingError(f"the database at {mask_url(url)} holds no index yet; run "
                                f"`assistant index` to build it")
    if model is not None and store.model != model:
        built_with = store.model
        store.close()
        raise IndexMismatchError(
            f"the index in the database at {mask_url(url)} was built with model {built_with!r} "
            f"but the settings ask for {model!r}; run `assistant index` to rebuild it with the "
            f"configured model")
    return store


class PgStore:
    """Read access to the index in a PostgreSQL database."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.name = "postgres"
        self._version: Any = None
        self._checked = 0.0
        self._meta: dict[str, Any] = {}
        self._docs: dict[str, DocInfo] = {}
        self._latest: dict[str, DocInfo] = {}
        self._df: dict[tuple[str, int], int] = {}
        self._size = 0
        self._row_doc: dict[int, str] = {}
        self._chunks: dict[int, Chunk] = {}
        self._sentence_vectors: dict[int, np.ndarray] = {}
        self._refresh()

    # --- the catalog, refreshed when a build commits --------------------------------------

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked < REFRESH_S and self._version is not None:
            return
        with self.pool.connection() as conn:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            if meta.get("version") != self._version:
                docs = conn.execute("SELECT doc, title, language, publisher, year, type, region, "
                                    "form FROM documents ORDER BY first_row, doc").fetchall()
                (size,) = conn.execute("SELECT count(*) FROM chunks").fetchone()
                self._meta, self._version, self._size = meta, meta.get("version"), int(size)
                # a document just removed stays one version longer, for the searches still
                # reading the snapshot that holds it
                previous, self._latest = self._latest, {row[0]: DocInfo(*row) for row in docs}
                self._docs = {**self._latest, **{d: info for d, info in previous.items()
                                                 if d not in self._latest}}
                self._df = {}
                self.name = f"postgres v{self._version}"
        self._checked = now

    def snapshot(self) -> Any:
        """A context in which this thread's reads see one state of the index."""
        return self.pool.snapshot()

    @property
    def build(self) -> Mapping[str, Any]:
        self._refresh()
        return self._meta.get("build") or {}

    @property
    def model(self) -> str | None:
        return self.build.get("model")

    @property
    def dim(self) -> int:
        self._refresh()
        return int(self._meta.get("dim") or 0)

    @property
    def failed(self) -> Mapping[str, str]:
        self._refresh()
        return self._meta.get("failed") or {}

    @property
    def failed_keys(self) -> Mapping[str, str]:
        self._refresh()
        return self._meta.get("failed_keys") or {}

    @property
    def docs(self) -> Mapping[str, DocInfo]:
        self._refresh()
        return self._docs

    def size(self) -> int:
        """How many chunks the index holds."""
        self._refresh()
        return self._size

    def documents(self, names: Collection[str] | None = None) -> dict[str, DocumentFacts]:
        """Facts of every indexed document, or of those of `names`."""
        where = "" if names is None else "WHERE doc = ANY(%(names)s) "
        with self.pool.connection() as conn:
            rows = conn.execute("SELECT doc, title, language, publisher, year, type, region, form, "
                                f"fingerprint, pages, problems, chunks, sentences FROM documents "
                                f"{where}ORDER BY first_row, doc",
                                {"names": sorted(names or ())}).fetchall()
        return {r[0]: DocumentFacts(DocInfo(*r[:8]), r[8], r[9], tuple(r[10]), r[11], r[12])
                for r in rows}

    # --- vectors ----------------------------------------------------------------------------

    def _nearest(self, table: str, key: str, vector: np.ndarray, k: int,
                 docs: Collection[str] | None) -> list[tuple[int, float]]:
        if k <= 0 or (docs is not None and not docs):
            return []
        dim = int(len(vector))
        where = "" if docs is None else "WHERE doc = ANY(%(docs)s)"
        sql = (f"SELECT hit, -(embedding <#> %(v)s::vector) AS score FROM ("
               f"SELECT {key} AS hit, row AS r, embedding FROM {table} {where} "
               f"ORDER BY embedding::halfvec({dim}) <#> %(v)s::halfvec({dim}) LIMIT %(n)s) c "
               f"ORDER BY score DESC, r LIMIT %(k)s")
        params = {"v": vector_text(vector), "docs": list(docs or ()), "n": k + 20, "k": k}
        with self.pool.connection() as conn:
            return [(int(r), float(s)) for r, s in conn.execute(sql, params)]

    def search_chunks(self, vector: np.ndarray, k: int, docs: Collection[str] | None
                      ) -> list[tuple[int, float]]:
        """The k chunk rows closest to a vector, best first (only of `docs` when given)."""
        return self._nearest("chunks", "row", vector, k, docs)

    def search_sentences(self, vector: np.ndarray, k: int, docs: Collection[str] | None
                         ) -> list[tuple[int, float]]:
        """The k closest sentences as (chunk row, score), best first."""
        return self._nearest("sentences", "chunk_row", vector, k, docs)

    def sentence_vectors(self, row: int) -> np.ndarray:
        """The vectors of a chunk's sentences, in sentence order (cached: a row never
        changes)."""
        if row not in self._sentence_vectors:
            with self.pool.connection() as conn:
                found = conn.execute("SELECT embedding::text FROM sentences WHERE chunk_row = %s "
                                     "ORDER BY idx", (row,)).fetchall()
            if len(self._sentence_vectors) > 20_000:
                self._sentence_vectors.clear()
            self._sentence_vectors[row] = (np.stack([parse_vector(v) for (v,) in found])
                                           if found else np.zeros((0, self.dim), np.float32))
        return self._sentence_vectors[row]

    # --- the lexical leg ------------------------------------------------------------------

    def lexical(self, words: Sequence[str], limit: int, prefix_min: int
                ) -> list[tuple[int, float]]:
        """Chunk rows and BM25 scores (higher is better) for passages holding any word."""
        query = tsquery(words, prefix_min)
        if not query:
            return []
        unique = list(dict.fromkeys(t for w in words for t in terms(w)))
        n = self.size()
        idf = []
        for word in unique:
            df = self.document_frequency(word, prefix_min)
            idf.append(max(math.log((n - df + 0.5) / (df + 0.5)), 1e-6))
        params = {"terms": unique, "prefix": [len(w) >= prefix_min for w in unique],
                  "idf": idf, "query": query, "limit": limit}
        with self.pool.connection() as conn:
            return [(int(r), float(s)) for r, s in conn.execute(_BM25, params)]

    def document_frequency(self, word: str, prefix_min: int) -> int:
        """How many chunks `lexical` finds for one word (cached until the next build)."""
        self._refresh()
        key = (word, prefix_min)
        if key not in self._df:
            query = tsquery([word], prefix_min)
            if not query:
                return 0
            with self.pool.connection() as conn:
                (count,) = conn.execute("SELECT count(*) FROM chunks WHERE terms @@ %s::tsquery",
                                        (query,)).fetchone()
            self._df[key] = int(count)
        return self._df[key]

    def lexical_texts(self, rows: Iterable[int]) -> dict[int, str]:
        """The folded text the lexical leg indexed for each chunk row."""
        rows = list(rows)
        if not rows:
            return {}
        with self.pool.connection() as conn:
            return dict(conn.execute("SELECT row, lexical FROM chunks WHERE row = ANY(%s)",
                                     (rows,)).fetchall())

    # --- chunks -----------------------------------------------------------------------------

    def chunks(self, rows: Iterable[int]) -> dict[int, Chunk]:
        """Chunks by row (cached: a row never changes)."""
        rows = list(rows)
        missing = [r for r in rows if r not in self._chunks]
        if missing:
            with self.pool.connection() as conn:
                found = conn.execute(f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE row = ANY(%s)",
                                     (missing,)).fetchall()
            if len(self._chunks) > 50_000:
                self._chunks.clear()
            self._chunks.update((r[0], _chunk(r)) for r in found)
        return {r: self._chunks[r] for r in rows if r in self._chunks}

    def chunk_row(self, chunk: Chunk) -> int:
        """The row of a chunk."""
        with self.pool.connection() as conn:
            (row,) = conn.execute("SELECT row FROM chunks WHERE id = %s", (chunk.id,)).fetchone()
        return int(row)

    def chunk_by_id(self, chunk_id: str) -> Chunk | None:
        """The chunk with this id, or None."""
        with self.pool.connection() as conn:
            found = conn.execute("SELECT row FROM chunks WHERE id = %s", (chunk_id,)).fetchone()
        return None if found is None else self.chunks([found[0]]).get(found[0])

    def row_doc(self, row: int) -> str:
        """The document a chunk row belongs to (cached: a row never changes)."""
        if row not in self._row_doc:
            with self.pool.connection() as conn:
                (doc,) = conn.execute("SELECT doc FROM chunks WHERE row = %s", (row,)).fetchone()
            self._row_doc[row] = doc
        return self._row_doc[row]

    def stored(self, doc: str) -> StoredDocument:
        """A document with its chunks and vectors."""
        facts = self.documents()[doc]
        with self.pool.connection() as conn:
            crows = conn.execute("SELECT row, embedding::text FROM chunks WHERE doc = %s "
                                 "ORDER BY ordinal", (doc,)).fetchall()
            svecs = conn.execute("SELECT s.embedding::text FROM sentences s JOIN chunks c ON "
                                 "c.row = s.chunk_row WHERE s.doc = %s ORDER BY c.ordinal, s.idx",
                                 (doc,)).fetchall()
        chunks = self.chunks(r for r, _ in crows)
        dim = self.dim
        return StoredDocument(
            facts.info, facts.fingerprint, facts.pages, facts.problems,
            tuple(chunks[r] for r, _ in crows),
            np.array([parse_vector(v) for _, v in crows], dtype=np.float32).reshape(-1, dim),
            np.array([parse_vector(v) for (v,) in svecs], dtype=np.float32).reshape(-1, dim))

    def close(self) -> None:
        """Close the pool's connections."""
        self.pool.close()


def _chunk(r: tuple[Any, ...]) -> Chunk:
    sentences = tuple(Sentence(a, b, p, tuple(s), lead) for a, b, p, s, lead in r[10])
    return Chunk(r[1], r[2], r[3], tuple(r[4]), r[5], r[6], r[7], r[8], r[9], sentences, r[11],
                 tuple((a, b) for a, b in r[12]))
