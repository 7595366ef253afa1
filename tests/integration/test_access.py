"""Access rules: every URL against every role and anonymous, as the permission table says.

EXPECTED lists, for each endpoint, who may open it: ``PUBLIC`` or a set of roles.
A logged-in user without the permission gets 403; anonymous users get a redirect
to the login page. A test also checks that every endpoint of the app is listed
here, so a new page cannot ship without its access rule.
"""
import pytest

from hpsmart.models import Role
from hpsmart.permissions import ROLE_PERMISSIONS

from .. import factories

PUBLIC = "public"
ANONYMOUS_ONLY = "anonymous only"  # logged-in users are sent to their home page
ALL_ROLES = {r.value for r in Role}
INBOX_ROLES = {"admin", "ioc_operator", "agency_staff", "agency_lead"}

# endpoint -> (URL template, who may GET it). {code} is a report visible to staff of Sở Xây dựng.
EXPECTED = {
    "public.index": ("/", PUBLIC),
    "public.health": ("/healthz", PUBLIC),
    "intake.new_report": ("/report/new", PUBLIC),
    "intake.submitted": ("/report/{code}/submitted", PUBLIC),
    "intake.track": ("/track", PUBLIC),
    "public_reports.index": ("/reports", PUBLIC),
    "public_reports.overview": ("/reports/overview", PUBLIC),
    "auth.login": ("/login", ANONYMOUS_ONLY),
    "account.settings": ("/account/", ALL_ROLES),
    "inbox.index": ("/inbox/", INBOX_ROLES),
    "summary.index": ("/summary/", {"admin", "ioc_operator", "agency_lead"}),
    "summary.pdf": ("/reports/summary.pdf?from=2026-11-01&to=2026-11-30", {"admin", "ioc_operator", "agency_lead"}),
    "summary.export_xlsx": ("/reports/summary.xlsx?from=2026-11-01&to=2026-11-30",
                            {"admin", "ioc_operator", "agency_lead"}),
    "summary.export_csv": ("/reports/summary-agencies.csv?from=2026-11-01&to=2026-11-30",
                           {"admin", "ioc_operator", "agency_lead"}),
    "summary.jobs_list": ("/summary/jobs", {"admin", "ioc_operator", "agency_lead"}),
    "report.view": ("/inbox/reports/{code}", INBOX_ROLES),
    "answers.panel": ("/inbox/reports/{code}/answer", INBOX_ROLES),
    "answers.approvals": ("/inbox/approvals", {"admin", "agency_lead"}),
    "answers.settings": ("/inbox/answer-settings", {"admin", "agency_lead"}),
    "answers.canned_new": ("/inbox/answer-settings/canned/new", {"admin", "agency_lead"}),
    "community.index": ("/community/", {"admin", "ioc_operator", "community_member"}),
    "community.new_report": ("/community/report/new", {"admin", "ioc_operator", "community_member"}),
    "community.submitted": ("/community/report/{code}/submitted", {"admin", "ioc_operator", "community_member"}),
    "admin.index": ("/admin/", {"admin"}),
    "admin.users": ("/admin/users", {"admin"}),
    "admin.agencies": ("/admin/agencies", {"admin"}),
    "admin.units": ("/admin/units", {"admin"}),
    "admin.categories": ("/admin/categories", {"admin"}),
    "admin.api_clients": ("/admin/api-clients", {"admin"}),
    "admin.new_api_client": ("/admin/api-clients/new", {"admin"}),
    "admin.outbox": ("/admin/outbox", {"admin"}),
    "open311.index": ("/open311/", PUBLIC),
    "open311.openapi": ("/open311/v2/openapi.json", PUBLIC),
    "open311.services": ("/open311/v2/services.json", PUBLIC),
    "open311.list_requests": ("/open311/v2/requests.json", PUBLIC),
    "open311.get_request": ("/open311/v2/requests/{code}.json", PUBLIC),
}
# Endpoints that only take POST; checked by their own tests.
POST_ONLY = {"auth.logout", "public.set_language", "admin.revoke_api_client", "open311.create_request",
             # the citizen's opinion on the answer: tests/integration/test_feedback.py
             "public_reports.feedback",
             # the outbox's retry button: tests/integration/test_notifications.py
             "admin.retry_outbox_message",
             # the report view's forms and heartbeat: tests/integration/test_report_view.py
             "report.act", "report.update_fields", "report.add_note", "report.heartbeat",
             # the inbox list's saved views and bulk actions: tests/integration/test_inbox.py
             "inbox.save_view", "inbox.delete_view", "inbox.bulk",
             # the answer panel's forms, the lead's review and the settings: tests/integration/test_answers.py
             "answers.save", "answers.autosave", "answers.file_action", "answers.approve", "answers.send_back",
             "answers.update_approval",
             # asking for the PDF report with a long appendix: tests/integration/test_jobs.py
             "summary.queue_job"}
NOT_PAGES = {"static", "media.public_copy", "media.thumbnail", "media.original",  # files: test_media.py
             # a report's public page, 404 until its answer is published: test_public_pages.py
             "public_reports.detail",
             # an answer's PDF (public once published) and a canned answer's page (needs an id): test_answers.py
             "answers.document", "answers.canned_edit",
             # Open311 answers that are 404 without metadata or a token: test_open311.py
             "open311.service_definition", "open311.token", "open311.not_found",
             # a background job's page and file (need a job; owner and admins only): test_jobs.py
             "summary.job", "summary.job_download"}

CASES = [(endpoint, role) for endpoint in EXPECTED for role in ["anonymous", *sorted(ALL_ROLES)]]


def test_every_endpoint_has_an_access_rule(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    missing = endpoints - set(EXPECTED) - POST_ONLY - NOT_PAGES
    assert not missing, f"add these endpoints to EXPECTED: {sorted(missing)}"


def test_expected_table_agrees_with_permission_table(app):
    """Each guarded view's role set is what ROLE_PERMISSIONS gives for its permission."""
    for endpoint, (_, allowed) in EXPECTED.items():
        permission = getattr(app.view_functions[endpoint], "required_permission", None)
        if allowed in (PUBLIC, ANONYMOUS_ONLY):
            assert permission is None, endpoint
            continue
        assert permission is not None, f"{endpoint} has no @requires guard"
        granted = {role.value for role, perms in ROLE_PERMISSIONS.items() if permission in perms}
        assert granted == allowed, endpoint


@pytest.mark.parametrize(("endpoint", "role"), CASES, ids=[f"{e}-{r}" for e, r in CASES])
def test_access(client, users, login_as, endpoint, role):
    report = factories.report(agency=factories.agency("Sở Xây dựng"))
    template, allowed = EXPECTED[endpoint]
    url = template.format(code=report.tracking_code)
    if role != "anonymous":
        login_as(role)
    response = client.get(url)
    if allowed == ANONYMOUS_ONLY:
        assert response.status_code == (200 if role == "anonymous" else 302), (url, role)
    elif allowed == PUBLIC or (role != "anonymous" and role in allowed):
        assert response.status_code == 200, (url, role, response.status_code)
    elif role == "anonymous":
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")
    else:
        assert response.status_code == 403, (url, role, response.status_code)
        assert "<h1>" in response.text  # the localized error page, not a bare status


def test_htmx_request_with_expired_session_gets_hx_redirect(client):
    response = client.get("/inbox/", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login?next=")
    assert "<form" not in response.text


def test_staff_cannot_see_reports_of_other_agencies(client, users, login_as):
    other = factories.report(agency=factories.agency("Sở Y tế"))
    mine = factories.report(agency=factories.agency("Sở Xây dựng"))
    login_as("agency_staff")
    assert client.get(f"/inbox/reports/{other.tracking_code}").status_code == 404
    assert client.get(f"/inbox/reports/{mine.tracking_code}").status_code == 200
    listing = client.get("/inbox/").text
    assert mine.tracking_code in listing and other.tracking_code not in listing
