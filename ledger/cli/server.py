"""``credledger init`` and ``credledger serve``: set up and run the embedded ledger."""

from __future__ import annotations

import logging
from pathlib import Path

import click
import uvicorn

from ledger.api import create_app
from ledger.cli import options
from ledger.settings import Settings, create_secrets


@click.command()
@options.data_dir
def init(data_dir: Path) -> None:
    """Create the data directory and its secrets (master key, operator token).

    \b
    Example:
      credledger init --data-dir /var/lib/credledger
    """
    path, created = create_secrets(data_dir)
    if created:
        click.echo(f"Created {path} (owner-only). It holds the master key and the admin token:")
        click.echo("back it up; losing the master key makes learners' data unreadable.")
    else:
        click.echo(f"{path} already exists; nothing changed.")


@click.command()
@options.data_dir
@click.option("--host", envvar="CREDLEDGER_HOST", default="127.0.0.1", show_default=True)
@click.option("--port", envvar="CREDLEDGER_PORT", default=8000, show_default=True, type=int)
@options.reporting_errors
def serve(data_dir: Path, host: str, port: int) -> None:
    """Run the HTTP API with the in-process read-model projector.

    \b
    Example:
      credledger serve --port 8000
      open http://127.0.0.1:8000/docs for the OpenAPI documentation
    """
    from consumers.embedded import EmbeddedLedger

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = Settings(data_dir=data_dir, host=host, port=port)
    if settings.master_key is None:
        _, created = create_secrets(data_dir)
        if created:
            click.echo(f"Initialised {data_dir} with new secrets (see `credledger init`).")
    with EmbeddedLedger(settings) as embedded:
        app = create_app(embedded.api_context(), on_shutdown=embedded.stop)
        uvicorn.run(app, host=host, port=port)
