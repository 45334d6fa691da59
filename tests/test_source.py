"""The scratch folders a database build writes its files to: a killed build's are swept."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from assistant.index.source import SCRATCH, sweep_scratch


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
