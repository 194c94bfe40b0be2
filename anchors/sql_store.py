"""The log and anchor stores over SQL, shared by the SQLite and PostgreSQL backends.

The statements are portable and written with ``?`` placeholders; a backend supplies its
transactions, its placeholder style, and the one query that differs (fetching tiles).
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from anchors import tiles
from anchors.anchoring import AnchorRecord, AnchorStore, AnchorTally, RecordedBlock
from anchors.log import LogStore, LogStoreConflict
from anchors.merkle import Node, NodeRuns

# Anchor records kept parsed, by checkpoint size: those in flight and the latest pages'.
_PARSED_RECORDS = 8


class SQLLogStore(LogStore):
    """Entries, 16 KiB tiles of subtree hashes, state and checkpoints in SQL tables."""

    @abstractmethod
    def _transaction(self, *, write: bool) -> AbstractContextManager[Any]:
        """A cursor in a transaction, committed on success."""

    def _reading(self) -> AbstractContextManager[Any]:
        """A cursor for one read-only statement (a backend may run it outside a transaction
        block, where it sees what it would see inside one)."""
        return self._transaction(write=False)

    @abstractmethod
    def _tiles(self, cursor: Any, keys: list[int]) -> dict[int, bytes]:
        """The stored tiles among ``keys``."""

    def _sql(self, statement: str) -> str:
        return statement

    def _insert_rows(self, cursor: Any, table: str, rows: Sequence[Sequence[object]]) -> None:
        """Insert ``rows``, each a value for every column of ``table`` in order."""
        if rows:
            marks = ", ".join("?" * len(rows[0]))
            cursor.executemany(self._sql(f"INSERT INTO {table} VALUES ({marks})"), rows)

    def _rows(self, statement: str, params: Sequence[object]) -> list[Any]:
        with self._reading() as c:
            c.execute(self._sql(statement), params)
            return list(c.fetchall())

    def state(self) -> tuple[int, int]:
        row = self._rows("SELECT size, position FROM log_state WHERE id = 1", ())[0]
        return int(row[0]), int(row[1])

    def nodes(self, ids: Iterable[Node]) -> dict[Node, bytes]:
        wanted = tiles.by_tile(ids)
        with self._reading() as c:
            return tiles.read(self._tiles(c, list(wanted)), wanted)

    def hashes(self, level: int, first: int, count: int) -> bytes:
        # Consecutive nodes of a level are consecutive slots of a tile: sliced, not looked up.
        cuts = tiles.slices(level, first, count)
        with self._reading() as c:
            stored = self._tiles(c, list(dict.fromkeys(key for key, _, _ in cuts)))
        return tiles.cut(stored, level, first, cuts)

    def entries(self, start: int, stop: int) -> list[bytes]:
        rows = self._rows(
            "SELECT entry FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx", (start, stop)
        )
        return [bytes(row[0]) for row in rows]

    def entry_ends(self, start: int, stop: int, length: int) -> list[bytes]:
        # Cut in the database: the rest of each entry is neither encoded nor sent.
        rows = self._rows(
            "SELECT substr(entry, CASE WHEN length(entry) > CAST(? AS INTEGER)"
            " THEN length(entry) - CAST(? AS INTEGER) + 1 ELSE 1 END)"
            " FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx",
            (length, length, start, stop),
        )
        # SQLite cuts nothing from an empty blob as NULL.
        return [bytes(row[0] or b"") for row in rows]

    def positions(self, start: int, stop: int) -> list[int]:
        rows = self._rows(
            "SELECT position FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx",
            (start, stop),
        )
        return [int(row[0]) for row in rows]

    def index_of(self, position: int) -> int | None:
        # Entries are appended in the store's order, so positions grow with indexes: bisect.
        low, high = 0, self.state()[0]
        while low < high:
            middle = (low + high) // 2
            found = int(
                self._rows("SELECT position FROM log_entries WHERE idx = ?", (middle,))[0][0]
            )
            if found == position:
                return middle
            if found < position:
                low = middle + 1
            else:
                high = middle
        return None

    def add_checkpoint(self, size: int, note: str) -> None:
        with self._transaction(write=True) as c:
            c.execute("SELECT COALESCE(MAX(size), 0) FROM log_checkpoints")
            if int(c.fetchone()[0]) >= size:
                raise LogStoreConflict(f"a checkpoint at size {size} or later exists")
            c.execute(self._sql("INSERT INTO log_checkpoints VALUES (?, ?)"), (size, note))

    def latest_checkpoint(self) -> tuple[int, str] | None:
        rows = self._rows("SELECT size, note FROM log_checkpoints ORDER BY size DESC LIMIT 1", ())
        return (int(rows[0][0]), str(rows[0][1])) if rows else None

    def checkpoints(self, after_size: int, limit: int) -> list[tuple[int, str]]:
        rows = self._rows(
            "SELECT size, note FROM log_checkpoints WHERE size > ? ORDER BY size LIMIT ?",
            (after_size, limit),
        )
        return [(int(size), str(note)) for size, note in rows]

    def add_cosignature(self, size: int, witness: str, signature: str) -> None:
        with self._transaction(write=True) as c:
            c.execute(
                self._sql(
                    "INSERT INTO log_cosignatures VALUES (?, ?, ?)"
                    " ON CONFLICT (size, witness) DO UPDATE SET signature = excluded.signature"
                ),
                (size, witness, signature),
            )

    def cosignatures(self, size: int) -> dict[str, str]:
        rows = self._rows(
            "SELECT witness, signature FROM log_cosignatures WHERE size = ? ORDER BY witness",
            (size,),
        )
        return {str(witness): str(signature) for witness, signature in rows}

    def cosigned_sizes(self, witnesses: Iterable[str]) -> dict[str, int]:
        found = {}
        for witness in witnesses:
            rows = self._rows(
                "SELECT max(size) FROM log_cosignatures WHERE witness = ?", (witness,)
            )
            if rows and rows[0][0] is not None:
                found[witness] = int(rows[0][0])
        return found

    def cosigners_from(self, at_least: int) -> dict[int, set[str]]:
        rows = self._rows(
            "SELECT size, witness FROM log_cosignatures WHERE size >= ?"
            " ORDER BY size, witness LIMIT 1000",
            (at_least,),
        )
        found: dict[int, set[str]] = {}
        for size, witness in rows:
            found.setdefault(int(size), set()).add(str(witness))
        return found

    def append(
        self,
        old_size: int,
        entries: Sequence[bytes],
        positions: Sequence[int],
        runs: NodeRuns,
    ) -> None:
        with self._transaction(write=True) as c:
            c.execute(
                self._sql("UPDATE log_state SET size = ?, position = ? WHERE id = 1 AND size = ?"),
                (old_size + len(entries), positions[-1], old_size),
            )
            if c.rowcount != 1:
                raise LogStoreConflict(f"the log is no longer {old_size} entries long")
            self._insert_rows(
                c,
                "log_entries",
                [
                    (old_size + i, position, entry)
                    for i, (position, entry) in enumerate(zip(positions, entries, strict=True))
                ],
            )
            changed = tiles.merge(lambda keys: self._tiles(c, keys), runs)
            c.executemany(
                self._sql(
                    "INSERT INTO log_tiles VALUES (?, ?)"
                    " ON CONFLICT (id) DO UPDATE SET data = excluded.data"
                ),
                list(changed.items()),
            )


class SQLAnchorStore(AnchorStore):
    """Anchor records in the log's database, through a log store's transactions."""

    def __init__(self, store: SQLLogStore) -> None:
        self._store = store
        self._parsed: dict[int, tuple[str, AnchorRecord]] = {}
        self._parsed_lock = threading.Lock()

    def save(self, record: AnchorRecord) -> None:
        text = record.to_json()
        with self._store._transaction(write=True) as c:
            token = self._upsert(c, record, text)
        # What this store wrote is read back at the batch's next step: kept parsed, as the
        # value it was written from (each step of a batch of a thousand parsed it again).
        if record.reads_back_as_itself():
            self._keep(record.checkpoint_size, token, record)

    _UPSERT = (
        "INSERT INTO log_anchors VALUES (?, ?, ?, ?, ?) ON CONFLICT (checkpoint_size)"
        " DO UPDATE SET state = excluded.state, block_number = excluded.block_number,"
        " record = excluded.record, block_hash = excluded.block_hash"
    )

    def _upsert(self, cursor: Any, record: AnchorRecord, text: str) -> str:
        """Write ``record`` as ``text``; returns what its row is known by until it changes:
        here the text itself (a backend may know a cheaper token, see :meth:`_select`)."""
        cursor.execute(self._store._sql(self._UPSERT), self._row(record, text))
        return text

    @staticmethod
    def _row(record: AnchorRecord, text: str) -> tuple[object, ...]:
        """The record's row, its columns in order, with ``text`` for the record itself."""
        return (record.checkpoint_size, record.state, record.block_number, text, record.block_hash)

    def _select(self, where: str, params: tuple[object, ...]) -> list[AnchorRecord]:
        """The records ``where`` says, in its order: each row's size, token and text handed
        to :meth:`_record` (here the token is the text; a backend that reads tokens sends
        None for a text whose token is that of the record kept parsed)."""
        rows = self._store._rows(
            f"SELECT checkpoint_size, record FROM log_anchors WHERE {where}", params
        )
        return [self._record(int(size), text, text) for size, text in rows]

    def _record(self, checkpoint_size: int, token: str, text: str | None) -> AnchorRecord:
        # A batch's record (a thousand leaves and documents) is read at every step of its
        # anchoring and by every page of anchors: text already parsed is not parsed again
        # (records are immutable; a changed record is a changed row).
        with self._parsed_lock:
            known = self._parsed.get(checkpoint_size)
        if known is not None and known[0] == token:
            return known[1]
        if text is None:
            # Kept when the statement was sent, replaced since by another thread's save.
            token, text = self._fetch(checkpoint_size)
        record = AnchorRecord.from_json(text)
        self._keep(checkpoint_size, token, record)
        return record

    def _fetch(self, checkpoint_size: int) -> tuple[str, str]:
        """One stored record's token and text."""
        rows = self._store._rows(
            "SELECT record FROM log_anchors WHERE checkpoint_size = ?", (checkpoint_size,)
        )
        text = str(rows[0][0])
        return text, text

    def _known_tokens(self) -> dict[int, str]:
        """The token of each record kept parsed, by checkpoint size."""
        with self._parsed_lock:
            return {size: token for size, (token, _) in self._parsed.items()}

    def _keep(self, checkpoint_size: int, token: str, record: AnchorRecord) -> None:
        with self._parsed_lock:
            self._parsed.pop(checkpoint_size, None)
            self._parsed[checkpoint_size] = (token, record)
            while len(self._parsed) > _PARSED_RECORDS:
                del self._parsed[next(iter(self._parsed))]

    def get(self, checkpoint_size: int) -> AnchorRecord | None:
        found = self._select("checkpoint_size = ?", (checkpoint_size,))
        return found[0] if found else None

    def unfinished(self) -> list[AnchorRecord]:
        return self._select("state IN ('pending', 'confirmed') ORDER BY checkpoint_size", ())

    def latest(self) -> AnchorRecord | None:
        found = self._select("1 = 1 ORDER BY checkpoint_size DESC LIMIT 1", ())
        return found[0] if found else None

    def latest_size(self) -> int:
        found = self._store._rows("SELECT max(checkpoint_size) FROM log_anchors", ())
        return int(found[0][0]) if found and found[0][0] is not None else 0

    def recorded_since(self, block_number: int) -> list[RecordedBlock]:
        rows = self._store._rows(
            "SELECT checkpoint_size, block_number, block_hash FROM log_anchors"
            " WHERE state = 'recorded' AND block_number >= ? ORDER BY checkpoint_size",
            (block_number,),
        )
        return [RecordedBlock(int(size), int(number), str(bhash)) for size, number, bhash in rows]

    def covering(self, index: int) -> AnchorRecord | None:
        found = self._select(
            "state = 'recorded' AND checkpoint_size > ? ORDER BY checkpoint_size LIMIT 1",
            (index,),
        )
        return found[0] if found else None

    def tally(self) -> AnchorTally:
        rows = self._store._rows(
            "SELECT state, count(*) FROM log_anchors"
            " WHERE state IN ('pending', 'confirmed') GROUP BY state",
            (),
        )
        largest = {}
        for state in ("confirmed", "recorded"):
            found = self._store._rows(
                "SELECT max(checkpoint_size) FROM log_anchors WHERE state = ?", (state,)
            )
            largest[state] = int(found[0][0]) if found and found[0][0] is not None else 0
        return AnchorTally(
            {str(state): int(count) for state, count in rows},
            max(largest.values()),
            largest["recorded"],
        )

    def set_blocked(self, reason: str | None) -> None:
        with self._store._transaction(write=True) as c:
            c.execute("DELETE FROM log_anchoring_blocked")
            if reason is not None:
                since = datetime.now(UTC).isoformat(timespec="seconds")
                c.execute(
                    self._store._sql("INSERT INTO log_anchoring_blocked VALUES (1, ?, ?)"),
                    (reason, since),
                )

    def blocked(self) -> tuple[str, str] | None:
        rows = self._store._rows("SELECT reason, since FROM log_anchoring_blocked", ())
        return (str(rows[0][0]), str(rows[0][1])) if rows else None

    def set_hashing_backlog(self, entries: int) -> None:
        with self._store._transaction(write=True) as c:
            c.execute(
                self._store._sql("UPDATE log_hashing_backlog SET entries = ? WHERE id = 1"),
                (entries,),
            )

    def hashing_backlog(self) -> int:
        rows = self._store._rows("SELECT entries FROM log_hashing_backlog", ())
        return int(rows[0][0]) if rows else 0
