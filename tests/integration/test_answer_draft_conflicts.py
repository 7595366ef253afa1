"""Two staff members editing the same answer draft: a save from a form rendered before the
other's save is refused (409) with the other text shown beside what was typed, never a
silent overwrite; saving again from the re-rendered form is a deliberate choice."""
from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import select

from hpsmart.models import ReportStatus as S, Response, ResponseState
from hpsmart.services import answers
from hpsmart.services.answers import DraftConflictError

from .. import factories
from ..html_forms import form_data
from .test_answers import (HX, _english, _separate_browsers, answer_form, construction, login_client,  # noqa: F401
                           panel_url, routed, textarea_value)

FIRST = "Đội duy tu đã kiểm tra hiện trường, sẽ vá ổ gà trong tuần này."
SECOND = "Đã vá xong ổ gà trước số 7 Lạch Tray."


def draft(db, report) -> Response | None:
    db.session.expire_all()
    return db.session.scalar(select(Response).where(Response.report_id == report.id).order_by(Response.id.desc()))


def seen_in(html: str) -> str:
    """The ``draft_seen`` value a page or a status fragment carries."""
    return unescape(re.search(r'name="draft_seen" value="([^"]*)"', html).group(1))


@pytest.fixture()
def two_staff(app, db, users):
    """Two staff members of Sở Xây dựng, each in their own browser: ``(a, b, a_user, b_user)``."""
    a_user = users["agency_staff"]
    b_user = factories.user("agency_staff", name="Vũ Thị Hạnh", language="en")
    return login_client(app, a_user), login_client(app, b_user), a_user, b_user


def test_a_stale_draft_save_is_a_conflict_showing_the_other_text(db, routed, two_staff):
    a, b, a_user, b_user = two_staff
    form_a, form_b = answer_form(a, routed), answer_form(b, routed)
    assert form_a["draft_seen"] == form_b["draft_seen"] == ""  # no draft yet

    form_a.update(body=FIRST, outcome="scheduled", action="draft")
    assert a.post(panel_url(routed), data=form_a).status_code == 303
    saved = draft(db, routed)
    assert saved.body == FIRST and saved.author_id == a_user.id

    form_b.update(body=SECOND, outcome="resolved", action="draft")
    conflict = b.post(panel_url(routed), data=form_b)
    assert conflict.status_code == 409
    assert draft(db, routed).body == FIRST  # nothing overwritten
    shown = unescape(conflict.text)
    assert 'class="conflict draft-conflict" role="alert"' in conflict.text
    assert "Someone else saved this answer while you were editing it." in shown
    assert a_user.name in shown and FIRST in shown  # who, and their text
    assert textarea_value(conflict.text, "body") == SECOND  # what B typed, still in the form
    retry = form_data(conflict.text, panel_url(routed))
    assert retry["outcome"] == "resolved"
    assert retry["draft_seen"] == answers.draft_version(draft(db, routed)) != form_b["draft_seen"]

    # B has seen both texts: saving again is their choice, and it is kept.
    retry.update(body=f"{FIRST}\n{SECOND}", action="draft")
    assert b.post(panel_url(routed), data=retry).status_code == 303
    saved = draft(db, routed)
    assert saved.body == f"{FIRST}\n{SECOND}" and saved.author_id == b_user.id

    # Now A's page is the stale one.
    form_a.update(body="Ghi đè", action="draft")
    assert a.post(panel_url(routed), data=form_a).status_code == 409
    assert draft(db, routed).body == f"{FIRST}\n{SECOND}"


def test_autosave_moves_the_version_on_and_a_stale_autosave_is_refused(db, routed, two_staff):
    a, b, a_user, _b_user = two_staff
    form_a, form_b = answer_form(a, routed), answer_form(b, routed)

    form_a.update(body=FIRST)
    saved = a.post(panel_url(routed, "/draft"), data=form_a, headers=HX)
    assert saved.status_code == 200
    form_a["draft_seen"] = seen_in(saved.text)  # htmx swaps the status block, with its hidden input
    assert form_a["draft_seen"] == answers.draft_version(draft(db, routed))
    form_a.update(body=FIRST + " Dự kiến xong thứ Sáu.")
    again = a.post(panel_url(routed, "/draft"), data=form_a, headers=HX)
    assert again.status_code == 200  # one's own autosaves never conflict
    form_a["draft_seen"] = seen_in(again.text)

    form_b.update(body=SECOND)
    for _ in range(2):  # every later autosave of the stale page is refused too
        refused = b.post(panel_url(routed, "/draft"), data=form_b, headers=HX)
        assert refused.status_code == 409
        assert refused.text.lstrip().startswith('<p id="draft-status"')
        assert a_user.name in unescape(refused.text)
        assert seen_in(refused.text) == form_b["draft_seen"] == ""
        assert draft(db, routed).body == FIRST + " Dự kiến xong thứ Sáu."

    # "Save draft" from the stale page: both texts in view, then a deliberate save.
    form_b["action"] = "draft"
    conflict = b.post(panel_url(routed), data=form_b)
    assert conflict.status_code == 409 and FIRST in unescape(conflict.text)
    assert b.post(panel_url(routed), data=form_data(conflict.text, panel_url(routed))).status_code == 303
    assert draft(db, routed).body == SECOND


def test_sending_from_a_stale_page_sends_nothing(db, routed, two_staff):
    a, b, _a_user, _b_user = two_staff
    form_a, form_b = answer_form(a, routed), answer_form(b, routed)
    form_a.update(body=FIRST, outcome="scheduled", action="draft")
    assert a.post(panel_url(routed), data=form_a).status_code == 303
    form_b.update(body=SECOND, outcome="resolved", action="submit")
    assert b.post(panel_url(routed), data=form_b).status_code == 409
    assert draft(db, routed).state == ResponseState.DRAFT and draft(db, routed).body == FIRST
    db.session.expire_all()
    assert routed.status == S.ROUTED


def test_a_file_action_from_a_stale_form_changes_nothing(db, routed, two_staff):
    a, b, _a_user, _b_user = two_staff
    photo = factories_photo(db, routed)
    form_a, page_b = answer_form(a, routed), b.get(panel_url(routed)).text
    form_a.update(body=FIRST, action="draft")
    assert a.post(panel_url(routed), data=form_a).status_code == 303
    action = panel_url(routed).replace("/answer", f"/files/{photo.id}/hide")
    data = form_data(page_b, panel_url(routed))
    data.update(body=SECOND)
    response = b.post(action, data=data)
    assert response.status_code == 409 and FIRST in unescape(response.text)
    db.session.expire_all()
    assert not photo.hidden and draft(db, routed).body == FIRST


def factories_photo(db, report):
    """A reporter's photo row of ``report`` (no files: hiding only flips a flag)."""
    from hpsmart.models import Attachment

    photo = Attachment(report=report, purpose="report", kind="photo", original_path="originals/aa/bb/x.jpg",
                       public_path="public/aa/bb/" + "1" * 32 + ".jpg", thumb_path="thumb/aa/bb/" + "2" * 32 + ".jpg",
                       content_type="image/jpeg")
    db.session.add(photo)
    db.session.flush()
    return photo


def test_the_service_refuses_a_stale_version_and_none_skips_the_check(db, users, routed):
    staff = users["agency_staff"]
    with pytest.raises(DraftConflictError) as refused:
        answers.save_draft(routed, staff, FIRST, seen_version="1:2")  # a draft that never was
    assert refused.value.response is None
    response, _changes = answers.save_draft(routed, staff, FIRST, seen_version="")
    version = answers.draft_version(response)
    assert re.fullmatch(rf"{response.id}:\d+", version)
    with pytest.raises(DraftConflictError) as refused:
        answers.save_draft(routed, staff, SECOND, seen_version="")
    assert refused.value.response.body == FIRST
    response, _changes = answers.save_draft(routed, staff, SECOND, seen_version=version)
    in_memory = answers.draft_version(response)
    assert response.body == SECOND and in_memory != version
    db.session.expire_all()  # the version survives the round trip through the database
    assert answers.draft_version(db.session.get(Response, response.id)) == in_memory
    answers.save_draft(routed, staff, "Không kiểm tra phiên bản")  # seen_version None: no check
