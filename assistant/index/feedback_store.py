"""The feedback file of an index folder (outside the segments): what people said about
answers, personal numbers masked, never who said it. With a database, the same entries live
in it (`assistant.index.pgfeedback`), shared by every server; `open_feedback` picks one."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from assistant.config import Settings
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
COLUMNS = ("id", "created", "verdict", "question", "answer", "comment", "language",
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


def masked_row(feedback: Feedback, now: datetime) -> tuple[Any, ...]:
    """The values of an entry as stored (after `id`), personal numbers masked."""
    p = feedback.passage
    return (now.isoformat(timespec="seconds"), feedback.verdict,
            mask_text(feedback.question), mask_text(feedback.answer),
            _masked(feedback.comment), feedback.language,
            p.id if p else None, p.doc if p else None, _masked(p.text) if p else None,
            p.language if p else None)


class FeedbackLog(Protocol):
    """Where feedback is kept: an index folder's file or the database."""

    def add(self, feedback: Feedback, now: datetime | None = None) -> int:
        """Store one entry (personal numbers masked) and drop entries past the retention."""

    def entries(self) -> list[dict[str, Any]]:
        """Every stored entry, oldest first."""


def open_feedback(settings: Settings) -> FeedbackLog:
    """The feedback store the settings name: the database's, or the index folder's file."""
    if settings.database_url:
        from assistant.index.pgfeedback import PgFeedbackStore

        return PgFeedbackStore(settings.database_url, settings.feedback_retention_days)
    return FeedbackStore(settings.index_dir, settings.feedback_retention_days)


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
        row = masked_row(feedback, now)
        with self._lock, self._connect() as db:
            cursor = db.execute(
                f"INSERT INTO feedback ({', '.join(COLUMNS[1:])}) VALUES "
                f"({', '.join('?' * (len(COLUMNS) - 1))})", row)
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
            rows = db.execute(f"SELECT {', '.join(COLUMNS)} FROM feedback ORDER BY id")
            return [dict(zip(COLUMNS, r, strict=True)) for r in rows]


