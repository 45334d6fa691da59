"""The feedback file of an index folder (outside the segments): what people said about
answers, personal numbers masked, never who said it."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from assistant.lang.personal import mask_text

FEEDBACK_FILE = "feedback.sqlite"
Verdict = Literal["helpful", "wrong"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY, created TEXT NOT NULL, verdict TEXT NOT NULL,
    question TEXT NOT NULL, answer TEXT NOT NULL, comment TEXT, language TEXT NOT NULL,
    passage_id TEXT, passage_doc TEXT, passage_text TEXT, passage_language TEXT
);
CREATE INDEX IF NOT EXISTS feedback_created ON feedback (created);
"""
_COLUMNS = ("id", "created", "verdict", "question", "answer", "comment", "language",
            "passage_id", "passage_doc", "passage_text", "passage_language")


@dataclass(frozen=True)
class Passage:
    """The passage a person points to as the right one."""

    id: str
    doc: str
    text: str
    language: str


@dataclass(frozen=True)
class Feedback:
    """What a person said about an answer; no identity of theirs is part of it."""

    verdict: Verdict
    question: str
    answer: str = ""
    comment: str | None = None
    passage: Passage | None = None
    language: str = "und"  # the question's language, as the answer stage reads it


def _masked(text: str | None) -> str | None:
    return mask_text(text) if text else text


class FeedbackStore:
    """The feedback file of an index folder."""

    def __init__(self, index_dir: Path, retention_days: int = 365) -> None:
        self.path = index_dir / FEEDBACK_FILE
        self.retention_days = retention_days
        self._lock = threading.Lock()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection that commits on success and is always closed."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path)
        try:
            with db:
                db.executescript(_SCHEMA)
                yield db
        finally:
            db.close()

    def add(self, feedback: Feedback, now: datetime | None = None) -> int:
        """Store one entry (personal numbers masked) and drop entries past the retention."""
        now = now or datetime.now(UTC)
        p = feedback.passage
        row = (now.isoformat(timespec="seconds"), feedback.verdict,
               mask_text(feedback.question), mask_text(feedback.answer),
               _masked(feedback.comment), feedback.language,
               p.id if p else None, p.doc if p else None, _masked(p.text) if p else None,
               p.language if p else None)
        with self._lock, self._connect() as db:
            cursor = db.execute(
                f"INSERT INTO feedback ({', '.join(_COLUMNS[1:])}) VALUES "
                f"({', '.join('?' * (len(_COLUMNS) - 1))})", row)
            if self.retention_days:
                cutoff = now - timedelta(days=self.retention_days)
                db.execute("DELETE FROM feedback WHERE created < ?",
                           (cutoff.isoformat(timespec="seconds"),))
        return int(cursor.lastrowid or 0)

    def entries(self) -> list[dict[str, Any]]:
        """Every stored entry, oldest first."""
        if not self.path.exists():
            return []
        with self._lock, self._connect() as db:
            rows = db.execute(f"SELECT {', '.join(_COLUMNS)} FROM feedback ORDER BY id")
            return [dict(zip(_COLUMNS, r, strict=True)) for r in rows]


