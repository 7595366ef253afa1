"""``flask create-api-client``: issue an Open311 API key from the command line."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..extensions import db


@click.command("create-api-client")
@click.option("--name", required=True, help="Name of the client application.")
@click.option("--channel", type=click.Choice(["api", "app"]), default="api", show_default=True,
              help="app: the Hai Phong Smart mobile app; api: another Open311 client.")
@click.option("--rate-limit", default=None,
              help="Requests allowed for this key, e.g. 60/minute (default: OPEN311_KEY_RATE_LIMIT).")
@with_appcontext
def create_api_client_command(name: str, channel: str, rate_limit: str | None) -> None:
    """Issue an API key for a client application and print it (only its hash is stored)."""
    from ..services.open311 import ApiClientError, issue_api_client

    try:
        client, key = issue_api_client(name, rate_limit=rate_limit, channel=channel)
    except ApiClientError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"API client {client.name!r} created (id {client.id}, {client.channel.value}, "
               f"limit {client.rate_limit}).")
    click.echo("Its key, shown only this once; give it to the application's developers:")
    click.echo(key)
