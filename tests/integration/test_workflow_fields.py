"""The IOC's field edits (workflow.update_fields): one event per change with display values,
deadline recomputed, agency only while routed, guards, stale pages."""
import unicodedata
from datetime import timedelta

import pytest
from sqlalchemy import select

from hpsmart.models import AdministrativeUnit, ReportStatus as S, Urgency, utcnow
from hpsmart.services import deadlines, workflow
from hpsmart.services.workflow import ConflictError, WorkflowError

from .. import factories


@pytest.fixture()
def ioc(users):
    return users["ioc_operator"]


def test_each_change_is_one_event_with_old_and_new_display_values(db, ioc):
    report = factories.report()
    version = report.version
    events = workflow.update_fields(report, ioc, {
        "category": factories.category("cay_xanh"), "admin_unit": factories.unit("Phường Lê Chân"),
        "address": "8 Tô Hiệu", "urgency": "urgent"}, seen_version=version)
    assert [(e.action, e.old_value, e.new_value) for e in events] == [
        ("category", "Giao thông", "Cây xanh"), ("admin_unit", "Phường Hồng Bàng", "Phường Lê Chân"),
        ("address", "123 Lạch Tray", "8 Tô Hiệu"), ("urgency", "normal", "urgent")]
    assert all(e.actor == ioc and not e.public for e in events)
    assert report.version == version + 1  # one change of the report, whatever the number of fields
    assert {e.report_version for e in events} == {report.version}
    assert report.category.code == "cay_xanh" and report.urgency == Urgency.URGENT
    assert "le chan" in report.search_text  # search follows the new ward


def test_unchanged_values_write_nothing(db, ioc):
    report = factories.report()
    version = report.version
    assert workflow.update_fields(report, ioc, {"category": report.category, "address": "123 Lạch Tray",
                                                "urgency": Urgency.NORMAL}, seen_version=version) == []
    db.session.flush()
    assert report.version == version and len(report.events) == 1


def test_address_is_nfc_and_bounded(db, ioc):
    report = factories.report()
    decomposed = unicodedata.normalize("NFD", "  Ngõ 5 Điện Biên Phủ ")
    workflow.update_fields(report, ioc, {"address": decomposed}, seen_version=report.version)
    assert report.address == "Ngõ 5 Điện Biên Phủ"
    with pytest.raises(WorkflowError):
        workflow.update_fields(report, ioc, {"address": "x" * 256}, seen_version=report.version)


def test_category_or_urgency_change_recomputes_the_deadline_once_accepted(db, ioc):
    report = factories.report()
    workflow.update_fields(report, ioc, {"urgency": "urgent"}, seen_version=report.version)
    assert report.deadline is None  # not accepted yet: nothing to recompute

    workflow.apply(report, ioc, "accept")
    urgent_deadline = report.deadline  # giao_thong, urgent: 2 working days
    events = workflow.update_fields(report, ioc, {"urgency": "normal", "category": factories.category("xay_dung")},
                                    seen_version=report.version)
    expected = deadlines.deadline_for(factories.category("xay_dung"), Urgency.NORMAL, report.accepted_at)
    assert report.deadline == expected and expected > urgent_deadline  # xay_dung, normal: 10 working days
    assert [e.action for e in events] == ["category", "urgency", "deadline"]

    def local(value):
        return value.astimezone(deadlines.LOCAL_TZ).strftime("%d/%m/%Y")

    assert (events[-1].old_value, events[-1].new_value) == (local(urgent_deadline), local(expected))


def test_address_change_keeps_the_deadline(db, ioc):
    report = factories.report()
    workflow.apply(report, ioc, "accept")
    before = report.deadline
    events = workflow.update_fields(report, ioc, {"address": "1 Trần Phú"}, seen_version=report.version)
    assert [e.action for e in events] == ["address"] and report.deadline == before


def test_agency_changes_only_while_routed_and_is_recorded(db, ioc):
    construction, health = factories.agency("Sở Xây dựng"), factories.agency("Sở Y tế")
    routed = factories.report(status=S.ROUTED, agency=construction)
    events = workflow.update_fields(routed, ioc, {"agency": health}, seen_version=routed.version)
    assert [(e.action, e.old_value, e.new_value) for e in events] == [("agency", "Sở Xây dựng", "Sở Y tế")]
    assert routed.agency == health and routed.status == S.ROUTED

    for status in (S.NEW, S.ACCEPTED, S.RETURNED, S.IN_PROGRESS, S.ANSWERED):
        report = factories.report(status=status, agency=construction if status != S.NEW else None)
        with pytest.raises(WorkflowError):
            workflow.update_fields(report, ioc, {"agency": health}, seen_version=report.version)
        assert report.agency != health


def test_agency_must_be_current(db, ioc):
    report = factories.report(status=S.ROUTED, agency=factories.agency("Sở Xây dựng"))
    from hpsmart.models import Agency
    former = db.session.scalar(select(Agency).where(Agency.valid_to.is_not(None)).limit(1))
    with pytest.raises(WorkflowError):
        workflow.update_fields(report, ioc, {"agency": former}, seen_version=report.version)
    with pytest.raises(WorkflowError):
        workflow.update_fields(report, ioc, {"agency": None}, seen_version=report.version)


def test_invalid_values_are_refused_and_nothing_changes(db, ioc):
    report = factories.report()
    former_unit = db.session.scalar(select(AdministrativeUnit).where(AdministrativeUnit.valid_to.is_not(None)).limit(1))
    inactive = factories.category("khac")
    inactive.active = False
    cases = [{"urgency": "very"}, {"category": None}, {"category": inactive}, {"admin_unit": None}]
    if former_unit is not None:
        cases.append({"admin_unit": former_unit})
    for changes in cases:
        with pytest.raises(WorkflowError):
            workflow.update_fields(report, ioc, {"address": "changed", **changes}, seen_version=report.version)
        assert report.address == "123 Lạch Tray" and report.category.code == "giao_thong"
    with pytest.raises(ValueError):
        workflow.update_fields(report, ioc, {"status": "published"}, seen_version=report.version)


@pytest.mark.parametrize("role", ["agency_staff", "agency_lead", "community_member"])
def test_only_the_ioc_and_admins_edit(db, users, role):
    report = factories.report(agency=factories.agency("Sở Xây dựng"))
    with pytest.raises(WorkflowError):
        workflow.update_fields(report, users[role], {"urgency": "urgent"}, seen_version=report.version)
    assert report.urgency == Urgency.NORMAL
    workflow.update_fields(report, users["admin"], {"urgency": "urgent"}, seen_version=report.version)
    assert report.urgency == Urgency.URGENT


@pytest.mark.parametrize("status", [S.PUBLISHED, S.REJECTED, S.DUPLICATE])
def test_closed_reports_are_not_edited(db, ioc, status):
    report = factories.report(status=status)
    with pytest.raises(WorkflowError):
        workflow.update_fields(report, ioc, {"urgency": "urgent"}, seen_version=report.version)


def test_stale_version_is_a_conflict_listing_the_changes(db, ioc, users):
    report = factories.report()
    seen = report.version
    workflow.update_fields(report, users["admin"], {"urgency": "urgent"}, seen_version=seen)
    db.session.flush()
    with pytest.raises(ConflictError) as info:
        workflow.update_fields(report, ioc, {"address": "somewhere"}, seen_version=seen)
    assert [(e.action, e.new_value) for e in info.value.since] == [("urgency", "urgent")]
    assert report.address == "123 Lạch Tray"


def test_times_are_the_given_instant(db, ioc):
    report = factories.report()
    at = utcnow() - timedelta(minutes=5)
    events = workflow.update_fields(report, ioc, {"urgency": "urgent"}, seen_version=report.version, now=at)
    assert events[0].created_at == at and report.updated_at == at
