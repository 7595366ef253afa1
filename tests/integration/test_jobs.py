"""The PDF report with a long appendix, made by a background job: asked for over HTTP, run by
the worker (synchronously here), followed on its page, downloaded by its owner only; leases,
a dead worker, retention, the CLI worker, refusals with 422; SQLite and PostgreSQL."""
from __future__ import annotations

import re
import threading
from datetime import date, datetime, timedelta, timezone

import pytest

from hpsmart.models import ExportJob, JobStage, JobState
from hpsmart.pdf.summary import SummaryOptions
from hpsmart.services import jobs
from hpsmart.services import statistics as st

from .. import factories
from ..conftest import csrf_token
from .test_pdf import flat, read

OCTOBER = "from=2026-10-01&to=2026-10-31"
ROWS = 9


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture()
def settings(app, monkeypatch):
    """Small limits so that a few reports make a long appendix in several parts; no thread."""
    for key, value in {"PDF_APPENDIX_DIRECT_ROWS": 2, "PDF_APPENDIX_CHUNK_ROWS": 4, "PDF_APPENDIX_MAX_ROWS": 50,
                       "JOBS_IN_PROCESS": False, "JOB_LEASE_SECONDS": 120, "JOB_MAX_ATTEMPTS": 3,
                       "JOB_RETENTION_HOURS": 72, "JOBS_PER_USER": 3}.items():
        monkeypatch.setitem(app.config, key, value)
    return app.config


@pytest.fixture()
def october(db):
    return [factories.report(created_at=utc(2026, 10, 1 + i, 2, i),
                             title=f"Phản ánh số {i:02d}: vỉa hè bị lấn chiếm, xe máy đỗ tràn xuống lòng đường "
                                   f"gây ùn tắc giờ cao điểm ở phố Lạch Tray")
            for i in range(ROWS)]


def queue(client, query: str = OCTOBER, **extra):
    """Ask for the document as a person does: the PDF form (GET), then the offered button (POST)."""
    offer = client.get(f"/reports/summary.pdf?{query}&appendix=y")
    assert offer.status_code == 200 and offer.mimetype == "text/html", offer.text[:300]
    assert 'action="/summary/jobs"' in offer.text and 'method="post"' in offer.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', offer.text))
    assert fields["appendix"] == "y" and fields["from"] == "2026-10-01"
    fields.update(extra)
    return client.post("/summary/jobs", data=fields)


def download(client, number: int):
    """GET the job's file and close the response (send_file keeps the file open until then)."""
    response = client.get(f"/summary/jobs/{number}/download")
    response.get_data()
    response.close()
    return response


def job_id(response) -> int:
    assert response.status_code == 303, response.text[:500]
    match = re.fullmatch(r"/summary/jobs/(\d+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def test_queue_run_follow_and_download(client, users, login_as, settings, october):
    login_as("ioc_operator")
    number = job_id(queue(client))
    page = client.get(f"/summary/jobs/{number}")
    assert page.status_code == 200
    assert "Đang chờ" in page.text and 'value="0"' in page.text  # waiting, 0 %
    assert f'hx-get="/summary/jobs/{number}"' in page.text and 'hx-trigger="every 2s"' in page.text
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in page.text
    assert "Tải lại" in page.text  # the reload link without JavaScript
    fragment = client.get(f"/summary/jobs/{number}", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="job-status"') and "<html" not in fragment.text

    summary = jobs.run_due()
    assert summary.done == 1 and summary.claimed_ids == [number]

    done = client.get(f"/summary/jobs/{number}")
    assert "hx-trigger" not in done.text and "http-equiv" not in done.text
    assert "Đã sẵn sàng" in done.text and 'value="100"' in done.text
    assert f'href="/summary/jobs/{number}/download"' in done.text
    file = download(client, number)
    assert file.status_code == 200 and file.mimetype == "application/pdf"
    assert file.headers["Content-Disposition"].startswith("attachment;")
    assert "bao-cao-phan-anh-thang-10-2026.pdf" in file.headers["Content-Disposition"]
    pages = read(file.data)
    everything = flat(" ".join(p.text for p in pages))
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in everything and "PHỤ LỤC" in everything
    lines = st.report_lines(date(2026, 10, 1), date(2026, 10, 31))
    assert len(lines) == ROWS
    for n, line in enumerate(lines, start=1):
        holders = [p for p in pages if line.tracking_code in p.text]
        assert len(holders) == 1, line.tracking_code  # each row once, never split
        assert flat(f"{n} {line.tracking_code}") in holders[0].flat
    # Parts of 4 rows joined into one document: page numbers run on from 2, the header repeats.
    assert pages[0].margin == []
    assert [[t for t, _ in p.margin] for p in pages[1:]] == [[str(n)] for n in range(2, len(pages) + 1)]
    first_row = next(i for i, p in enumerate(pages) if lines[0].tracking_code in p.text)
    for page in pages[first_row:]:
        assert "Mã phản ánh" in page.text and "STT" in page.text
    job = factories.db.session.get(ExportJob, number)
    assert job.state == JobState.DONE and job.rows_done == job.rows_total == ROWS and job.pages == len(pages)
    assert job.expires_at - job.finished_at == timedelta(hours=72)


def test_the_page_tells_each_stage(client, users, login_as, settings, october):
    user = login_as("ioc_operator")
    job, created = jobs.queue_summary_pdf(user, jobs.SummaryRequest(
        date(2026, 10, 1), date(2026, 10, 31), options=SummaryOptions(appendix=True)))
    assert created and job.rows_total == ROWS
    factories.db.session.commit()
    lease = jobs.claim(job.id, jobs.utcnow())
    assert lease is not None
    factories.db.session.get(ExportJob, job.id).stage = JobStage.LAYOUT
    job.rows_done, job.pages = 4, 3
    factories.db.session.commit()
    page = client.get(f"/summary/jobs/{job.id}").text
    assert "Đang chuẩn bị" in page and "Đang dàn trang" in page
    assert "Đã dàn trang 4 trên 9 dòng của phụ lục, được 3 trang." in page
    assert f'value="{5 + int(90 * 4 / 9)}"' in page and "hx-trigger" in page

    job.state, job.error = JobState.FAILED, "worker_stopped"
    factories.db.session.commit()
    page = client.get(f"/summary/jobs/{job.id}").text
    assert 'class="error"' in page and "dừng nhiều lần" in page and "hx-trigger" not in page
    listing = client.get("/summary/jobs").text
    assert f"/summary/jobs/{job.id}" in listing


def test_only_the_owner_and_admins_see_a_job(client, app, users, auth, login_as, settings, october):
    owner = login_as("ioc_operator")
    number = job_id(queue(client))
    jobs.run_due()
    assert download(client, number).status_code == 200
    auth.logout()
    other = factories.user("ioc_operator")
    assert auth.login(other.email).status_code == 303
    assert client.get(f"/summary/jobs/{number}").status_code == 404
    assert download(client, number).status_code == 404
    assert f"/summary/jobs/{number}" not in client.get("/summary/jobs").text
    auth.logout()
    assert auth.login(users["admin"].email).status_code == 303
    assert client.get(f"/summary/jobs/{number}").status_code == 200
    assert download(client, number).status_code == 200
    assert owner.id != other.id
    auth.logout()
    assert client.get(f"/summary/jobs/{number}").status_code == 302  # anonymous: to the login page


def test_bad_input_is_refused_with_422(client, users, login_as, settings, october):
    login_as("agency_lead")
    token = csrf_token(client, "/summary/")
    bad = {"csrf_token": token, "from": "2026-13-01", "to": "2026-10-31", "appendix": "y"}
    response = client.post("/summary/jobs", data=bad)
    assert response.status_code == 422 and 'class="error"' in response.text
    other_agency = factories.agency("Sở Y tế").id
    response = client.post("/summary/jobs", data={**bad, "from": "2026-10-01", "agency": str(other_agency)})
    assert response.status_code == 422
    response = client.post("/summary/jobs", data={**bad, "from": "2026-10-01", "notable": "HP-1999-999999"})
    assert response.status_code == 422
    assert client.post("/summary/jobs", data={"from": "2026-10-01", "appendix": "y"}).status_code == 400  # no CSRF
    assert factories.db.session.query(ExportJob).count() == 0


def test_an_appendix_over_the_hard_limit_is_refused(client, users, login_as, settings, october, monkeypatch):
    login_as("ioc_operator")
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
                             client.get(f"/reports/summary.pdf?{OCTOBER}&appendix=y").text))
    monkeypatch.setitem(settings, "PDF_APPENDIX_MAX_ROWS", ROWS - 1)
    response = client.post("/summary/jobs", data=fields)
    assert response.status_code == 422 and "tối đa" in response.text and 'class="error"' in response.text
    offer = client.get(f"/reports/summary.pdf?{OCTOBER}&appendix=y")
    assert offer.status_code == 422 and 'class="error"' in offer.text and "<details class=\"pdf\" open>" in offer.text
    assert client.get(f"/reports/summary.pdf?{OCTOBER}").mimetype == "application/pdf"  # without the appendix


def test_the_same_request_reuses_its_job_and_there_is_a_limit_per_person(client, users, login_as, settings,
                                                                       october, monkeypatch):
    login_as("ioc_operator")
    first = job_id(queue(client))
    assert job_id(queue(client)) == first
    monkeypatch.setitem(settings, "JOBS_PER_USER", 1)
    response = queue(client, "from=2026-10-01&to=2026-10-30")
    assert response.status_code == 422 and "đang được chuẩn bị" in response.text


def test_a_job_whose_worker_died_is_taken_up_after_its_lease(app, users, settings, october):
    user = users["ioc_operator"]
    job, _ = jobs.queue_summary_pdf(user, jobs.SummaryRequest(date(2026, 10, 1), date(2026, 10, 31),
                                                              options=SummaryOptions(appendix=True)))
    factories.db.session.commit()
    start = jobs.utcnow()
    dead = jobs.claim(job.id, start)  # a worker took it, then died
    assert dead is not None
    assert jobs.run_due(now=start + timedelta(seconds=60)).claimed_ids == []  # its lease still holds
    later = start + timedelta(seconds=121)
    summary = jobs.run_due(now=later)
    assert summary.done == 1 and summary.claimed_ids == [job.id]
    job = factories.db.session.get(ExportJob, job.id)
    assert job.state == JobState.DONE and job.attempts == 2 and jobs.file_path(job) is not None
    # The dead worker, had it come back, could not write: its lease is gone.
    assert jobs.run_job(job.id, dead, clock=lambda: later) is None
    assert factories.db.session.get(ExportJob, job.id).state == JobState.DONE


def test_a_job_given_up_after_its_last_attempt(app, users, settings, october):
    job, _ = jobs.queue_summary_pdf(users["admin"], jobs.SummaryRequest(date(2026, 10, 1), date(2026, 10, 31),
                                                                         options=SummaryOptions(appendix=True)))
    factories.db.session.commit()
    at = jobs.utcnow()
    for attempt in range(3):
        assert jobs.claim(job.id, at) is not None
        at += timedelta(seconds=200)
    summary = jobs.run_due(now=at)
    assert summary.claimed_ids == []
    job = factories.db.session.get(ExportJob, job.id)
    assert job.state == JobState.FAILED and job.error == "worker_stopped"


def test_files_are_deleted_after_the_retention_period(client, users, login_as, settings, october):
    login_as("ioc_operator")
    number = job_id(queue(client))
    jobs.run_due()
    job = factories.db.session.get(ExportJob, number)
    path = jobs.file_path(job)
    assert path is not None and path.is_file() and path.parent.name == "exports"
    stale_part = path.parent / "0-dead.pdf.part"
    stale_part.write_bytes(b"half")
    import os
    os.utime(stale_part, (0, 0))
    summary = jobs.run_due(now=job.expires_at + timedelta(seconds=1))
    assert summary.purged == 1 and not path.exists() and not stale_part.exists()
    assert factories.db.session.get(ExportJob, number).state == JobState.EXPIRED
    assert download(client, number).status_code == 404
    assert "Tệp đã bị xóa" in client.get(f"/summary/jobs/{number}").text


def test_the_cli_worker_runs_the_due_jobs(runner, users, settings, october):
    job, _ = jobs.queue_summary_pdf(users["ioc_operator"], jobs.SummaryRequest(
        date(2026, 10, 1), date(2026, 10, 31), options=SummaryOptions(appendix=True)))
    factories.db.session.commit()
    result = runner.invoke(args=["run-jobs", "--once"])
    assert result.exit_code == 0, result.output
    assert "Jobs: 1 done, 0 failed" in result.output
    assert factories.db.session.get(ExportJob, job.id).state == JobState.DONE
    assert runner.invoke(args=["run-jobs", "--once"]).output == ""  # silent when idle


def test_the_in_process_worker_thread(app, monkeypatch):
    calls = []
    finished = threading.Event()

    def fake_run_all_due(**_):
        calls.append(threading.current_thread().name)
        finished.set()
        return jobs.RunSummary()

    monkeypatch.setattr(jobs, "run_all_due", fake_run_all_due)
    monkeypatch.setitem(app.config, "JOBS_IN_PROCESS", False)
    assert jobs.start_worker_thread(app) is False and calls == []
    monkeypatch.setitem(app.config, "JOBS_IN_PROCESS", True)
    assert jobs.start_worker_thread(app) is True
    assert finished.wait(10)
    thread = jobs._thread
    if thread is not None:
        thread.join(10)
    assert calls and calls[0] == "hpsmart-jobs"


def test_parameters_survive_the_round_trip():
    request = jobs.SummaryRequest(date(2026, 10, 1), date(2026, 10, 31),
                                  st.StatFilters(agency_id=3, channel=st.Channel.APP),
                                  SummaryOptions(number="7", notable_ids=(4, 5), appendix=True, recipients=("A", "B"),
                                                 issued_on=date(2026, 11, 2)))
    assert jobs.SummaryRequest.from_params(request.to_params()) == request
