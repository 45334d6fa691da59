"""Every development set in one table: the assistant next to plain e5 dense retrieval.

Run from the repository root (a few minutes on 2 shared cores the first time; indexes and
passage vectors are cached in bench/.cache/, so later runs only search and answer):
    PYTHONPATH=$PWD OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/devsets.py [--cv]
It writes bench/devsets-DATE.md (the table, the command, and the questions where plain dense
ranks the gold passage higher than the assistant) and appends one JSON line per table row to
bench/results/devsets.jsonl.

Sets, each over its own corpus and reported per question language:
- dev (shared/eval/questions.jsonl) and held-out (bench/heldout/questions.jsonl) over corpus/;
- swefaq ret-sv / ret-en over swefaq-dev/corpus-ret (retrieval; every question answerable);
- swefaq ref-sv / ref-en over swefaq-dev/corpus-ref (the seed corpus plus the Socialstyrelsen
  categories: the Västra Götalandsregionen questions have no answer there and should be refused);
- "together": corpus/ and corpus-ret/ indexed as one corpus, asked the dev, held-out, ret-sv and
  ret-en questions. There the seed set's unanswerable questions stay unanswerable (nothing in
  the FAQ answers them), and every swefaq question is answerable, the Västra Götalandsregionen
  ones included, since their answers are in corpus-ret; so the ret files' labels hold.

Plain dense is intfloat/multilingual-e5-small, converted as the assistant converts it, with its
"query: " / "passage: " prefixes, cosine over one passage per unit and nothing else: for a FAQ
document (catalog form "FAQ answers") one passage per answer paragraph, the unit swefaq's gold
texts open; for every other document the assistant's own chunks (same loader, OCR repair and
chunking settings as the index) as bare text. Plain dense never refuses, so it has no answer
columns. Metrics come from assistant.evaluate, the rule in shared/eval/README.md.
"""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

# This tree's assistant, not whichever one the shared virtual environment has installed (a
# script's own folder, bench/, is what Python puts first on the path).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.config import Settings, load_settings
from assistant.engine import Engine, configure_threads
from assistant.evaluate import (
    Question,
    Report,
    evaluate_answers,
    evaluate_retrieval,
    first_match,
)
from assistant.evaluate import read_questions as read_question_file
from assistant.index.builder import build_index
from assistant.index.chunking import chunk_document
from assistant.ingest import load_document
from assistant.lang.diacritics import repair_document
from assistant.retrieval.search import FusionParams

REPO = Path(__file__).resolve().parent.parent
EVAL = next((p / "shared" / "eval" for p in REPO.parents if (p / "shared" / "eval").is_dir()),
            REPO.parent / "shared" / "eval")
CACHE = REPO / "bench" / ".cache"
K = 10  # hits per question: MRR@10 needs ten


@dataclass(frozen=True)
class EvalSet:
    """Questions over one corpus; `parts` names the question files they come from."""

    name: str
    corpus: str
    parts: tuple[tuple[str, Path], ...]


def eval_sets(eval_dir: Path) -> list[EvalSet]:
    """The development sets, in table order."""
    faq = eval_dir / "swefaq-dev"
    dev, heldout = eval_dir / "questions.jsonl", REPO / "bench" / "heldout" / "questions.jsonl"
    return [
        EvalSet("dev", "seed", (("dev", dev),)),
        EvalSet("held-out", "seed", (("held-out", heldout),)),
        EvalSet("swefaq ret-sv", "ret", (("ret-sv", faq / "ret-sv.jsonl"),)),
        EvalSet("swefaq ret-en", "ret", (("ret-en", faq / "ret-en.jsonl"),)),
        EvalSet("swefaq ref-sv", "ref", (("ref-sv", faq / "ref-sv.jsonl"),)),
        EvalSet("swefaq ref-en", "ref", (("ref-en", faq / "ref-en.jsonl"),)),
        EvalSet("together", "seed+ret", (("dev", dev), ("held-out", heldout),
                                         ("ret-sv", faq / "ret-sv.jsonl"),
                                         ("ret-en", faq / "ret-en.jsonl"))),
    ]


def corpus_dirs(eval_dir: Path) -> dict[str, Path]:
    """Corpus folders by name; "seed+ret" is assembled under bench/.cache/."""
    faq = eval_dir / "swefaq-dev"
    seed, ret = REPO / "corpus", faq / "corpus-ret"
    return {"seed": seed, "ret": ret, "ref": faq / "corpus-ref",
            "seed+ret": merged_corpus(CACHE / "corpus" / "seed+ret", (seed, ret))}


def read_catalog(corpus: Path) -> dict[str, dict[str, Any]]:
    """A corpus folder's catalog entries by file name (empty without a catalog)."""
    path = corpus / "catalog.json"
    if not path.is_file():
        return {}
    return dict(json.loads(path.read_text(encoding="utf-8")).get("documents", {}))


def merged_corpus(target: Path, sources: Sequence[Path]) -> Path:
    """One flat folder holding the files of `sources` and one catalog of all their entries
    (files already there with the same bytes are left alone)."""
    target.mkdir(parents=True, exist_ok=True)
    wanted: dict[str, bytes] = {}
    documents: dict[str, Any] = {}
    for source in sources:
        for path in sorted(source.iterdir()):
            if path.is_file() and path.name != "catalog.json":
                if path.name in wanted:
                    raise SystemExit(f"{path.name} is in more than one corpus: cannot merge")
                wanted[path.name] = path.read_bytes()
        documents.update(read_catalog(source))
    about = "Assembled by bench/devsets.py: " + " + ".join(str(s) for s in sources)
    wanted["catalog.json"] = json.dumps({"_about": about, "documents": documents},
                                        ensure_ascii=False, indent=1).encode("utf-8")
    for path in target.iterdir():
        if path.name not in wanted:
            path.unlink()
    for name, data in wanted.items():
        path = target / name
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)
    return target


def query_embedder(settings: Settings) -> CachedQueries:
    """The configured embedding model, its query vectors remembered (CachedQueries)."""
    from assistant.model.embed import load_embedder

    return CachedQueries(load_embedder(settings.model, settings.model_dir, settings.threads,
                                       settings.batch_size, settings.encoder))


class CachedQueries:
    """The embedder with query vectors remembered by text: `search` and `ask` embed the same
    question, and a parameter grid would embed it once per row."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.cache_key = inner.name  # which vectors: the model, and its encoder where it differs
        self._vectors: dict[str, np.ndarray] = {}

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        """Passage vectors, not cached (the index caches them)."""
        return self.inner.passages(texts)

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors, each text embedded once per run."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            self._vectors.update(zip(missing, self.inner.queries(missing), strict=True))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts])


def database_for(server: str, name: str) -> str:
    """The address of the database `name` (made now if missing) on a PostgreSQL server."""
    import psycopg

    database = "devsets_" + "".join(c if c.isalnum() else "_" for c in name)
    with psycopg.connect(server, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            (database,)).fetchone():
            conn.execute(f"CREATE DATABASE {database}")
    base, _, query = server.partition("?")  # pgserver's query names a socket folder
    return f"{base.rsplit('/', 1)[0]}/{database}" + (f"?{query}" if query else "")


def built_index(name: str, corpus: Path, settings: Settings, embedder: Any,
                seed_from: Sequence[str], server: str | None = None) -> Settings:
    """Settings for a cached index of `corpus`, built (incrementally) now; with `server`, in
    its own database on that PostgreSQL server instead of a cache folder.

    A new cache folder starts as a copy of an earlier one (`seed_from`), so documents the two
    corpora share are reused by the incremental build instead of embedded again.
    """
    if server:
        own = settings.with_overrides(corpus_dir=corpus, database_url=database_for(server, name))
        report = build_index(own, embedder)
        print(f"index {name}: {report.generation}, {len(report.indexed)} embedded, "
              f"{len(report.unchanged)} reused, {report.chunks} chunks", file=sys.stderr)
        return own
    folder = CACHE / "index" / cache_name(settings)
    index_dir = folder / name
    if not index_dir.exists():
        earlier = [folder / s for s in seed_from if (folder / s).exists()]
        if earlier:
            shutil.copytree(earlier[0], index_dir)
    own = settings.with_overrides(corpus_dir=corpus, index_dir=index_dir)
    report = build_index(own, embedder)
    if report.failed:
        raise SystemExit(f"{corpus}: documents failed to index: {report.failed}")
    print(f"index {name}: {report.generation}, {len(report.indexed)} embedded, "
          f"{len(report.unchanged)} reused, {report.chunks} chunks", file=sys.stderr)
    return own


def cache_name(settings: Settings) -> str:
    """The model's cache folder name; the ONNX encoder's vectors are kept apart from torch's."""
    from assistant.model.embed import encoder_kind

    kind = encoder_kind(settings.model, settings.encoder)
    return settings.model.replace("/", "--") + ("" if kind == "sentence-transformers" else
                                                 f"--{kind}")


# Plain dense retrieval. Its hits only need what assistant.evaluate reads of a Hit
# (hit.chunk.doc, .text, .ordinal), so they are small stand-ins, not the assistant's types.

@dataclass(frozen=True)
class Passage:
    """One unit of plain dense retrieval."""

    doc: str
    ordinal: int
    text: str


@dataclass(frozen=True)
class PlainHit:
    """A passage and its cosine with the query."""

    chunk: Passage
    score: float


def plain_passages(corpus: Path, settings: Settings, faq_unit: str = "paragraph"
                   ) -> list[Passage]:
    """One passage per FAQ answer paragraph (or, with faq_unit "chunk", per chunk as the
    assistant cuts it), and per assistant chunk for every other document."""
    catalog = read_catalog(corpus)
    passages: list[Passage] = []
    for path in sorted(corpus.iterdir()):
        if not path.is_file() or path.name == "catalog.json":
            continue
        faq = catalog.get(path.name, {}).get("form") == "FAQ answers"
        if faq and faq_unit == "paragraph":
            # the title heading, then one answer per blank-line-separated paragraph
            texts = [" ".join(p.split()) for p in path.read_text(encoding="utf-8").split("\n\n")
                     if p.strip() and not p.lstrip().startswith("#")]
        else:
            document = repair_document(load_document(path, path.name))
            texts = [c.text for c in chunk_document(document, settings.chunk_words,
                                                    settings.chunk_max_words,
                                                    settings.chunk_overlap_sentences)]
        passages += [Passage(path.name, i, t) for i, t in enumerate(texts)]
    return passages


def has_faq(corpus: Path) -> bool:
    """Whether a corpus holds FAQ documents (where the two plain units differ)."""
    return any(e.get("form") == "FAQ answers" for e in read_catalog(corpus).values())


def passage_vectors(passages: list[Passage], embedder: Any) -> np.ndarray:
    """e5 passage vectors, cached in bench/.cache/plain/ per model and document text, so
    corpora that share documents embed them once."""
    parts = []
    for doc in dict.fromkeys(p.doc for p in passages):
        texts = [p.text for p in passages if p.doc == doc]
        key = hashlib.sha256("\n\0".join([embedder.cache_key, doc, *texts]).encode("utf-8"))
        path = CACHE / "plain" / f"{key.hexdigest()[:24]}.npy"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, embedder.passages(texts))
        parts.append(np.load(path))
    return np.concatenate(parts) if parts else np.zeros((0, embedder.dim), dtype=np.float32)


def plain_search(questions: Sequence[Question], passages: list[Passage], vectors: np.ndarray,
                 embedder: Any) -> list[list[PlainHit]]:
    """Top-K passages by cosine for each bare question (with the e5 query prefix only)."""
    queries = embedder.queries([q.question for q in questions])
    results = []
    for scores in queries @ vectors.T:
        top = np.argsort(-scores, kind="stable")[:K]
        results.append([PlainHit(passages[i], float(scores[i])) for i in top])
    return results


# Running and tabulating.

@dataclass
class Outcome:
    """Per-question results of one system on one set (answers only for the assistant)."""

    questions: list[Question]
    parts: list[str]  # the question file each question comes from
    hits: list[Any]
    answers: list[Any] | None


def read_parts(parts: Sequence[tuple[str, Path]]) -> tuple[list[Question], list[str]]:
    """The questions of every part file, and each one's part name."""
    questions, names = [], []
    for name, path in parts:
        part = read_question_file(path)
        questions += part
        names += [name] * len(part)
    return questions, names


def groups(outcome: Outcome, together: bool) -> list[tuple[str, str, list[int]]]:
    """(part, language, question positions) for each table row of a set: per part file when
    several make up the set, per language, and all languages when there are several."""
    rows = []
    for part in dict.fromkeys(outcome.parts):
        in_part = [i for i, p in enumerate(outcome.parts) if p == part]
        langs = sorted({outcome.questions[i].lang for i in in_part})
        if len(langs) > 1:
            rows.append((part if together else "", "all", in_part))
        for lang in langs:
            rows.append((part if together else "", lang,
                         [i for i in in_part if outcome.questions[i].lang == lang]))
    return rows


def measure(outcome: Outcome, positions: list[int]) -> tuple[dict[str, Any], Report]:
    """The table's figures for some of an outcome's questions, from assistant.evaluate."""
    questions = [outcome.questions[i] for i in positions]
    report = evaluate_retrieval(questions, [outcome.hits[i] for i in positions])
    overall = report.metrics["overall"]
    figures: dict[str, Any] = {
        "answerable": overall["n"], "unanswerable": report.metrics["unanswerable"],
        "R@1": overall["R@1"], "R@5": overall["R@5"], "MRR@10": overall["MRR@10"]}
    if outcome.answers is not None:
        evaluate_answers(questions, [outcome.answers[i] for i in positions], report)
        answers = report.metrics["answers"]
        answerable = [r for r in report.rows if r["answerable"]]
        figures.update({
            "unanswerable_refused": answers["unanswerable_abstained"],
            "answerable_refused": answers["answerable_abstained"],
            "first_citation": sum(r["first_citation"] for r in answerable),
            "first_quote": sum(r["first_quote"] for r in answerable),
            "modes": modes(report.rows, [outcome.answers[i] for i in positions])})
    return figures, report


def modes(rows: list[dict[str, Any]], answers: list[Any]) -> str:
    """How many answers of each mode, and (in brackets) how many were right: an answer or
    passages whose first citation is gold, a refusal of an unanswerable question."""
    cells = []
    for mode in ("answer", "passages", "refusal"):
        chosen = [r for r, a in zip(rows, answers, strict=True) if a.mode == mode]
        right = sum(not r["answerable"] if mode == "refusal" else
                    r["answerable"] and r["first_citation"] for r in chosen)
        cells.append(f"{len(chosen)} ({right})")
    return " / ".join(cells)


def ratio(count: int, total: int) -> str:
    """'count/total', or a dash when there is nothing to count."""
    return f"{count}/{total}" if total else "—"


def table_row(label: str, part: str, lang: str, system: str, f: dict[str, Any]) -> str:
    """One Markdown row."""
    n, u = f["answerable"], f["unanswerable"]
    cells = [label + (f": {part}" if part else ""), lang, system, str(n), str(u)]
    cells += [f"{f[m]:.3f}" if n else "—" for m in ("R@1", "R@5", "MRR@10")]
    if "first_citation" in f:
        cells += [ratio(f["unanswerable_refused"], u), ratio(f["answerable_refused"], n),
                  ratio(f["first_citation"], n), ratio(f["first_quote"], n), f["modes"]]
    else:
        cells += ["—"] * 5
    return "| " + " | ".join(cells) + " |"


HEAD = ("| set | lang | system | answerable | unanswerable | R@1 | R@5 | MRR@10 "
        "| unanswerable refused | answerable wrongly refused | first citation gold "
        "| first quote gold | answer / passages / refusal (right) |\n" + "|---" * 13 + "|")


def differences(label: str, assistant: Report, plain: Report, limit: int) -> list[str]:
    """Lines naming the answerable questions where the two systems rank the gold differently."""
    worse, better = [], 0
    for a, p in zip(assistant.rows, plain.rows, strict=True):
        if not a["answerable"]:
            continue
        ra, rp = a["rank"] or K + 1, p["rank"] or K + 1
        better += ra < rp
        if rp < ra:
            worse.append((ra - rp, a, p))
    worse.sort(key=lambda w: -w[0])
    lines = [f"- **{label}**: assistant ranks gold higher on {better}, plain dense on "
             f"{len(worse)} questions" + (":" if worse else ".")]
    for _, a, p in worse[:limit]:
        lines.append(f"  - `{a['id']}` {a['question'][:90]!r}: assistant rank "
                     f"{a['rank'] or '>10'} (top {', '.join(a['top'][:2])}), plain {p['rank']}")
    if len(worse) > limit:
        lines.append(f"  - … and {len(worse) - limit} more")
    return lines


# Cross-validation of the fusion parameters, folds by document.

def grid() -> list[FusionParams]:
    """The fusion parameters tried: RRF constant, leg weights, lexical coverage gate."""
    weights = [(1.0, 1.0, 0.5), (1.0, 1.0, 1.0), (1.0, 1.0, 0.25), (1.0, 0.5, 0.5),
               (1.0, 1.0, 0.0)]
    params = []
    for rrf_k in (10.0, 30.0, 60.0):
        for w in weights:
            gates = (0.7,) if w[2] == 0 else (0.0, 0.7)  # no lexical leg: the gate is moot
            params += [FusionParams(rrf_k=rrf_k, weights=w, min_coverage=c) for c in gates]
    return params


def describe(params: FusionParams) -> str:
    """The grid's fields of a parameter set, short."""
    w = "/".join(f"{x:g}" for x in params.weights)
    return f"k={params.rrf_k:g} w={w} cov={params.min_coverage:g}"


FIXED = [  # rows measured as they are, not fitted
    ("defaults", FusionParams()),
    ("lexical leg ungated (min_coverage 0)", FusionParams(min_coverage=0.0)),
    ("lexical leg alone, ungated", FusionParams(weights=(0.0, 0.0, 1.0), min_coverage=0.0)),
    ("lexical leg alone as plain BM25 (ungated, no term expansion)",
     FusionParams(weights=(0.0, 0.0, 1.0), min_coverage=0.0, expand_terms=False)),
]


def cross_validate(indexes: dict[str, Settings], embedder: Any, eval_dir: Path) -> list[str]:
    """Markdown: per-set figures of the best-on-train fusion parameters, leaving one document
    out at a time, beside fixed rows. Questions are grouped by the document of their gold
    passage (a swefaq document is one FAQ category; an English question sits with its Swedish
    original, so no fold is scored on a document it was fitted on). dev and swefaq ret-sv /
    ret-en are fitted on; held-out is only scored, never fitted on."""
    scored = [s for s in eval_sets(eval_dir) if s.name in ("dev", "held-out", "swefaq ret-sv",
                                                           "swefaq ret-en")]
    fitted = {"dev", "swefaq ret-sv", "swefaq ret-en"}
    questions: dict[str, list[Question]] = {}
    for evalset in scored:
        questions[evalset.name] = [q for q in read_parts(evalset.parts)[0] if q.answerable]
    candidates = grid()
    fixed = FIXED
    variants = candidates + [p for _, p in fixed if p not in candidates]
    hits: dict[tuple[str, FusionParams], list[Any]] = {}
    for evalset in scored:
        texts = [q.question for q in questions[evalset.name]]
        for params in variants:
            engine = Engine(indexes[evalset.corpus], embedder, params=params)
            hits[evalset.name, params] = engine.search(texts, k=K)
            engine.close()
        print(f"cv: {evalset.name} searched with {len(variants)} parameter sets",
              file=sys.stderr)
    # Reciprocal rank of each question under each candidate: the fitting objective.
    rr = {key: [1 / r if (r := first_match(h, q.gold)) else 0.0
                for h, q in zip(found, questions[key[0]], strict=True)]
          for key, found in hits.items()}
    docs = sorted({q.gold[0].doc for qs in questions.values() for q in qs})
    chosen: dict[tuple[str, int], FusionParams] = {}
    picks: dict[FusionParams, int] = {}
    for doc in docs:
        def train_score(params: FusionParams, doc: str = doc) -> float:
            """Mean over the fitted sets of their MRR@10 on questions not about `doc`."""
            means = []
            for name in fitted:
                kept = [v for v, q in zip(rr[name, params], questions[name], strict=True)
                        if q.gold[0].doc != doc]
                if kept:
                    means.append(sum(kept) / len(kept))
            return sum(means) / len(means)

        best = max(candidates, key=train_score)  # first of equals: grid order
        picks[best] = picks.get(best, 0) + 1
        for name, qs in questions.items():
            for i, q in enumerate(qs):
                if q.gold[0].doc == doc:
                    chosen[name, i] = best
    head = ("| set | parameters | R@1 | R@5 | MRR@10 |\n|---|---|---|---|---|")
    lines = [head]
    for name, qs in questions.items():
        cv_hits = [hits[name, chosen[name, i]][i] for i in range(len(qs))]
        rows = [("cross-validated, best on train", cv_hits)]
        rows += [(label, hits[name, params]) for label, params in fixed]
        oracle = max(candidates, key=lambda p, n=name: sum(rr[n, p]))
        rows.append((f"best in hindsight (optimistic): {describe(oracle)}", hits[name, oracle]))
        for label, found in rows:
            m = evaluate_retrieval(qs, found).metrics["overall"]
            lines.append(f"| {name} ({len(qs)}) | {label} | {m['R@1']:.3f} | {m['R@5']:.3f} "
                         f"| {m['MRR@10']:.3f} |")
    chosen_text = "; ".join(f"{describe(p)} ×{n}" for p, n in
                            sorted(picks.items(), key=lambda item: -item[1]))
    return [
        "## Fusion parameters cross-validated by document\n",
        f"Grid: {len(candidates)} parameter sets (RRF k 10/30/60 × weights × lexical coverage "
        f"gate 0/0.7; other fields at their defaults). {len(docs)} folds, one per gold "
        "document; each fold's parameters maximise the mean of the fitted sets' MRR@10 (dev, "
        "swefaq ret-sv, ret-en) over questions about the other documents, and score the "
        "questions about its own document. held-out is scored, never fitted on. Answerable "
        "questions only, retrieval figures only (no answers or refusals).\n",
        f"Chosen per fold: {chosen_text}.\n", "\n".join(lines), ""]


def git_commit() -> str:
    """The commit the code ran at, marked when the worktree has changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                              check=False).stdout.strip()
    return git("rev-parse", "--short", "HEAD") + (" (dirty)" if git("status", "--porcelain",
                                                                    "--", "assistant") else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval-dir", type=Path, default=EVAL)
    parser.add_argument("--out", type=Path, default=None,
                        help="Markdown file (default bench/devsets-DATE.md)")
    parser.add_argument("--jsonl", type=Path, default=REPO / "bench" / "results" /
                        "devsets.jsonl")
    parser.add_argument("--sets", nargs="*", default=None, help="only these set names")
    parser.add_argument("--postgres", action="store_true",
                        help="index each corpus into a private PostgreSQL server (pgserver, "
                             "started in a temp folder, removed at the end) instead of folders")
    parser.add_argument("--cv", action="store_true",
                        help="also cross-validate the fusion parameters (retrieval sets)")
    args = parser.parse_args()
    import assistant

    if not Path(assistant.__file__).resolve().is_relative_to(REPO):
        # the venv's editable install may point at another checkout of the project
        raise SystemExit(f"assistant is imported from {assistant.__file__}, not from {REPO}: "
                         "run with PYTHONPATH=$PWD from the repository root")
    started = time.monotonic()
    run = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    command = ("PYTHONPATH=$PWD OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/devsets.py "
               + shlex.join(sys.argv[1:]))
    date = dt.date.today().isoformat()
    settings = load_settings()
    configure_threads(settings)
    embedder = query_embedder(settings)
    # keys the plain-dense vector cache; `name` stays the model's (the refusal model is fitted
    # for one model's cosines, and holds them at their mean for any other name)
    embedder.cache_key = cache_name(settings)
    sets = [s for s in eval_sets(args.eval_dir) if args.sets is None or s.name in args.sets]
    dirs = corpus_dirs(args.eval_dir)
    order = ("seed", "ref", "seed+ret", "ret")  # each index starts from the one before it
    needed = {s.corpus for s in sets} | ({"seed", "ret"} if args.cv else set())
    database = None
    if args.postgres:
        from pg_load import start_database

        pgroot = Path(tempfile.mkdtemp(prefix="assistant-devsets-pg-"))
        database = start_database(pgroot)
        atexit.register(shutil.rmtree, pgroot, ignore_errors=True)
        atexit.register(database.cleanup)
    indexes = {name: built_index(name, dirs[name], settings, embedder, order[:i][::-1],
                                 database.get_uri() if database else None)
               for i, name in enumerate(order) if name in needed}

    commit = git_commit()
    rows, records, notes = [HEAD], [], []
    plain_cache: dict[tuple[str, str], tuple[list[Passage], np.ndarray]] = {}
    unbalanced = replace(FusionParams(), balance_languages=False)
    for evalset in sets:
        questions, parts = read_parts(evalset.parts)
        texts = [q.question for q in questions]
        engine = Engine(indexes[evalset.corpus], embedder)
        hits = engine.search(texts, k=K)
        answers = [engine.ask(q.question) for q in questions]
        generation = engine.reader.name  # the commit point searched
        engine.close()
        engine = Engine(indexes[evalset.corpus], embedder, params=unbalanced)
        outcomes = {"assistant": Outcome(questions, parts, hits, answers),
                    "assistant, no language balancing (retrieval only)": Outcome(
                        questions, parts, engine.search(texts, k=K), None)}
        engine.close()
        units = {"plain dense": "paragraph"}
        if has_faq(dirs[evalset.corpus]):
            units["plain dense over the assistant's chunks"] = "chunk"
        for system, unit in units.items():
            if (evalset.corpus, unit) not in plain_cache:
                found = plain_passages(dirs[evalset.corpus], settings, unit)
                plain_cache[evalset.corpus, unit] = found, passage_vectors(found, embedder)
            passages, vectors = plain_cache[evalset.corpus, unit]
            outcomes[system] = Outcome(questions, parts, plain_search(questions, passages,
                                                                      vectors, embedder), None)
        sizes = {system: len(plain_cache[evalset.corpus, unit][0])
                 for system, unit in units.items()}
        together = len(evalset.parts) > 1
        for part, lang, positions in groups(outcomes["assistant"], together):
            reports = {}
            for system, outcome in outcomes.items():
                figures, reports[system] = measure(outcome, positions)
                rows.append(table_row(evalset.name, part, lang, system, figures))
                records.append({"date": date, "run": run, "commit": commit, "set": evalset.name,
                                "backend": "postgres" if database else "embedded",
                                "part": part or None, "corpus": evalset.corpus, "lang": lang,
                                "system": system, "generation": generation if
                                system == "assistant" else None,
                                "passages": sizes.get(system), **figures})
            if lang != "all":
                label = f"{evalset.name}{': ' + part if part else ''} ({lang})"
                notes += differences(label, reports["assistant"], reports["plain dense"], 12)
        print(f"{evalset.name}: done at {time.monotonic() - started:.0f} s", file=sys.stderr)

    out = args.out or REPO / "bench" / f"devsets-{date}.md"
    extra = cross_validate(indexes, embedder, args.eval_dir) if args.cv else []
    minutes = (time.monotonic() - started) / 60
    text = [
        f"# Development sets, {date}\n",
        f"Command (from the repository root): `{command}`; code at {commit}, "
        f"{minutes:.1f} min on this machine. Index settings: chunk_words {settings.chunk_words}, "
        f"max {settings.chunk_max_words}; model {settings.model}; fusion defaults; index in "
        f"{'PostgreSQL (pgserver)' if database else 'index folders'}. Plain dense: "
        "e5 with its prefixes over one passage per FAQ answer paragraph or per assistant chunk, "
        "no context, no refusal (see the script's docstring). Two diagnostic rows beside them: "
        "the assistant's retrieval without language balancing (its other defaults kept), and, "
        "where the corpus has FAQ documents, plain dense over the assistant's own chunks of "
        "them instead of one passage per answer. Counts in the answer columns are of "
        "unanswerable / answerable questions; a dash: nothing to count or not applicable.\n",
        "\n".join(rows), "",
        "## Where plain dense ranks the gold passage higher\n",
        "Rank of the first gold hit, assistant vs plain dense (>10: not in the top ten); the "
        "largest losses first.\n", "\n".join(notes), "", *extra]
    out.write_text("\n".join(text), encoding="utf-8")
    args.jsonl.parent.mkdir(parents=True, exist_ok=True)
    with args.jsonl.open("a", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps({"command": command, **record}, ensure_ascii=False) + "\n")
    print(f"wrote {os.path.relpath(out, REPO)} and {os.path.relpath(args.jsonl, REPO)}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
