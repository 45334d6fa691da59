"""Feedback in the database: the same entries as an index folder's feedback file, shared by
every server on the database (personal numbers masked, never who sent it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from assistant.index.feedback_store import COLUMNS, Feedback, masked_row
from assistant.index.pgschema import Pool, migrate


class PgFeedbackStore:
    """The feedback table of one database."""

    def __init__(self, url: str, retention_days: int = 365) -> None:
        self.pool = Pool(url, size=2)
        self.retention_days = retention_days
        with self.pool.connection() as conn:
            migrate(conn)

    def add(self, feedback: Feedback, now: datetime | None = None) -> int:
        """Store one entry (personal numbers masked) and drop entries past the retention."""
        now = now or datetime.now(UTC)
        with self.pool.connection() as conn, conn.transaction():
            (entry,) = conn.execute(
                f"INSERT INTO feedback ({', '.join(COLUMNS[1:])}) VALUES "
                f"({', '.join(['%s'] * (len(COLUMNS) - 1))}) RETURNING id",
                masked_row(feedback, now)).fetchone()
            if self.retention_days:
                conn.execute("DELETE FROM feedback WHERE created < %s",
                             (now - timedelta(days=self.retention_days),))
        return int(entry)

    def entries(self) -> list[dict[str, Any]]:
        """Every stored entry, oldest first."""
        with self.pool.connection() as conn:
            rows = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM feedback "
                                f"ORDER BY id").fetchall()
        return [{**dict(zip(COLUMNS, r, strict=True)),
                 "created": r[1].astimezone(UTC).isoformat(timespec="seconds")} for r in rows]

    def close(self) -> None:
        """Close the pool's idle connections."""
        self.pool.close()
