"""``credledger tiles export``: the log as static C2SP tlog-tiles in a directory."""

from __future__ import annotations

import threading
from pathlib import Path

import click

from ledger.cli import options
from ledger.runtime.stop_signals import stop_on_signals


@click.group()
def tiles() -> None:
    """The transparency log as static files (c2sp.org/tlog-tiles)."""


@tiles.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@options.data_dir
@click.option("--follow", is_flag=True, help="Keep exporting each new checkpoint until stopped.")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=1.0,
    show_default=True,
    help="With --follow: seconds between looks for a new checkpoint.",
)
@options.reporting_errors
def export(directory: Path, data_dir: Path, follow: bool, interval: float) -> None:
    """Write the log's checkpoint, hash tiles and entry bundles under DIRECTORY, as a static
    web server or object store then serves them (DIRECTORY is the log's prefix, e.g. what
    https://cdn.example/tlog/ maps to). Runs beside `credledger serve`; each file is renamed
    into place, full tiles are written once, the checkpoint last.

    \b
    Examples:
      credledger tiles export /srv/www/tlog
      credledger tiles export /srv/www/tlog --follow --interval 5
    """
    from anchors.tile_export import TileExport
    from ledger.application.storage import open_log
    from ledger.settings import Settings

    settings = Settings(data_dir=data_dir)
    log = open_log(settings)
    try:
        witnesses = [w["key"] for w in settings.tlog_witnesses if "key" in w]
        exporter = TileExport(log, directory, witnesses)
        if not follow:
            click.echo(f"exported a checkpoint of {exporter.step()} entries to {directory}")
            return
        stop = threading.Event()
        stop_on_signals(stop)
        exporter.follow(stop, interval)
    finally:
        log.store.close()
