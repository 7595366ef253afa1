"""Vietnamese text: normalisation on arrival, folding for search, sorting.

macOS and iOS send decomposed (NFD) Vietnamese; everything is stored NFC.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_FOLD_TABLE = str.maketrans({"đ": "d", "Đ": "d"})

# Vietnamese alphabet order (bảng chữ cái tiếng Việt), then tone marks in the
# conventional dictionary order: ngang, huyền, hỏi, ngã, sắc, nặng.
_BASE_ORDER = "aăâbcdđeêghiklmnoôơpqrstuưvxy"
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}
_BASE_MARKS = {"\u0306", "\u0302", "\u031b"}  # breve (ă), circumflex (â ê ô), horn (ơ ư)


# Control characters no text field may hold (NUL breaks PostgreSQL); tab, line feed
# and carriage return stay.
_CONTROL = {c: None for c in range(32) if c not in (9, 10, 13)} | {0x7F: None}


def nfc(value: str | None) -> str:
    """Return ``value`` in Unicode NFC, without control characters (tab and line breaks
    kept) and with surrounding white space removed.

    :param value: any string, or None (gives ``""``).
    """
    if value is None:
        return ""
    return unicodedata.normalize("NFC", value.translate(_CONTROL)).strip()


# Bidirectional embedding, override and isolate controls: they can make a line read
# differently from what is stored (Unicode TR9; "Trojan Source", CVE-2021-42574).
_BIDI_CONTROLS = {c: None for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def printable(value: str) -> str:
    """``value`` without control characters (NUL and friends: PostgreSQL refuses NUL in text).
    Used by the URL parsers of the inbox, the public pages and search."""
    return "".join(ch for ch in value if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cs"))


def single_line(value: str | None) -> str:
    """``nfc(value)`` for one-line fields (title, name, address): line breaks and runs of
    white space become one space, bidirectional controls are removed.

    :param value: any string, or None (gives ``""``).
    """
    return " ".join(nfc(value).translate(_BIDI_CONTROLS).split())


def fold(value: str | None) -> str:
    """Fold text for accent- and case-insensitive search.

    Lower-cases, removes every combining mark (tones and vowel marks), maps đ/Đ to
    d and collapses white space: ``fold("Đường Nguyễn  Đình Chiểu")`` gives
    ``"duong nguyen dinh chieu"``. NFC and NFD input fold to the same string.
    """
    if not value:
        return ""
    decomposed = unicodedata.normalize("NFD", value.translate(_FOLD_TABLE))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.translate(_FOLD_TABLE).casefold().split())


# A search token: a run of letters and digits (Unicode), as SQLite FTS5's unicode61
# tokenizer splits text; everything else (spaces, punctuation, "-", "_") separates.
_TOKEN = re.compile(r"[^\W_]+")


def search_tokens(value: str | None) -> list[str]:
    """The search tokens of ``value``: ``fold(value)`` split into runs of letters and
    digits. ``search_tokens("Đường Lạch-Tray, số 5")`` gives
    ``["duong", "lach", "tray", "so", "5"]``.

    :param value: any string, or None (gives ``[]``).
    """
    return _TOKEN.findall(fold(value))


def search_document(*parts: str | None) -> str:
    """The text that search matches against (``Report.search_text``): the search tokens
    of ``parts``, each preceded by one space (``" duong lach tray"``), so that "a word
    starting with w" is the substring ``" w"`` on every database.

    :param parts: strings or None, in order (tracking code, title, ...).
    :returns: ``""`` when there is no token, else a string starting with a space.
    """
    tokens = search_tokens(" ".join(p for p in parts if p))
    return "".join(" " + t for t in tokens)


@lru_cache(maxsize=8192)
def vietnamese_sort_key(value: str) -> tuple:
    """Sort key for Vietnamese order: base letters by the Vietnamese alphabet
    (a ă â b c d đ e ê ...), then tone marks, case-insensitive.

    Memoised (a pure function of the string): pages sort the same few hundred names
    of agencies and wards/communes on every request (about 30 µs a name otherwise).

    :returns: a tuple usable with ``sorted(..., key=vietnamese_sort_key)``.
    """
    letters: list[int] = []
    tones: list[int] = []
    for ch in unicodedata.normalize("NFC", value).casefold():
        parts = unicodedata.normalize("NFD", ch)
        base = parts[0]
        tone = 0
        for mark in parts[1:]:
            if mark in _TONES:
                tone = _TONES[mark]
            elif mark in _BASE_MARKS:
                base += mark
        base = unicodedata.normalize("NFC", base)
        idx = _BASE_ORDER.find(base) if len(base) == 1 else -1
        letters.append(idx * 1000 if idx >= 0 else 100000 + ord(base[0]))
        tones.append(tone)
    return tuple(letters), tuple(tones)
