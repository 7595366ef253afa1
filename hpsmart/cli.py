"""Command-line interface: ``flask <command>``.

Every command reports bad input as a clear message and exits with status 1;
none ends in a traceback for a user's mistake.
"""
from __future__ import annotations

import copy
from importlib import metadata
from pathlib import Path

import click
from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from flask import Flask
from flask.cli import with_appcontext

from .extensions import db


def needs_database(command):
    """Decorator for commands that use the database: a database that is missing or not
    migrated gives a clear message (exit status 1) instead of a traceback."""
    import functools

    from flask_babel import gettext as _
    from sqlalchemy.exc import OperationalError, ProgrammingError

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (OperationalError, ProgrammingError):
            db.session.rollback()
            raise click.ClickException(
                _("The database is not set up or not up to date: run “flask db upgrade” first.")) from None

    return wrapper


def register_cli(app: Flask) -> None:
    """Attach the commands to ``app.cli``."""
    app.cli.add_command(load_reference_command)
    app.cli.add_command(load_demo_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(translate)
    app.cli.add_command(send_notifications_command)
    from .api.commands import create_api_client_command
    from .summary.commands import run_jobs_command

    app.cli.add_command(create_api_client_command)
    app.cli.add_command(run_jobs_command)


@click.command("load-reference")
@with_appcontext
@needs_database
def load_reference_command() -> None:
    """Load or refresh agencies, administrative units and categories (idempotent)."""
    from .services.reference import load_reference

    summary = load_reference()
    db.session.commit()
    click.echo(f"Reference data: {summary.units} administrative units, {summary.agencies} agencies, "
               f"{summary.categories} categories ({summary.created} rows created).")


@click.command("load-demo")
@click.option("--reports", default=320, show_default=True, type=click.IntRange(1, 1_000_000),
              help="How many reports to create.")
@click.option("--seed", default=2026, show_default=True, type=int, help="Random seed (same seed, same data).")
@click.option("--if-empty", is_flag=True, help="Do nothing when reports already exist.")
@with_appcontext
@needs_database
def load_demo_command(reports: int, seed: int, if_empty: bool) -> None:
    """Fill the database with a realistic month of demo reports and one user per role.

    The demo password is ``HPSMART_DEMO_PASSWORD`` when set, else a generated one
    that is printed (and kept in the instance folder, so re-runs print the same).
    """
    from .services.demo import DemoDataError, load_demo

    try:
        result = load_demo(report_count=reports, seed=seed, if_empty=if_empty)
    except DemoDataError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    if result.reports_created:
        click.echo(f"Demo data: {result.reports_created} reports created.")
    else:
        click.echo("Demo data: reports already present, none added.")
    click.echo("Demo logins (e-mail / password):")
    for email, role in result.logins:
        click.echo(f"  {email:<24} {role:<18} {result.password}")


@click.command("create-user")
@click.option("--email", required=True, help="Login e-mail address.")
@click.option("--name", default="", help="Display name.")
@click.option("--role", required=True,
              type=click.Choice(["admin", "ioc_operator", "agency_staff", "agency_lead", "community_member"]),
              help="What the person does.")
@click.option("--agency", default=None, help="Exact name of a current agency (staff and leads).")
@click.option("--language", default="vi", type=click.Choice(["vi", "en"]), show_default=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Asked for when not given.")
@with_appcontext
@needs_database
def create_user_command(email: str, name: str, role: str, agency: str | None, language: str,
                        password: str) -> None:
    """Create a user account."""
    from .services.accounts import AccountError, create_user

    try:
        user = create_user(email=email, name=name, role=role, password=password, agency_name=agency,
                           language=language)
    except AccountError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Created {user.email} ({user.role.value}).")


@click.command("send-notifications")
@click.option("--once", is_flag=True, help="Send what is due, then exit (for cron, e.g. every minute).")
@click.option("--interval", default=10.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Loop mode: seconds between looks at the outbox.")
@click.option("--batch", default=100, show_default=True, type=click.IntRange(1, 10_000),
              help="Messages looked at per database query.")
@with_appcontext
@needs_database
def send_notifications_command(once: bool, interval: float, batch: int) -> None:
    """Send the queued e-mail notifications (the outbox) over SMTP.

    With --once: send every message that is due and exit (printing nothing when nothing
    was due, as cron likes it). Without: keep sending, looking
    every --interval seconds, until SIGTERM or SIGINT (Ctrl+C); the message being sent is
    finished first, so nothing is left half-done. Several workers may run at once: each
    message is claimed by one. See hpsmart/services/notifications.py.
    """
    from .services.notifications import send_all_due

    def step(should_stop) -> str | None:
        summary = send_all_due(batch=batch, should_stop=should_stop)
        if summary.claimed or summary.skipped:
            return (f"Notifications: {summary.sent} sent, {summary.retrying} to retry later, "
                    f"{summary.failed} failed.")
        return None

    run_worker(step, once=once, interval=interval,
               started=f"Sending notifications every {interval:g} s; stop with SIGTERM or Ctrl+C.")


def run_worker(step, *, once: bool, interval: float, started: str) -> None:
    """The loop of a worker command (``send-notifications``, ``run-jobs``).

    :param step: ``step(should_stop) -> str | None``: does what is due (checking
        ``should_stop()`` between items) and returns a line to print, or None when there
        was nothing to do (silent when idle: cron mails any output).
    :param once: run ``step`` once and return.
    :param interval: seconds between runs in loop mode, until SIGTERM or SIGINT (the
        item being done is finished first).
    :param started: the line printed when loop mode starts.
    :raises SQLAlchemyError: from the first run (the database is not set up);
        later database errors are printed and the next run tries again.
    """
    import signal
    import threading

    from sqlalchemy.exc import SQLAlchemyError

    stop = threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, lambda *_: stop.set())

    def run(first: bool) -> None:
        try:
            line = step(stop.is_set)
        except SQLAlchemyError as error:
            if first:
                raise  # not set up: needs_database says so
            db.session.rollback()
            click.echo(f"Database error ({type(error).__name__}); trying again in {interval:g} s.", err=True)
            return
        if line:
            click.echo(line)

    try:
        run(first=True)
        if once:
            return
        click.echo(started)
        while not stop.wait(interval):
            run(first=False)
        click.echo("Stopped.")
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@click.group()
def translate() -> None:
    """Extract, update and compile the translation catalogues.

    Workflow after adding or changing UI strings: ``flask translate update`` (new
    msgids appear in every catalogue with an empty msgstr; English ones are filled
    with the msgid), translate the empty Vietnamese entries in
    ``hpsmart/translations/vi/LC_MESSAGES/messages.po``, then ``flask translate compile``.
    A new language: ``flask translate init LANG``.
    """


# Where the sources, the extraction map and the catalogues live.
PACKAGE = Path(__file__).resolve().parent
TRANSLATIONS = PACKAGE / "translations"
BABEL_CFG = PACKAGE.parent / "babel.cfg"
DOMAIN = "messages"
# Source language of the msgids: its catalogue is completed with msgstr = msgid.
SOURCE_LANGUAGE = "en"
# Babel's default gettext keywords plus Flask-Babel's lazy ones (``_l`` = lazy_gettext).
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2),
            "lazy_pgettext": ((1, "c"), 2)}


def catalogue_path(language: str) -> Path:
    """Path of the ``.po`` catalogue of ``language`` (it may not exist yet)."""
    return TRANSLATIONS / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def _in_package(path: str) -> bool:
    """Walk only the package (not instance/, tests/, hidden or dunder folders)."""
    folder = Path(path).resolve()
    return not folder.name.startswith((".", "_")) and (folder == PACKAGE or PACKAGE in folder.parents)


def extract_messages() -> Catalog:
    """Extract every translatable string of the package, as ``pybabel extract`` would.

    Reads the method map of ``babel.cfg`` (repository root: Python sources and Jinja
    templates under ``hpsmart/``) with :data:`KEYWORDS`.

    :returns: a template catalogue (no locale, empty msgstrs), keyed by msgid
        (a ``(singular, plural)`` tuple for plural messages).
    :raises FileNotFoundError: when ``babel.cfg`` is missing (an installed package
        without its source tree cannot extract).
    """
    with BABEL_CFG.open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, str(BABEL_CFG))
    template = Catalog(project="hpsmart", charset="utf-8", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
            str(PACKAGE.parent), method_map, options_map, keywords=KEYWORDS,
            comment_tags=("Translators:",), strip_comment_tags=True, directory_filter=_in_package):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def _shown(path: Path) -> str:
    """``path`` relative to the repository when inside it (for messages)."""
    return str(path.relative_to(PACKAGE.parent)) if path.is_relative_to(PACKAGE.parent) else str(path)


def _read(path: Path, language: str) -> Catalog:
    """Parse the ``.po`` at ``path`` (raises babel's PoFileError/ValueError when broken)."""
    with path.open("rb") as handle:
        return read_po(handle, locale=language, domain=DOMAIN)


def _write(path: Path, catalog: Catalog) -> None:
    """Write ``catalog`` sorted by msgid, without source locations or obsolete entries (stable diffs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, no_location=True, sort_output=True, ignore_obsolete=True)


def _fill_source_language(catalog: Catalog) -> int:
    """Give every empty msgstr of the source-language catalogue its msgid; return how many."""
    filled = 0
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            if not any(message.string):
                message.string = tuple(message.id[min(i, 1)] for i in range(catalog.num_plurals))
                filled += 1
        elif not message.string:
            message.string = message.id
            filled += 1
        message.flags.discard("fuzzy")
    return filled


def _untranslated(catalog: Catalog) -> int:
    def empty(message) -> bool:
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        return not all(strings) or message.fuzzy

    return sum(1 for message in catalog if message.id and empty(message))


def _package_version() -> str:
    try:
        return metadata.version("hpsmart")
    except metadata.PackageNotFoundError:
        return "0"


def _languages() -> list[str]:
    return sorted(p.parent.parent.name for p in TRANSLATIONS.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


@translate.command("init")
@click.argument("language")
def translate_init(language: str) -> None:
    """Create the catalogue of LANGUAGE (e.g. ``vi``) from the extracted strings."""
    try:
        locale = Locale.parse(language)
    except (ValueError, UnknownLocaleError):
        raise click.ClickException(f"Unknown language code: {language!r}.") from None
    path = catalogue_path(language)
    if path.exists():
        raise click.ClickException(f"{_shown(path)} exists already; "
                                   "use `flask translate update`.")
    template = extract_messages()
    catalog = Catalog(
        locale=locale, domain=DOMAIN, project="hpsmart", version=_package_version(), charset="utf-8",
        fuzzy=False, last_translator="hpsmart team", language_team=locale.english_name,
        header_comment=(f"# {locale.english_name} translations of hpsmart (msgids are English).\n"
                        "# Update with `flask translate update`, compile with `flask translate compile`."))
    catalog.update(template, no_fuzzy_matching=True)
    if language == SOURCE_LANGUAGE:
        _fill_source_language(catalog)
    _write(path, catalog)
    click.echo(f"Created {_shown(path)} ({len(catalog)} messages).")


@translate.command("update")
def translate_update() -> None:
    """Extract the strings and merge them into every catalogue (no fuzzy matching).

    New msgids get an empty msgstr (the English catalogue gets msgstr = msgid);
    msgids no longer in the source are dropped.
    """
    languages = _languages()
    if not languages:
        raise click.ClickException("No catalogue yet: run `flask translate init vi` first.")
    template = extract_messages()
    for language in languages:
        path = catalogue_path(language)
        catalog = _read(path, language)
        before = {message.id for message in catalog if message.id}
        # Catalog.update adopts the template's Message objects: give each catalogue its own copy.
        catalog.update(copy.deepcopy(template), no_fuzzy_matching=True, update_creation_date=False)
        if language == SOURCE_LANGUAGE:
            _fill_source_language(catalog)
        after = {message.id for message in catalog if message.id}
        _write(path, catalog)
        click.echo(f"{language}: {len(after)} messages, {len(after - before)} new, "
                   f"{len(before - after)} removed, {_untranslated(catalog)} untranslated or fuzzy.")


@translate.command("compile")
def translate_compile() -> None:
    """Compile every catalogue to ``.mo`` (part of install; fuzzy entries are left out)."""
    languages = _languages()
    if not languages:
        raise click.ClickException("No catalogue found to compile.")
    for language in languages:
        path = catalogue_path(language)
        try:
            catalog = _read(path, language)
        except Exception as error:  # babel raises PoFileError or ValueError on a broken file
            raise click.ClickException(f"{_shown(path)}: {error}") from None
        problems = [f"{message.id!r}: {'; '.join(map(str, errors))}" for message, errors in catalog.check()]
        if problems:
            raise click.ClickException(f"{language}: " + " | ".join(problems))
        with path.with_suffix(".mo").open("wb") as handle:
            write_mo(handle, catalog)
        click.echo(f"{language}: compiled ({_untranslated(catalog)} untranslated or fuzzy).")
