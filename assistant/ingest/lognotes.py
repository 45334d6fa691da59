"""Log messages kept as notes: what a parser logged, to report with its result."""

from __future__ import annotations

import logging

__all__ = ["LogNotes"]


class LogNotes(logging.Handler):
    """Keeps the first `limit` messages at `level` or above as strings, in order.

    With `distinct`, each message is stripped and kept once (blank ones not at all); with
    `levels`, each note starts with its level ("warning: ...").
    """

    def __init__(self, level: int, limit: int, *, distinct: bool = False,
                 levels: bool = False) -> None:
        super().__init__(level)
        self.limit = limit
        self.distinct = distinct
        self.levels = levels
        self.notes: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record's message while there is room."""
        note = record.getMessage()
        if self.distinct:
            note = note.strip()
            if not note or note in self.notes:
                return
        if self.levels:
            note = f"{record.levelname.lower()}: {note}"
        if len(self.notes) < self.limit:
            self.notes.append(note)
