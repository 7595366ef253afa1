"""Public pages of answered reports (issue 5, item 4), through HTTP, with no login.

The list with filters and accent-insensitive search, each report with its photos
before and after, its place (street without house number, rounded point), dates and
agency; the report's page with the full answer; this month's overview; caching
(ETag, Last-Modified, 304); link previews; a constant number of queries per page;
and the privacy sweep of the issue's first case: the reporter's name, phone and
e-mail appear in no public response at all.
"""
from __future__ import annotations

import dataclasses
import html
import json
import re
import unicodedata
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from sqlalchemy import event, select

from hpsmart.extensions import db as _db
from hpsmart.i18n import LOCAL_TZ
from hpsmart.models import (Attachment, CitizenFeedback, Outcome, Report, ReportEvent, ReportStatus, Response,
                            ResponseState, utcnow)
from hpsmart.services import public, workflow
from hpsmart.services.photos import store_photo

from .. import factories
from .test_intake import HONG_BANG, form_data, jpeg_bytes, post_report

AGENCY = "Sở Xây dựng"


# --- helpers (also used by test_feedback) ---------------------------------------------------

def add_photo(app, report: Report, purpose: str = "report", response: Response | None = None,
              hidden: bool = False, color: str = "red", stored: bool = True) -> Attachment:
    """Attach a photo to ``report``; ``stored``: real files through the photo pipeline,
    else rows with well-formed paths only (enough for the list)."""
    if stored:
        files = dataclasses.asdict(store_photo(jpeg_bytes(color=color), app.config["UPLOAD_FOLDER"]))
    else:
        name = f"{factories._counter.__next__():032x}"
        files = {"original_path": f"original/aa/bb/{name}.jpg", "public_path": f"public/aa/bb/{name}.jpg",
                 "thumb_path": f"thumb/aa/bb/{name}.jpg", "content_type": "image/jpeg", "size_bytes": 1000,
                 "width": 400, "height": 300}
    attachment = Attachment(report=report, response=response, purpose=purpose, kind="photo", hidden=hidden,
                            **files)
    _db.session.add(attachment)
    _db.session.flush()
    return attachment


def publish(report: Report, users: dict, body: str = "Đã vá ổ gà, mặt đường đã thông thoáng.",
            outcome: Outcome | None = Outcome.RESOLVED, at: datetime | None = None, **fields) -> Response:
    """Take ``report`` through the workflow to "answer published", with a published
    ``Response`` (as the answer form and the lead's approval would)."""
    at = at or utcnow()
    agency = factories.agency(AGENCY)
    ioc, staff, lead = users["ioc_operator"], users["agency_staff"], users["agency_lead"]
    if report.status in (ReportStatus.NEW, ReportStatus.REOPENED):
        if report.status == ReportStatus.NEW:
            workflow.apply(report, ioc, "accept", now=at - timedelta(hours=3))
        workflow.apply(report, ioc, "route", agency=agency, now=at - timedelta(hours=2))
    workflow.apply(report, staff, "start", now=at - timedelta(hours=1))
    workflow.apply(report, staff, "answer", now=at - timedelta(minutes=30))
    response = Response(report=report, agency=agency, author=staff, body=body, outcome=outcome,
                        state=ResponseState.PUBLISHED, submitted_at=at - timedelta(minutes=30), published_at=at,
                        reviewed_by=lead, created_at=at - timedelta(minutes=40), updated_at=at, **fields)
    _db.session.add(response)
    workflow.apply(report, lead, "publish", now=at)
    _db.session.flush()
    return response


def published_report(app, users, photos: int = 1, after: int = 1, **kw) -> tuple[Report, Response]:
    """A report with ``photos`` citizen photos, answered and published with ``after`` photos."""
    report = factories.report(**kw)
    for _ in range(photos):
        add_photo(app, report)
    response = publish(report, users)
    for _ in range(after):
        add_photo(app, report, "answer", response, color="green")
    return report, response


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def thumb_url(attachment: Attachment) -> str:
    return "/media/t/" + attachment.thumb_path.split("/", 1)[1]


# --- pure rules -----------------------------------------------------------------------------

@pytest.mark.parametrize(("address", "street"), [
    ("123 Lạch Tray", "Lạch Tray"),
    ("Số 45 Lê Lợi", "Lê Lợi"),
    ("số nhà 7, ngõ 12/3 Lạch Tray", "Lạch Tray"),
    ("Ngõ 45 Điện Biên Phủ", "Điện Biên Phủ"),
    ("12A Tô Hiệu, phường Lê Chân", "Tô Hiệu, phường Lê Chân"),
    ("Tổ 5, Phường Hồng Bàng", "Phường Hồng Bàng"),
    ("Km 5 Quốc lộ 10", "Quốc lộ 10"),
    ("Lô 12 khu đô thị Ngã Năm", "khu đô thị Ngã Năm"),
    ("Trước cổng chợ Sắt", "Trước cổng chợ Sắt"),
    ("so 9 ngo 3 Tran Phu", "Tran Phu"),
    ("45", ""),
    ("", ""),
])
def test_public_street_drops_house_and_alley_numbers(address, street):
    assert public.public_street(address) == street
    assert public.public_street(unicodedata.normalize("NFD", address)) == street


@pytest.mark.parametrize("text", [
    "Cảm ơn chị Trần Thị Bình đã phản ánh.", "Cảm ơn chị TRẦN THỊ BÌNH.", "Cam on chi Tran Thi Binh.",
    unicodedata.normalize("NFD", "Chị Trần Thị Bình"), "Gọi 0900 000 001 nhé", "Gọi 0900.000.001",
    "Gọi +84 900 000 001", "gọi 84900000001", "Email BINH@example.invalid giúp",
])
def test_scrub_removes_the_reporters_name_phone_and_email(text):
    secrets = public.Secrets(name="Trần Thị Bình", phone="0900000001", email="binh@example.invalid")
    scrubbed = public.scrub(text, secrets)
    assert public.REDACTED in scrubbed
    folded = public.fold(scrubbed)
    assert "tran thi binh" not in folded and "900" not in folded and "binh@" not in folded


def test_scrub_keeps_other_text_and_a_public_name():
    secrets = public.Secrets(name="Bình", phone="0900000001", email="")
    assert public.scrub("Đường Bình Hà, số 0900000002", secrets) == "Đường [\u2026] Hà, số 0900000002"
    assert public.scrub("Không có gì", public.Secrets()) == "Không có gì"


def test_point_is_rounded_to_about_100_m():
    assert public.rounded_point(20.844912, 106.688149) == (20.845, 106.688)
    assert public.osm_url((20.845, 106.688)) == ("https://www.openstreetmap.org/?mlat=20.845&mlon=106.688"
                                                 "#map=17/20.845/106.688")
    assert public.rounded_point(None, 106.7) is None


# --- the list -------------------------------------------------------------------------------

def test_list_shows_answered_reports_with_photos_place_dates_and_agency(app, client, users):
    report, response = published_report(app, users, address="123 Lạch Tray", latitude=20.844912,
                                        longitude=106.688149, title="Ổ gà trước cửa hàng")
    before = report.photos[0]
    after = [a for a in report.attachments if a.purpose == "answer"][0]
    hidden = add_photo(app, report, hidden=True, color="blue")
    draft = Response(report=report, body="Bản nháp mới", state=ResponseState.DRAFT)
    _db.session.add(draft)
    draft_photo = add_photo(app, report, "answer", draft, color="yellow")
    unanswered = factories.report(title="Chưa trả lời: đèn hỏng")

    page = client.get("/reports")
    assert page.status_code == 200
    text = text_of(page)
    assert "Ổ gà trước cửa hàng" in text and report.tracking_code in text
    assert "Chưa trả lời: đèn hỏng" not in text and unanswered.tracking_code not in text
    assert thumb_url(before) in text and thumb_url(after) in text
    assert thumb_url(hidden) not in text and thumb_url(draft_photo) not in text
    assert "/media/o/" not in text and before.original_path not in text
    assert "Lạch Tray, Phường Hồng Bàng" in text and "123 Lạch Tray" not in text
    assert "https://www.openstreetmap.org/?mlat=20.845&mlon=106.688#map=17/20.845/106.688" in text
    assert "20.844912" not in text and "106.688149" not in text
    assert AGENCY in text
    assert report.created_at.astimezone(LOCAL_TZ).strftime("%d/%m/%Y") in text
    assert "Đã vá ổ gà" in text and Outcome.RESOLVED.title in text
    assert "Nguyễn Văn Bình" not in text and "0900000009" not in text  # the factory's reporter


def test_filters_by_category_ward_status_and_month(app, client, users):
    last_month = (utcnow().astimezone(LOCAL_TZ).replace(day=1) - timedelta(days=5))
    a, _ = published_report(app, users, photos=0, after=0, title="Báo cáo A giao thông")
    b, _ = published_report(app, users, photos=0, after=0, title="Báo cáo B môi trường",
                            category=factories.category("cay_xanh"), admin_unit=factories.unit("Phường An Biên"))
    c, _ = published_report(app, users, photos=0, after=0, title="Báo cáo C tháng trước",
                            created_at=last_month.astimezone(timezone.utc))
    workflow.apply(c, None, "reopen", note="Vẫn còn ổ gà")

    def titles(**args):
        response = client.get("/reports", query_string=args)
        assert response.status_code == 200
        return {t for t in ("Báo cáo A", "Báo cáo B", "Báo cáo C") if t in text_of(response)}

    assert titles() == {"Báo cáo A", "Báo cáo B", "Báo cáo C"}
    assert titles(category="cay_xanh") == {"Báo cáo B"}
    assert titles(unit=factories.unit("Phường An Biên").code) == {"Báo cáo B"}
    assert titles(status="reopened") == {"Báo cáo C"}
    assert titles(status="answered") == {"Báo cáo A", "Báo cáo B"}
    assert titles(month=last_month.strftime("%Y-%m")) == {"Báo cáo C"}
    # Bad values: a notice, never a 500.
    response = client.get("/reports", query_string={"month": "2026-13", "status": "lost", "category": "x y",
                                                    "page": "abc", "unit": "99999"})
    assert response.status_code == 200
    notices = re.search(r'<ul class="notices"[^>]*>(.*?)</ul>', text_of(response), re.S).group(1)
    assert notices.count("<li>") == 5 and "99999" in notices and "2026-13" in notices


def test_search_is_accent_insensitive_and_needs_every_word(app, client, users):
    published_report(app, users, photos=0, after=0, title="Ngập úng đường Lạch Tray", address="Lạch Tray")
    published_report(app, users, photos=0, after=0, title="Đèn đường hỏng ở Điện Biên Phủ",
                     description="Đèn tắt cả tuần.", address="Điện Biên Phủ")

    def found(q):
        return {t for t in ("Ngập úng", "Đèn đường") if t in text_of(client.get("/reports", query_string={"q": q}))}

    assert found("lach tray") == {"Ngập úng"}
    assert found(unicodedata.normalize("NFD", "LẠCH TRAY")) == {"Ngập úng"}
    assert found("den duong") == {"Đèn đường"}
    assert found("đèn lạch") == set()  # AND of words
    assert found("100%_") == set()


def test_pages(app, client, users, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_PAGE_SIZE", 2)
    codes = [published_report(app, users, photos=0, after=0, title=f"Trang số {n}")[0].tracking_code
             for n in range(5)]
    first = text_of(client.get("/reports"))
    assert codes[-1] in first and codes[-2] in first and codes[0] not in first  # newest answer first
    assert "?page=2" in first
    last = client.get("/reports", query_string={"page": "9"})
    assert last.status_code == 200 and codes[0] in text_of(last)


# --- one report ---------------------------------------------------------------------------

def test_report_page_has_the_full_answer_photos_and_public_history(app, client, users):
    report, response = published_report(app, users, address="Số 5 ngõ 10 Trần Phú",
                                        description="Nắp cống vỡ, rất nguy hiểm.\nCần sửa gấp.")
    response.body = "Đã thay nắp cống mới.\nCảm ơn chị Nguyễn Văn Bình đã phản ánh."
    response.outcome = Outcome.SCHEDULED
    response.scheduled_for = datetime(2026, 12, 3).date()
    _db.session.add(ReportEvent(report=report, action="note", note="Ghi chú nội bộ", public=False))
    _db.session.flush()
    after = [a for a in report.attachments if a.purpose == "answer"][0]

    page = client.get(f"/reports/{report.tracking_code}")
    assert page.status_code == 200
    text = text_of(page)
    assert "Nắp cống vỡ, rất nguy hiểm.\nCần sửa gấp." in text
    assert "Đã thay nắp cống mới." in text and "Nguyễn Văn Bình" not in text and "[…]" in text
    assert Outcome.SCHEDULED.title in text and "03/12/2026" in text
    assert "/media/p/" + after.public_path.split("/", 1)[1] in text
    assert "Trần Phú" in text and "ngõ 10" not in text and "Số 5" not in text
    assert "Ghi chú nội bộ" not in text
    assert ReportStatus.PUBLISHED.title in text
    assert "0900000009" not in text

    assert client.get(f"/reports/{report.tracking_code.lower()}").status_code == 301
    assert client.get(f"/reports/{factories.report().tracking_code}").status_code == 404
    assert client.get("/reports/not-a-code").status_code == 404


def test_reporter_name_only_when_allowed(app, client, users, db):
    report, _ = published_report(app, users, reporter_name="Lê Văn Tám")
    assert "Lê Văn Tám" not in text_of(client.get(f"/reports/{report.tracking_code}"))
    report.reporter_name_public = True
    db.session.flush()
    assert "Lê Văn Tám" in text_of(client.get(f"/reports/{report.tracking_code}"))


def test_reports_published_before_answers_had_their_own_rows_show_the_history_note(app, client, users):
    report = factories.report(title="Báo cáo cũ")
    agency = factories.agency(AGENCY)
    workflow.apply(report, users["ioc_operator"], "accept")
    workflow.apply(report, users["ioc_operator"], "route", agency=agency)
    workflow.apply(report, users["agency_staff"], "answer")
    workflow.apply(report, users["agency_lead"], "publish", note="Đã xử lý xong từ tuần trước.")
    add_photo(app, report, "answer")
    text = text_of(client.get(f"/reports/{report.tracking_code}"))
    assert "Đã xử lý xong từ tuần trước." in text and "/media/t/" in text


def test_link_previews_show_the_title_ward_and_first_public_photo(app, client, users):
    report, _ = published_report(app, users, photos=1, after=0, title="Cây đổ chắn đường",
                                 reporter_name="Phạm Thị Hoa", reporter_email="hoa@example.invalid")
    hidden_first = add_photo(app, report, hidden=True)
    text = text_of(client.get(f"/reports/{report.tracking_code}"))
    head = text[:text.index("</head>")]
    assert '<meta property="og:title" content="Cây đổ chắn đường">' in head
    assert HONG_BANG in re.search(r'<meta property="og:description" content="([^"]+)"', head).group(1)
    image = re.search(r'<meta property="og:image" content="([^"]+)"', head).group(1)
    assert image.startswith(app.config["PUBLIC_BASE_URL"].rstrip("/") + "/media/p/")
    assert image.endswith(report.photos[0].public_path.split("/", 1)[1])
    assert hidden_first.public_path.split("/", 1)[1] not in head
    assert "Phạm Thị Hoa" not in head and "hoa@example" not in head and "0900000009" not in head


# --- overview -------------------------------------------------------------------------------

def test_overview_counts_this_months_reports_per_agency_with_satisfaction(app, client, users):
    now = utcnow()
    first, response = published_report(app, users, photos=0, after=0)
    published_report(app, users, photos=0, after=0)
    factories.report()  # received, not answered
    old = factories.report(created_at=now - timedelta(days=70))
    publish(old, users)
    _db.session.add(CitizenFeedback(report=first, response=response, satisfied=True))
    _db.session.flush()

    page = client.get("/reports/overview")
    assert page.status_code == 200
    text = text_of(page)
    nums = [int(n) for n in re.findall(r'<span class="num">(\d+)</span>', text)]
    # received, answered, published, on time, satisfied, not satisfied
    assert nums[:4] == [3, 2, 2, 2] and nums[4:6] == [1, 0]
    row = re.search(r"<th scope=\"row\">" + re.escape(AGENCY) + r"</th>(.*?)</tr>", text).group(1)
    assert re.findall(r'<td class="num">(\d+)', row) == ["2", "2", "2", "0", "1", "0"]


def test_overview_counts_each_report_once_with_its_latest_verdict(app, client, users, db):
    """The overview's satisfaction comes from the statistics service (one rule): a citizen
    not satisfied, then satisfied with the second answer, counts once, as satisfied."""
    now = utcnow()
    report = factories.report(created_at=now)  # in this month whatever day it is
    first_answer = publish(report, users, at=now + timedelta(hours=4))
    public.give_feedback(report, first_answer.id, False, "Ổ gà vẫn còn", now=now + timedelta(hours=5))
    assert report.status == ReportStatus.REOPENED
    second_answer = publish(report, users, at=now + timedelta(hours=9))
    public.give_feedback(report, second_answer.id, True, "", now=now + timedelta(hours=10))
    other, other_answer = published_report(app, users, photos=0, after=0)
    public.give_feedback(other, other_answer.id, False, "Chưa xử lý")
    old = factories.report(created_at=utcnow() - timedelta(days=70))
    public.give_feedback(old, publish(old, users).id, True, "")  # received before this month

    figures = public.overview("vi")
    assert (figures.totals.satisfied, figures.totals.not_satisfied) == (1, 1)
    [row] = [r for r in figures.agencies if r.name == AGENCY]
    assert (row.satisfied, row.not_satisfied) == (1, 1)
    text = text_of(client.get("/reports/overview"))
    nums = [int(n) for n in re.findall(r'<span class="num">(\d+)</span>', text)]
    assert nums[4:6] == [1, 1]


# --- caching --------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/reports", "/reports?q=ga", "/reports/overview", "{code}"])
def test_public_pages_are_cacheable_and_answer_304(app, client, users, db, path):
    report, _ = published_report(app, users, photos=0, after=1)
    url = path.format(code=f"/reports/{report.tracking_code}")
    first = client.get(url)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] in ("public, max-age=60", "max-age=60, public")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag.startswith('W/"') and "Cookie" in first.headers["Vary"]
    assert "Set-Cookie" not in first.headers and "csrf" not in first.text.lower()

    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    assert again.headers["Cache-Control"] in ("public, max-age=60", "max-age=60, public")
    assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    assert client.get(url, headers={"If-None-Match": 'W/"other"', "If-Modified-Since": modified}).status_code == 200

    # What the page shows changes: a photo hidden (not on the overview), then the report itself.
    if "overview" not in url:
        photo = [a for a in report.attachments if a.purpose == "answer"][0]
        photo.hidden = True
        db.session.flush()
        changed = client.get(url, headers={"If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["ETag"] != etag
        assert photo.thumb_path.split("/", 1)[1] not in changed.text  # not the page kept in memory
        etag = changed.headers["ETag"]
    report.title = "Tiêu đề đã sửa"
    report.updated_at = utcnow() + timedelta(seconds=2)
    db.session.flush()
    retitled = client.get(url, headers={"If-None-Match": etag})
    assert retitled.status_code == 200
    assert "overview" in url or "Tiêu đề đã sửa" in text_of(retitled)

    # Another language is another page.
    client.set_cookie("lang", "en")
    english = client.get(url)
    assert english.headers["ETag"] != etag and client.get(url, headers={"If-None-Match": english.headers["ETag"]}
                                                         ).status_code == 304


def test_logged_in_users_get_private_pages(app, client, users, login_as):
    published_report(app, users, photos=0, after=0)
    anonymous = client.get("/reports")  # rendered for everyone, and kept in memory
    assert "ETag" in anonymous.headers
    user = login_as("ioc_operator")
    page = client.get("/reports")
    assert page.status_code == 200
    assert "private" in page.headers["Cache-Control"] and "no-cache" in page.headers["Cache-Control"]
    assert "ETag" not in page.headers
    assert user.name in page.text and user.name not in anonymous.text  # their own page, not the kept one


def test_language_button_works_on_a_cached_page_from_our_own_origin(client):
    page = client.get("/reports")
    assert 'name="csrf_token"' not in page.text
    ours = client.post("/language/en", data={"next": "/reports"}, headers={"Origin": "http://localhost"})
    assert ours.status_code == 303 and "lang=en" in ours.headers["Set-Cookie"]
    by_referer = client.post("/language/vi", data={"next": "/reports"},
                             headers={"Referer": "http://localhost/reports?q=x"})
    assert by_referer.status_code == 303
    foreign = client.post("/language/en", data={"next": "/"}, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 400 and "lang=" not in foreign.headers.get("Set-Cookie", "")
    assert client.post("/language/en", data={"next": "/"}).status_code == 400


# --- speed: no query per row ----------------------------------------------------------------

@pytest.fixture()
def count_queries(db):
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = _db.engine
    event.listen(engine, "before_cursor_execute", before)
    yield statements
    event.remove(engine, "before_cursor_execute", before)


def test_a_page_of_50_reports_with_photos_takes_as_many_queries_as_a_page_of_5(app, client, users, monkeypatch,
                                                                               count_queries):
    monkeypatch.setitem(app.config, "PUBLIC_PAGE_SIZE", 50)
    for n in range(50):
        report = factories.report(title=f"Báo cáo số {n}", latitude=20.84, longitude=106.68)
        add_photo(app, report, stored=False)
        add_photo(app, report, stored=False)
        response = publish(report, users)
        add_photo(app, report, "answer", response, stored=False)

    count_queries.clear()
    page = client.get("/reports")
    assert page.status_code == 200 and text_of(page).count('class="card public-report"') == 50
    for_50 = len(count_queries)
    count_queries.clear()
    few = client.get("/reports", query_string={"q": "so 4"})
    assert 0 < text_of(few).count('class="card public-report"') < 50
    assert for_50 == len(count_queries) <= 7, count_queries
    count_queries.clear()
    assert client.get("/reports", headers={"If-None-Match": page.headers["ETag"]}).status_code == 304
    assert len(count_queries) == 1


# --- the privacy sweep (the first case) ---------------------------------------------

NAME = "Trần Thị Bình"
PHONE = "0900000001"
EMAIL = "binh@example.invalid"
PHONE_PATTERN = re.compile(r"(?<!\d)(?:\+?84|0)?[\s.\-]?" + r"[\s.\-]?".join("900000001") + r"(?!\d)")


def _texts(response) -> list[str]:
    """The response as text, HTML-unescaped, and for JSON with every \\u escape decoded."""
    raw = response.get_data()
    texts = [raw.decode("utf-8", "replace")]
    texts.append(html.unescape(texts[0]))
    if response.mimetype == "application/json":
        texts.append(json.dumps(json.loads(raw), ensure_ascii=False))
    return texts


def assert_nothing_personal(response, url: str, searched: bool = False) -> None:
    for text in _texts(response):
        if searched:  # the person's own query, echoed in the search box and the language form
            text = re.sub(r'(<input[^>]*name="(?:q|next)"[^>]*value=")[^"]*"', r'\1"', text)
        lowered = text.lower()
        for needle in (NAME, unicodedata.normalize("NFD", NAME)):
            assert needle.lower() not in lowered, (url, needle)
        assert "tran thi binh" not in public.fold(text), url
        assert EMAIL not in lowered and quote(EMAIL) not in text and "binh&#64;" not in lowered, url
        assert not PHONE_PATTERN.search(text), (url, PHONE_PATTERN.search(text).group(0))


@pytest.fixture()
def binh_reports(app, client, users, auth, db):
    """Her report through the public form and through the assisted form, both answered
    and published with an answer that thanks her by name and repeats her phone."""
    data = form_data(client, photos=[("truoc.jpg", jpeg_bytes())], reporter_name=NAME,
                     reporter_phone="0900 000 001", reporter_email=EMAIL, title="Ổ gà sâu trước chợ",
                     address="Số 18 Lạch Tray")
    data.pop("reporter_name_public", None)
    response = post_report(client, data)
    assert response.status_code == 303, response.text
    codes = [response.headers["Location"].split("/")[2]]

    from .test_assisted_intake import assisted_data, post_assisted

    member = users["community_member"]
    member.admin_unit = factories.unit(HONG_BANG)
    db.session.flush()
    assert auth.login(member.email).status_code == 303
    assisted = post_assisted(client, assisted_data(client, photos=[("a.jpg", jpeg_bytes(color="blue"))],
                                                   reporter_name=unicodedata.normalize("NFD", NAME),
                                                   reporter_phone="+84 900 000 001", reporter_email=EMAIL))
    assert assisted.status_code == 303, assisted.text
    codes.append(assisted.headers["Location"].split("/")[3])
    auth.logout()

    reports = [db.session.scalar(select(Report).where(Report.tracking_code == code)) for code in codes]
    for report in reports:
        assert report.reporter_name == NAME and report.reporter_phone == PHONE and not report.reporter_name_public
        answer = publish(report, users, body=f"Cảm ơn chị {NAME} (SĐT 0900 000 001, {EMAIL}) đã phản ánh. "
                                             "Chúng tôi đã vá ổ gà.")
        add_photo(app, report, "answer", answer, color="green")
    db.session.commit()  # some error pages roll back (the test's transaction still ends in a rollback)
    return reports


SWEEP_ARGUMENTS = {"fmt": ["json", "xml"], "filename": ["css/public.css"], "service_code": ["giao_thong"]}


def _values(rule, name: str, reports) -> list:
    """Values to put in URL argument ``name``: her tracking codes and ids where the name
    says so, else any value of the argument's type (the page is fetched all the same)."""
    if name in SWEEP_ARGUMENTS:
        return SWEEP_ARGUMENTS[name]
    if "code" in name or "tracking" in name or name == "service_request_id":
        return [r.tracking_code for r in reports]
    if "attachment" in name:
        return [a.id for r in reports for a in r.attachments]
    if "response" in name or "answer" in name:
        return [x.id for r in reports for x in r.responses]
    if name == "report_id":
        return [r.id for r in reports]
    converter = rule._converters.get(name)
    if type(converter).__name__ == "AnyConverter":  # a fixed list of values: every one
        return sorted(converter.items)
    integer = type(converter).__name__ == "IntegerConverter"
    return [1] if integer else ["x"]


def sweep_urls(app, reports) -> list[tuple[str, bool]]:
    """Every GET URL of the app, filled in with her reports, plus searches for her data."""
    from itertools import product

    from flask import url_for

    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        if rule.endpoint in ("media.public_copy", "media.thumbnail"):
            folder = "public_path" if rule.endpoint == "media.public_copy" else "thumb_path"
            for report in reports:
                for attachment in report.attachments:
                    urls.append((rule.rule.replace("<path:name>", getattr(attachment, folder).split("/", 1)[1]),
                                 False))
            continue
        names = sorted(rule.arguments)
        with app.test_request_context():
            for values in product(*[_values(rule, n, reports) for n in names]):
                urls.append((url_for(rule.endpoint, **dict(zip(names, values))), False))
    for report in reports:
        urls += [(f"/track?code={report.tracking_code}", False),
                 (f"/open311/v2/requests.json?service_request_id={report.tracking_code}", False),
                 (f"/open311/v2/requests.xml?service_request_id={report.tracking_code}", False)]
    for q in (NAME, unicodedata.normalize("NFD", NAME), "tran thi binh", PHONE, "0900 000 001", EMAIL,
              "Lạch Tray"):
        urls.append(("/reports?" + "q=" + quote(q), True))
    urls += [("/reports?unit=" + factories.unit(HONG_BANG).code, False), ("/reports?page=2", False),
             ("/open311/v2/requests.json", False), ("/open311/v2/requests.xml", False)]
    return urls


def test_no_public_response_contains_the_reporters_name_phone_or_email(app, client, binh_reports):
    urls = sweep_urls(app, binh_reports)
    public_pages = 0
    for url, searched in urls:
        client.set_cookie("lang", "vi")
        for lang in ("vi", "en"):
            client.set_cookie("lang", lang)
            response = client.get(url)
            assert response.status_code < 500, (url, response.status_code)
            assert_nothing_personal(response, url, searched)
            if response.status_code == 200 and not response.headers.get("Location"):
                public_pages += 1
            response.close()
    # The pages that matter were really fetched and show her reports.
    for report in binh_reports:
        page = client.get(f"/reports/{report.tracking_code}")
        assert page.status_code == 200 and "Chúng tôi đã vá ổ gà" in text_of(page)
        assert "Lạch Tray" in text_of(page) or "Điện Biên Phủ" in text_of(page)
        assert "og:image" in page.text
    listing = text_of(client.get("/reports"))
    assert all(r.tracking_code in listing for r in binh_reports)
    assert public_pages > 30
