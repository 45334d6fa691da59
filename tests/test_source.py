"""Finding corpus files: one looked up by name is one the listing lists; the scratch folders a
database build writes its files to: a killed build's are swept."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from assistant.index.source import SCRATCH, corpus_file, corpus_files, sweep_scratch


def _finished_pid() -> int:
    """The id of a process that has ended (ids are not reused this soon)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_a_killed_builds_scratch_is_swept_and_a_live_ones_kept(tmp_path: Path) -> None:
    dead = tmp_path / f"{SCRATCH}{_finished_pid()}-abc123"
    live = tmp_path / f"{SCRATCH}{os.getpid()}-def456"
    unnamed = tmp_path / f"{SCRATCH}12345678"  # no process id in the name: not ours to judge
    other = tmp_path / "something-else-1"
    for folder in (dead, live, unnamed, other):
        (folder / "doc.txt").parent.mkdir()
        (folder / "doc.txt").write_text("x", encoding="utf-8")
    assert sweep_scratch(tmp_path) == [dead]
    assert not dead.exists() and live.exists() and unnamed.exists() and other.exists()


def test_a_file_looked_up_by_name_is_one_the_listing_lists(tmp_path: Path) -> None:
    corpus, outside = tmp_path / "corpus", tmp_path / "outside"
    (corpus / "sub" / ".hidden-folder").mkdir(parents=True)
    outside.mkdir()
    for name in ("a.md", "sub/b.txt", "sub/.hidden.md", "sub/.hidden-folder/c.md",
                 "catalog.json", "sub/catalog.json"):
        (corpus / name).write_text(name, encoding="utf-8")
    (outside / "secret.md").write_text("outside", encoding="utf-8")
    (corpus / "linked").symlink_to(outside, target_is_directory=True)  # not followed
    (corpus / "link.md").symlink_to(corpus / "a.md")  # a link to a file is a file
    (corpus / "broken.md").symlink_to(corpus / "gone.md")
    listed = {name: path for name, path in corpus_files(corpus)}
    asked = [*listed, "linked/secret.md", "../outside/secret.md", "sub/../a.md", "./a.md",
             "sub", "sub/", "/a.md", "a.md/", "broken.md", "gone.md", "", "sub//b.txt"]
    for name in asked:
        found = corpus_file(corpus, name)
        assert (found[0] if found else None) == listed.get(name), name
    assert sorted(listed) == ["a.md", "link.md", "sub/.hidden-folder/c.md", "sub/b.txt"]
