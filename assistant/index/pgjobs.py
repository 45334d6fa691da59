"""The job queue in the database: servers enqueue uploads and removals, `assistant worker`
processes claim them (`SELECT … FOR UPDATE SKIP LOCKED`) under a lease that they renew while
they build. A worker that dies stops renewing: its jobs go back to the queue when the lease
runs out, and a job whose workers died `MAX_ATTEMPTS` times fails with that reason."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from assistant.index.pgfiles import UPLOAD, delete_file, put_file
from assistant.index.pgschema import Pool, migrate

KEEP_DONE_DAYS = 7  # finished jobs are deleted this long after they finished
MAX_ATTEMPTS = 20  # lapsed leases before a job fails (a document that kills its worker)
# What the catalog shows for an open job (a finished one shows the index's own facts).
STATUS = {("index", "queued"): "queued", ("index", "running"): "indexing",
          ("remove", "queued"): "removing", ("remove", "running"): "removing"}

_EXPIRE = """
UPDATE jobs SET state = 'failed', updated = now(), lease_until = NULL,
       error = 'indexing stopped ' || attempts || ' times (the worker died); see the worker log'
WHERE state = 'running' AND lease_until < now() AND attempts >= %s
"""
_CLAIM = """
UPDATE jobs SET state = 'running', worker = %(worker)s, attempts = attempts + 1,
       lease_until = now() + make_interval(secs => %(lease)s), updated = now()
WHERE id IN (SELECT id FROM jobs
             WHERE state = 'queued' OR (state = 'running' AND lease_until < now())
             ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
RETURNING id, doc, action
"""


@dataclass(frozen=True)
class Job:
    """One queued upload ("index") or removal ("remove") of a corpus document."""

    id: int
    doc: str
    action: str


class JobQueue:
    """The jobs table of one database."""

    def __init__(self, url: str, pool: Pool | None = None) -> None:
        self.pool = pool or Pool(url, size=4)
        with self.pool.connection() as conn:
            migrate(conn)

    def enqueue(self, doc: str, action: str) -> int:
        """Queue a document to be indexed ("index") or removed ("remove"); the job's id."""
        with self.pool.connection() as conn:
            (job,) = conn.execute("INSERT INTO jobs (doc, action) VALUES (%s, %s) RETURNING id",
                                  (doc, action)).fetchone()
        return int(job)

    def upload(self, doc: str, data: bytes, entry: dict[str, Any]) -> int:
        """Store an upload's bytes and queue it, in one transaction; the job's id."""
        with self.pool.connection() as conn, conn.transaction():
            put_file(conn, doc, data, entry, UPLOAD)
            (job,) = conn.execute("INSERT INTO jobs (doc, action) VALUES (%s, 'index') "
                                  "RETURNING id", (doc,)).fetchone()
        return int(job)

    def discard(self, doc: str) -> int:
        """Erase a document's stored bytes and queue its removal, in one transaction."""
        with self.pool.connection() as conn, conn.transaction():
            delete_file(conn, doc)
            (job,) = conn.execute("INSERT INTO jobs (doc, action) VALUES (%s, 'remove') "
                                  "RETURNING id", (doc,)).fetchone()
        return int(job)

    def claim(self, worker: str, lease_s: int, limit: int = 100,
              max_attempts: int = MAX_ATTEMPTS) -> list[Job]:
        """Take queued jobs (and jobs whose lease ran out) for `worker`, oldest first."""
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("DELETE FROM jobs WHERE state = 'done' AND updated < now() - "
                         "make_interval(days => %s)", (KEEP_DONE_DAYS,))
            conn.execute(_EXPIRE, (max_attempts,))
            rows = conn.execute(_CLAIM, {"worker": worker, "lease": lease_s,
                                         "limit": limit}).fetchall()
        return sorted((Job(int(i), d, a) for i, d, a in rows), key=lambda job: job.id)

    def renew(self, ids: list[int], worker: str, lease_s: int) -> int:
        """Extend the lease on jobs `worker` still holds; how many it holds."""
        with self.pool.connection() as conn:
            cur = conn.execute("UPDATE jobs SET lease_until = now() + make_interval(secs => %s) "
                               "WHERE id = ANY(%s) AND worker = %s AND state = 'running'",
                               (lease_s, ids, worker))
            return cur.rowcount

    def finish(self, outcomes: Mapping[int, str | None], worker: str) -> None:
        """Close jobs: done, or failed with the reason (only those `worker` still holds)."""
        with self.pool.connection() as conn, conn.transaction():
            for job, error in outcomes.items():
                conn.execute("UPDATE jobs SET state = %s, error = %s, lease_until = NULL, "
                             "updated = now() WHERE id = %s AND worker = %s AND state = 'running'",
                             ("failed" if error else "done", error, job, worker))

    def states(self) -> dict[str, tuple[str, str | None]]:
        """The catalog status of each document whose latest job is open or failed."""
        with self.pool.connection() as conn:
            rows = conn.execute("SELECT DISTINCT ON (doc) doc, action, state, error FROM jobs "
                                "ORDER BY doc, id DESC").fetchall()
        result: dict[str, tuple[str, str | None]] = {}
        for doc, action, state, error in rows:
            if state == "failed":
                result[doc] = ("failed", error)
            elif (action, state) in STATUS:
                result[doc] = (STATUS[action, state], None)
        return result

    def open_jobs(self) -> int:
        """How many jobs are queued or running."""
        with self.pool.connection() as conn:
            (count,) = conn.execute("SELECT count(*) FROM jobs "
                                    "WHERE state IN ('queued', 'running')").fetchone()
        return int(count)

    def close(self) -> None:
        """Close the pool's idle connections."""
        self.pool.close()
