"""Format rules of Nghị định 30/2020/NĐ-CP (công tác văn thư), Phụ lục I: "Thể thức, kỹ thuật
trình bày văn bản hành chính", for the parts of a document that are text.

The decree fixes these words in Vietnamese whatever the reader's language; they
are not translated. The layout rules (A4, margins, sizes) live in
``templates/pdf/document.css``.

* Quốc hiệu và Tiêu ngữ (Phụ lục I, mục II.1): ``NATIONAL_TITLE``, ``MOTTO``.
* Số, ký hiệu (mục II.3): "Số" then a colon; numbers below 10 get a leading 0;
  the symbol of a report is ``BC-<issuing body's abbreviation>``.
* Địa danh và thời gian ban hành (mục II.4): "<place>, ngày dd tháng mm năm yyyy";
  days below 10 and the months 1 and 2 get a leading 0, the other months do not.
* Nơi nhận (mục II.9.b): each recipient on its own line after a dash, ending in a
  semicolon; the last line ("Lưu: VT, ...") ends in a full stop.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date

NATIONAL_TITLE = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
DOCUMENT_TYPE_REPORT = "BÁO CÁO"
RECIPIENTS_HEADING = "Nơi nhận:"


def decree_day(day: int) -> str:
    """A day of the month as the decree writes it: ``05``, ``10``, ``31``."""
    return f"{day:02d}"


def decree_month(month: int) -> str:
    """A month as the decree writes it: ``01``, ``02``, then ``3`` ... ``12`` (no leading 0)."""
    if not 1 <= month <= 12:
        raise ValueError("month must be 1..12")
    return f"{month:02d}" if month <= 2 else str(month)


def decree_date(day: date) -> str:
    """``ngày 05 tháng 01 năm 2027`` / ``ngày 15 tháng 3 năm 2027`` (Phụ lục I, mục II.4)."""
    return f"ngày {decree_day(day.day)} tháng {decree_month(day.month)} năm {day.year}"


def place_and_date(place: str, day: date) -> str:
    """``Hải Phòng, ngày 05 tháng 01 năm 2027``: place name, comma, then ``decree_date``."""
    return f"{place}, {decree_date(day)}"


def number_and_symbol(number: int | str | None, symbol: str) -> str:
    """``Số: 07/BC-SKHCN``; without a number (the clerk fills it in when the document is
    registered) ``Số:      /BC-SKHCN`` with room to write it.

    :param number: the registration number, or None/"" when not yet known.
    :param symbol: the symbol after the slash, e.g. ``BC-SKHCN``.
    """
    text = str(number).strip() if number not in (None, "") else ""
    if text.isdigit():
        text = f"{int(text):02d}"
    blank = "\u00a0" * 6
    return f"Số: {text or blank}/{symbol}"


def recipient_lines(recipients: Iterable[str]) -> list[str]:
    """Recipients as the decree lays them out: ``- name;`` ..., the last one ending in ``.``.

    Blank entries are dropped; leading dashes and trailing ``;``/``.``/``,`` typed
    by people are normalised.
    """
    names = [r.strip().lstrip("-–•").strip().rstrip(";.,").strip() for r in recipients]
    names = [n for n in names if n]
    return [f"- {n}{'.' if i == len(names) - 1 else ';'}" for i, n in enumerate(names)]


def upper_vi(text: str) -> str:
    """Capitals for headers (Vietnamese letters included): ``Sở Khoa học`` → ``SỞ KHOA HỌC``."""
    return text.upper()
