"""Command line: index, search, eval, serve. Turns AssistantError into a message and exit 2."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from assistant.config import Settings, load_settings
from assistant.console import print_grouped, print_warnings, progress_bar, quiet_third_parties
from assistant.errors import AssistantError
from assistant.ingest.catalog import DOC_TYPES
from assistant.lang.personal import PersonalNumberFilter
from assistant.types import Filters

log = logging.getLogger("assistant")


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(
        corpus_dir=getattr(args, "corpus", None),
        index_dir=getattr(args, "index", None),
        model=getattr(args, "model", None),
    )


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", metavar="DIR", help="index folder (default: index)")
    parser.add_argument("--model", metavar="NAME",
                        help="sentence-transformers model name or path "
                             "(default: intfloat/multilingual-e5-small, converted offline)")


def _add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--type", dest="doc_type", choices=DOC_TYPES,
                        help="only documents of this type")
    parser.add_argument("--lang", dest="language", metavar="CODE",
                        help="only documents in this language (sv, en)")
    parser.add_argument("--doc", metavar="NAME", help="only this document (corpus-relative name)")
    parser.add_argument("--year", type=int, help="only documents from this year")
    parser.add_argument("--region", help="only documents about this region")


def _filters(args: argparse.Namespace) -> Filters:
    return Filters(type=args.doc_type, language=args.language, doc=args.doc, year=args.year,
                   region=args.region)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to keep the README's reference in sync)."""
    parser = argparse.ArgumentParser(
        prog="assistant",
        description="Semantic search and cited answers over integration-work documents.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("index", help="build or update the index from the corpus folder")
    p.add_argument("--corpus", metavar="DIR", help="corpus folder (default: corpus)")
    p.add_argument("--verbose", action="store_true",
                   help="list every warning (default: one line per kind of warning, counted)")
    p.add_argument("--verify", action="store_true",
                   help="only re-hash every file of the index against its commit point")
    _add_common(p)

    p = sub.add_parser("search", help="search the index; several queries in one run")
    p.add_argument("queries", nargs="+", metavar="QUERY")
    p.add_argument("-k", type=int, default=5, help="hits per query (default 5)")
    p.add_argument("--json", action="store_true", help="one JSON object per query per line")
    p.add_argument("--group", action="store_true",
                   help="group the hits by document (JSON: as GET /api/search?group=document)")
    _add_filters(p)
    _add_common(p)

    p = sub.add_parser("ask", help="answer questions with quoted, cited sentences")
    p.add_argument("questions", nargs="+", metavar="QUESTION")
    p.add_argument("--json", action="store_true", help="one JSON object per question per line")
    p.add_argument("--conversation", action="store_true",
                   help="treat the questions as one conversation (later ones may follow up)")
    _add_common(p)

    p = sub.add_parser("ocr-repair", help="print a file's text with lost Swedish å/ä/ö restored")
    p.add_argument("file", metavar="FILE", help="text, Markdown, HTML or PDF file; - for stdin")
    p.add_argument("--lang", default="sv", choices=["sv"], help="language of the text (sv)")

    p = sub.add_parser("eval", help="retrieval metrics over a questions file")
    p.add_argument("file", type=Path, metavar="FILE",
                   help="JSON lines in the format of shared/eval/questions.jsonl")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_common(p)

    p = sub.add_parser("feedback", help="feedback on answers: export the wrong ones as gold")
    action = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    e = action.add_parser("export", help="write the questions marked wrong that point to the "
                                         "right passage, in the evaluation file format")
    e.add_argument("--out", type=Path, metavar="FILE", help="write here (default: stdout)")
    e.add_argument("--index", metavar="DIR", help="index folder (default: index)")

    p = sub.add_parser("worker", help="index the uploads and removals queued in the database "
                                      "(needs ASSISTANT_DATABASE_URL)")
    p.add_argument("--corpus", metavar="DIR", help="corpus folder (default: corpus)")
    p.add_argument("--once", action="store_true", help="stop when the queue is empty")
    _add_common(p)

    p = sub.add_parser("serve", help="run the HTTP API (builds the index first if missing)")
    p.add_argument("--host", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 8000)")
    p.add_argument("--corpus", metavar="DIR", help="corpus folder (default: corpus)")
    _add_common(p)
    return parser


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (tests swap it)."""

    @property  # type: ignore[override]
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _: object) -> None:
        pass


def configure_logging(settings: Settings) -> None:
    """Log to stderr at the configured level, with personal numbers masked in every record."""
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(PersonalNumberFilter())
    logging.basicConfig(level=settings.log_level.upper(), handlers=[handler], force=True)


def uvicorn_log_config() -> dict[str, object]:
    """uvicorn's own logging set-up, with the personal-number filter on each of its handlers."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"personal_numbers": {"()": PersonalNumberFilter}}
    for handler in config["handlers"].values():
        handler["filters"] = [*handler.get("filters", []), "personal_numbers"]
    return config


def cmd_index(settings: Settings, verbose: bool = False) -> int:
    """Build the index with a progress bar, then print what happened to each document."""
    from assistant.index.builder import LazyEmbedder, build_index
    from assistant.index.vectors import set_graph_threads

    set_graph_threads(settings.threads)  # a process of its own: graphs may use every thread
    started = time.perf_counter()
    with progress_bar() as bar:
        report = build_index(settings, LazyEmbedder(settings), progress=bar)
    elapsed = time.perf_counter() - started
    print(f"{len(report.indexed)} indexed, {len(report.unchanged)} unchanged, "
          f"{len(report.removed)} removed, {len(report.failed)} failed "
          f"({report.chunks} chunks, {report.sentences} sentences, {elapsed:.1f} s; "
          f"commit {report.generation})")
    for name, reason in report.failed.items():
        print(f"  failed: {name}: {reason}")
    print_warnings({n: list(p) for n, p in report.problems.items()}, verbose)
    return 0


def cmd_verify(settings: Settings) -> int:
    """Re-hash every file of the newest commit (opening an index checks only sizes)."""
    from assistant.errors import IndexMissingError
    from assistant.index.commits import check_commit, commit_points

    points = commit_points(settings.index_dir)
    if not points:
        raise IndexMissingError(f"no index in {settings.index_dir}; run `assistant index`")
    path, body = points[-1], check_commit(settings.index_dir, points[-1], rehash=True)
    files = sum(len(s["files"]) for s in body["segments"])
    print(f"{path.name}: {len(body['segments'])} segments, {files} files match their checksums")
    return 0


def cmd_feedback(settings: Settings, args: argparse.Namespace) -> int:
    """Write the gold questions from the feedback (answers marked wrong, passage pointed)."""
    from assistant.feedback import export_lines, gold_questions
    from assistant.index.feedback_store import open_feedback

    entries = open_feedback(settings).entries()
    text = export_lines(entries)
    if args.out is None:
        sys.stdout.write(text)
    else:
        try:
            args.out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise AssistantError(f"cannot write {args.out}: {exc}") from exc
    print(f"{len(gold_questions(entries))} question(s) with a pointed passage, of "
          f"{len(entries)} feedback entries", file=sys.stderr)
    return 0


def cmd_search(settings: Settings, args: argparse.Namespace) -> int:
    """Print hits for each query, as JSON lines or readable text."""
    from assistant.engine import Engine
    from assistant.serialize import search_json

    if args.k < 1:
        raise AssistantError("-k must be at least 1")
    engine = Engine(settings)
    results = engine.search(args.queries, k=args.k, filters=_filters(args))
    for query, hits in zip(args.queries, results, strict=True):
        if args.group:
            print_grouped(query, hits, args.json)
            continue
        if args.json:
            print(json.dumps(search_json(query, hits), ensure_ascii=False))
            continue
        print(f"# {query}")
        if not hits:
            print("  (no hits)")
        for rank, hit in enumerate(hits, start=1):
            page = f", p. {hit.chunk.page_start}" if hit.chunk.page_start is not None else ""
            section = " › ".join(hit.chunk.section) or "—"
            print(f"{rank}. [{hit.score:.4f}] {hit.info.title} — {section}{page} ({hit.chunk.doc})")
            for line in hit.highlights:
                print(f"     » {line}")
        print()
    return 0


def cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    """Print an answer with its citations for each question (JSON lines or readable text)."""
    from assistant.engine import Engine
    from assistant.serialize import answer_json
    from assistant.types import Turn

    engine = Engine(settings)
    history: list[Turn] = []
    for question in args.questions:
        answer = engine.ask(question, history if args.conversation else ())
        history.append(Turn(question, answer.text))
        if args.json:
            print(json.dumps(answer_json(answer), ensure_ascii=False))
            continue
        print(f"# {question}")
        if answer.resolved_question != question:
            print(f"  (understood as: {answer.resolved_question})")
        print(answer.text)
        for c in answer.citations:
            page = f", p. {c.page}" if c.page is not None else ""
            section = " › ".join(c.section) or "—"
            print(f"  [{c.n}] {c.hit.info.title} — {section}{page} ({c.hit.chunk.doc})")
        if answer.abstained:
            for hit in answer.closest[:3]:
                print(f"  closest: [{hit.score:.4f}] {hit.info.title} — "
                      f"{' › '.join(hit.chunk.section) or '—'} ({hit.chunk.doc})")
        print()
    return 0


def cmd_ocr_repair(args: argparse.Namespace) -> int:
    """Print the repaired text of a file (plain text keeps its lines) or of stdin."""
    from assistant.lang.diacritics import repair_swedish

    if args.file == "-":
        text = sys.stdin.read()
    else:
        path = Path(args.file)
        if path.suffix.lower() in (".pdf", ".html", ".htm"):
            from assistant.ingest import load_document

            text = "\n\n".join(b.text for b in load_document(path, path.name).blocks)
        else:
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise AssistantError(f"cannot read {path}: {exc}") from exc
    sys.stdout.write(repair_swedish(text))
    if text and not text.endswith("\n"):
        sys.stdout.write("\n")
    return 0


def cmd_eval(settings: Settings, args: argparse.Namespace) -> int:
    """Run the questions of a file and print retrieval metrics and per-question ranks."""
    from assistant.engine import Engine
    from assistant.evaluate import evaluate_answers, evaluate_retrieval, read_questions

    questions = read_questions(args.file)
    engine = Engine(settings)
    hits = engine.search([q.question for q in questions], k=10)
    report = evaluate_retrieval(questions, hits)
    evaluate_answers(questions, [engine.ask(q.question) for q in questions], report)
    if args.json:
        print(json.dumps({"metrics": report.metrics, "questions": report.rows},
                         ensure_ascii=False))
        return 0
    for row in report.rows:
        rank = row["rank"] if row["rank"] is not None else "-"
        flags = (" xling" if row["xling"] else "") + (" abstained" if row["abstained"] else "")
        if row["answerable"]:
            flags += "" if row["first_citation"] else " first-citation-miss"
        else:
            flags += " (unanswerable)"
        print(f"{rank!s:>3}  {row['id']}{flags}: {row['question']}")
    for name in ("overall", "xling"):
        m = report.metrics[name]
        print(f"{name:8s} n={m['n']:3d}  R@1 {m['R@1']:.3f}  R@5 {m['R@5']:.3f}  "
              f"MRR@10 {m['MRR@10']:.3f}")
    a = report.metrics["answers"]
    print(f"answers   unanswerable abstained {a['unanswerable_abstained']}/{a['unanswerable']}  "
          f"answerable abstained {a['answerable_abstained']}  "
          f"first citation {a['first_citation_accuracy']:.3f}  "
          f"first quote {a['first_quote_accuracy']:.3f}")
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    """Build the index if there is none, then serve the HTTP API.

    An index whose every commit is damaged stops it here, with the problem and the command
    that fixes it (a damaged newest commit alone falls back to the one before).
    """
    import uvicorn

    from assistant.api import create_app
    from assistant.index.commits import commit_points, open_commit

    settings = settings.with_overrides(host=args.host, port=args.port)
    if settings.database_url:
        _database_index(settings)
    else:
        if not commit_points(settings.index_dir):
            print("no index yet: building it from the corpus first", file=sys.stderr)
            cmd_index(settings)
        open_commit(settings.index_dir)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info",
                log_config=uvicorn_log_config())
    return 0


def _database_index(settings: Settings) -> None:
    """Check the database before serving (unreachable: the address and the fix); build the
    index from the corpus first if it holds none."""
    from assistant.errors import IndexMissingError
    from assistant.index.backend import open_index

    try:
        open_index(settings).close()
    except IndexMissingError:
        print("no index in the database yet: building it from the corpus first",
              file=sys.stderr)
        cmd_index(settings)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `assistant` command."""
    args = build_parser().parse_args(argv)
    quiet_third_parties()
    try:
        settings = _settings(args)
        configure_logging(settings)
        log.debug("command %s with %r", args.command, vars(args))
        from assistant.engine import configure_threads

        configure_threads(settings)
        if args.command == "index":
            return cmd_verify(settings) if args.verify else cmd_index(settings, args.verbose)
        if args.command == "feedback":
            return cmd_feedback(settings, args)
        if args.command == "search":
            return cmd_search(settings, args)
        if args.command == "ocr-repair":
            return cmd_ocr_repair(args)
        if args.command == "ask":
            return cmd_ask(settings, args)
        if args.command == "eval":
            return cmd_eval(settings, args)
        if args.command == "worker":
            from assistant.worker import run_worker

            run_worker(settings, once=args.once)
            return 0
        if args.command == "serve":
            return cmd_serve(settings, args)
    except AssistantError as exc:
        print(f"assistant: error: {exc}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    sys.exit(main())
