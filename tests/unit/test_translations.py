"""The translation catalogues: Vietnamese complete, placeholders intact, in step with the source.

Msgids are English; Vietnamese (``vi``) is the default locale and must be complete.
The English catalogue (``en``) is the source language: ``flask translate update``
fills each of its empty msgstrs with the msgid.

When you add or change a UI string (``_()``, ``_l()``, ``ngettext()`` in Python or
templates), from the repository root::

    FLASK_APP=wsgi.py flask translate update    # new msgids appear in vi with an empty msgstr
    # translate every empty msgstr of hpsmart/translations/vi/LC_MESSAGES/messages.po
    # (words of the project glossary: phản ánh, tiếp nhận, chuyển xử lý, đơn vị xử lý...;
    # keep %(name)s / %(num)d placeholders as they are; Plural-Forms stays nplurals=1)
    FLASK_APP=wsgi.py flask translate compile   # the .mo files (gitignored; install compiles them)

``flask translate init LANG`` creates the catalogue of a new language.
These tests fail on an untranslated or fuzzy Vietnamese string, on a placeholder
that differs between msgid and msgstr, on a source string missing from a
catalogue (``update`` not run), and on a ``.mo`` that is older than its ``.po``.
"""
from __future__ import annotations

import re
from collections import Counter

import pytest
from babel.messages.mofile import read_mo
from click.testing import CliRunner

from hpsmart import cli
from hpsmart.cli import catalogue_path, extract_messages

LANGUAGES = ("vi", "en")

# A printf-style conversion as Python's % operator reads it (``%%`` included, so a
# literal percent sign must match too).
PLACEHOLDER = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<kind>[diouxXeEfFgGcrsa%])")


def read_catalogue(language: str):
    """The parsed ``.po`` of ``language`` (babel Catalog)."""
    return cli._read(catalogue_path(language), language)


def strings_of(message) -> tuple[str, ...]:
    """The msgstr(s) of a message as a tuple (plural forms: one per form)."""
    return tuple(message.string) if isinstance(message.string, (tuple, list)) else (message.string,)


def ids_of(message) -> tuple[str, ...]:
    """The msgid (and msgid_plural) of a message as a tuple."""
    return tuple(message.id) if isinstance(message.id, (tuple, list)) else (message.id,)


def placeholders(text: str) -> Counter:
    """The multiset of ``(name, conversion)`` pairs of ``text``."""
    return Counter((m.group("name"), m.group("kind")) for m in PLACEHOLDER.finditer(text))


def entries(catalog):
    return [message for message in catalog if message.id]


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_is_complete_and_not_fuzzy(language):
    catalog = read_catalogue(language)
    problems = []
    for message in entries(catalog):
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        elif not all(strings_of(message)):
            problems.append(f"untranslated: {message.id!r}")
    assert entries(catalog), f"the {language} catalogue is empty"
    assert not problems, f"{language}: {len(problems)} entries need a translation:\n" + "\n".join(problems)


def test_vietnamese_header_has_one_plural_form():
    catalog = read_catalogue("vi")
    assert str(catalog.locale) == "vi"
    assert catalog.plural_forms == "nplurals=1; plural=0;"
    assert not catalog.fuzzy, "the header of the vi catalogue is marked fuzzy"
    for message in entries(catalog):
        if isinstance(message.id, tuple):
            assert len(message.string) == 1, f"{message.id!r} must have exactly one msgstr[0]"


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_are_kept(language):
    catalog = read_catalogue(language)
    problems = []
    for message in entries(catalog):
        # Each msgstr has the placeholders of the msgid; a plural form may follow either
        # the singular or the plural msgid (an English "One report" names no number).
        accepted = [placeholders(msgid) for msgid in ids_of(message)]
        for index, text in enumerate(strings_of(message)):
            if text and placeholders(text) not in accepted:  # empty ones: the completeness test
                problems.append(f"{message.id!r} → msgstr[{index}] {text!r}: placeholders "
                                f"{sorted(placeholders(text).elements(), key=str)} instead of "
                                f"{sorted(accepted[0].elements(), key=str)}")
    # Babel's own checker (python-format) as a second opinion.
    for message, errors in catalog.check():
        problems.extend(f"{message.id!r}: {error}" for error in errors)
    assert not problems, f"{language}: placeholders differ:\n" + "\n".join(problems)


@pytest.fixture(scope="module")
def source_messages():
    """Every msgid the package's sources and templates use (extracted like ``pybabel extract``)."""
    return {message.id for message in extract_messages() if message.id}


def test_extraction_finds_python_templates_lazy_and_plural_strings(source_messages):
    assert "Access denied" in source_messages  # lazy_gettext (_l) in web.py
    assert "Answered, awaiting approval" in source_messages  # a status title in a model
    assert "Skip to content" in source_messages  # _() in base.html
    assert any(isinstance(msgid, tuple) for msgid in source_messages)  # ngettext


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_is_in_step_with_the_source(language, source_messages):
    catalogue = {message.id for message in entries(read_catalogue(language))}
    missing = sorted(map(repr, source_messages - catalogue))
    stale = sorted(map(repr, catalogue - source_messages))
    assert not missing, (f"{language}: strings used in the code but missing from the catalogue "
                         f"(run `flask translate update`, then translate them):\n" + "\n".join(missing))
    assert not stale, (f"{language}: catalogue entries no longer used in the code "
                       f"(run `flask translate update`):\n" + "\n".join(stale))


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalogue_matches_the_po(language):
    po_path = catalogue_path(language)
    mo_path = po_path.with_suffix(".mo")
    assert mo_path.exists(), f"{mo_path.name} of {language} missing: run `flask translate compile`"
    with mo_path.open("rb") as handle:
        compiled = {ids_of(message): strings_of(message) for message in read_mo(handle) if message.id}
    source = {ids_of(message): strings_of(message) for message in entries(read_catalogue(language))
              if not message.fuzzy and all(strings_of(message))}
    assert compiled == source, f"{language}: the .mo is out of date: run `flask translate compile`"


def test_status_titles_are_the_agreed_vietnamese():
    catalog = read_catalogue("vi")
    expected = {
        "New": "Mới", "Accepted": "Đã tiếp nhận", "Routed to agency": "Đã chuyển xử lý",
        "In progress": "Đang xử lý", "Answered, awaiting approval": "Đã trả lời, chờ duyệt",
        "Answer published": "Đã công khai kết quả", "Rejected": "Từ chối", "Duplicate": "Trùng lặp",
        "Returned to IOC": "Trả lại IOC", "Reopened": "Mở lại", "Hai Phong Smart": "Hải Phòng Smart",
    }
    assert {msgid: catalog[msgid].string for msgid in expected} == expected


def test_vietnamese_strings_are_nfc():
    import unicodedata

    catalog = read_catalogue("vi")
    decomposed = [message.id for message in entries(catalog)
                  if any(unicodedata.normalize("NFC", s) != s for s in strings_of(message))]
    assert not decomposed, f"msgstrs not in NFC: {decomposed}"


# --- the ``flask translate`` commands, run against a temporary translations folder ---

@pytest.fixture()
def translations_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "TRANSLATIONS", tmp_path)
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(cli.translate, list(args))


def test_init_update_compile_round_trip(translations_dir):
    assert run("update").exit_code == 1  # no catalogue yet: a clear message, no traceback
    result = run("init", "vi")
    assert result.exit_code == 0, result.output
    assert run("init", "en").exit_code == 0
    vi = cli._read(translations_dir / "vi/LC_MESSAGES/messages.po", "vi")
    en = cli._read(translations_dir / "en/LC_MESSAGES/messages.po", "en")
    assert vi.plural_forms == "nplurals=1; plural=0;"
    assert vi["Access denied"].string == ""
    assert en["Access denied"].string == "Access denied"  # source language: msgstr = msgid
    plural = next(m for m in en if isinstance(m.id, tuple))
    assert plural.string == plural.id

    result = run("update")
    assert result.exit_code == 0, result.output
    assert "untranslated" in result.output

    result = run("compile")
    assert result.exit_code == 0, result.output
    assert (translations_dir / "vi/LC_MESSAGES/messages.mo").exists()
    assert (translations_dir / "en/LC_MESSAGES/messages.mo").exists()


def test_init_rejects_unknown_or_existing_language(translations_dir):
    result = run("init", "xx-not-a-language")
    assert result.exit_code == 1
    assert "Unknown language code" in result.output
    assert run("init", "vi").exit_code == 0
    result = run("init", "vi")
    assert result.exit_code == 1
    assert "exists already" in result.output


def test_compile_refuses_a_broken_placeholder(translations_dir):
    path = translations_dir / "vi/LC_MESSAGES/messages.po"
    path.parent.mkdir(parents=True)
    path.write_text('msgid ""\nmsgstr ""\n"Language: vi\\n"\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
                    '#, python-format\nmsgid "Welcome, %(name)s."\nmsgstr "Xin chào, %(ten)s."\n',
                    encoding="utf-8")
    result = run("compile")
    assert result.exit_code == 1
    assert "Welcome" in result.output
    assert not path.with_suffix(".mo").exists()


def test_placeholder_pattern():
    assert placeholders("%(num)d phản ánh, 100%% xong") == Counter({("num", "d"): 1, (None, "%"): 1})
    assert placeholders("%(a)s %(a)s %s") == Counter({("a", "s"): 2, (None, "s"): 1})
