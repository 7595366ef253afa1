"""E-mail notifications through an outbox (issue 5, item 6).

**Queueing.** :func:`notify` writes ``OutboxMessage`` rows in the same transaction as the
event that causes them (it flushes, never commits): if the event is rolled back, so are
its messages; if it is committed, so are they. Each row's ``dedup_key`` (unique)
is ``<kind>:<source>:<recipient>`` — the same event never queues the same mail twice.

Who gets what:

* ``routed`` (the IOC routes a report, ``workflow.apply("route")``) and ``agency_changed``
  (the IOC moves a routed report to another agency, ``workflow.update_fields``): the
  handling agency — every *active* ``agency_staff`` and ``agency_lead`` user of that
  agency (each in their own ``language``) and the agency's shared mailbox
  ``Agency.email`` when set (Vietnamese). Staff are included, not only leads, because
  staff do the work and the letter asks for quick handling; an address appears once
  (a user whose address is the agency mailbox gets it in the user's language).
* ``answer_submitted`` (an answer waits for approval): the active ``agency_lead`` users
  of the report's agency.
* ``answer_published``: the citizen, only when ``Report.reporter_email`` is set, in
  Vietnamese. Her address is used for nothing else.

Mail to anyone but the reporter never carries the reporter's name, phone or e-mail:
the context holds only the tracking code, title, category, ward, urgency, deadline,
agency and a link, and the title is scrubbed of the reporter's name, phone and e-mail
in case she typed them into it. Log lines carry outbox ids and Message-IDs only.

**Sending.** :func:`send_due` (the ``flask send-notifications`` worker) claims each due
row with one conditional UPDATE (``state`` pending → sending, ``locked_until`` = now +
lease, ``attempts`` + 1) and checks the row count, so two workers never both claim a
row, on SQLite and PostgreSQL alike. The claim is committed *before* the SMTP
conversation, the row is marked ``sent`` in its own commit right after the server
accepted the message. Every message carries a Message-ID derived from its outbox row
(:func:`message_id_for`), stored in ``message_id``.

The window that remains, stated plainly: if the worker dies after the SMTP server
accepted a message and before the ``sent`` commit, the row stays ``sending`` until its
lease runs out and is then sent again — with the *same* Message-ID, so the receiving
server or mail program can recognise the copy (those that de-duplicate by Message-ID
show one message). A crash before the server
accepted it (the common case: rendering, connecting, talking) gives exactly one mail.
A lease shorter than a send could take would let a second worker resend a message
still being sent: ``OUTBOX_LEASE_SECONDS`` (300) outlasts one message's SMTP conversation
(connect, EHLO, STARTTLS, login, MAIL, RCPT, DATA: each step at most ``SMTP_TIMEOUT``, 30 s),
and a worker whose lease ran out does not overwrite the row another worker has claimed since.

Temporary failures (RFC 5321 4xx, connection refused or lost) put the row back to
``pending`` with ``locked_until`` as the earliest next try (``OUTBOX_RETRY_SECONDS``,
doubled per attempt, at most an hour); after ``OUTBOX_MAX_ATTEMPTS`` attempts, or on a
permanent failure (5xx), the row is ``failed`` with ``last_error`` (SMTP code and the
server's words). An administrator can queue a failed row again (:func:`retry`).
"""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Callable

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import and_, or_, select, update

from ..extensions import db
from ..i18n import lazy_gettext as _l
from ..mail import SMTPTransport, classify
from ..models import Agency, OutboxMessage, OutboxState, Outcome, Report, ReportEvent, Response, Role, User, utcnow
from ..text import nfc

log = logging.getLogger(__name__)

KINDS = ("routed", "agency_changed", "answer_submitted", "answer_published")
AGENCY_ROLES = (Role.AGENCY_STAFF, Role.AGENCY_LEAD)
DEFAULT_LANGUAGE = "vi"

# What each kind is, for the admin outbox page.
KIND_TITLES = {
    "routed": _l("Report routed to the agency"),
    "agency_changed": _l("Report moved to another agency"),
    "answer_submitted": _l("Answer awaiting approval"),
    "answer_published": _l("Answer published, to the citizen"),
}
# Subjects, rendered in the recipient's language; the body is templates/mail/<kind>.txt.
SUBJECTS = {
    "routed": _l("[Hải Phòng Smart] Report %(code)s for your agency: %(title)s"),
    "agency_changed": _l("[Hải Phòng Smart] Report %(code)s is now handled by your agency: %(title)s"),
    "answer_submitted": _l("[Hải Phòng Smart] An answer to report %(code)s awaits your approval"),
    "answer_published": _l("[Hải Phòng Smart] Your report %(code)s has been answered"),
}
# Longest title put into a subject line, characters.
SUBJECT_TITLE_CHARS = 80
# Longest retry delay, seconds.
MAX_RETRY_SECONDS = 3600


@dataclass(frozen=True)
class Recipient:
    """One address to write to: ``language`` 'vi' or 'en'; ``reporter`` True only for the citizen."""

    address: str
    language: str
    reporter: bool = False


def recipients(report: Report, kind: str) -> list[Recipient]:
    """Who is told about ``kind`` for ``report`` (see the module docstring), without duplicates.

    :returns: recipients in a stable order (users by id, then the agency mailbox);
        empty when there is nobody (no agency, no lead, no citizen e-mail).
    :raises ValueError: an unknown ``kind``.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind: {kind!r}")
    if kind == "answer_published":
        address = (report.reporter_email or "").strip()
        return [Recipient(address, DEFAULT_LANGUAGE, reporter=True)] if address else []
    agency: Agency | None = report.agency
    if agency is None:
        return []
    roles = (Role.AGENCY_LEAD,) if kind == "answer_submitted" else AGENCY_ROLES
    users = db.session.scalars(select(User).where(User.agency_id == agency.id, User.active.is_(True),
                                                  User.role.in_(roles)).order_by(User.id)).all()
    languages = current_app.config.get("LANGUAGES", ("vi", "en"))
    found: dict[str, Recipient] = {}
    for user in users:
        address = (user.email or "").strip()
        if address and address.casefold() not in found:
            language = user.language if user.language in languages else DEFAULT_LANGUAGE
            found[address.casefold()] = Recipient(address, language)
    if kind != "answer_submitted" and agency.email and agency.email.strip().casefold() not in found:
        found[agency.email.strip().casefold()] = Recipient(agency.email.strip(), DEFAULT_LANGUAGE)
    return list(found.values())


def notify(report: Report, kind: str, *, event: ReportEvent | None = None, response: Response | None = None,
           now: datetime | None = None) -> list[OutboxMessage]:
    """Queue the e-mails for one event, in the caller's transaction (flushes, does not commit).

    :param report: the report concerned (its agency and reporter e-mail decide the recipients).
    :param kind: one of :data:`KINDS`.
    :param event: the ``ReportEvent`` that is the event (``routed``: the status event of
        ``apply("route")``; ``agency_changed``: the ``agency`` event). Preferred source of
        the dedup key for every kind.
    :param response: the ``Response`` (``answer_submitted``, ``answer_published``); without
        an event the key is the response id plus, for ``answer_submitted``, its
        ``submitted_at`` (so a resubmission after "send back" notifies again: set
        ``submitted_at`` before calling).
    :param now: aware UTC time the rows are created (default: now).
    :returns: the rows queued now; rows whose ``dedup_key`` exists already are not queued
        again (so calling twice for the same event queues nothing the second time).
    :raises ValueError: unknown ``kind``, or neither ``event`` nor ``response`` given.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind: {kind!r}")
    db.session.flush()  # ids of the event and response
    source = _source(kind, event, response)
    now = now or utcnow()
    queued = []
    for recipient in recipients(report, kind):
        key = _dedup_key(kind, source, recipient.address)
        if db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedup_key == key)) is not None:
            continue
        message = OutboxMessage(dedup_key=key, report_id=report.id, recipient=recipient.address,
                                language=recipient.language, template=kind,
                                context=_context(report, kind, recipient, response), state=OutboxState.PENDING,
                                attempts=0, last_error="", created_at=now)
        db.session.add(message)
        queued.append(message)
    if queued:
        db.session.flush()
        for message in queued:
            message.message_id = message_id_for(message)
        db.session.flush()
        log.info("outbox: queued %s for %s (%s)", kind, report.tracking_code,
                 ", ".join(str(m.id) for m in queued))
    return queued


def _source(kind: str, event: ReportEvent | None, response: Response | None) -> str:
    if event is not None:
        return f"event-{event.id}"
    if response is not None:
        if kind == "answer_submitted" and response.submitted_at is not None:
            return f"response-{response.id}-{int(response.submitted_at.timestamp() * 1_000_000)}"
        return f"response-{response.id}"
    raise ValueError("notify() needs the event or the response")


def _dedup_key(kind: str, source: str, address: str) -> str:
    key = f"{kind}:{source}:{address.casefold()}"
    if len(key) > 200:  # the column's size; a very long address is replaced by its hash
        key = f"{kind}:{source}:{hashlib.sha256(address.casefold().encode()).hexdigest()}"
    return key


def message_id_for(message: OutboxMessage) -> str:
    """The Message-ID header of ``message``: ``<outbox-<id>.<hash>@<domain>>``.

    Deterministic — a resend of the same row carries the same Message-ID — and unique
    across databases: the hash (12 hex digits) covers the dedup key and creation time.
    ``domain`` is ``MAIL_MESSAGE_ID_DOMAIN``, else the domain of ``MAIL_FROM``.
    """
    config = current_app.config
    domain = config.get("MAIL_MESSAGE_ID_DOMAIN") or config.get("MAIL_FROM", "").rpartition("@")[2] or "hpsmart"
    created = message.created_at.isoformat() if message.created_at else ""
    digest = hashlib.sha256(f"{message.dedup_key}|{created}".encode()).hexdigest()[:12]
    return f"<outbox-{message.id}.{digest}@{domain}>"


def _without_personal_data(text: str, report: Report) -> str:
    """``text`` with the reporter's name, e-mail and phone (any spacing) replaced by "…"."""
    for value in (report.reporter_name, report.reporter_email):
        value = nfc(value or "").strip()
        if len(value) >= 3:
            text = re.sub(re.escape(value), "…", text, flags=re.IGNORECASE)
    digits = re.sub(r"\D", "", report.reporter_phone or "")
    if len(digits) >= 6:
        pattern = r"[\s.\-]?".join(re.escape(d) for d in digits)
        text = re.sub(pattern, "…", text)
        if digits.startswith("0"):  # the same number written +84 …
            text = re.sub(r"\+?84[\s.\-]?" + r"[\s.\-]?".join(re.escape(d) for d in digits[1:]), "…", text)
    return text


def _path(endpoint: str, **values) -> str:
    """A site path for ``endpoint`` (works outside a request, e.g. from the CLI)."""
    return current_app.url_map.bind("localhost").build(endpoint, values)


def _context(report: Report, kind: str, recipient: Recipient, response: Response | None) -> dict:
    """The JSON values of one message's template (nothing about the reporter unless it is to her)."""
    language = recipient.language
    title = report.title or ""
    if not recipient.reporter:
        title = _without_personal_data(title, report)
    context = {
        "tracking_code": report.tracking_code,
        "title": title,
        "category": report.category.name(language) if report.category is not None else "",
        "ward": report.admin_unit.name if report.admin_unit is not None else "",
        "urgency": report.urgency.value if report.urgency is not None else "normal",
        "deadline": report.deadline.isoformat() if report.deadline is not None else None,
        "agency": report.agency.name if report.agency is not None else "",
    }
    if recipient.reporter:
        context["path"] = _path("intake.track", code=report.tracking_code)
    else:
        context["path"] = _path("report.view", tracking_code=report.tracking_code)
    if response is not None:
        context["outcome"] = response.outcome.value if response.outcome is not None else None
        if response.agency is not None:
            context["agency"] = response.agency.name
        if kind == "answer_published":  # the published answer is public text; it goes to her
            context["answer"] = response.body or ""
            context["scheduled_for"] = response.scheduled_for.isoformat() if response.scheduled_for else None
            context["responsible_party"] = response.responsible_party or ""
    return context


# --- Rendering ---------------------------------------------------------------------------


def render(message: OutboxMessage, *, now: datetime | None = None) -> EmailMessage:
    """Build the e-mail of ``message`` in its language (``flask_babel.force_locale``).

    The body is ``templates/mail/<template>.txt`` (plain text, UTF-8); the link is
    ``PUBLIC_BASE_URL`` + the stored path; the deadline is shown in Asia/Ho_Chi_Minh.
    Headers: From ``MAIL_FROM``, To the recipient, Subject, Date (``now``, UTC), the
    stored Message-ID, Content-Language and ``Auto-Submitted: auto-generated`` (RFC 3834).

    :raises jinja2.TemplateNotFound, KeyError: an unknown template (a permanent failure).
    """
    config = current_app.config
    values = dict(message.context or {})
    values["url"] = config.get("PUBLIC_BASE_URL", "").rstrip("/") + values.get("path", "")
    values["deadline"] = datetime.fromisoformat(values["deadline"]) if values.get("deadline") else None
    if values.get("scheduled_for"):
        values["scheduled_for"] = date.fromisoformat(values["scheduled_for"])
    with force_locale(message.language or DEFAULT_LANGUAGE):
        values["outcome_title"] = Outcome(values["outcome"]).title if values.get("outcome") else ""
        values["urgent"] = values.get("urgency") == "urgent"
        title = " ".join(str(values.get("title", "")).split())  # one line: a header holds no line breaks
        if len(title) > SUBJECT_TITLE_CHARS:
            title = title[:SUBJECT_TITLE_CHARS - 1] + "…"
        subject = str(SUBJECTS[message.template]) % {"code": values.get("tracking_code", ""), "title": title}
        body = current_app.jinja_env.get_template(f"mail/{message.template}.txt").render(values)
    email = EmailMessage()
    email.set_content(body.strip() + "\n")  # first: it replaces every Content-* header
    email["Subject"] = subject
    email["From"] = config.get("MAIL_FROM", "hpsmart@localhost")
    email["To"] = message.recipient
    email["Date"] = format_datetime(now or utcnow())
    email["Message-ID"] = message.message_id or message_id_for(message)
    email["Content-Language"] = message.language or DEFAULT_LANGUAGE
    email["Auto-Submitted"] = "auto-generated"
    return email


# --- The worker --------------------------------------------------------------------------


@dataclass
class SendSummary:
    """What one :func:`send_due` run did: counts of messages.

    ``skipped``: due when listed, but claimed by another worker first. ``stopped``: the
    run ended early because the SMTP server could not be used or a stop was asked for.
    """

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0
    stopped: bool = False
    claimed_ids: list[int] = field(default_factory=list)

    @property
    def claimed(self) -> int:
        return len(self.claimed_ids)


def _settings() -> tuple[int, int, int]:
    config = current_app.config
    return (int(config.get("OUTBOX_LEASE_SECONDS", 300)), int(config.get("OUTBOX_MAX_ATTEMPTS", 8)),
            int(config.get("OUTBOX_RETRY_SECONDS", 60)))


def retry_delay(attempts: int, base_seconds: int) -> timedelta:
    """Wait after the ``attempts``-th failed attempt: ``base * 2**(attempts-1)``, at most an hour."""
    return timedelta(seconds=min(MAX_RETRY_SECONDS, base_seconds * 2 ** max(0, attempts - 1)))


def _claimable(at: datetime, max_attempts: int):
    return and_(OutboxMessage.attempts < max_attempts, or_(
        and_(OutboxMessage.state == OutboxState.PENDING,
             or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until <= at)),
        and_(OutboxMessage.state == OutboxState.SENDING, OutboxMessage.locked_until < at)))


def due_ids(at: datetime, limit: int) -> list[int]:
    """Ids of the messages a worker may claim at ``at`` (aware UTC), oldest first."""
    _, max_attempts, _ = _settings()
    return list(db.session.scalars(select(OutboxMessage.id).where(_claimable(at, max_attempts))
                                   .order_by(OutboxMessage.id).limit(limit)))


def claim(message_id: int, at: datetime) -> datetime | None:
    """Atomically take message ``message_id`` for sending and commit.

    One ``UPDATE … WHERE id = ? AND <still claimable>``: of two workers, only one sees a
    row count of 1. Sets ``state='sending'``, ``locked_until = at + OUTBOX_LEASE_SECONDS``
    and counts the attempt before anything is sent.

    :param at: aware UTC time of the claim.
    :returns: the lease's end (``locked_until``, aware UTC: the worker's token for
        writing the outcome) when this worker got the row; None when it did not.
    """
    lease, max_attempts, _ = _settings()
    until = at + timedelta(seconds=lease)
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, _claimable(at, max_attempts))
        .values(state=OutboxState.SENDING, locked_until=until, attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return until if result.rowcount == 1 else None


def _finish(message_id: int, lease: datetime, **values) -> bool:
    """Write the outcome of an attempt, in its own commit, if this worker still holds the row
    (``state='sending'`` with the ``locked_until`` of its claim; after an overrun lease another
    worker may have claimed it). Returns whether the row was written."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.state == OutboxState.SENDING,
               OutboxMessage.locked_until == lease)
        .values(**values).execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount == 1


def _expire_abandoned(at: datetime, max_attempts: int) -> int:
    """Mark failed the rows left ``sending`` by a dead worker on their last allowed attempt."""
    abandoned = and_(OutboxMessage.state == OutboxState.SENDING, OutboxMessage.locked_until < at,
                     OutboxMessage.attempts >= max_attempts)
    if db.session.scalar(select(OutboxMessage.id).where(abandoned).limit(1)) is None:
        db.session.commit()  # no write transaction when there is nothing to do
        return 0
    result = db.session.execute(
        update(OutboxMessage)
        .where(abandoned)
        .values(state=OutboxState.FAILED, locked_until=None,
                last_error="The worker stopped during the last attempt; the message may have been delivered.")
        .execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount or 0


def send_due(*, now: datetime | None = None, limit: int = 100,
             transport_factory: Callable[[], SMTPTransport] | None = None,
             should_stop: Callable[[], bool] | None = None) -> SendSummary:
    """Send up to ``limit`` due messages, each claimed, sent and marked in its own commits.

    :param now: aware UTC time to act at (tests move it forward; default: the clock, read
        afresh for each message).
    :param limit: how many due messages to look at.
    :param transport_factory: makes the SMTP transport (default: ``SMTPTransport`` from the config).
    :param should_stop: asked before each message; True ends the run (nothing is left claimed).
    :returns: a :class:`SendSummary`.
    :raises sqlalchemy.exc.SQLAlchemyError: the database failed (rows already sent stay sent).
    """
    clock = (lambda: now) if now is not None else utcnow
    _, max_attempts, retry_seconds = _settings()
    summary = SendSummary()
    _expire_abandoned(clock(), max_attempts)
    ids = due_ids(clock(), limit)
    db.session.commit()  # end the read: on SQLite a write after an old read may be refused
    if not ids:
        return summary
    factory = transport_factory or (lambda: SMTPTransport(current_app.config))
    with factory() as transport:
        for message_id in ids:
            if should_stop is not None and should_stop():
                summary.stopped = True
                break
            lease = claim(message_id, clock())
            if lease is None:
                summary.skipped += 1
                continue
            summary.claimed_ids.append(message_id)
            row = db.session.get(OutboxMessage, message_id, populate_existing=True)
            attempts, smtp_id = row.attempts, row.message_id
            try:
                email = render(row, now=clock())
            except Exception as error:  # a template or data problem: retrying will not help
                db.session.rollback()
                _finish(message_id, lease, state=OutboxState.FAILED, locked_until=None,
                        last_error=f"Could not build the message: {type(error).__name__}")
                summary.failed += 1
                log.error("outbox %s: could not build the message (%s)", message_id, type(error).__name__)
                continue
            db.session.commit()
            try:
                transport.send(email)
            except Exception as error:
                failure = classify(error)
                if failure.temporary and attempts < max_attempts:
                    _finish(message_id, lease, state=OutboxState.PENDING,
                            locked_until=clock() + retry_delay(attempts, retry_seconds),
                            last_error=failure.text)
                    summary.retrying += 1
                    log.warning("outbox %s: attempt %s failed (%s), will retry", message_id, attempts,
                                type(error).__name__)
                else:
                    _finish(message_id, lease, state=OutboxState.FAILED, locked_until=None,
                            last_error=failure.text)
                    summary.failed += 1
                    log.error("outbox %s: failed after attempt %s (%s)", message_id, attempts,
                              type(error).__name__)
                if failure.connection:
                    summary.stopped = True
                    break
                continue
            if not _finish(message_id, lease, state=OutboxState.SENT, sent_at=utcnow(), locked_until=None,
                           last_error=""):
                log.warning("outbox %s: sent as %s after its lease ran out; another worker holds it now",
                            message_id, smtp_id)
            summary.sent += 1
            log.info("outbox %s: sent as %s", message_id, smtp_id)
    return summary


def send_all_due(*, now: datetime | None = None, batch: int = 100,
                 transport_factory: Callable[[], SMTPTransport] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> SendSummary:
    """Run :func:`send_due` until nothing is due (``flask send-notifications --once``).

    Stops early when the SMTP server cannot be used (the rest stays due for the next run).
    :returns: the counts added up over the batches.
    """
    total = SendSummary()
    while True:
        summary = send_due(now=now, limit=batch, transport_factory=transport_factory, should_stop=should_stop)
        total.sent += summary.sent
        total.retrying += summary.retrying
        total.failed += summary.failed
        total.skipped += summary.skipped
        total.claimed_ids.extend(summary.claimed_ids)
        if summary.stopped or summary.claimed == 0:
            total.stopped = summary.stopped
            return total


def retry(message: OutboxMessage) -> bool:
    """Queue a failed message again (admin "retry"): pending, attempts reset, due now.

    ``last_error`` is kept until the next attempt. Flushes.
    :returns: False (nothing changed) when the message is not ``failed``.
    """
    if message.state != OutboxState.FAILED:
        return False
    message.state = OutboxState.PENDING
    message.attempts = 0
    message.locked_until = None
    db.session.flush()
    log.info("outbox %s: queued again", message.id)
    return True
