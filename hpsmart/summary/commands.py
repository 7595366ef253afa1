"""``flask run-jobs``: the worker of background jobs (hpsmart/services/jobs.py) for production."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..cli import needs_database
from ..extensions import db


@click.command("run-jobs")
@click.option("--once", is_flag=True, help="Run every due job, then exit (for cron, e.g. every minute).")
@click.option("--interval", default=5.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Loop mode: seconds between looks for due jobs.")
@with_appcontext
@needs_database
def run_jobs_command(once: bool, interval: float) -> None:
    """Run the queued background jobs (PDF reports with a long appendix).

    With --once: run every job that is due and exit (printing nothing when none was
    due, as cron likes it). Without: keep looking every --interval seconds until
    SIGTERM or SIGINT (Ctrl+C); the job being made is finished first. Several workers
    may run at once (each job is claimed by one), and a job whose worker died is taken
    up again once its lease (JOB_LEASE_SECONDS) has run out. With such a worker, set
    JOBS_IN_PROCESS=false for the web processes. See hpsmart/services/jobs.py.
    """
    import signal
    import threading

    from sqlalchemy.exc import SQLAlchemyError

    from ..services.jobs import run_all_due

    stop = threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, lambda *_: stop.set())

    def run(first: bool) -> None:
        try:
            summary = run_all_due(should_stop=stop.is_set)
        except SQLAlchemyError as error:
            if first:
                raise  # not set up: needs_database says so
            db.session.rollback()
            click.echo(f"Database error ({type(error).__name__}); trying again in {interval:g} s.", err=True)
            return
        if summary.claimed_ids or summary.purged:  # silent when idle: cron mails any output
            click.echo(f"Jobs: {summary.done} done, {summary.failed} failed, {summary.lost} taken over by another "
                       f"worker; {summary.purged} expired files deleted.")

    try:
        run(first=True)
        if once:
            return
        click.echo(f"Running background jobs, looking every {interval:g} s; stop with SIGTERM or Ctrl+C.")
        while not stop.wait(interval):
            run(first=False)
        click.echo("Stopped.")
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
