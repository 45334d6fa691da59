"""Scale figures on a synthetic corpus with a 1-layer stand-in model (issue 15, item 6).

Run from the repository root, under nice on a shared machine:

    nice -n 10 .venv/bin/python bench/scale.py --chunks 2000
    nice -n 10 .venv/bin/python bench/scale.py --chunks 10000 --no-throughput
    .venv/bin/python bench/scale.py --summary           # the table of every size so far
    nice -n 10 .venv/bin/python bench/scale.py --chunks 10000 --no-throughput --postgres

For one target size it generates (once, cached in bench/cache/scale/) a corpus of real
paragraphs recombined into Markdown documents, then measures: a full build, a no-op build,
adding one small document and removing it again (by a full build, as `assistant index` does,
and by a build told which document changed, as an API upload or removal does, with the
catalog entry the API writes or drops first timed apart), the added document's own parsing
and encoding, disk per generation and of the index folder,
and, in a fresh process: the time to its first answer (cold start), search p50/p95 and ask
p50 in process over the dev questions, and its peak RSS. Then the real model's encoding rate
on 100 chunks and 300 sentences (batch 32, 2 threads). Each run appends one JSON line to
bench/results/scale.jsonl and rewrites bench/results/scale.md with the growth fitted.

With --skip-build the index of an earlier run of the same size is reused; where a killed build
left checkpoints there (resume.py), the run first resumes it and records that share of the
build as `resumed_s`. A build too long for one sitting (1M chunks) is finished this way.

With --postgres the index is built into a private PostgreSQL server (pgserver, in a temp
folder, removed at the end) instead of an index folder; disk is the database's size, and the
run is appended to bench/results/scale_pg.jsonl instead (the summary stays of the folders).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import re
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch or faiss is imported

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # so `assistant` is this checkout's, wherever this is run from
CACHE = REPO / "bench" / "cache" / "scale"
RESULTS = REPO / "bench" / "results"
STANDIN = CACHE / "models" / "e5-small-1layer"

import scale_corpus  # noqa: E402
import scale_fit  # noqa: E402
from bench_core import percentile, spread  # noqa: E402
from scale_model import ensure_standin, ensure_standin_onnx, onnx_folder  # noqa: E402

from assistant.config import DEFAULT_MODEL, Settings, load_settings  # noqa: E402
from assistant.index.resume import PROGRESS  # noqa: E402


def peak_rss_mb() -> int:
    """This process's peak resident memory so far."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def rss_mb(field: str = "VmRSS") -> int:
    """This process's resident memory now (VmRSS) or at its peak (VmHWM).

    A child's ru_maxrss can carry its parent's size from before exec; VmHWM cannot.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024)
    return 0


def cpu_s() -> float:
    """CPU seconds (user + system) of this process and its finished children so far.

    On a busy machine wall time mostly measures the queue; CPU time much less so.
    """
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def folder_bytes(path: Path) -> int:
    """Bytes of the files under a folder (what ``du -sb`` counts, less the folders); 0 when
    there is none."""
    if not path.exists():
        return 0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def folder_mb(path: Path) -> float:
    """Bytes of the files under a folder, in MB."""
    return round(folder_bytes(path) / 1e6, 1)


def machine() -> dict[str, Any]:
    """What the numbers were measured on, and how busy it was when the run started."""
    return {"cpus": os.cpu_count(), "loadavg_start": [round(x, 2) for x in os.getloadavg()],
            "platform": platform.platform(), "python": platform.python_version(),
            "nice": os.nice(0)}


def size_name(chunks: int, seed: int, brief: bool = False) -> str:
    """The cache folders' suffix for one corpus size."""
    return f"{chunks}-s{seed}" + ("-brief" if brief else "")


def commit(checkout: Path = REPO) -> str:
    """The checkout's commit, marked when the working tree differs from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=checkout, capture_output=True,
                              text=True).stdout
    head = git("rev-parse", "--short", "HEAD").strip()
    return head + ("+dirty" if git("status", "--porcelain", "--untracked-files=no").strip() else "")


def questions(path: Path) -> list[str]:
    """The question texts of a questions JSON-lines file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def default_questions() -> Path:
    """The dev questions in the shared folder above this checkout."""
    for parent in REPO.parents:
        if (parent / "shared" / "eval" / "questions.jsonl").exists():
            return parent / "shared" / "eval" / "questions.jsonl"
    return REPO.parent / "shared" / "eval" / "questions.jsonl"


def timed_build(settings: Settings, embedder: Any, profile: Path | None = None,
                only: list[str] | None = None) -> tuple[float, float, Any]:
    """(wall s, CPU s, BuildReport) of one build_index call (targeted at `only`, as an API
    upload or removal builds), optionally under cProfile."""
    from assistant.index.builder import build_index

    profiler = cProfile.Profile() if profile else None
    started, cpu = time.perf_counter(), cpu_s()
    if profiler:
        profiler.enable()
    report = build_index(settings, embedder, only=only)
    if profiler:
        profiler.disable()
    seconds, cpu = time.perf_counter() - started, cpu_s() - cpu
    if profiler and profile:
        write_profile(profiler, profile)
    return round(seconds, 2), round(cpu, 2), report


def timed_entry(corpus_dir: Path, name: str, entry: dict[str, Any] | None) -> float:
    """Seconds to write (with None: to drop) one catalog entry, as the API does before an
    upload's or a removal's build: the whole catalog file is read and written again."""
    from assistant.ingest.catalog import write_entry

    started = time.perf_counter()
    write_entry(corpus_dir, name, entry)
    return round(time.perf_counter() - started, 3)


@contextmanager
def parse_timer() -> Iterator[list[float]]:
    """Seconds spent in `embed_document` (parse, OCR check, chunk, encode) while inside; the
    builder's reference is wrapped for the time and restored after."""
    from assistant.index import builder

    spent = [0.0]
    real = builder.embed_document

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            spent[0] = round(spent[0] + time.perf_counter() - started, 2)

    builder.embed_document = timed
    try:
        yield spent
    finally:
        builder.embed_document = real


def write_profile(profiler: cProfile.Profile, path: Path) -> None:
    """The top functions by own and by cumulative time, as text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        for order in ("tottime", "cumulative"):
            stats = pstats.Stats(profiler, stream=fh)
            stats.strip_dirs().sort_stats(order).print_stats(30)
    print(f"profile: {path}", file=sys.stderr)


def standin_embedder(settings: Settings, encoder: str, bulk: bool = False) -> Any:
    """The stand-in on `encoder`: "onnx" as the product runs its default model (ONNX Runtime;
    `bulk`: batches side by side, as builds run), else sentence-transformers."""
    if encoder != "onnx":
        from assistant.model.embed import load_embedder

        return load_embedder(settings.model, settings.model_dir, settings.threads,
                             settings.batch_size)
    from assistant.model.e5onnx import OnnxEmbedder
    from assistant.model.embed import E5_PREFIXES

    return OnnxEmbedder(onnx_folder(Path(settings.model)), settings.model, E5_PREFIXES,
                        batch_size=settings.batch_size, threads=settings.threads,
                        side_by_side=bulk)


def serve(args: argparse.Namespace) -> int:
    """The child: a fresh process that answers one question, then times search and ask."""
    spawned = float(args.serve_child)
    from assistant.engine import Engine, configure_threads

    settings = load_settings()  # ASSISTANT_* from the parent
    configure_threads(settings)
    # on ONNX as the default model is served: no torch in the process; loaded by the engine,
    # beside the index, as a server loads its model
    engine = Engine(settings, load_model=(lambda: standin_embedder(settings, "onnx"))
                    if args.serve_encoder == "onnx" else None)
    texts = questions(args.questions)
    engine.ask(texts[0])
    cold = time.time() - spawned
    result: dict[str, Any] = {"encoder": args.serve_encoder, "cold_start_s": round(cold, 2),
                              "cold_start_cpu_s": round(time.process_time(), 2)}
    if args.repeat:
        profiler = cProfile.Profile() if args.profile_to else None
        engine.search(texts[:3])  # warm-up
        search, ask, search_cpu, ask_cpu = [], [], [], []
        if profiler:
            profiler.enable()
        for _ in range(args.repeat):
            for text in texts:
                t0, c0 = time.perf_counter(), time.process_time()
                engine.search([text], k=5)
                search.append((time.perf_counter() - t0) * 1000)
                search_cpu.append((time.process_time() - c0) * 1000)
                t0, c0 = time.perf_counter(), time.process_time()
                engine.ask(text)
                ask.append((time.perf_counter() - t0) * 1000)
                ask_cpu.append((time.process_time() - c0) * 1000)
        if profiler:
            profiler.disable()
            write_profile(profiler, Path(args.profile_to))
        result["search_ms"] = {"queries": len(search), **spread(search)}
        result["ask_ms"] = {"questions": len(ask), **spread(ask)}
        # CPU time of the process (2 torch threads can make it exceed wall time)
        result["search_cpu_ms"] = spread(search_cpu)
        result["ask_cpu_ms"] = {"p50": round(percentile(ask_cpu, 50), 1)}
        result["rss_mb"] = rss_mb()
        result["peak_rss_mb"] = rss_mb("VmHWM")
    engine.close()
    print(json.dumps(result))
    return 0


def child_env(settings: Settings) -> dict[str, str]:
    """This environment with the settings as ASSISTANT_* variables (and no others)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(ASSISTANT_MODEL=settings.model, ASSISTANT_INDEX_DIR=str(settings.index_dir),
               ASSISTANT_CORPUS_DIR=str(settings.corpus_dir),
               ASSISTANT_MODEL_DIR=str(settings.model_dir))
    if settings.database_url:
        env["ASSISTANT_DATABASE_URL"] = settings.database_url
    return env


def database_mb(url: str) -> float:
    """The size of a database on disk (tables, indexes, HNSW graphs), in MB."""
    import psycopg

    with psycopg.connect(url) as conn:
        (size,) = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return round(size / 1e6, 1)


def noop_cli(settings: Settings) -> float:
    """Seconds of `assistant index` in a new process when nothing changed (it loads the model)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "assistant.cli", "index"], cwd=REPO, check=True,
                   env=child_env(settings), capture_output=True)
    return round(time.perf_counter() - started, 2)


def serve_child(settings: Settings, args: argparse.Namespace, repeat: int,
                profile: Path | None) -> dict[str, Any]:
    """Run the serving measurements in a fresh process with the settings as ASSISTANT_*."""
    env = child_env(settings)
    command = [sys.executable, str(Path(__file__).resolve()), "--serve-child", str(time.time()),
               "--questions", str(args.questions), "--repeat", str(repeat),
               "--serve-encoder", args.serve_encoder]
    if profile:
        command += ["--profile-to", str(profile)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"serving child failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def throughput(corpus_dir: Path, model_dir: Path, threads: int = 2, batch: int = 32,
               n_chunks: int = 100, n_sentences: int = 300) -> dict[str, Any]:
    """The default model's encoding rate on synthetic-corpus chunks and sentences."""
    from assistant.model.embed import load_embedder

    words: list[str] = []
    sentences: list[str] = []
    for path in sorted(corpus_dir.rglob("synth-*.md"))[:20]:
        for block in path.read_text(encoding="utf-8").split("\n\n"):
            if block.startswith("#"):
                continue
            words += block.split()
            sentences += [s for s in re.split(r"(?<=[.!?])\s+", block) if len(s.split()) >= 5]
    chunk_words = 90
    chunks = [" ".join(words[i:i + chunk_words])
              for i in range(0, chunk_words * n_chunks, chunk_words)]
    sentences = sentences[:n_sentences]
    started = time.perf_counter()
    embedder = load_embedder(DEFAULT_MODEL, model_dir, threads, batch)
    load_s = time.perf_counter() - started
    embedder.passages(chunks[:batch])  # warm-up
    t0 = time.perf_counter()
    embedder.passages(chunks)
    chunk_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    embedder.passages(sentences)
    sentence_s = time.perf_counter() - t0
    return {"model": DEFAULT_MODEL, "backend": "sentence-transformers (torch fp32)",
            "threads": threads, "batch_size": batch, "load_s": round(load_s, 2),
            "chunks": len(chunks), "chunk_words": chunk_words,
            "chunks_per_s": round(len(chunks) / chunk_s, 1),
            "sentences": len(sentences), "sentences_per_s": round(len(sentences) / sentence_s, 1)}


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Every structural figure at one size; see the module docstring."""
    from assistant.engine import configure_threads
    from assistant.index.vectors import set_graph_threads

    record: dict[str, Any] = {"bench": "scale", "date": time.strftime("%Y-%m-%d %H:%M"),
                              "commit": commit(), "machine": machine()}
    model_dir = REPO / "models"
    standin = ensure_standin(STANDIN, model_dir)
    if "onnx" in (args.serve_encoder, args.build_encoder):
        ensure_standin_onnx(standin)
    pool = scale_corpus.read_pool(scale_corpus.source_folders(REPO))
    name = size_name(args.chunks, args.seed, args.brief)
    corpus_dir, index_dir = CACHE / f"corpus-{name}", CACHE / f"index-{name}"
    started = time.perf_counter()
    facts = scale_corpus.ensure_corpus(corpus_dir, pool, args.chunks, args.seed, args.brief)
    record["corpus"] = {**facts, "ready_s": round(time.perf_counter() - started, 2),
                        "mb": folder_mb(corpus_dir)}
    settings = load_settings(corpus_dir=corpus_dir, index_dir=index_dir, model=str(standin),
                             model_dir=model_dir, database_url=args.database)
    if args.database:
        record["backend"] = "postgres (pgserver, same machine)"
    configure_threads(settings)
    set_graph_threads(settings.threads)  # as `assistant index` builds (cli.cmd_index)
    embedder = standin_embedder(settings, args.build_encoder, bulk=True)
    record["model"] = {"name": "e5-small-1layer (stand-in)", "path": str(standin),
                       "threads": settings.threads, "batch_size": settings.batch_size,
                       "building_encoder": args.build_encoder,
                       "serving_encoder": args.serve_encoder}
    small = scale_corpus.small_document(pool, args.seed)
    added = corpus_dir / small.name
    profile = CACHE / f"profile-{name}" if args.profile else None
    build: dict[str, Any] = {}
    # a killed build of this size left checkpoints: --skip-build resumes it (its time is only
    # this run's share of the build, so it is recorded apart from a full build's)
    resuming = args.skip_build and (index_dir / PROGRESS).exists()
    if added.exists() or not args.skip_build or not index_dir.exists() or resuming:
        added.unlink(missing_ok=True)
        if not args.skip_build or not index_dir.exists():
            shutil.rmtree(index_dir, ignore_errors=True)
        seconds, cpu, report = timed_build(settings, embedder)
        if resuming:
            build["resumed_s"], build["resumed_cpu_s"] = seconds, cpu
        elif len(report.indexed) > 1:
            build["full_s"], build["full_cpu_s"] = seconds, cpu
    build["noop_s"], build["noop_cpu_s"], report = timed_build(settings, embedder)
    build["noop_cli_s"] = noop_cli(settings)
    record["index"] = {"documents": len(report.indexed) + len(report.unchanged),
                       "chunks": report.chunks, "sentences": report.sentences,
                       "failed": len(report.failed)}
    if args.database:
        disk = {"database_mb": database_mb(args.database)}
    else:
        generation_mb = folder_mb(index_dir / str(report.generation))
        disk = {"generation_mb": generation_mb, "index_mb": folder_mb(index_dir)}
    added.parent.mkdir(exist_ok=True)
    added.write_text(small.text, encoding="utf-8")
    with parse_timer() as parsing:
        build["add_s"], build["add_cpu_s"], report = timed_build(
            settings, embedder, profile.with_suffix(".add.txt") if profile else None)
    # what the bar adds to its 5 s: the document's own parsing, OCR check and encoding (the
    # first document a process parses also loads the OCR word lists and language profiles)
    build["add_document_s"] = parsing[0]
    build["added_chunks"] = report.chunks - record["index"]["chunks"]
    if args.database:
        disk["database_after_add_mb"] = database_mb(args.database)
    else:
        disk["index_after_add_mb"] = folder_mb(index_dir)
    record["disk"] = disk
    serving = serve_child(settings, args, args.repeat,
                          profile.with_suffix(".serve.txt") if profile else None)
    runs = [serving] + [serve_child(settings, args, 0, None) for _ in range(args.cold_runs - 1)]
    seconds = [run["cold_start_s"] for run in runs]
    cpu = [run["cold_start_cpu_s"] for run in runs]
    fastest = seconds.index(min(seconds))  # the figures of one child, the fastest
    serving.update(cold_start_s=seconds[fastest], cold_start_cpu_s=cpu[fastest],
                   cold_start_runs_s=seconds, cold_start_runs_cpu_s=cpu)
    record["serve"] = serving
    added.unlink()
    build["remove_s"], build["remove_cpu_s"], report = timed_build(settings, embedder)
    # the same through the API's path: the upload's catalog entry, then a build told which
    # document changed (it lists no folder)
    added.write_text(small.text, encoding="utf-8")
    if not args.database:
        build["upload_entry_s"] = timed_entry(corpus_dir, small.name,
                                              {"form": f"uploaded as {small.name}"})
    with parse_timer() as parsing:
        build["upload_add_s"], build["upload_add_cpu_s"], _ = timed_build(
            settings, embedder, profile.with_suffix(".upload.txt") if profile else None,
            only=[small.name])
    build["upload_add_document_s"] = parsing[0]
    added.unlink()
    if not args.database:
        build["upload_remove_entry_s"] = timed_entry(corpus_dir, small.name, None)
    build["upload_remove_s"], build["upload_remove_cpu_s"], _ = timed_build(
        settings, embedder, only=[small.name])
    # with no full build in this run, the peak is of the updates only: keep it apart
    build["peak_rss_mb" if build.keys() & {"full_s", "resumed_s"} else
          "updates_peak_rss_mb"] = peak_rss_mb()
    record["build"] = build
    if args.throughput:
        record["throughput"] = throughput(corpus_dir, model_dir)
    return record


def measure_postgres(args: argparse.Namespace) -> int:
    """`measure` against a new private PostgreSQL server; appended to scale_pg.jsonl."""
    import tempfile

    from pg_load import start_database

    root = Path(tempfile.mkdtemp(prefix="assistant-scale-pg-"))
    server = start_database(root)
    try:
        args.database = server.get_uri()
        record = measure(args)
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)
    record["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(record, indent=2))
    if not args.profile:
        with (RESULTS / "scale_pg.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=2000, help="target chunks (default 2000)")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--brief", action="store_true",
                        help="documents of one paragraph (about a chunk each): as many "
                             "documents as chunks, for the per-document costs of a large corpus")
    parser.add_argument("--skip-build", action="store_true",
                        help="reuse this size's index from an earlier run (no full build)")
    parser.add_argument("--repeat", type=int, default=2, help="passes over the questions")
    parser.add_argument("--cold-runs", type=int, default=2,
                        help="fresh processes timed to their first answer (the least is kept)")
    parser.add_argument("--no-throughput", dest="throughput", action="store_false",
                        help="skip the real model's encoding rate")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the one-document build and the serving loop "
                             "(text reports in bench/cache/scale/; the run is not recorded)")
    parser.add_argument("--questions", type=Path, default=default_questions())
    parser.add_argument("--summary", action="store_true",
                        help="only print the summary of bench/results/scale.jsonl")
    parser.add_argument("--postgres", action="store_true",
                        help="build into a private PostgreSQL server instead of a folder")
    parser.add_argument("--serve-encoder", choices=("onnx", "sentence-transformers"),
                        default="onnx", help="how the serving process runs the stand-in "
                        "(onnx: exported beside it, as the default model is served)")
    parser.add_argument("--build-encoder", choices=("onnx", "sentence-transformers"),
                        default="onnx", help="how builds run the stand-in (onnx: batches side "
                        "by side, as the product builds with its default model; until session "
                        "7 every build ran on sentence-transformers)")
    parser.add_argument("--serve-child", help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_child:
        return serve(args)
    out = RESULTS / "scale.jsonl"
    args.database = None
    if args.postgres and not args.summary:
        return measure_postgres(args)
    if not args.summary:
        record = measure(args)
        print(json.dumps(record, indent=2))
        if args.profile:  # cProfile slows what it watches: not figures to keep
            print("profiled run: not recorded", file=sys.stderr)
            return 0
        with out.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    text = scale_fit.summary(scale_fit.read_records(out))
    (RESULTS / "scale.md").write_text("# Scale figures (bench/scale.py)\n\n" + text, "utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
