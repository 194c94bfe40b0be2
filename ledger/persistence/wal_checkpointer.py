"""A SQLite file's write-ahead log copied back by a thread of its own, not by a commit.

SQLite copies the log back into the file (a checkpoint) in the commit that finds the log past
its threshold, while that commit still holds the store's one write lock: in the event store a
tenth of the commits of a bulk issue did so, and they made half of all commit time (a commit
of 100 credentials: 7.7 ms on average with them, 3.9 ms without; 36 ms at the 90th percentile
with them). Every other write waited meanwhile. A passive checkpoint needs no lock a writer
holds, so this thread copies the log back every fraction of a second beside the writers, on
the other core, and the commits' own threshold stays only as a backstop.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

# How often the log is copied back: often enough that a commit seldom finds it past the
# backstop, seldom enough that a page dirtied again and again is copied back once.
INTERVAL_SECONDS = 0.25


class BackgroundCheckpointer:
    """Copies the write-ahead log of the SQLite file at ``path`` back into it every
    ``interval`` seconds, in a daemon thread with a connection of its own, until closed."""

    def __init__(self, path: Path, interval: float = INTERVAL_SECONDS) -> None:
        self._path = path
        self._interval = interval
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
