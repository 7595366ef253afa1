"""After a conflict (stale report version) the report view is re-rendered from the report as it
is now: the other person's change stands, the forms carry the new version, what the person
sent stays visible, and saving again is their deliberate choice, never a silent undo."""
from __future__ import annotations

from html import unescape

import pytest

from hpsmart.models import ReportStatus as S, Urgency

from .. import factories
from ..html_forms import form_data
from .test_report_view import _separate_browsers, login_client, reload, url  # noqa: F401  (fixture)


def fields_of(page_html: str, report) -> dict:
    return form_data(page_html, url(report, "/fields"))


def test_status_change_from_a_stale_page_then_saving_again_keeps_the_other_change(app, db, users):
    """A changes the category; B sends a status change from the stale page: conflict, A's
    change stands; B's re-rendered page holds A's category and the new version; B sending
    the re-rendered form succeeds and does not undo A."""
    report = factories.report()
    a = login_client(app, users["ioc_operator"])
    b = login_client(app, factories.user("ioc_operator", name="Trần Thị Bích"))
    page_a, page_b = a.get(url(report)).text, b.get(url(report)).text
    first_version = int(fields_of(page_b, report)["fields-version"])

    change = fields_of(page_a, report)
    change["fields-category"] = "ve_sinh_moi_truong"
    assert a.post(url(report, "/fields"), data=change).status_code == 303
    new_version = reload(db, report).version
    assert new_version > first_version

    stale = form_data(page_b, url(report, "/actions/reject"))
    stale.update({"reject-reason": "insufficient_information", "reject-note": "Không rõ vị trí"})
    conflict = b.post(url(report, "/actions/reject"), data=stale)
    assert conflict.status_code == 409
    shown = unescape(conflict.text)
    assert users["ioc_operator"].name in shown  # who
    assert "Lĩnh vực: Giao thông → Vệ sinh môi trường" in shown  # which field, old → new
    assert reload(db, report).status == S.NEW and reload(db, report).category.code == "ve_sinh_moi_truong"

    # The re-rendered page is the current report: A's category, the new version, B's note.
    edit = fields_of(conflict.text, report)
    assert edit["fields-category"] == "ve_sinh_moi_truong"
    assert edit["fields-version"] == str(new_version)
    retry = form_data(conflict.text, url(report, "/actions/reject"))
    assert retry["reject-version"] == str(new_version)
    assert retry["reject-note"] == "Không rõ vị trí" and retry["reject-reason"] == "insufficient_information"

    assert b.post(url(report, "/actions/reject"), data=retry).status_code == 303
    report = reload(db, report)
    assert report.status == S.REJECTED
    assert report.category.code == "ve_sinh_moi_truong"  # not undone


def test_stale_edit_is_re_rendered_from_the_current_report_with_the_attempt_beside(app, db, users):
    """B edits urgency and category from a stale page while A changed the category: the
    form comes back with A's category (B's shown beside it, not saved) and B's urgency
    (a field nobody else touched); sending that form keeps A's category."""
    report = factories.report(address="12 Lạch Tray")
    a = login_client(app, users["ioc_operator"])
    b = login_client(app, factories.user("ioc_operator", name="Phan Văn Cường"))
    page_a, page_b = a.get(url(report)).text, b.get(url(report)).text

    change = fields_of(page_a, report)
    change["fields-category"] = "ve_sinh_moi_truong"
    assert a.post(url(report, "/fields"), data=change).status_code == 303

    mine = fields_of(page_b, report)
    mine.update({"fields-category": "dien_chieu_sang", "fields-urgency": "urgent",
                 "fields-address": "12 Lạch Tray (trước cổng chợ)"})
    conflict = b.post(url(report, "/fields"), data=mine)
    assert conflict.status_code == 409
    report = reload(db, report)
    assert report.category.code == "ve_sinh_moi_truong" and report.urgency == Urgency.NORMAL
    assert report.address == "12 Lạch Tray"

    shown = unescape(conflict.text)
    assert users["ioc_operator"].name in shown and "Giao thông → Vệ sinh môi trường" in shown
    edit = fields_of(conflict.text, report)
    assert edit["fields-version"] == str(report.version)
    assert edit["fields-category"] == "ve_sinh_moi_truong"  # the other person's change, as it is now
    assert edit["fields-urgency"] == "urgent"  # B's own changes to untouched fields are kept
    assert edit["fields-address"] == "12 Lạch Tray (trước cổng chợ)"
    assert 'data-field="category"' in conflict.text  # B's category, shown beside the field
    assert "Điện chiếu sáng" in shown.split('data-field="category"', 1)[1].split("</p>", 1)[0]
    assert 'data-field="urgency"' not in conflict.text

    assert b.post(url(report, "/fields"), data=edit).status_code == 303
    report = reload(db, report)
    assert report.category.code == "ve_sinh_moi_truong"  # A's change stands
    assert report.urgency == Urgency.URGENT and report.address == "12 Lạch Tray (trước cổng chợ)"


def test_choosing_ones_own_value_again_is_a_deliberate_save(app, db, users):
    report = factories.report()
    a = login_client(app, users["ioc_operator"])
    b = login_client(app, factories.user("ioc_operator"))
    page_a, page_b = a.get(url(report)).text, b.get(url(report)).text
    change = fields_of(page_a, report)
    change["fields-category"] = "ve_sinh_moi_truong"
    assert a.post(url(report, "/fields"), data=change).status_code == 303
    mine = fields_of(page_b, report)
    mine["fields-category"] = "dien_chieu_sang"
    conflict = b.post(url(report, "/fields"), data=mine)
    assert conflict.status_code == 409

    again = fields_of(conflict.text, report)
    again["fields-category"] = "dien_chieu_sang"  # B chooses their value again, seeing A's
    assert b.post(url(report, "/fields"), data=again).status_code == 303
    assert reload(db, report).category.code == "dien_chieu_sang"


@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}])
def test_conflict_on_the_agency_field_shows_the_current_agency(app, db, users, headers):
    construction, health, transport = (factories.agency(n) for n in ("Sở Xây dựng", "Sở Y tế", "Sở Công Thương"))
    report = factories.report(status=S.ROUTED, agency=construction)
    a = login_client(app, users["ioc_operator"])
    b = login_client(app, factories.user("ioc_operator"))
    page_a, page_b = a.get(url(report)).text, b.get(url(report)).text
    change = fields_of(page_a, report)
    change["fields-agency"] = str(health.id)
    assert a.post(url(report, "/fields"), data=change).status_code == 303
    mine = fields_of(page_b, report)
    mine["fields-agency"] = str(transport.id)
    token = mine["fields-csrf_token"]
    conflict = b.post(url(report, "/fields"), data=mine, headers={**headers, "X-CSRFToken": token})
    assert conflict.status_code == 409
    assert ("<html" in conflict.text) is not bool(headers)
    edit = fields_of(conflict.text, report)
    assert edit["fields-agency"] == str(health.id)
    assert "Sở Công Thương" in unescape(conflict.text).split('data-field="agency"', 1)[1].split("</p>", 1)[0]
    assert reload(db, report).agency == health
