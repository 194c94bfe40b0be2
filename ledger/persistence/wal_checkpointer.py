"""A SQLite file's write-ahead log copied back by a thread of its own, not by a commit.

SQLite copies the log back into the file (a checkpoint) in the commit that finds the log past
its threshold, while that commit still holds the store's one write lock: with the event
store's tables, a tenth of the commits of 100 credentials did so, and they made half of all
commit time (7.7 ms a commit on average with them, 3.9 ms without; 36 ms at the 90th
percentile with them). Every other write waited meanwhile. A passive checkpoint needs no lock
a writer holds, so this thread copies the log back beside the writers, on the other core,
once a few thousand pages of it wait; the commits' own threshold stays only as a backstop.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
import threading
from pathlib import Path

log = logging.getLogger(__name__)

# How often the log is looked at: often enough that a commit seldom finds it past the backstop.
INTERVAL_SECONDS = 0.25
# How much of it waits to be copied back before it is (what the commits' own threshold was):
# a page dirtied again and again is then copied back once, and a checkpoint's two fsyncs come
# seldom when writes are few, as single writes are.
PENDING_PAGES = 4_000


def pending_pages(shared_memory: Path) -> int | None:
    """Pages in the write-ahead log not yet copied back, read from its index's header in the
    ``-shm`` file (SQLite's documented wal-index layout, host byte order: the last frame in
    the log at byte 16, the last one copied back at byte 96); None when it cannot be read."""
    try:
        with shared_memory.open("rb") as index:
            header = index.read(100)
    except OSError:
        return None
    if len(header) < 100:
        return None
    last = int.from_bytes(header[16:20], sys.byteorder)
    copied = int.from_bytes(header[96:100], sys.byteorder)
    return last - copied if last >= copied else None


class BackgroundCheckpointer:
    """Copies the write-ahead log of the SQLite file at ``path`` back into it once ``pending``
    pages of it wait (looked at every ``interval`` seconds), in a daemon thread with a
    connection of its own, until closed."""

    def __init__(
        self, path: Path, interval: float = INTERVAL_SECONDS, pending: int = PENDING_PAGES
    ) -> None:
        self._path = path
        self._index = path.with_name(path.name + "-shm")
        self._interval = interval
        self._pending = pending
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpointer", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        connection = sqlite3.connect(self._path, timeout=30, isolation_level=None)
        try:
            while not self._stop.wait(self._interval):
                waiting = pending_pages(self._index)
                if waiting is not None and waiting < self._pending:
                    continue
                try:
                    # (busy, frames in the log, frames copied back): nothing to act on; a busy
                    # answer means another process's checkpoint is copying it already.
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error:
                    # A full disk, say: the commits' backstop still copies the log back.
                    log.warning("the background checkpoint of %s failed", self._path.name)
        finally:
            connection.close()

    def close(self) -> None:
        """Stop the thread (after the checkpoint it may be running)."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
