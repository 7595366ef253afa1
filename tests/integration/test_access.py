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
    "auth.login": ("/login", ANONYMOUS_ONLY),
    "account.settings": ("/account/", ALL_ROLES),
    "inbox.index": ("/inbox/", INBOX_ROLES),
    "inbox.report": ("/inbox/reports/{code}", INBOX_ROLES),
    "community.index": ("/community/", {"admin", "ioc_operator", "community_member"}),
    "admin.index": ("/admin/", {"admin"}),
    "admin.users": ("/admin/users", {"admin"}),
    "admin.agencies": ("/admin/agencies", {"admin"}),
    "admin.units": ("/admin/units", {"admin"}),
    "admin.categories": ("/admin/categories", {"admin"}),
}
# Endpoints that only take POST; checked by their own tests.
POST_ONLY = {"auth.logout", "public.set_language"}
NOT_PAGES = {"static", "media.public_copy", "media.thumbnail", "media.original"}  # files: test_media.py

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
