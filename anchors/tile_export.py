"""The log's tiles written to a directory, so that a plain static web server, an object store
or a CDN serves the log with no code of ours (c2sp.org/tlog-tiles).

Every file is written beside its place, synced and renamed into it, so a reader never sees half a
file, and the directories are synced after the renames; the checkpoint goes last, once every
tile it needs is in place, with the cosignature lines of the configured witnesses. Files are
written several at once: their syncs then share the file system's journal commits. A full tile
is written once and never again; a partial tile is rewritten as it grows (the narrower ones
stay, for clients still holding an older checkpoint).
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from anchors.checkpoint import Checkpoint
from anchors.cosignature import cosigned_note
from anchors.log import TransparencyLog
from anchors.tlog_tiles import TILE_HEIGHT, TILE_WIDTH, Tile, read_tile

WRITERS = 8  # files written at once
READ_AHEAD = 64  # tiles read from the log before they are written


class TileExport:
    """Keeps ``directory`` in step with the log's published checkpoints."""

    def __init__(
        self, log: TransparencyLog, directory: Path, witnesses: Sequence[str] = ()
    ) -> None:
        self.log = log
        self.directory = directory
        self.witnesses = tuple(witnesses)  # whose cosignature lines the checkpoint carries

    def exported_size(self) -> int:
        """The size of the checkpoint the directory holds (0 before the first export)."""
        path = self.directory / "checkpoint"
        if not path.is_file():
            return 0
        note = path.read_text(encoding="utf-8")
        return Checkpoint.parse(note.partition("\n\n")[0] + "\n").size

    def step(self) -> int:
        """Export what the latest checkpoint adds; returns the size now exported."""
        latest = self.log.store.latest_checkpoint()
        if latest is None:
            return 0
        size, note = latest
        old = self.exported_size()
        if size < old:
            return old
        todo = [
            tile
            for tile in changed_tiles(old, size)
            if not (tile.full and (self.directory / tile.path()).is_file())
        ]
        # A few at a time: a first export of a large log must not hold every tile in memory.
        for start in range(0, len(todo), READ_AHEAD):
            files = [
                (self.directory / tile.path(), read_tile(self.log, tile, size))
                for tile in todo[start : start + READ_AHEAD]
            ]
            _write_all(files)
        # Rewritten too when only a cosignature came since.
        cosigned = cosigned_note(note, self.log.store.cosignatures(size), self.witnesses)
        path = self.directory / "checkpoint"
        if not path.is_file() or path.read_text(encoding="utf-8") != cosigned:
            _write_all([(path, cosigned.encode("utf-8"))])
        return size

    def follow(self, stop: threading.Event, interval: float) -> None:
        """Export each new checkpoint until ``stop`` is set."""
        while not stop.is_set():
            self.step()
            stop.wait(interval)


def _write_all(files: list[tuple[Path, bytes]]) -> None:
    """Write each file in place atomically, several at once, then sync their directories."""
    if len(files) == 1:
        _write(*files[0])
    else:
        with ThreadPoolExecutor(WRITERS) as pool:
            list(pool.map(lambda file: _write(*file), files))
    for directory in dict.fromkeys(target.parent for target, _ in files):
        handle = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def _write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def changed_tiles(old: int, new: int) -> list[Tile]:
    """The tiles (hash tiles of every level, and entry bundles) that a tree of ``new`` entries
    has and one of ``old`` entries lacks or has narrower, each at its width in ``new``."""
    found: list[Tile] = []
    level = 0
    while (new >> (TILE_HEIGHT * level)) > 0:
        hashes_old = old >> (TILE_HEIGHT * level)
        hashes_new = new >> (TILE_HEIGHT * level)
        if hashes_new > hashes_old:
            for index in range(hashes_old // TILE_WIDTH, (hashes_new - 1) // TILE_WIDTH + 1):
                width = min(TILE_WIDTH, hashes_new - index * TILE_WIDTH)
                found.append(Tile(level, index, width))
                if level == 0:
                    found.append(Tile(None, index, width))
        level += 1
    return found
