"""`assistant worker`: indexes the uploads and removals servers queue in the database.

Each round claims the open jobs, runs the incremental build over the corpus the database
stores (one transaction: the documents appear whole or not at all; no shared folder needed)
while a heartbeat renews the claim, and closes each job as done or failed with its document's
reason. A worker killed mid-build leaves no rows behind; its jobs return to the queue when
their lease runs out and the next worker builds them.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable

from assistant.config import Settings
from assistant.errors import AssistantError, ConfigError, DatabaseError
from assistant.index.builder import BuildReport, build_index
from assistant.index.pgjobs import Job, JobQueue
from assistant.model.embed import Embedder, load_embedder

log = logging.getLogger(__name__)


class _Heartbeat:
    """Renews the lease on claimed jobs every third of the lease, in a thread."""

    def __init__(self, queue: JobQueue, jobs: list[Job], worker: str, lease_s: int) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="lease", daemon=True,
                                       args=(queue, [j.id for j in jobs], worker, lease_s))

    def _run(self, queue: JobQueue, ids: list[int], worker: str, lease_s: int) -> None:
        while not self.stop.wait(max(lease_s / 3, 0.2)):
            try:
                queue.renew(ids, worker, lease_s)
            except DatabaseError as exc:  # the build itself will fail or finish; keep trying
                log.warning("could not renew the lease: %s", exc)

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()


def outcomes(jobs: list[Job], report: BuildReport | None, error: str | None
             ) -> dict[int, str | None]:
    """Each job's result: None when done, else why it failed."""
    failed = report.failed if report is not None else {}
    return {job.id: error or (failed.get(job.doc) if job.action == "index" else None)
            for job in jobs}


def work_once(settings: Settings, queue: JobQueue, embedder: Callable[[], Embedder],
              worker: str) -> int:
    """Claim the open jobs and build them; how many there were."""
    jobs = queue.claim(worker, settings.job_lease_s)
    if not jobs:
        return 0
    log.info("building for %d job(s): %s", len(jobs), ", ".join(j.doc for j in jobs))
    report, error = None, None
    with _Heartbeat(queue, jobs, worker, settings.job_lease_s):
        try:
            report = build_index(settings, embedder(), from_folder=False)
        except DatabaseError:
            raise  # the jobs stay claimed; the lease returns them to the queue
        except AssistantError as exc:
            error = str(exc)
    queue.finish(outcomes(jobs, report, error), worker)
    return len(jobs)


def run_worker(settings: Settings, poll_s: float = 1.0, once: bool = False,
               stop: threading.Event | None = None) -> None:
    """Work the queue until stopped (or, with `once`, until it is empty)."""
    if not settings.database_url:
        raise ConfigError("`assistant worker` needs a database: set ASSISTANT_DATABASE_URL "
                          "(postgresql://user:password@host:5432/dbname)")
    worker = f"{socket.gethostname()}:{os.getpid()}"
    queue = JobQueue(settings.database_url)
    model: list[Embedder] = []

    def embedder() -> Embedder:  # loaded on the first job, then kept
        if not model:
            model.append(load_embedder(settings.model, settings.model_dir, settings.threads,
                                       settings.batch_size, settings.encoder, bulk=True))
        return model[0]

    log.info("worker %s waiting for jobs", worker)
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            done = work_once(settings, queue, embedder, worker)
        except DatabaseError as exc:
            log.warning("%s", exc)
            done = 0
        if not done:
            if once:
                return
            stop.wait(poll_s)
    queue.close()
