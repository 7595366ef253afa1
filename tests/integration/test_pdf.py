"""The PDF report: text read back with pypdf (header, date line, figures, Vietnamese),
tables across pages, page numbers, no personal data, the restricted URL fetcher,
the download routes, and page 1 against a reviewed reference image."""
from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from datetime import date, datetime, timezone
from io import BytesIO
from pathlib import Path

import pytest
from flask_babel import force_locale, gettext
from PIL import Image, ImageChops
from pypdf import PdfReader
from sqlalchemy import select

from hpsmart.models import Agency, Channel, CitizenFeedback, ReportStatus
from hpsmart.pdf import ForbiddenResource, StaticOnlyFetcher, html_to_pdf, render_pdf, static_root
from hpsmart.pdf import format as fmt
from hpsmart.pdf.letterhead import Letterhead, document_context, letterhead_from_config
from hpsmart.pdf.summary import SummaryOptions, figure_rows, summary_pdf
from hpsmart.services import statistics as st

from .. import factories

S = ReportStatus
NOW = datetime(2026, 12, 10, 3, 0, tzinfo=timezone.utc)
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))
ISSUED = date(2027, 1, 5)
REFERENCE = Path(__file__).resolve().parent.parent / "reference" / "summary-page1.png"
# Top margin of the page (20 mm), in PDF points: the page number lives there.
TOP_MARGIN_PT = 20 / 25.4 * 72


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def flat(text: str) -> str:
    """Text with every run of white space made one space (lines wrap differently in a PDF)."""
    return " ".join(text.split())


class Page:
    """One page of a PDF: its text and the text drawn in the top margin (page number)."""

    def __init__(self, page):
        self.text = page.extract_text()
        self.margin: list[tuple[str, float]] = []
        height = float(page.mediabox.height)

        def visit(text, cm, tm, font, size):
            if not text.strip():
                return
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            if y > height - TOP_MARGIN_PT:
                self.margin.append((text.strip(), x))

        page.extract_text(visitor_text=visit)

    @property
    def flat(self) -> str:
        return flat(self.text)


def read(pdf: bytes) -> list[Page]:
    assert pdf.startswith(b"%PDF-")
    return [Page(p) for p in PdfReader(BytesIO(pdf)).pages]


def old_agency(name: str) -> Agency:
    return factories.db.session.scalar(select(Agency).where(Agency.name == name, Agency.valid_to.is_not(None)))


@pytest.fixture()
def november(db):
    """A small November 2026: every kind of figure, a 2022 agency, an overdue report."""
    xd, khcn = factories.agency("Sở Xây dựng"), factories.agency("Sở Khoa học và Công nghệ")
    ttt = old_agency("Sở Thông tin và Truyền thông")
    reports = [
        factories.report(created_at=utc(2026, 11, 2, 1), status=S.NEW),
        factories.report(created_at=utc(2026, 11, 3, 2), status=S.REJECTED),
        factories.report(created_at=utc(2026, 11, 4, 1), status=S.ROUTED, agency=ttt,
                         accepted_at=utc(2026, 11, 4, 2), deadline=utc(2026, 11, 18, 16, 59, 59),
                         title="Đèn đường hỏng trước chợ Cát Bi"),
        factories.report(created_at=utc(2026, 11, 2, 1, 30), status=S.PUBLISHED, agency=khcn, channel=Channel.APP,
                         accepted_at=utc(2026, 11, 2, 2), answered_at=utc(2026, 11, 6, 3),
                         published_at=utc(2026, 11, 6, 4), deadline=utc(2026, 11, 16, 16, 59, 59)),
        factories.report(created_at=utc(2026, 11, 9, 1), status=S.ANSWERED, agency=xd,
                         accepted_at=utc(2026, 11, 9, 2), answered_at=utc(2026, 11, 23, 5),
                         deadline=utc(2026, 11, 20, 16, 59, 59)),
        factories.report(created_at=utc(2026, 10, 20, 1), status=S.PUBLISHED, agency=xd,
                         accepted_at=utc(2026, 10, 20, 2), answered_at=utc(2026, 10, 22, 3),
                         published_at=utc(2026, 10, 22, 4), deadline=utc(2026, 10, 30, 16, 59, 59)),
    ]
    return reports


def render(options: SummaryOptions | None = None, letterhead: Letterhead | None = None, **kw) -> bytes:
    options = options or SummaryOptions(issued_on=ISSUED)
    return summary_pdf(*NOVEMBER, options=options, letterhead=letterhead, now=NOW, **kw)


# --- the decree's text rules ------------------------------------------------------------------

def test_date_line_pads_days_below_10_and_months_1_and_2_only():
    assert fmt.place_and_date("Hải Phòng", date(2027, 1, 5)) == "Hải Phòng, ngày 05 tháng 01 năm 2027"
    assert fmt.decree_date(date(2027, 2, 9)) == "ngày 09 tháng 02 năm 2027"
    assert fmt.decree_date(date(2027, 3, 15)) == "ngày 15 tháng 3 năm 2027"
    assert fmt.decree_date(date(2026, 11, 30)) == "ngày 30 tháng 11 năm 2026"
    assert fmt.decree_date(date(2026, 12, 1)) == "ngày 01 tháng 12 năm 2026"


def test_number_symbol_and_recipients():
    assert fmt.number_and_symbol(7, "BC-SKHCN") == "Số: 07/BC-SKHCN"
    assert fmt.number_and_symbol("125", "BC-SKHCN") == "Số: 125/BC-SKHCN"
    assert fmt.number_and_symbol("", "BC-SKHCN") == "Số: \u00a0\u00a0\u00a0\u00a0\u00a0\u00a0/BC-SKHCN"
    assert fmt.recipient_lines(["UBND thành phố (để báo cáo);", " - Giám đốc Sở", "", "Lưu: VT, IOC."]) == [
        "- UBND thành phố (để báo cáo);", "- Giám đốc Sở;", "- Lưu: VT, IOC."]


def test_letterhead_from_config():
    letterhead = letterhead_from_config({"PDF_SIGNER_NAME": "Nguyễn Văn An", "PDF_RECIPIENTS": "A\nB\n",
                                         "PDF_PARENT_BODY": "UBND thành phố Hải Phòng"})
    assert letterhead.signer_name == "Nguyễn Văn An" and letterhead.recipients == ("A", "B")
    assert letterhead.parent_lines == ["UBND THÀNH PHỐ HẢI PHÒNG"]
    assert letterhead_from_config({}) == Letterhead()
    assert Letterhead().parent_lines == ["ỦY BAN NHÂN DÂN", "THÀNH PHỐ HẢI PHÒNG"]


# --- the fetcher ------------------------------------------------------------------------------

def test_fetcher_serves_the_static_folder_only(app, tmp_path):
    with app.app_context():
        root = static_root()
        fetcher = StaticOnlyFetcher([root])
        font = root / "fonts" / "LiberationSerif-Regular.ttf"
        response = fetcher.fetch(font.as_uri())
        assert response.read()[:4] == b"\x00\x01\x00\x00"
        outside = tmp_path / "secret.txt"
        outside.write_text("secret")
        link = root / "fonts" / "link-to-secret.ttf"
        for url in ("file:///etc/passwd", outside.as_uri(), (root / ".." / "__init__.py").as_uri(),
                    "http://127.0.0.1:5000/static/fonts/LiberationSerif-Regular.ttf",
                    "https://example.com/font.ttf", "data:text/plain,hello", "ftp://example.com/x"):
            with pytest.raises(ForbiddenResource):
                fetcher.fetch(url)
        try:
            link.symlink_to(outside)
            with pytest.raises(ForbiddenResource):
                fetcher.fetch(link.as_uri())
        finally:
            link.unlink(missing_ok=True)


def test_documents_load_bundled_fonts_and_nothing_from_outside(app, tmp_path):
    secret = tmp_path / "photo.png"
    secret.write_bytes(b"not really a png")
    with app.app_context():
        css = (Path(app.root_path) / "templates" / "pdf" / "document.css").read_text(encoding="utf-8")
        html = (f'<html><head><style>{css}</style></head><body>'
                f'<p>Xin chào</p><img src="http://127.0.0.1:9/x.png"><img src="{secret.as_uri()}">'
                '<link rel="stylesheet" href="https://example.com/x.css"></body></html>')
        fetcher = StaticOnlyFetcher([static_root()])
        pdf = html_to_pdf(html, fetcher=fetcher)
    assert set(fetcher.refused) == {"http://127.0.0.1:9/x.png", secret.as_uri(), "https://example.com/x.css"}
    fonts = {Path(u).name for u in fetcher.requested if u.endswith(".ttf")}
    assert "LiberationSerif-Regular.ttf" in fonts
    assert embedded_font_families(pdf) == {"Liberation Serif"}


def embedded_font_families(pdf: bytes) -> set[str]:
    """Family names (from each embedded font file's own name table) of the fonts in a PDF."""
    from fontTools.ttLib import TTFont

    families = set()
    for page in PdfReader(BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            descriptor = (descendants[0].get_object() if descendants else font)["/FontDescriptor"].get_object()
            data = descriptor["/FontFile2"].get_object().get_data()
            families.add(TTFont(BytesIO(data))["name"].getDebugName(1))
    return families


# --- the summary report -----------------------------------------------------------------------

def test_summary_pdf_has_the_header_the_period_and_the_service_figures(app, november):
    fetcher = StaticOnlyFetcher([static_root()])
    pdf = render(fetcher=fetcher)
    pages = read(pdf)
    assert fetcher.refused == []
    assert embedded_font_families(pdf) == {"Liberation Serif"}
    first = pages[0].text
    for expected in ("ỦY BAN NHÂN DÂN", "THÀNH PHỐ HẢI PHÒNG", "SỞ KHOA HỌC VÀ CÔNG NGHỆ",
                     "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "/BC-SKHCN",
                     "Hải Phòng, ngày 05 tháng 01 năm 2027", "BÁO CÁO"):
        assert expected in first, expected
    assert re.search(r"Số:\s+/BC-SKHCN", first)
    assert first.index("CỘNG HÒA") < first.index("BÁO CÁO")
    everything = flat(" ".join(p.text for p in pages))
    assert "01/11/2026" in everything and "30/11/2026" in everything  # the period
    with force_locale("vi"):
        current = st.compute(*NOVEMBER, now=NOW)
        previous = st.compute(*st.previous_period(*NOVEMBER), now=NOW)
        rows = figure_rows(current, previous)
    assert current.totals.received == 5 and previous.totals.received == 1
    for row in rows:
        assert flat(f"{row.label} {row.current} {row.previous} {row.change}") in everything, row
    assert "Nơi nhận:" in everything and "KT. GIÁM ĐỐC" in everything and "PHÓ GIÁM ĐỐC" in everything
    assert "- Lưu: VT, IOC." in everything


def test_agency_table_shows_the_successor_with_the_former_name(app, november):
    factories.db.session.add(CitizenFeedback(report=november[3], satisfied=True, created_at=utc(2026, 11, 7)))
    factories.db.session.flush()
    everything = flat(" ".join(p.text for p in read(render())))
    # No., agency, (the former agency), received, answered, on time, late, overdue, on-time rate, satisfaction rate
    row = everything[everything.index("1 Sở Khoa học và Công nghệ "):everything.index("2 Sở Xây dựng 1 1 0 1 0 0,0% —")]
    assert "Sở Thông tin và Truyền thông" in row
    assert row.endswith(" 2 1 1 0 1 100,0% 100,0% ")
    assert "Đèn đường hỏng trước chợ Cát Bi" in everything  # in the overdue list
    assert ("Người dân đã đánh giá kết quả trả lời đối với 1 phản ánh trong số này: 1 hài lòng và 0 không hài "
            "lòng (tỷ lệ hài lòng 100,0%).") in everything
    assert "Tỷ lệ hài lòng 100,0% — —" in everything  # the summary table: no verdict in October


def test_signature_and_recipients_are_configurable(app, november):
    options = SummaryOptions(issued_on=date(2027, 3, 15), number="3", signer_authority="TUQ. GIÁM ĐỐC",
                             signer_title="CHÁNH VĂN PHÒNG", signer_name="Trần Văn Minh",
                             recipients=("UBND thành phố", "Lưu: VT"))
    everything = flat(" ".join(p.text for p in read(render(options))))
    for expected in ("Số: 03/BC-SKHCN", "Hải Phòng, ngày 15 tháng 3 năm 2027", "TUQ. GIÁM ĐỐC",
                     "CHÁNH VĂN PHÒNG", "Trần Văn Minh", "- UBND thành phố; - Lưu: VT."):
        assert expected in everything, expected
    assert "KT. GIÁM ĐỐC" not in everything


def test_text_typed_in_nfd_comes_back_in_nfc(app, november):
    title = "Cống thoát nước bị tắc ở phố Lạch Tray, nước tràn lên vỉa hè"
    decomposed = unicodedata.normalize("NFD", title)
    assert decomposed != title
    report = factories.report(created_at=utc(2026, 11, 12, 3), title=decomposed)
    pages = read(render(SummaryOptions(issued_on=ISSUED, notable_ids=(report.id,), appendix=True)))
    everything = flat(" ".join(p.text for p in pages))
    assert flat(title) in everything
    assert unicodedata.is_normalized("NFC", everything)
    assert "Hải Phòng" in everything and "Độc lập" in everything


def test_no_personal_data_of_reporters(app, db):
    name, phone, email = "Quách Thị Zuyên", "0987654321", "zuyen.quach@test.example.com"
    reports = [
        factories.report(created_at=utc(2026, 11, 5, 2), reporter_name=name, reporter_phone=phone,
                         reporter_email=email, reporter_name_public=False,
                         title=f"Ngập nước trước nhà {name}, gọi {phone} hoặc {email}", status=S.ROUTED,
                         agency=factories.agency(), accepted_at=utc(2026, 11, 5, 3),
                         deadline=utc(2026, 11, 6, 16, 59, 59)),
        factories.report(created_at=utc(2026, 11, 6, 2), reporter_name=name, reporter_phone=phone,
                         reporter_email=email, title="Rác thải ùn ứ", status=S.PUBLISHED, agency=factories.agency(),
                         accepted_at=utc(2026, 11, 6, 3), answered_at=utc(2026, 11, 9, 3),
                         deadline=utc(2026, 11, 20, 16, 59, 59)),
    ]
    pdf = render(SummaryOptions(issued_on=ISSUED, notable_ids=tuple(r.id for r in reports), appendix=True))
    everything = " ".join(p.text for p in read(pdf))
    assert reports[0].tracking_code in everything and "Ngập nước trước nhà" in everything
    digits = re.sub(r"\D", "", everything)
    folded = flat(everything).casefold()
    for secret in (name, "Zuyên", email, "zuyen"):
        assert secret.casefold() not in folded, secret
    assert phone not in digits
    assert name.encode() not in pdf and phone.encode() not in pdf


def test_appendix_of_120_rows_repeats_its_header_and_never_splits_a_row(app, db):
    reports = [
        factories.report(created_at=utc(2026, 11, 1 + i % 28, 2, i % 60),
                         title=f"Phản ánh thứ {i:03d}: vỉa hè bị lấn chiếm, xe máy đỗ tràn xuống lòng đường "
                               f"gây ùn tắc giờ cao điểm")
        for i in range(120)
    ]
    pdf = render(SummaryOptions(issued_on=ISSUED, appendix=True))
    pages = read(pdf)
    with force_locale("vi"):
        lines = st.report_lines(*NOVEMBER, now=NOW)
        header = [gettext(label) for label in ("No.", "Tracking code", "Title", "Ward/commune")]
    assert len(lines) == 120
    first_row_page = next(i for i, p in enumerate(pages) if lines[0].tracking_code in p.text)
    assert len(pages) - first_row_page >= 3, "the appendix should take several pages"
    for page in pages[first_row_page:]:
        assert all(flat(label) in page.flat for label in header), "header row missing on a page"
    for number, line in enumerate(lines, start=1):
        holders = [i for i, p in enumerate(pages) if line.tracking_code in p.text]
        assert len(holders) == 1, line.tracking_code
        page = pages[holders[0]].flat
        row = flat(f"{number} {line.tracking_code} {line.received_at.astimezone(st.LOCAL_TZ):%d/%m/%Y} {line.title}")
        assert row in page, f"row {number} is split across pages"
        assert flat(f"{line.unit}") in page
    assert {r.tracking_code for r in reports} == {line.tracking_code for line in lines}


def test_page_numbers_run_from_2_to_n_centred_at_the_top(app, db):
    for i in range(60):
        factories.report(created_at=utc(2026, 11, 3, 2, i), title=f"Cây đổ chắn ngang đường số {i}")
    pages = read(render(SummaryOptions(issued_on=ISSUED, appendix=True)))
    assert len(pages) >= 3
    assert pages[0].margin == []
    centre = (30 + 165 / 2) / 25.4 * 72  # the middle of the text block: left margin 30 mm, width 165 mm
    for number, page in enumerate(pages[1:], start=2):
        assert [text for text, _ in page.margin] == [str(number)]
        x = page.margin[0][1]
        assert abs(x + 3.5 * len(str(number)) - centre) < 6, (number, x)


def test_a_one_page_document_has_no_page_number(app):
    with app.app_context(), force_locale("vi"):
        context = document_context(Letterhead(), number=None, issued_on=ISSUED)
        pdf = render_pdf("base.html", subject="Về việc thử nghiệm", paragraphs=["Nội dung ngắn."], **context)
    pages = read(pdf)
    assert len(pages) == 1
    assert pages[0].margin == []
    assert "Hải Phòng, ngày 05 tháng 01 năm 2027" in pages[0].text and "Về việc thử nghiệm" in pages[0].text


def test_page_1_matches_the_reviewed_reference_image(app, november, tmp_path):
    """Page 1 rendered at 60 dpi, grey, against tests/reference/summary-page1.png.

    Tolerance: at most 0.5 % of pixels differ by more than a third of the grey
    range (anti-aliasing and font hinting move single pixels; a moved block,
    wrong font, wrong margin or missing line moves thousands).
    """
    assert shutil.which("pdftoppm"), "pdftoppm (poppler-utils) is needed to render PDF pages"
    pdf = tmp_path / "summary.pdf"
    pdf.write_bytes(render())
    subprocess.run(["pdftoppm", "-r", "60", "-gray", "-png", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                    str(tmp_path / "page1")], check=True)
    actual = Image.open(tmp_path / "page1.png").convert("L")
    expected = Image.open(REFERENCE).convert("L")
    assert actual.size == expected.size
    diff = ImageChops.difference(actual, expected)
    histogram = diff.histogram()
    changed = sum(histogram[85:])
    share = changed / (actual.size[0] * actual.size[1])
    if share > 0.005:
        actual.save(tmp_path / "actual.png")
    assert share <= 0.005, f"{share:.2%} of pixels differ; see {tmp_path / 'actual.png'}"


# --- the routes -------------------------------------------------------------------------------

def test_pdf_download_at_the_stable_address(client, users, login_as, november):
    login_as("ioc_operator")
    response = client.get("/reports/summary.pdf?from=2026-11-01&to=2026-11-30")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == 'attachment; filename="bao-cao-phan-anh-thang-11-2026.pdf"'
    text = flat(" ".join(p.text for p in read(response.data)))
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "01/11/2026" in text
    same = client.get("/summary/pdf?from=2026-11-01&to=2026-11-15&signer_name=L%C3%AA+Lan&notable="
                      + november[2].tracking_code.lower())
    assert same.status_code == 200
    assert same.headers["Content-Disposition"].endswith('filename="bao-cao-phan-anh-2026-11-01-den-2026-11-15.pdf"')
    text = flat(" ".join(p.text for p in read(same.data)))
    assert "Lê Lan" in text and "Đèn đường hỏng trước chợ Cát Bi" in text


@pytest.mark.parametrize("query", ["from=2026-13-01&to=2026-11-30", "from=2026-11-30&to=2026-11-01",
                                   "from=2026-11-01&to=2026-11-30&notable=HP-1999-999999",
                                   "from=2026-11-01&to=2026-11-30&channel=pigeon"])
def test_bad_pdf_parameters_give_422_with_the_form(client, users, login_as, query):
    login_as("agency_lead")
    response = client.get("/reports/summary.pdf?" + query)
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    assert 'class="error"' in response.text


def test_dashboard_shows_the_service_figures_with_inbox_links(client, users, login_as, november):
    login_as("ioc_operator")
    response = client.get("/summary/?from=2026-11-01&to=2026-11-30")
    assert response.status_code == 200
    page = response.text
    assert "date_from=2026-11-01&amp;date_to=2026-11-30&amp;due=overdue" in page
    assert "status=answered&amp;status=published" in page
    assert "Sở Thông tin và Truyền thông" in page
    assert page.count("<svg") == 4 and "<script" not in page.split("<main", 1)[1].split("</main>")[0]
    filtered = client.get(f"/summary/?from=2026-11-01&to=2026-11-30&channel=app")
    assert filtered.status_code == 200 and "channel=app" in filtered.text
    assert client.get("/summary/?from=nonsense").status_code == 422


def test_a_long_appendix_goes_to_a_background_job_and_a_too_long_one_is_refused(client, app, users, login_as,
                                                                                november, monkeypatch):
    """Beyond PDF_APPENDIX_DIRECT_ROWS the stable address offers a background job (the job
    itself: tests/integration/test_jobs.py); beyond PDF_APPENDIX_MAX_ROWS it answers 422."""
    monkeypatch.setitem(app.config, "PDF_APPENDIX_DIRECT_ROWS", 2)
    login_as("admin")
    offer = client.get("/reports/summary.pdf?from=2026-11-01&to=2026-11-30&appendix=y")
    assert offer.status_code == 200 and offer.mimetype == "text/html"
    assert 'action="/summary/jobs"' in offer.text and 'name="csrf_token"' in offer.text
    monkeypatch.setitem(app.config, "PDF_APPENDIX_MAX_ROWS", 4)
    response = client.get("/reports/summary.pdf?from=2026-11-01&to=2026-11-30&appendix=y")
    assert response.status_code == 422 and response.mimetype == "text/html"
    assert 'class="error"' in response.text and "<details class=\"pdf\" open>" in response.text
    assert client.get("/reports/summary.pdf?from=2026-11-01&to=2026-11-30").status_code == 200


def test_letterhead_settings_come_from_the_environment(client, app, users, login_as, november, monkeypatch,
                                                       tmp_path):
    """PDF_* environment variables (read by hpsmart.config, NFC) reach the document."""
    import unicodedata

    from hpsmart.config import PDF_LETTERHEAD_SETTINGS, load_settings

    values = {
        "PDF_PARENT_BODY": "Ủy ban nhân dân\\nhuyện đảo Bạch Long Vĩ",
        "PDF_ISSUING_BODY": unicodedata.normalize("NFD", "Phòng Văn hóa và Thông tin"),
        "PDF_DOCUMENT_SYMBOL": "BC-VHTT",
        "PDF_PLACE": "Bạch Long Vĩ",
        "PDF_SIGNER_AUTHORITY": "TL. CHỦ TỊCH",
        "PDF_SIGNER_TITLE": "TRƯỞNG PHÒNG",
        "PDF_SIGNER_NAME": "Đỗ Thị Hường",
        "PDF_RECIPIENTS": "UBND huyện (để báo cáo)\\nLưu: VT",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(str(tmp_path))
    assert settings["PDF_ISSUING_BODY"] == "Phòng Văn hóa và Thông tin"  # NFC
    for name in PDF_LETTERHEAD_SETTINGS:
        monkeypatch.setitem(app.config, name, settings[name])
    login_as("ioc_operator")
    response = client.get("/reports/summary.pdf?from=2026-11-01&to=2026-11-30")
    assert response.status_code == 200
    pages = read(response.data)
    everything = flat(" ".join(p.text for p in pages))
    first = pages[0].text
    for expected in ("ỦY BAN NHÂN DÂN", "HUYỆN ĐẢO BẠCH LONG VĨ", "PHÒNG VĂN HÓA VÀ THÔNG TIN", "/BC-VHTT"):
        assert expected in first, expected
    for expected in ("Bạch Long Vĩ, ngày", "TL. CHỦ TỊCH", "TRƯỞNG PHÒNG", "Đỗ Thị Hường",
                     "- UBND huyện (để báo cáo); - Lưu: VT."):
        assert expected in everything, expected
    assert "SỞ KHOA HỌC VÀ CÔNG NGHỆ" not in first
