"""A SQLite file's write-ahead log copied back by a thread of its own, not by a commit.

SQLite copies the log back into the file (a checkpoint) in the commit that finds the log past
its threshold, while that commit still holds the store's one write lock: with the event
store's tables, a tenth of the commits of 100 credentials did so, and they made half of all
commit time (7.7 ms a commit on average with them, 3.9 ms without; 36 ms at the 90th
percentile with them). Every other write waited meanwhile. A passive checkpoint needs no lock
a writer holds, so this thread copies the log back beside the writers, on the other core,
whenever something has been written since it last looked; the commits' own threshold stays
only as a backstop.

What was written is counted from the rows the writers report (:meth:`BackgroundCheckpointer.wrote`),
not read from the log's index (the ``-shm`` file): closing any descriptor of a file drops every
POSIX lock the process holds on it, SQLite's read marks among them, and another process could
then reuse the log under a reader still in it ("database disk image is malformed").
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

# How often the count is looked at: often enough that a commit seldom finds the log past the
# backstop.
INTERVAL_SECONDS = 0.25
# Rows written before the log is copied back: any, so at every look while writes go on. At a
# million credentials that measured best (b32e19f, a look every quarter second: issued in 467 s,
# the serving process writing 20 KB to disk a credential); waiting for 4,000 rows (about the
# 4,000 pages the commits' own threshold was) gave 481 s and 27-35 KB, in another hour.
PENDING_ROWS = 1


class BackgroundCheckpointer:
    """Copies the write-ahead log of the SQLite file at ``path`` back into it once ``pending``
    rows have been written (:meth:`wrote`) since it last did (looked at every ``interval``
    seconds), in a daemon thread with a connection of its own, until closed."""

    def __init__(
        self, path: Path, interval: float = INTERVAL_SECONDS, pending: int = PENDING_ROWS
    ) -> None:
        self._path = path
        self._interval = interval
        self._pending = pending
        self._written = 0
        self._count_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpointer", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def wrote(self, rows: int) -> None:
        """Count ``rows`` more rows written to the file."""
        with self._count_lock:
            self._written += rows

    def _due(self) -> bool:
        with self._count_lock:
            if self._written < self._pending:
                return False
            self._written = 0
            return True

    def _run(self) -> None:
        connection = sqlite3.connect(self._path, timeout=30, isolation_level=None)
        try:
            while not self._stop.wait(self._interval):
                if not self._due():
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
