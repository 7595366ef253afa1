"""The workflow state machine: legal moves, guards per role, history, stale pages."""
import pytest

from hpsmart.models import ReportStatus as S
from hpsmart.services import workflow
from hpsmart.services.workflow import ConflictError, WorkflowError

from .. import factories


@pytest.fixture()
def construction():
    return factories.agency("Sở Xây dựng")


def test_happy_path_writes_one_event_per_step(db, users, construction):
    report = factories.report()
    ioc, staff, lead = users["ioc_operator"], users["agency_staff"], users["agency_lead"]
    workflow.apply(report, ioc, "accept")
    assert report.status == S.ACCEPTED and report.accepted_at is not None and report.deadline > report.accepted_at
    workflow.apply(report, ioc, "route", agency=construction)
    workflow.apply(report, staff, "start")
    workflow.apply(report, staff, "answer")
    workflow.apply(report, lead, "publish")
    assert report.status == S.PUBLISHED and report.published_at is not None
    statuses = [(e.old_value, e.new_value) for e in report.events if e.action == "status"]
    assert statuses == [("new", "accepted"), ("accepted", "routed"), ("routed", "in_progress"),
                        ("in_progress", "answered"), ("answered", "published")]
    assert [e.action for e in report.events].count("agency") == 1


def test_routing_a_new_report_accepts_it_and_sets_the_deadline(db, users, construction):
    report = factories.report()
    workflow.apply(report, users["ioc_operator"], "route", agency=construction)
    assert report.accepted_at is not None and report.deadline is not None
    assert report.agency == construction


@pytest.mark.parametrize(("role", "name"), [
    ("agency_staff", "accept"), ("community_member", "accept"), ("agency_lead", "reject"),
    ("ioc_operator", "start"), ("agency_staff", "publish"),
])
def test_role_guards(db, users, construction, role, name):
    report = factories.report(status=S.ROUTED if name in ("start", "publish") else S.NEW, agency=construction)
    with pytest.raises(WorkflowError):
        workflow.apply(report, users[role], name, reason="x")
    assert report.status in (S.ROUTED, S.NEW)


def test_illegal_transition_is_refused_with_a_message(db, users):
    report = factories.report(status=S.PUBLISHED)
    with pytest.raises(WorkflowError) as info:
        workflow.apply(report, users["ioc_operator"], "accept")
    assert str(info.value)
    assert report.status == S.PUBLISHED and len(report.events) == 1


def test_staff_of_another_agency_cannot_act(db, users):
    report = factories.report(status=S.ROUTED, agency=factories.agency("Sở Y tế"))
    assert not workflow.can(users["agency_staff"], report, "start")
    with pytest.raises(WorkflowError):
        workflow.apply(report, users["agency_staff"], "start")


def test_reject_needs_a_reason(db, users):
    report = factories.report()
    with pytest.raises(WorkflowError):
        workflow.apply(report, users["ioc_operator"], "reject")
    event = workflow.apply(report, users["ioc_operator"], "reject", reason="out_of_scope",
                           note="Thuộc thẩm quyền Công ty Điện lực")
    assert report.status == S.REJECTED and "Điện lực" in event.note and event.public


def test_duplicate_links_to_the_first_original(db, users):
    first, second, third = factories.report(), factories.report(), factories.report()
    workflow.apply(second, users["ioc_operator"], "mark_duplicate", original=first)
    workflow.apply(third, users["ioc_operator"], "mark_duplicate", original=second)
    assert second.duplicate_of == first and third.duplicate_of == first
    with pytest.raises(WorkflowError):
        workflow.apply(factories.report(), users["ioc_operator"], "mark_duplicate", original=None)


def test_agency_returns_and_ioc_reroutes(db, users, construction):
    report = factories.report(status=S.ROUTED, agency=construction)
    workflow.apply(report, users["agency_staff"], "return_to_ioc", reason="wrong_agency")
    assert report.status == S.RETURNED
    workflow.apply(report, users["ioc_operator"], "route", agency=factories.agency("Sở Y tế"))
    assert report.status == S.ROUTED and report.agency.name == "Sở Y tế"


def test_citizen_reopens_a_published_report(db):
    report = factories.report(status=S.PUBLISHED)
    assert workflow.can(None, report, "reopen")
    workflow.apply(report, None, "reopen", note="Ổ gà vẫn còn")
    assert report.status == S.REOPENED


def test_lead_sends_an_answer_back(db, users, construction):
    report = factories.report(status=S.ANSWERED, agency=construction)
    workflow.apply(report, users["agency_lead"], "send_back", note="Thiếu ảnh sau khi sửa")
    assert report.status == S.IN_PROGRESS


def test_stale_version_is_a_conflict_showing_what_changed(db, users, construction):
    report = factories.report()
    seen = report.version
    workflow.apply(report, users["ioc_operator"], "accept", seen_version=seen)
    db.session.flush()
    with pytest.raises(ConflictError) as info:
        workflow.apply(report, users["ioc_operator"], "reject", reason="abusive", seen_version=seen)
    assert [e.new_value for e in info.value.since] == ["accepted"]
    assert report.status == S.ACCEPTED


def test_allowed_transitions_for_ioc_on_a_new_report(db, users):
    names = [t.name for t in workflow.allowed_transitions(users["ioc_operator"], factories.report())]
    assert names == ["accept", "route", "reject", "mark_duplicate"]


def test_a_reason_outside_the_list_is_refused(db, users):
    """A forged reason code never becomes the public reason."""
    report = factories.report()
    with pytest.raises(WorkflowError):
        workflow.apply(report, users["ioc_operator"], "reject", reason="nope", note="x")
    assert report.status == S.NEW
