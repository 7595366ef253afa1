"""Who issues and signs administrative documents, and the context every document template needs.

Settings (app config, all optional; defaults in ``Letterhead``), read from the
environment variables of the same names by :mod:`hpsmart.config` (NFC; listed in
README.md): ``PDF_PARENT_BODY`` (``\\n`` or a line break splits it over two lines),
``PDF_ISSUING_BODY``, ``PDF_DOCUMENT_SYMBOL`` (e.g. ``BC-SKHCN``), ``PDF_PLACE``,
``PDF_SIGNER_AUTHORITY`` (e.g. ``KT. GIÁM ĐỐC``), ``PDF_SIGNER_TITLE``,
``PDF_SIGNER_NAME``, ``PDF_RECIPIENTS`` (a list, or one recipient per line). An
empty value means the default.
The default issuing body is Sở Khoa học và Công nghệ, which took over the work of
the 2022 Sở Thông tin và Truyền thông in the 2025 restructuring.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from ..text import nfc
from . import format as fmt


@dataclass(frozen=True)
class Letterhead:
    """Who issues and signs the document (Phụ lục I, mục II.2, II.3, II.7, II.9).

    Names are written in normal case; the header puts them in capitals.
    ``parent_body`` may contain ``\\n`` to break it over two lines.
    """

    parent_body: str = "Ủy ban nhân dân\nthành phố Hải Phòng"
    issuing_body: str = "Sở Khoa học và Công nghệ"
    symbol: str = "BC-SKHCN"
    place: str = "Hải Phòng"
    signer_authority: str = "KT. GIÁM ĐỐC"
    signer_title: str = "PHÓ GIÁM ĐỐC"
    signer_name: str = ""
    recipients: tuple[str, ...] = ("Ủy ban nhân dân thành phố (để báo cáo)", "Giám đốc Sở (để báo cáo)",
                                   "Trung tâm Giám sát, điều hành đô thị thông minh", "Lưu: VT, IOC")

    @property
    def parent_lines(self) -> list[str]:
        """The parent body in capitals, one entry per line."""
        return [fmt.upper_vi(line.strip()) for line in self.parent_body.split("\n") if line.strip()]


def letterhead_from_config(config: Mapping) -> Letterhead:
    """A ``Letterhead`` from the app config's ``PDF_*`` keys (missing keys: defaults)."""
    default = Letterhead()
    recipients = config.get("PDF_RECIPIENTS")
    if isinstance(recipients, str):
        recipients = [line for line in recipients.splitlines() if line.strip()]
    return Letterhead(
        parent_body=nfc(config.get("PDF_PARENT_BODY") or default.parent_body).replace("\\n", "\n"),
        issuing_body=nfc(config.get("PDF_ISSUING_BODY") or default.issuing_body),
        symbol=nfc(config.get("PDF_DOCUMENT_SYMBOL") or default.symbol),
        place=nfc(config.get("PDF_PLACE") or default.place),
        signer_authority=nfc(config.get("PDF_SIGNER_AUTHORITY") or default.signer_authority),
        signer_title=nfc(config.get("PDF_SIGNER_TITLE") or default.signer_title),
        signer_name=nfc(config.get("PDF_SIGNER_NAME") or default.signer_name),
        recipients=tuple(nfc(r) for r in recipients) if recipients else default.recipients,
    )


def document_context(letterhead: Letterhead, *, number: str | int | None, issued_on: date) -> dict:
    """Template variables of ``templates/pdf/base.html``: the header and closing blocks.

    :param number: registration number (None/"": left blank for the clerk).
    :param issued_on: local date of the document (Asia/Ho_Chi_Minh).
    :returns: ``letterhead``, ``national_title``, ``motto``, ``document_type``,
        ``recipients_heading``, ``number_line`` ("Số: 07/BC-SKHCN"), ``number_symbol``
        ("07/BC-SKHCN"), ``date_line``, ``issued_on``,
        ``issued_phrase`` ("ngày 05 tháng 01 năm 2027"), ``recipient_lines``, ``upper``.
    """
    return {
        "letterhead": letterhead,
        "national_title": fmt.NATIONAL_TITLE,
        "motto": fmt.MOTTO,
        "document_type": fmt.DOCUMENT_TYPE_REPORT,
        "recipients_heading": fmt.RECIPIENTS_HEADING,
        "number_line": fmt.number_and_symbol(number, letterhead.symbol),
        "number_symbol": fmt.number_and_symbol(number, letterhead.symbol).removeprefix("Số: "),
        "date_line": fmt.place_and_date(letterhead.place, issued_on),
        "issued_on": issued_on,
        "issued_phrase": fmt.decree_date(issued_on),
        "recipient_lines": fmt.recipient_lines(letterhead.recipients),
        "upper": fmt.upper_vi,
    }
