"""Background jobs: documents too long to make while the browser waits (issue 6, item 5).

Today one kind: the PDF report whose appendix lists more reports than the setting
``PDF_APPENDIX_DIRECT_ROWS`` (WeasyPrint lays out about 11 ms per row: 1,000 rows
take over 10 s). The person asks for it (a POST), gets a page with a progress bar
and, when it is done, a download link. Longer than ``PDF_APPENDIX_MAX_ROWS`` rows
is refused.

**Queueing.** :func:`queue_summary_pdf` writes an ``ExportJob`` row (flushes; the
caller commits) with everything the document needs in ``params``: the period, the
filters *as already resolved for the person who asked* (an agency lead's own
agency), the options and the notable reports they may see. The same request while
an identical one is still waiting or running returns that one; a person may have at
most ``JOBS_PER_USER`` jobs waiting or running.

**Running.** A worker claims a job with one conditional UPDATE (``queued``, or
``running`` with an expired lease → ``running``, ``locked_until`` = now +
``JOB_LEASE_SECONDS``, ``attempts`` + 1) and checks the row count, so two workers
never both run it, on SQLite and PostgreSQL alike — the pattern of the e-mail outbox
(:mod:`hpsmart.services.notifications`). While it works it writes its progress,
each time extending the lease, in its own short commits (the document is made in
parts, :func:`hpsmart.pdf.summary.write_summary_pdf`, so a sign of life comes every
part, 15–30 s apart, inside the 120 s lease; a lease must outlast the layout of one part); every such write is conditional on the lease it holds, so a worker
that lost its job (it stalled past its lease and another took over) notices and
stops without writing anything. A worker that died leaves its job ``running`` with
a lease that runs out: the next worker picks it up again, up to ``JOB_MAX_ATTEMPTS``
tries, then marks it failed (``worker_stopped``).

Where workers run:

* in the web process, zero set-up (the pilot, ``make run``): :func:`start_worker_thread`
  starts a daemon thread when a job is queued, and when someone looks at a job whose
  worker died; it runs every due job and ends. It shares the web process's CPU
  (and, in CPython, its GIL): pages of that process answer more slowly meanwhile;
* in production, ``flask run-jobs --interval 5`` as a service (or ``--once`` from
  cron), with ``JOBS_IN_PROCESS=false`` for the web processes.

**Files** go to ``<UPLOAD_FOLDER>/exports/`` under a random name (written to
``.part`` first, renamed when complete), are served only to the person who asked
or an admin, and are deleted ``JOB_RETENTION_HOURS`` after they were made (each
worker run purges; the job then shows as deleted).

**Progress** is counted, never estimated: the stage (figures, collecting rows,
laying out, writing), the appendix rows laid out so far of the total, the pages
made. WeasyPrint reports nothing while it lays out one part (``PDF_APPENDIX_CHUNK_ROWS``
rows, 1,000 by default: 15–25 s of CPU on a busy 2-core machine), so the bar moves once
per part.

Log lines carry job ids, kinds, row counts and exception type names only.
"""
from __future__ import annotations

import enum
import hashlib
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, timedelta
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import and_, func, or_, select, update

from ..extensions import db
from ..models import Channel, ExportJob, JobStage, JobState, Role, User, utcnow
from ..pdf.letterhead import letterhead_from_config
from ..pdf.summary import AppendixLimits, AppendixTooLong, Progress, SummaryOptions, file_name, write_summary_pdf
from . import statistics as st

log = logging.getLogger(__name__)

KIND_SUMMARY_PDF = "summary_pdf"
#: Subfolder of ``UPLOAD_FOLDER`` holding the files jobs make.
FOLDER = "exports"
#: A ``.part`` file older than this (seconds) belongs to a worker that died: purged.
STALE_PART_SECONDS = 24 * 3600
ACTIVE = (JobState.QUEUED, JobState.RUNNING)


class JobRefused(ValueError):
    """A job that cannot be queued.

    :ivar reason: ``"too_long"`` (the appendix would have more rows than ``limit``)
        or ``"too_many"`` (the person has ``limit`` jobs waiting or running).
    :ivar rows: rows of the appendix (``too_long``).
    :ivar limit: the limit in question.
    """

    def __init__(self, reason: str, *, limit: int, rows: int = 0):
        super().__init__(f"{reason}: {rows} / {limit}")
        self.reason = reason
        self.rows = rows
        self.limit = limit


class LeaseLost(RuntimeError):
    """This worker no longer holds the job (its lease ran out and another took it over)."""


# --- what a summary PDF job needs ----------------------------------------------------------

@dataclass(frozen=True)
class SummaryRequest:
    """A summary PDF as asked for: the period (local dates, both included), the filters
    (already scoped for the person who asked) and the document's options."""

    start: date
    end: date
    filters: st.StatFilters = field(default_factory=st.StatFilters)
    options: SummaryOptions = field(default_factory=SummaryOptions)

    def to_params(self) -> dict:
        """JSON-safe parameters (dates as ISO strings, enums as their values, tuples as lists)."""
        return {"start": self.start.isoformat(), "end": self.end.isoformat(),
                "filters": _plain(asdict(self.filters)), "options": _plain(asdict(self.options))}

    @classmethod
    def from_params(cls, params: dict) -> SummaryRequest:
        """The inverse of ``to_params``; fields unknown to this version are ignored.

        :raises KeyError, ValueError: parameters that are not a summary request.
        """
        filters = {}
        for f in fields(st.StatFilters):
            value = params.get("filters", {}).get(f.name)
            if f.name == "channel" and value is not None:
                value = Channel(value)
            elif isinstance(value, list):
                value = tuple(value)
            filters[f.name] = value
        options = {}
        for f in fields(SummaryOptions):
            if f.name not in params.get("options", {}):
                continue
            value = params["options"][f.name]
            if f.name == "issued_on" and value is not None:
                value = date.fromisoformat(value)
            elif isinstance(value, list):
                value = tuple(value)
            options[f.name] = value
        return cls(date.fromisoformat(params["start"]), date.fromisoformat(params["end"]),
                   st.StatFilters(**filters), SummaryOptions(**options))


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _fingerprint(kind: str, params: dict) -> str:
    return hashlib.sha256(f"{kind}|{json.dumps(params, sort_keys=True, ensure_ascii=False)}".encode()).hexdigest()


# --- settings and files --------------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    """The job settings (seconds, counts, hours), from the app config."""

    lease_seconds: int
    max_attempts: int
    retention_hours: int
    per_user: int

    @classmethod
    def current(cls) -> Settings:
        config = current_app.config
        return cls(int(config.get("JOB_LEASE_SECONDS", 120)), int(config.get("JOB_MAX_ATTEMPTS", 3)),
                   int(config.get("JOB_RETENTION_HOURS", 72)), int(config.get("JOBS_PER_USER", 3)))


def export_folder() -> Path:
    """``<UPLOAD_FOLDER>/exports``: where finished files are kept (never served as static files)."""
    return Path(current_app.config["UPLOAD_FOLDER"]) / FOLDER


def file_path(job: ExportJob) -> Path | None:
    """The file of a finished job, or None (not finished, deleted, or missing on disk)."""
    if job.state != JobState.DONE or not job.stored_name:
        return None
    path = export_folder() / job.stored_name
    return path if path.is_file() else None


def can_see(job: ExportJob, user: User) -> bool:
    """True for the person who asked for the job and for admins: nobody else may see
    its page or download its file."""
    return user is not None and (job.user_id == user.id or user.role == Role.ADMIN)


# --- queueing ------------------------------------------------------------------------------

def queue_summary_pdf(user: User, request: SummaryRequest, *, now: datetime | None = None) -> tuple[ExportJob, bool]:
    """Queue a summary PDF for ``user`` (flushes; the caller commits, then calls
    :func:`start_worker_thread`).

    :returns: ``(job, created)``; ``created`` is False when ``user`` has an identical
        job waiting or running already, which is returned instead.
    :raises JobRefused: ``too_long`` when the appendix would have more rows than
        ``PDF_APPENDIX_MAX_ROWS``; ``too_many`` when the person has ``JOBS_PER_USER``
        jobs waiting or running.
    """
    now = now or utcnow()
    limits = AppendixLimits.from_config(current_app.config)
    rows = st.count_received(request.start, request.end, request.filters) if request.options.appendix else 0
    if rows > limits.max_rows:
        raise JobRefused("too_long", rows=rows, limit=limits.max_rows)
    params = request.to_params()
    fingerprint = _fingerprint(KIND_SUMMARY_PDF, params)
    existing = db.session.scalar(select(ExportJob).where(
        ExportJob.user_id == user.id, ExportJob.fingerprint == fingerprint, ExportJob.state.in_(ACTIVE))
        .order_by(ExportJob.id.desc()).limit(1))
    if existing is not None:
        return existing, False
    settings = Settings.current()
    active = db.session.scalar(select(func.count(ExportJob.id)).where(
        ExportJob.user_id == user.id, ExportJob.state.in_(ACTIVE))) or 0
    if active >= settings.per_user:
        raise JobRefused("too_many", limit=settings.per_user)
    job = ExportJob(kind=KIND_SUMMARY_PDF, user_id=user.id, params=params, fingerprint=fingerprint,
                    state=JobState.QUEUED, stage=JobStage.QUEUED, rows_total=rows, rows_done=0, pages=0,
                    attempts=0, error="", file_name=file_name(request.start, request.end), stored_name="",
                    size_bytes=0, created_at=now)
    db.session.add(job)
    db.session.flush()
    log.info("jobs: queued %s (%s, %s rows)", job.id, job.kind, rows)
    return job, True


def summary_request(job: ExportJob) -> SummaryRequest:
    """The ``SummaryRequest`` a summary PDF job was queued with."""
    return SummaryRequest.from_params(job.params or {})


# --- claiming and leases -------------------------------------------------------------------

def _claimable(at: datetime, max_attempts: int):
    return and_(ExportJob.attempts < max_attempts, or_(
        ExportJob.state == JobState.QUEUED,
        and_(ExportJob.state == JobState.RUNNING, ExportJob.locked_until < at)))


def is_due(job: ExportJob, at: datetime | None = None) -> bool:
    """True when a worker may take ``job`` now: waiting, or running with an expired lease."""
    at = at or utcnow()
    return job.state == JobState.QUEUED or (
        job.state == JobState.RUNNING and job.locked_until is not None and job.locked_until < at)


def due_ids(at: datetime, limit: int) -> list[int]:
    """Ids of the jobs a worker may claim at ``at`` (aware UTC), oldest first."""
    settings = Settings.current()
    return list(db.session.scalars(select(ExportJob.id).where(_claimable(at, settings.max_attempts))
                                   .order_by(ExportJob.id).limit(limit)))


def claim(job_id: int, at: datetime) -> datetime | None:
    """Atomically take job ``job_id`` and commit (one conditional UPDATE; of two
    workers only one sees a row count of 1).

    :param at: aware UTC time of the claim.
    :returns: the lease's end (``locked_until``, aware UTC: the worker's token for
        every later write), or None when another worker has it or it is not due.
    """
    settings = Settings.current()
    until = at + timedelta(seconds=settings.lease_seconds)
    result = db.session.execute(
        update(ExportJob)
        .where(ExportJob.id == job_id, _claimable(at, settings.max_attempts))
        .values(state=JobState.RUNNING, stage=JobStage.FIGURES, locked_until=until, started_at=at,
                attempts=ExportJob.attempts + 1, rows_done=0, pages=0, error="")
        .execution_options(synchronize_session=False))
    db.session.commit()
    return until if result.rowcount == 1 else None


class _Lease:
    """The worker's hold on one job: each write is conditional on it and extends it."""

    def __init__(self, job_id: int, until: datetime, clock: Callable[[], datetime], seconds: int):
        self.job_id, self.until, self.clock, self.seconds = job_id, until, clock, seconds

    def write(self, *, release: bool = False, **values) -> bool:
        """Write ``values`` (and a new lease, or none with ``release``) if this worker still
        holds the job; commit. Returns whether it did."""
        until = None if release else self.clock() + timedelta(seconds=self.seconds)
        result = db.session.execute(
            update(ExportJob)
            .where(ExportJob.id == self.job_id, ExportJob.state == JobState.RUNNING,
                   ExportJob.locked_until == self.until)
            .values(locked_until=until, **values).execution_options(synchronize_session=False))
        db.session.commit()
        if result.rowcount != 1:
            return False
        self.until = until
        return True


def _expire_abandoned(at: datetime, max_attempts: int) -> int:
    """Mark failed the jobs left running by a dead worker on their last allowed attempt."""
    abandoned = and_(ExportJob.state == JobState.RUNNING, ExportJob.locked_until < at,
                     ExportJob.attempts >= max_attempts)
    if db.session.scalar(select(ExportJob.id).where(abandoned).limit(1)) is None:
        db.session.commit()
        return 0
    result = db.session.execute(
        update(ExportJob).where(abandoned)
        .values(state=JobState.FAILED, locked_until=None, error="worker_stopped", finished_at=at)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount or 0


# --- running -------------------------------------------------------------------------------

def run_job(job_id: int, lease_until: datetime, *, clock: Callable[[], datetime] = utcnow) -> JobState | None:
    """Make the document of a claimed job and store it; every write conditional on the lease.

    :param lease_until: what :func:`claim` returned.
    :param clock: the time (aware UTC); tests pass a fixed one.
    :returns: the job's final state (``done`` or ``failed``), or None when the lease
        was lost (another worker has the job; nothing of this run is kept).
    """
    settings = Settings.current()
    lease = _Lease(job_id, lease_until, clock, settings.lease_seconds)
    job = db.session.get(ExportJob, job_id, populate_existing=True)
    kind, params = job.kind, dict(job.params or {})
    db.session.commit()
    folder = export_folder()
    folder.mkdir(parents=True, exist_ok=True)
    stored = f"{job_id}-{secrets.token_hex(16)}.pdf"
    part = folder / f"{stored}.part"
    began = time.perf_counter()

    def on_progress(progress: Progress) -> None:
        if not lease.write(stage=JobStage(progress.stage), rows_done=progress.rows_done,
                           rows_total=progress.rows_total, pages=progress.pages):
            raise LeaseLost(job_id)

    try:
        if kind != KIND_SUMMARY_PDF:
            raise ValueError(f"unknown job kind {kind!r}")
        request = SummaryRequest.from_params(params)
        with open(part, "wb") as out:
            pages = write_summary_pdf(out, request.start, request.end, request.filters, request.options,
                                      letterhead=letterhead_from_config(current_app.config), progress=on_progress)
        size = part.stat().st_size
        os.replace(part, folder / stored)
        finished = clock()
        if not lease.write(release=True, state=JobState.DONE, stage=JobStage.DONE, pages=pages, stored_name=stored,
                           size_bytes=size, finished_at=finished,
                           expires_at=finished + timedelta(hours=settings.retention_hours)):
            (folder / stored).unlink(missing_ok=True)
            raise LeaseLost(job_id)
        log.info("jobs: %s done, %s pages, %s bytes, %.1f s", job_id, pages, size, time.perf_counter() - began)
        return JobState.DONE
    except LeaseLost:
        db.session.rollback()
        log.warning("jobs: %s was taken over by another worker; this run's work is dropped", job_id)
        return None
    except Exception as error:
        db.session.rollback()
        reason = "too_long" if isinstance(error, AppendixTooLong) else "error"
        lease.write(release=True, state=JobState.FAILED, error=reason, finished_at=clock())
        log.error("jobs: %s failed (%s)", job_id, type(error).__name__)
        return JobState.FAILED
    finally:
        part.unlink(missing_ok=True)


@dataclass
class RunSummary:
    """What one :func:`run_due` run did: job counts; ``stopped`` when asked to stop early."""

    done: int = 0
    failed: int = 0
    lost: int = 0
    skipped: int = 0
    purged: int = 0
    stopped: bool = False
    claimed_ids: list[int] = field(default_factory=list)


def run_due(*, now: datetime | None = None, limit: int = 10,
            should_stop: Callable[[], bool] | None = None) -> RunSummary:
    """Purge expired files, then claim and run up to ``limit`` due jobs, one after the other.

    :param now: aware UTC time to act at (tests move it forward; default: the clock,
        read afresh for each step).
    :param should_stop: asked before each job; True ends the run (nothing left claimed).
    :raises sqlalchemy.exc.SQLAlchemyError: the database failed.
    """
    clock = (lambda: now) if now is not None else utcnow
    settings = Settings.current()
    summary = RunSummary(purged=purge_expired(clock()))
    _expire_abandoned(clock(), settings.max_attempts)
    ids = due_ids(clock(), limit)
    db.session.commit()  # end the read: on SQLite a write after an old read may be refused
    for job_id in ids:
        if should_stop is not None and should_stop():
            summary.stopped = True
            break
        lease = claim(job_id, clock())
        if lease is None:
            summary.skipped += 1
            continue
        summary.claimed_ids.append(job_id)
        state = run_job(job_id, lease, clock=clock)
        if state == JobState.DONE:
            summary.done += 1
        elif state == JobState.FAILED:
            summary.failed += 1
        else:
            summary.lost += 1
    return summary


def run_all_due(*, now: datetime | None = None, should_stop: Callable[[], bool] | None = None) -> RunSummary:
    """Run :func:`run_due` until no job is due (``flask run-jobs --once``); counts added up."""
    total = RunSummary()
    while True:
        summary = run_due(now=now, should_stop=should_stop)
        for name in ("done", "failed", "lost", "skipped", "purged"):
            setattr(total, name, getattr(total, name) + getattr(summary, name))
        total.claimed_ids.extend(summary.claimed_ids)
        if summary.stopped or not summary.claimed_ids:
            total.stopped = summary.stopped
            return total


def purge_expired(at: datetime) -> int:
    """Delete the files of jobs finished more than ``JOB_RETENTION_HOURS`` ago (the job
    becomes ``expired``) and ``.part`` files left by dead workers; commit.

    :returns: how many jobs' files were deleted.
    """
    expired = db.session.execute(select(ExportJob.id, ExportJob.stored_name).where(
        ExportJob.state == JobState.DONE, ExportJob.expires_at <= at)).all()
    db.session.commit()
    folder = export_folder()
    count = 0
    for job_id, stored in expired:
        if stored:
            (folder / stored).unlink(missing_ok=True)
        result = db.session.execute(
            update(ExportJob).where(ExportJob.id == job_id, ExportJob.state == JobState.DONE)
            .values(state=JobState.EXPIRED, stored_name="").execution_options(synchronize_session=False))
        db.session.commit()
        count += result.rowcount or 0
    if folder.is_dir():
        stale = time.time() - STALE_PART_SECONDS
        for path in folder.glob("*.part"):
            try:
                if path.stat().st_mtime < stale:
                    path.unlink()
            except FileNotFoundError:
                pass
    if count:
        log.info("jobs: deleted the files of %s expired jobs", count)
    return count


# --- progress, for the page ----------------------------------------------------------------

def percent(job: ExportJob) -> int:
    """How far the job is, 0–100, from counted figures only: 2 while the figures are
    computed, then 5 + 90 × appendix rows laid out / rows, 96 while the parts are
    joined, 100 when done. Moves once per part of ``PDF_APPENDIX_CHUNK_ROWS`` rows."""
    if job.state in (JobState.DONE, JobState.EXPIRED):
        return 100
    if job.state == JobState.QUEUED or job.stage == JobStage.QUEUED:
        return 0
    if job.stage == JobStage.FIGURES:
        return 2
    if job.stage == JobStage.WRITING:
        return 96
    if job.stage == JobStage.DONE:
        return 100
    return 5 + int(90 * job.rows_done / job.rows_total) if job.rows_total else 5


# --- the in-process worker -----------------------------------------------------------------

_lock = threading.Lock()
_thread: threading.Thread | None = None
_again = threading.Event()


def start_worker_thread(app: Flask) -> bool:
    """Make sure a worker thread of this process runs the due jobs (``JOBS_IN_PROCESS``).

    Starts a daemon thread that runs :func:`run_all_due` in its own app context and
    ends when nothing is due; if one is running already, asks it to look once more
    before it ends (so a job committed while it was finishing is not missed). Call
    after the job's row is committed.

    :returns: False when ``JOBS_IN_PROCESS`` is off (a ``flask run-jobs`` worker runs
        the jobs), True otherwise.
    """
    global _thread
    if not app.config.get("JOBS_IN_PROCESS", True):
        return False
    with _lock:
        if _thread is not None and _thread.is_alive():
            _again.set()
            return True
        _again.clear()
        _thread = threading.Thread(target=_thread_main, args=(app,), name="hpsmart-jobs", daemon=True)
        _thread.start()
    return True


def _thread_main(app: Flask) -> None:
    global _thread
    while True:
        try:
            with app.app_context():
                try:
                    run_all_due()
                finally:
                    db.session.remove()
        except Exception as error:  # the thread must not die silently with jobs half-claimed
            log.error("jobs: the in-process worker stopped (%s)", type(error).__name__)
        with _lock:
            if not _again.is_set():
                if _thread is threading.current_thread():
                    _thread = None
                return
            _again.clear()


__all__ = ["ExportJob", "JobRefused", "KIND_SUMMARY_PDF", "LeaseLost", "RunSummary", "SummaryRequest", "can_see",
           "claim", "due_ids", "export_folder", "file_path", "is_due", "percent", "purge_expired", "queue_summary_pdf",
           "run_all_due", "run_due", "run_job", "start_worker_thread", "summary_request"]
