"""Crash safety: `assistant index` killed with SIGKILL at random moments never breaks the index.

After every kill the index must open (commit point, sizes, SQLite, FAISS) and hold exactly the
chunks of the last completed build: the last run that exited, or the killed run itself if the
kill came after it had written its commit point (that build is complete; only the clean-up
after it was cut short). Before any build has completed there must be no index at all. The
kills include the very first build, some at random delays, some timed to land while a new
segment is being written (when a ``seg-N.tmp`` folder appears) and some while segments are
being merged (when a second ``seg-N.tmp`` folder appears in one run).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.config import Settings, load_settings
from assistant.errors import IndexMissingError
from assistant.index import builder as indexer
from assistant.index import embedding
from assistant.index.commits import commit_points, open_commit, read_commit, segment_folders
from assistant.index.store import SegmentStore
from assistant.ingest import load_document
from assistant.ingest.catalog import CATALOG_FILE
from assistant.model.embed import HashEmbedder

ASSISTANT = Path(sys.executable).with_name("assistant")
KILLS = 24
WORDS = ("kommun mottagande etablering nyanlända bosättning språk arbete utbildning samhälle "
         "region länsstyrelse ersättning skola hälsa boende föreningar samverkan").split()

Snapshot = dict[str, str] | None  # chunk id → text; None: no index


def _document(rng: random.Random, title: str) -> str:
    paragraphs = [" ".join(rng.choice(WORDS) for _ in range(35)).capitalize() + "."
                  for _ in range(rng.randint(2, 5))]
    return f"# {title}\n\n" + "\n\n".join(paragraphs) + "\n"


def _mutate(rng: random.Random, files: dict[str, str], step: int) -> dict[str, str]:
    """The next corpus state: one or two files rewritten, sometimes one added or removed."""
    files = dict(files)
    for name in rng.sample(sorted(files), k=min(len(files), rng.randint(1, 2))):
        files[name] = _document(rng, f"{name} version {step}")
    if rng.random() < 0.25 and len(files) > 3:
        del files[rng.choice(sorted(files))]
    elif rng.random() < 0.25:
        files[f"new-{step:02d}.md"] = _document(rng, f"Nytt dokument {step}")
    return files


def _write_corpus(corpus: Path, files: dict[str, str]) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    for path in corpus.iterdir():
        if path.name not in files and path.name != CATALOG_FILE:
            path.unlink()
    # languages in the catalog spare each run langdetect's start-up
    catalog = {"documents": {name: {"language": "sv"} for name in sorted(files)}}
    (corpus / CATALOG_FILE).write_text(json.dumps(catalog), encoding="utf-8")
    for name, text in files.items():
        if not (corpus / name).exists() or (corpus / name).read_text(encoding="utf-8") != text:
            (corpus / name).write_text(text, encoding="utf-8")


def snapshot(index_dir: Path) -> Snapshot:
    """The chunk ids and texts of the commit the index opens, or None if there is none; every
    chunk must also be found by a vector search over all segments."""
    try:
        _, body = open_commit(index_dir, rehash=True)
    except IndexMissingError:
        return None
    reader = SegmentStore(index_dir, body)
    try:
        chunks = [c for doc in reader.docs for c in reader.stored(doc).chunks]
        vector = HashEmbedder().queries(["kommun"])[0]
        found = {r for r, _ in reader.search_chunks(vector, reader.size() + 5, None)}
        assert found == {reader.chunk_row(c) for c in chunks} and len(chunks) == reader.size()
        return {c.id: c.text for c in chunks}
    finally:
        reader.close()


class References:
    """Reference builds of corpus states, in process and from scratch, cached."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.cache: dict[int, Snapshot] = {}
        # the reference parses in process: the child-process parser gives the same documents
        # (tests/test_hostile.py) and this keeps thirty reference builds fast
        monkeypatch.setattr(embedding, "load_isolated",
                            lambda path, name, timeout_s, memory_mb: load_document(path, name))

    def of(self, step: int, files: dict[str, str]) -> Snapshot:
        if step not in self.cache:
            base = self.root / f"ref-{step:02d}"
            _write_corpus(base / "corpus", files)
            settings = load_settings(env={}, corpus_dir=base / "corpus", index_dir=base / "index",
                                     model="hash")
            indexer.build_index(settings, HashEmbedder())
            self.cache[step] = snapshot(settings.index_dir)
        return self.cache[step]


def _newest(index_dir: Path) -> Path | None:
    points = commit_points(index_dir)
    return points[-1] if points else None


def _run(corpus: Path, index_dir: Path, log: Path, rng: random.Random,
         how: str) -> tuple[bool, bool]:
    """Run `assistant index`, killing it as `how` says; (completed, killed while writing a
    segment: a new one, or a merge's when `how` is "merging")."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(ASSISTANT_MODEL="hash", ASSISTANT_CORPUS_DIR=str(corpus))
    with log.open("ab") as err:
        process = subprocess.Popen([str(ASSISTANT), "index", "--index", str(index_dir)],
                                   env=env, stdout=err, stderr=err, start_new_session=True)
        try:
            if how == "complete":
                process.wait(60)
            elif how.startswith("delay"):
                try:
                    process.wait(float(how.split(":")[1]))
                except subprocess.TimeoutExpired:
                    pass
            else:  # wait for a segment folder to appear (or a commit point), then kill
                pointer = _newest(index_dir)
                deadline = time.monotonic() + 60
                seen: set[str] = set()
                while process.poll() is None and time.monotonic() < deadline:
                    seen |= {p.name for p in index_dir.glob("seg-*.tmp")}
                    if len(seen) >= (2 if how == "merging" else 1) and how != "switched":
                        time.sleep(rng.uniform(0, 0.008))
                        break
                    if how == "switched" and _newest(index_dir) != pointer:
                        break
                    time.sleep(0.0005)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    completed = process.returncode == 0
    assert completed or process.returncode == -signal.SIGKILL, log.read_text(errors="replace")
    return completed, any(index_dir.glob("seg-*.tmp"))


@pytest.mark.slow
def test_sigkill_at_random_moments_leaves_the_last_completed_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(20261123)
    corpus, index_dir, log = tmp_path / "corpus", tmp_path / "index", tmp_path / "runs.log"
    references = References(tmp_path, monkeypatch)
    files = {f"doc-{i}.md": _document(rng, f"Dokument {i}") for i in range(6)}
    first = ["delay:0.3", "delay:1.0", "writing"]  # the very first build: start-up, parse, write
    pattern = ["delay", "writing", "merging", "switched", "delay", "complete"]
    last_completed: tuple[int, dict[str, str]] | None = None
    outcomes = {"none": 0, "previous": 0, "new": 0}
    kills = mid_write = mid_merge = step = 0
    while kills < KILLS and step < 3 * KILLS:
        how = first[step] if step < len(first) else pattern[(step - len(first)) % len(pattern)]
        if step:
            files = _mutate(rng, files, step)
        _write_corpus(corpus, files)
        if how == "delay":
            how = f"delay:{rng.uniform(0.0, 1.5):.3f}"
        completed, left_tmp = _run(corpus, index_dir, log, rng, how)
        got = snapshot(index_dir)
        attempted = references.of(step, files)
        step += 1
        if completed:
            assert got == attempted, f"step {step - 1}: a completed build does not match"
            last_completed = (step - 1, files)
            continue
        kills += 1
        mid_write += left_tmp
        mid_merge += left_tmp and how == "merging"
        before = references.of(*last_completed) if last_completed else None
        if got == before:
            outcomes["none" if before is None else "previous"] += 1
        else:
            assert got == attempted, (
                f"step {step - 1} ({how}): the index matches neither the last completed build "
                f"nor the killed one")
            outcomes["new"] += 1
            last_completed = (step - 1, files)  # it had switched: that build is complete
    assert kills >= 20
    assert outcomes["none"] >= 1, "no kill landed in the very first build"
    assert outcomes["previous"] >= 5, f"too few kills landed mid-build: {outcomes}"
    assert mid_write >= 1, "no kill landed while a segment was being written"
    assert mid_merge >= 1, "no kill landed while segments were being merged"
    # a last clean run: back to normal, leftovers gone, retention rule applied
    completed, left_tmp = _run(corpus, index_dir, log, rng, "complete")
    assert completed and not left_tmp
    assert snapshot(index_dir) == references.of(step, files)
    assert not list(index_dir.glob("seg-*.old"))
    assert len(commit_points(index_dir)) <= 2
    listed = {s["name"] for p in commit_points(index_dir) for s in read_commit(p)["segments"]}
    assert {p.name for p in segment_folders(index_dir)} == listed
    print(f"{step} runs, {kills} kills: {outcomes}; {mid_write} left a segment half-written, "
          f"{mid_merge} of them a merge's")


def test_serve_refuses_a_damaged_index_and_names_the_fix(
    hash_settings: Settings, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from assistant.cli import main
    from assistant.index.segment import CHUNK_VECTORS

    indexer.build_index(hash_settings, HashEmbedder())
    vectors = hash_settings.index_dir / "seg-000001" / CHUNK_VECTORS
    vectors.write_bytes(vectors.read_bytes()[:64])  # truncated: FAISS would crash reading it
    monkeypatch.setenv("ASSISTANT_MODEL", "hash")
    assert main(["serve", "--index", str(hash_settings.index_dir)]) == 2
    error = capsys.readouterr().err
    assert "chunks.faiss" in error and "truncated" in error
    assert "run `assistant index` to rebuild it" in error
