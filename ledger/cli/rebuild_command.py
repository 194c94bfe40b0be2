"""``credledger rebuild-read-model``: drop the read model and replay it from the event store."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from tqdm import tqdm

from ledger.cli import options


@click.command("rebuild-read-model")
@options.data_dir
@options.reporting_errors
def rebuild_read_model(data_dir: Path) -> None:
    """Drop the read model and rebuild it from every stored event (service stopped).

    The rows come out identical to those the projector kept (the digest is printed, compare it
    with GET /state/digest from before). Shows a progress bar with an ETA on stderr.

    \b
    Example:
      credledger rebuild-read-model --data-dir /var/lib/credledger
    """
    from anchors.sqlite import read_through_map
    from consumers.follower import NotificationFollower
    from consumers.projector import ReadModelProjector
    from ledger.application.storage import open_storage
    from ledger.settings import Settings

    read_through_map()  # the service is stopped: nothing else writes the stores
    storage = open_storage(Settings(data_dir=data_dir))
    try:
        total = storage.ledger.recorder.max_notification_id() or 0
        storage.read_model.drop_tables()
        storage.read_model.create_tables()
        projector = ReadModelProjector(NotificationFollower(storage.ledger), storage.read_model)
        with tqdm(total=total, unit="event", desc="rebuilding", file=sys.stderr) as bar:
            projector.catch_up(lambda position: bar.update(position - bar.n))
        digest, position = storage.read_model.digest()
    finally:
        storage.close()
    click.echo(f"read model rebuilt to event {position}; digest {digest}")
