"""Command-line interface: ``flask <command>``.

Every command reports bad input as a clear message and exits with status 1;
none ends in a traceback for a user's mistake.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

from .extensions import db


def register_cli(app: Flask) -> None:
    """Attach the commands to ``app.cli``."""
    app.cli.add_command(load_reference_command)
    app.cli.add_command(load_demo_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(translate)


@click.command("load-reference")
@with_appcontext
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
def load_demo_command(reports: int, seed: int, if_empty: bool) -> None:
    """Fill the database with a realistic month of demo reports and one user per role.

    The demo password is ``HPSMART_DEMO_PASSWORD`` when set, else a generated one
    that is printed (and kept in the instance folder, so re-runs print the same).
    """
    from .services.demo import load_demo

    result = load_demo(report_count=reports, seed=seed, if_empty=if_empty)
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


@click.group()
def translate() -> None:
    """Extract, update and compile the translation catalogues (pybabel)."""


def _pybabel(*args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=False)
    if result.returncode != 0:
        raise click.ClickException("pybabel " + " ".join(args[:1]) + " failed")


ROOT = Path(__file__).resolve().parent
POT = ROOT / "translations" / "messages.pot"


@translate.command("update")
def translate_update() -> None:
    """Extract strings into messages.pot and merge them into every catalogue."""
    _pybabel("extract", "-F", str(ROOT.parent / "babel.cfg"), "-k", "_l", "--no-location",
             "--sort-output", "-o", str(POT), str(ROOT))
    _pybabel("update", "-i", str(POT), "-d", str(ROOT / "translations"), "--no-fuzzy-matching",
             "--ignore-obsolete")


@translate.command("compile")
def translate_compile() -> None:
    """Compile every catalogue to .mo (run as part of install)."""
    _pybabel("compile", "-d", str(ROOT / "translations"))
