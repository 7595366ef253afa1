"""``flask run-jobs``: the worker of background jobs (hpsmart/services/jobs.py) for production."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..cli import needs_database, run_worker


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
    from ..services.jobs import run_all_due

    def step(should_stop) -> str | None:
        summary = run_all_due(should_stop=should_stop)
        if summary.claimed_ids or summary.purged:
            return (f"Jobs: {summary.done} done, {summary.failed} failed, {summary.lost} taken over by another "
                    f"worker; {summary.purged} expired files deleted.")
        return None

    run_worker(step, once=once, interval=interval,
               started=f"Running background jobs, looking every {interval:g} s; stop with SIGTERM or Ctrl+C.")
