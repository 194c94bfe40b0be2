"""The read model: credential status, versions and the issuer register as SQL tables.

It is derived state only. A projector (``consumers.projector``) writes it, recording in the same
transaction the log position it reflects, so every event is applied exactly once; dropping the
tables and replaying the history gives the same rows (see :meth:`ReadModel.digest`). The SQL is
portable; a backend module supplies connections and its placeholder style.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from ledger.domain import json_text
from ledger.domain.seal_certificates import parse_seal_certificate

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS rm_tracking ( name TEXT PRIMARY KEY, position INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS rm_issuers ("
    " issuer_id TEXT PRIMARY KEY, legal_name TEXT NOT NULL, country TEXT NOT NULL,"
    " region TEXT, quality_assurance TEXT NOT NULL, address TEXT NOT NULL,"
    " status TEXT NOT NULL, registered_at TEXT NOT NULL, updated_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS rm_issuer_history ("
    " issuer_id TEXT NOT NULL, position INTEGER NOT NULL, at TEXT NOT NULL,"
    " event TEXT NOT NULL, detail TEXT NOT NULL, PRIMARY KEY (issuer_id, position))",
    "CREATE TABLE IF NOT EXISTS rm_issuer_keys ("
    " issuer_id TEXT NOT NULL, seq INTEGER NOT NULL, address TEXT NOT NULL,"
    " valid_from TEXT NOT NULL, valid_until TEXT, PRIMARY KEY (issuer_id, seq))",
    "CREATE TABLE IF NOT EXISTS rm_credentials ("
    " credential_id TEXT PRIMARY KEY, issuer_id TEXT NOT NULL, status TEXT NOT NULL,"
    " current_version INTEGER NOT NULL, title TEXT NOT NULL, issued TEXT NOT NULL,"
    " created_at TEXT NOT NULL, updated_at TEXT NOT NULL, revoked_at TEXT,"
    " revocation_reason TEXT, personal_data_erased INTEGER NOT NULL,"
    " status_list INTEGER, status_index INTEGER)",
    "CREATE INDEX IF NOT EXISTS rm_credentials_by_issuer"
    " ON rm_credentials (issuer_id, credential_id)",
    "CREATE TABLE IF NOT EXISTS rm_credential_versions ("
    " credential_id TEXT NOT NULL, version INTEGER NOT NULL, event TEXT NOT NULL,"
    " content TEXT NOT NULL, commitment TEXT NOT NULL, recorded_at TEXT NOT NULL,"
    " position INTEGER NOT NULL, PRIMARY KEY (credential_id, version))",
    "CREATE TABLE IF NOT EXISTS rm_documents ("
    " document_id TEXT PRIMARY KEY, issuer_id TEXT NOT NULL, credential_id TEXT NOT NULL,"
    " version INTEGER NOT NULL, checkpoint_size INTEGER NOT NULL, leaf_index INTEGER NOT NULL,"
    " public_url TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS rm_anchoring_keys ("
    " seq INTEGER PRIMARY KEY, address TEXT NOT NULL, created TEXT NOT NULL, revoked TEXT)",
    "CREATE TABLE IF NOT EXISTS rm_status_lists ("
    " issuer_id TEXT NOT NULL, list_no INTEGER NOT NULL, used INTEGER NOT NULL,"
    " PRIMARY KEY (issuer_id, list_no))",
    "CREATE TABLE IF NOT EXISTS rm_status_entries ("
    " issuer_id TEXT NOT NULL, list_no INTEGER NOT NULL, idx INTEGER NOT NULL,"
    " credential_id TEXT NOT NULL, PRIMARY KEY (issuer_id, list_no, idx))",
    "CREATE TABLE IF NOT EXISTS rm_seal_certificates ("
    " issuer_id TEXT NOT NULL, sha256 TEXT NOT NULL, certificate TEXT NOT NULL,"
    " not_before TEXT NOT NULL, not_after TEXT NOT NULL, legal_identifier TEXT NOT NULL,"
    " country TEXT NOT NULL, registered_at TEXT NOT NULL, retired_at TEXT, revoked_at TEXT,"
    " revocation_reason TEXT, position INTEGER NOT NULL, PRIMARY KEY (issuer_id, sha256))",
    "CREATE TABLE IF NOT EXISTS rm_seals ("
    " seal_sha256 TEXT PRIMARY KEY, credential_id TEXT NOT NULL, version INTEGER NOT NULL,"
    " issuer_id TEXT NOT NULL, certificate_sha256 TEXT NOT NULL, recorded_at TEXT NOT NULL,"
    " position INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS rm_wallet_keys ("
    " issuer_id TEXT NOT NULL, kid TEXT NOT NULL, jwk TEXT NOT NULL, adopted_at TEXT NOT NULL,"
    " retired_at TEXT, position INTEGER NOT NULL, PRIMARY KEY (issuer_id, kid))",
    "CREATE TABLE IF NOT EXISTS rm_wallet_deliveries ("
    " jwt_sha256 TEXT PRIMARY KEY, issuer_id TEXT NOT NULL, credential_id TEXT NOT NULL,"
    " version INTEGER NOT NULL, kid TEXT NOT NULL, status_index INTEGER NOT NULL,"
    " delivered_at TEXT NOT NULL, position INTEGER NOT NULL)",
    "CREATE UNIQUE INDEX IF NOT EXISTS rm_wallet_deliveries_by_status"
    " ON rm_wallet_deliveries (issuer_id, status_index)",
    "CREATE INDEX IF NOT EXISTS rm_wallet_deliveries_by_credential"
    " ON rm_wallet_deliveries (credential_id)",
    "CREATE TABLE IF NOT EXISTS rm_pathway_versions ("
    " pathway_id TEXT NOT NULL, version INTEGER NOT NULL, issuer_id TEXT NOT NULL,"
    " title TEXT NOT NULL, target TEXT NOT NULL, rules TEXT NOT NULL,"
    " published_at TEXT NOT NULL, position INTEGER NOT NULL, PRIMARY KEY (pathway_id, version))",
    "CREATE TABLE IF NOT EXISTS rm_recognitions ("
    " recognition_id TEXT PRIMARY KEY, issuer_id TEXT NOT NULL, pathway_id TEXT NOT NULL,"
    " pathway_version INTEGER NOT NULL, components TEXT NOT NULL, recorded_at TEXT NOT NULL,"
    " position INTEGER NOT NULL)",
)

# How a statement of the schema that creates a secondary index begins.
_SECONDARY_INDEX = ("CREATE INDEX", "CREATE UNIQUE INDEX")

# Indexes of an earlier schema, dropped when a read model made with it is opened. Every
# credential inserted at a random key into each (the keys are ids), and past a few tens of
# thousands of credentials each such insert wrote a page of its own: a credential's place in
# its status list is now a column of its row, and a document is found by its id, which its
# credential and version fix.
_RETIRED_INDEXES = ("rm_status_entries_by_credential", "rm_documents_by_version")

# A W3C Bitstring Status List of this many entries per list (the specification's minimum,
# for herd privacy); a list takes new credentials until it is half full, so that a free
# slot is found in a probe or two.
STATUS_LIST_SIZE = 131_072
STATUS_LIST_FILL = STATUS_LIST_SIZE // 2
# Places after each new credential's first index whose state one statement reads for a whole
# run of new credentials; a probe that goes further asks about each place beyond it.
PROBE_WINDOW = 4
# Places asked about in one statement (well under either backend's limit on parameters).
_PROBED_AT_ONCE = 500
# Status lists a projector keeps in memory at most (16 KiB each): thousands of issuers' current
# lists; one let go is read again when next needed.
KEPT_LISTS = 2048

# Table name and key columns, in the order the digest reads them.
# Rows read at a time while digesting the read model.
DIGEST_PAGE = 1000

_DIGEST_TABLES = (
    ("rm_issuers", "issuer_id"),
    ("rm_issuer_history", "issuer_id, position"),
    ("rm_issuer_keys", "issuer_id, seq"),
    ("rm_credentials", "credential_id"),
    ("rm_credential_versions", "credential_id, version"),
    ("rm_documents", "document_id"),
    ("rm_anchoring_keys", "seq"),
    ("rm_status_lists", "issuer_id, list_no"),
    ("rm_status_entries", "issuer_id, list_no, idx"),
    ("rm_seal_certificates", "issuer_id, sha256"),
    ("rm_seals", "seal_sha256"),
    ("rm_wallet_keys", "issuer_id, kid"),
    ("rm_wallet_deliveries", "jwt_sha256"),
    ("rm_pathway_versions", "pathway_id, version"),
    ("rm_recognitions", "recognition_id"),
)


DIGEST_TABLES = tuple(table for table, _ in _DIGEST_TABLES)


def _table_digest(c: Cursor, table: str, key: str) -> str:
    """SHA-256 over a table's rows in key order, a line of JSON each."""
    sha = hashlib.sha256()
    c.execute(f"SELECT * FROM {table} ORDER BY {key}")
    # In pages: a million credentials' versions at once would take gigabytes.
    while page := c.fetchmany(DIGEST_PAGE):
        for values in page:
            # _json's bytes, not decoded to text and encoded again.
            sha.update(json_text.dumps([table, *values], sort_keys=True))
            sha.update(b"\n")
    return sha.hexdigest()


def combined_digest(tables: Mapping[str, str]) -> str:
    """The read model's digest: SHA-256 over each table's name and digest, in the order of
    :data:`DIGEST_TABLES` (a table's own digest covers its rows: tables can be read apart)."""
    sha = hashlib.sha256()
    for table in DIGEST_TABLES:
        sha.update(f"{table} {tables[table]}\n".encode())
    return sha.hexdigest()


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...
    @property
    def description(self) -> Any: ...

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...
    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchmany(self, size: int) -> list[Any]: ...
    def fetchall(self) -> list[Any]: ...


def _move_status_places(c: Cursor) -> None:
    """Copy each credential's place in its status list into its row (the earlier schema
    kept it in the status entry alone, found through an index by credential)."""
    # The index, if this model never had it (a scratch model): one lookup a credential.
    c.execute(
        "CREATE INDEX IF NOT EXISTS rm_status_entries_by_credential"
        " ON rm_status_entries (credential_id)"
    )
    c.execute("ALTER TABLE rm_credentials ADD COLUMN status_list INTEGER")
    c.execute("ALTER TABLE rm_credentials ADD COLUMN status_index INTEGER")
    c.execute(
        "UPDATE rm_credentials SET (status_list, status_index) ="
        " (SELECT s.list_no, s.idx FROM rm_status_entries s"
        " WHERE s.credential_id = rm_credentials.credential_id)"
    )


class PositionMoved(Exception):
    """Another projector advanced the read model first; this batch was not applied."""


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _json(value: Any) -> str:
    # The bytes of json.dumps with sorted keys, compact, non-ASCII as is (rows and digests).
    return json_text.dumps(value, sort_keys=True).decode("utf-8")


def version_status_of(found: dict[str, Any], version: int) -> str:
    """The status of one version of a credential as :meth:`ReadModel.credential` gives it."""
    return next((v["status"] for v in found["versions"] if v["version"] == version), "unknown")


def public_content(content: dict[str, Any]) -> dict[str, Any]:
    """A version's content as anyone may see it: without the learner (even as a commitment).

    The content of an issue or amend command, which its model confines to text: written as
    it is, without walking it again.
    """
    public = json_text.ConfinedObject(content)
    public.pop("learner", None)
    return public


def version_status(found: dict[str, Any] | None, position: int) -> dict[str, Any] | None:
    """The status of the version of credential ``found`` recorded at log ``position``."""
    if found is None:
        return None
    for version in found["versions"]:
        if version["log_position"] == position:
            return {**version, "revocation": found["revocation"]}
    return None


# A new credential's revoked_at, revocation_reason and personal_data_erased.
_NOT_REVOKED_NOR_ERASED: tuple[None, None, int] = (None, None, 0)


@dataclass
class _NewCredential:
    """A new credential's rows, kept until its run of new credentials is written."""

    credential_id: str
    issuer_id: str
    version_row: tuple[Any, ...]
    title: str
    issued: str
    at: str


@dataclass
class _ListFill:
    """An issuer's newest status list: its number, its entries, and the entries as stored
    (-1: the list is not stored yet)."""

    list_no: int
    used: int
    stored: int


def _first_index(credential_id: str, list_no: int) -> int:
    """Where a credential's probe for a place in list ``list_no`` starts."""
    seed = hashlib.sha256(f"{credential_id}/{list_no}".encode()).digest()
    return int.from_bytes(seed[:8], "big") % STATUS_LIST_SIZE


class _StatusProbes:
    """Which status-list places are taken, as a transaction sees them: read for many places
    in one statement, asked place by place beyond what was read, and kept up to date with
    the places given since."""

    def __init__(self, cursor: Cursor, taken_among: _TakenAmong) -> None:
        self._c = cursor
        self._taken_among = taken_among
        self._known: set[tuple[str, int, int]] = set()
        self._taken: set[tuple[str, int, int]] = set()

    def read(self, places: Iterable[tuple[str, int, int]]) -> None:
        """Learn whether each of ``places`` (issuer, list, index) is taken."""
        by_list: dict[tuple[str, int], set[int]] = {}
        for issuer_id, list_no, index in places:
            if (issuer_id, list_no, index) not in self._known:
                by_list.setdefault((issuer_id, list_no), set()).add(index)
        for (issuer_id, list_no), indexes in by_list.items():
            ordered = sorted(indexes)
            for at in range(0, len(ordered), _PROBED_AT_ONCE):
                chunk = ordered[at : at + _PROBED_AT_ONCE]
                taken = self._taken_among(self._c, issuer_id, list_no, chunk)
                self._taken.update((issuer_id, list_no, index) for index in taken)
                self._known.update((issuer_id, list_no, index) for index in chunk)

    def taken(self, issuer_id: str, list_no: int, index: int) -> bool:
        place = (issuer_id, list_no, index)
        if place not in self._known:
            self.read([place])
        return place in self._taken

    def take(self, issuer_id: str, list_no: int, index: int) -> None:
        self._taken.add((issuer_id, list_no, index))


class KeptPlaces:
    """Every status-list place taken, kept by a projector between its transactions: each list
    is read whole once, in one statement, and asked in memory from then on, a bit a place (16
    KiB a list; the least recently used are let go beyond ``capacity``).

    Sound while every transaction that writes the model moves its tracked position by
    compare-and-set (:meth:`ReadModel.transaction`): another projector's commit fails this
    projector's next compare-and-set, and a transaction that fails forgets every list, so the
    bits never hold a place of an uncommitted transaction nor miss one committed."""

    def __init__(self, taken_in_list: _TakenInList, capacity: int) -> None:
        self._taken_in_list = taken_in_list
        self._capacity = capacity
        self._lists: OrderedDict[tuple[str, int], bytearray] = OrderedDict()
        # The transaction's cursor, which a list not read yet is read through.
        self._cursor: Cursor | None = None

    def begin(self, cursor: Cursor) -> None:
        """A transaction begins on ``cursor``: lists beyond the capacity are let go now, never
        during a transaction (its places are written at its end, so a list read again in
        the middle of it would not show them)."""
        self._cursor = cursor
        while len(self._lists) > self._capacity:
            self._lists.popitem(last=False)

    def _bits(self, issuer_id: str, list_no: int) -> bytearray:
        key = (issuer_id, list_no)
        bits = self._lists.get(key)
        if bits is None:
            assert self._cursor is not None, "places are asked inside a transaction"
            bits = bytearray((STATUS_LIST_SIZE + 7) // 8)
            for index in self._taken_in_list(self._cursor, issuer_id, list_no):
                bits[index >> 3] |= 1 << (index & 7)
            self._lists[key] = bits
        else:
            self._lists.move_to_end(key)
        return bits

    def forget(self) -> None:
        """Let go of every list (what a failed transaction took is not taken)."""
        self._lists.clear()

    def taken(self, issuer_id: str, list_no: int, index: int) -> bool:
        return bool(self._bits(issuer_id, list_no)[index >> 3] & (1 << (index & 7)))

    def take(self, issuer_id: str, list_no: int, index: int) -> None:
        self._bits(issuer_id, list_no)[index >> 3] |= 1 << (index & 7)


class ReadModelWriter:
    """The changes one projector transaction makes, in domain words.

    A run of new credentials (a bulk request's, a replay's) is kept and written in a few
    statements, each for the whole run, before any other change (or at the end): the rows and
    the status-list places come out as if each were written alone, in order.
    """

    def __init__(
        self,
        cursor: Cursor,
        sql: _Sql,
        taken_among: _TakenAmong,
        insert_rows: _InsertRows,
        kept: KeptPlaces | None = None,
    ) -> None:
        self._c = cursor
        self._sql = sql
        self._taken_among = taken_among
        self._insert_rows = insert_rows
        # The model's only writer's places, known without asking the store (else None).
        self._kept = kept
        # Each issuer's newest status list as the transaction leaves it: read once and written
        # once (finish), not twice for every new credential.
        self._fills: dict[str, _ListFill] = {}
        self._new: list[_NewCredential] = []

    def _run(self, statement: str, params: Sequence[Any]) -> None:
        """Run a statement, after the new credentials kept so far are written."""
        self._write_new()
        self._c.execute(self._sql(statement), params)

    def issuer_registered(self, issuer_id: str, at: str, position: int, event: Any) -> None:
        self._run(
            "INSERT INTO rm_issuers VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?)",
            (
                issuer_id,
                event.legal_name,
                event.country,
                event.region,
                _json(event.quality_assurance),
                event.address,
                at,
                at,
            ),
        )
        self._run(
            "INSERT INTO rm_issuer_keys VALUES (?, 1, ?, ?, NULL)", (issuer_id, event.address, at)
        )
        self._history(issuer_id, position, at, "registered", {"address": event.address})

    def issuer_status(
        self, issuer_id: str, at: str, position: int, status: str, reason: str
    ) -> None:
        self._run(
            "UPDATE rm_issuers SET status = ?, updated_at = ? WHERE issuer_id = ?",
            (status, at, issuer_id),
        )
        self._history(issuer_id, position, at, status, {"reason": reason})

    def issuer_key_rotated(self, issuer_id: str, at: str, position: int, address: str) -> None:
        self._run(
            "UPDATE rm_issuer_keys SET valid_until = ? WHERE issuer_id = ? AND valid_until IS NULL",
            (at, issuer_id),
        )
        self._run(
            "INSERT INTO rm_issuer_keys SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, NULL"
            " FROM rm_issuer_keys WHERE issuer_id = ?",
            (issuer_id, address, at, issuer_id),
        )
        self._run(
            "UPDATE rm_issuers SET address = ?, updated_at = ? WHERE issuer_id = ?",
            (address, at, issuer_id),
        )
        self._history(issuer_id, position, at, "key-rotated", {"address": address})

    def seal_certificate_registered(
        self, issuer_id: str, at: str, position: int, command: dict[str, Any]
    ) -> None:
        certificate = parse_seal_certificate(command["certificate"])
        if command.get("replaces"):
            self._run(
                "UPDATE rm_seal_certificates SET retired_at = ? WHERE issuer_id = ? AND sha256 = ?",
                (at, issuer_id, command["replaces"]),
            )
        self._run(
            "INSERT INTO rm_seal_certificates VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, ?)",
            (
                issuer_id,
                certificate.sha256,
                command["certificate"],
                _utc(certificate.not_before),
                _utc(certificate.not_after),
                certificate.legal_identifier,
                certificate.country,
                at,
                position,
            ),
        )
        self._history(
            issuer_id, position, at, "seal-certificate-registered", {"sha256": certificate.sha256}
        )

    def seal_certificate_revoked(
        self, issuer_id: str, at: str, position: int, command: dict[str, Any]
    ) -> None:
        self._run(
            "UPDATE rm_seal_certificates SET revoked_at = ?, revocation_reason = ?"
            " WHERE issuer_id = ? AND sha256 = ?",
            (at, command["reason"], issuer_id, command["certificate_sha256"]),
        )
        self._history(
            issuer_id,
            position,
            at,
            "seal-certificate-revoked",
            {"sha256": command["certificate_sha256"]},
        )

    def seal_recorded(
        self, credential_id: str, at: str, position: int, command: dict[str, Any]
    ) -> None:
        self._run(
            "INSERT INTO rm_seals VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                command["seal_sha256"],
                credential_id,
                int(command["version"]),
                command["issuer_id"],
                command["certificate_sha256"],
                at,
                position,
            ),
        )

    def wallet_key_adopted(
        self, issuer_id: str, at: str, position: int, kid: str, jwk: dict[str, str]
    ) -> None:
        self._run(
            "UPDATE rm_wallet_keys SET retired_at = ? WHERE issuer_id = ? AND retired_at IS NULL",
            (at, issuer_id),
        )
        self._run(
            "INSERT INTO rm_wallet_keys VALUES (?, ?, ?, ?, NULL, ?)",
            (issuer_id, kid, _json(jwk), at, position),
        )
        self._history(issuer_id, position, at, "wallet-key-adopted", {"kid": kid})

    def wallet_delivered(
        self,
        credential_id: str,
        at: str,
        position: int,
        command: dict[str, Any],
        jwt_sha256: str,
        kid: str,
        status_index: int,
    ) -> None:
        self._run(
            "INSERT INTO rm_wallet_deliveries VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                jwt_sha256,
                command["issuer_id"],
                credential_id,
                int(command["version"]),
                kid,
                status_index,
                at,
                position,
            ),
        )

    def _history(
        self, issuer_id: str, position: int, at: str, event: str, detail: dict[str, Any]
    ) -> None:
        self._run(
            "INSERT INTO rm_issuer_history VALUES (?, ?, ?, ?, ?)",
            (issuer_id, position, at, event, _json(detail)),
        )

    def pathway_version(
        self, pathway_id: str, version: int, at: str, position: int, command: dict[str, Any]
    ) -> None:
        self._run(
            "INSERT INTO rm_pathway_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                pathway_id,
                version,
                command["issuer_id"],
                command["target"]["title"],
                _json(command["target"]),
                _json(command["rules"]),
                at,
                position,
            ),
        )

    def recognition_recorded(
        self, recognition_id: str, at: str, position: int, command: dict[str, Any]
    ) -> None:
        self._run(
            "INSERT INTO rm_recognitions VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                recognition_id,
                command["issuer_id"],
                command["pathway_id"],
                int(command["pathway_version"]),
                _json(command["components"]),
                at,
                position,
            ),
        )

    def credential_version(
        self,
        credential_id: str,
        issuer_id: str,
        version: int,
        event: str,
        content: dict[str, Any],
        at: str,
        position: int,
    ) -> None:
        version_row = (
            credential_id,
            version,
            event,
            _json(public_content(content)),
            content["learner"]["commitment"],
            at,
            position,
        )
        if version == 1:
            self._new.append(
                _NewCredential(
                    credential_id, issuer_id, version_row, content["title"], content["issued"], at
                )
            )
            return
        self._run("INSERT INTO rm_credential_versions VALUES (?, ?, ?, ?, ?, ?, ?)", version_row)
        self._run(
            "UPDATE rm_credentials SET current_version = ?, title = ?, issued = ?,"
            " updated_at = ? WHERE credential_id = ?",
            (version, content["title"], content["issued"], at, credential_id),
        )

    def _write_new(self) -> None:
        """Write the run of new credentials kept so far (if any): versions, places and
        credentials."""
        if not self._new:
            return
        new, self._new = self._new, []
        places = self._places([(n.credential_id, n.issuer_id) for n in new])
        self._insert_rows(self._c, "rm_credential_versions", [n.version_row for n in new])
        self._insert_rows(
            self._c,
            "rm_credentials",
            [
                # Active at version 1, created and updated now, neither revoked nor erased.
                (
                    *(n.credential_id, n.issuer_id, "active", 1, n.title, n.issued, n.at, n.at),
                    *_NOT_REVOKED_NOR_ERASED,
                    *(list_no, index),
                )
                for n, (list_no, index) in zip(new, places, strict=True)
            ],
        )

    def place_in_status_list(self, credential_id: str, issuer_id: str) -> tuple[int, int]:
        """Give a new credential its place in its issuer's status list: (list, index).

        The index is pseudo-random (from the credential id) with linear probing, so indexes
        say nothing of issue order, and a replay of the same history gives the same indexes.
        """
        self._write_new()
        return self._places([(credential_id, issuer_id)])[0]

    def _places(self, wanted: list[tuple[str, str]]) -> list[tuple[int, int]]:
        """Place each (credential, issuer) in turn, as :meth:`place_in_status_list` would one
        at a time; the places near each first index are read in one statement per list (or,
        where the model keeps its places, asked in memory)."""
        if len(wanted) == 1 and self._kept is None:
            return [self._place_alone(*wanted[0])]
        # Which list each takes, and the index its probe starts at.
        starts: list[tuple[int, int]] = []
        counts: dict[str, tuple[int, int]] = {}
        for credential_id, issuer_id in wanted:
            if issuer_id not in counts:
                fill = self._fill(issuer_id)
                counts[issuer_id] = (fill.list_no, fill.used)
            list_no, used = counts[issuer_id]
            if used >= STATUS_LIST_FILL:
                list_no, used = list_no + 1, 0
            starts.append((list_no, _first_index(credential_id, list_no)))
            counts[issuer_id] = (list_no, used + 1)
        probes: _StatusProbes | KeptPlaces
        if self._kept is not None:
            probes = self._kept
        else:
            probes = _StatusProbes(self._c, self._taken_among)
            probes.read(
                (issuer_id, list_no, (first + step) % STATUS_LIST_SIZE)
                for (_, issuer_id), (list_no, first) in zip(wanted, starts, strict=True)
                for step in range(PROBE_WINDOW)
            )
        entries: list[tuple[str, int, int, str]] = []
        for (credential_id, issuer_id), (list_no, index) in zip(wanted, starts, strict=True):
            fill = self._open_list_if_full(issuer_id)
            while probes.taken(issuer_id, list_no, index):
                index = (index + 1) % STATUS_LIST_SIZE
            probes.take(issuer_id, list_no, index)
            fill.used += 1
            entries.append((issuer_id, list_no, index, credential_id))
        self._insert_rows(self._c, "rm_status_entries", entries)
        return [(list_no, index) for _, list_no, index, _ in entries]

    def _place_alone(self, credential_id: str, issuer_id: str) -> tuple[int, int]:
        """One new credential's place (a single write's): each probe an insert that takes
        the place if it is free, one statement in the usual case instead of a read first."""
        fill = self._open_list_if_full(issuer_id)
        index = _first_index(credential_id, fill.list_no)
        while True:
            self._c.execute(
                self._sql(
                    "INSERT INTO rm_status_entries VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (issuer_id, list_no, idx) DO NOTHING"
                ),
                (issuer_id, fill.list_no, index, credential_id),
            )
            if self._c.rowcount == 1:
                break
            index = (index + 1) % STATUS_LIST_SIZE
        fill.used += 1
        return fill.list_no, index

    def _open_list_if_full(self, issuer_id: str) -> _ListFill:
        """The issuer's list that takes the next credential: a new one once its newest is
        half full."""
        fill = self._fill(issuer_id)
        if fill.used >= STATUS_LIST_FILL:
            self._store_fill(issuer_id, fill)
            fill.list_no, fill.used, fill.stored = fill.list_no + 1, 0, -1
        return fill

    def _fill(self, issuer_id: str) -> _ListFill:
        """The issuer's newest status list, read once a transaction."""
        fill = self._fills.get(issuer_id)
        if fill is None:
            self._c.execute(
                self._sql(
                    "SELECT list_no, used FROM rm_status_lists WHERE issuer_id = ?"
                    " ORDER BY list_no DESC LIMIT 1"
                ),
                (issuer_id,),
            )
            row = self._c.fetchone()
            used = -1 if row is None else int(row[1])
            fill = _ListFill(0 if row is None else int(row[0]), max(used, 0), used)
            self._fills[issuer_id] = fill
        return fill

    def _store_fill(self, issuer_id: str, fill: _ListFill) -> None:
        if fill.stored < 0:
            self._c.execute(
                self._sql("INSERT INTO rm_status_lists VALUES (?, ?, ?)"),
                (issuer_id, fill.list_no, fill.used),
            )
        elif fill.used != fill.stored:
            self._c.execute(
                self._sql(
                    "UPDATE rm_status_lists SET used = ? WHERE issuer_id = ? AND list_no = ?"
                ),
                (fill.used, issuer_id, fill.list_no),
            )
        fill.stored = fill.used

    def finish(self) -> None:
        """Write what the transaction kept to write: the run of new credentials, then each
        status list's fill (once)."""
        self._write_new()
        for issuer_id, fill in self._fills.items():
            self._store_fill(issuer_id, fill)

    def documents_anchored(self, checkpoint_size: int, event: Any) -> None:
        """Record where each document of an anchored batch is in the anchor tree."""
        self._write_new()
        self._insert_rows(
            self._c,
            "rm_documents",
            [
                (
                    d["document_id"],
                    d["issuer_id"],
                    d["credential_id"],
                    d["version"],
                    checkpoint_size,
                    d["leaf_index"],
                    event.public_url,
                )
                for d in event.documents
            ],
        )

    def anchoring_key_adopted(self, address: str, at: str) -> None:
        self._run(
            "INSERT INTO rm_anchoring_keys SELECT COALESCE(MAX(seq), 0) + 1, ?, ?, NULL"
            " FROM rm_anchoring_keys",
            (address, at),
        )

    def anchoring_key_rotated(self, retired: str, adopted: str, at: str) -> None:
        self._run(
            "UPDATE rm_anchoring_keys SET revoked = ? WHERE address = ? AND revoked IS NULL",
            (at, retired),
        )
        self.anchoring_key_adopted(adopted, at)

    def current_version(self, credential_id: str) -> int:
        self._run(
            "SELECT current_version FROM rm_credentials WHERE credential_id = ?", (credential_id,)
        )
        return int(self._c.fetchone()[0])

    def credential_revoked(self, credential_id: str, at: str, reason: str) -> None:
        self._run(
            "UPDATE rm_credentials SET status = 'revoked', revoked_at = ?,"
            " revocation_reason = ?, updated_at = ? WHERE credential_id = ?",
            (at, reason, at, credential_id),
        )

    def personal_data_erased(self, credential_id: str, at: str) -> None:
        self._run(
            "UPDATE rm_credentials SET personal_data_erased = 1, updated_at = ?"
            " WHERE credential_id = ?",
            (at, credential_id),
        )


class _Sql(Protocol):
    def __call__(self, statement: str) -> str: ...


class _InsertRows(Protocol):
    def __call__(self, cursor: Cursor, table: str, rows: Sequence[Sequence[Any]]) -> None: ...


class _TakenAmong(Protocol):
    def __call__(
        self, cursor: Cursor, issuer_id: str, list_no: int, indexes: Sequence[int]
    ) -> list[int]: ...


class _TakenInList(Protocol):
    def __call__(self, cursor: Cursor, issuer_id: str, list_no: int) -> Iterable[int]: ...


class PositionNotices(Protocol):
    """The positions a read model reaches, announced by the projectors that apply them (in
    whatever process they run)."""

    def receive(self, timeout: float) -> list[int]:
        """The positions announced since the last call, waiting up to ``timeout`` seconds
        for one; raises what the backend raises when it cannot listen."""
        ...

    def close(self) -> None:
        """Stop listening (the next ``receive`` starts again)."""
        ...


class ReadModel(ABC):
    """Queries over the read model, and the transactions a projector writes it in."""

    name = "read-model"
    # Set by a model whose projector is its only writer (see :class:`KeptPlaces`).
    _kept_places: KeptPlaces | None = None

    @abstractmethod
    @contextmanager
    def _cursor(self, *, write: bool) -> Iterator[Cursor]:
        """A cursor in a transaction, committed on success (for writes) and rolled back else."""

    def _single_statement(self, *, write: bool) -> AbstractContextManager[Cursor]:
        """A cursor for one statement, atomic on its own (a backend may run it outside a
        transaction block)."""
        return self._cursor(write=write)

    @contextmanager
    def _reading_cursor(self) -> Iterator[Cursor]:
        """A read-only cursor whose ``fetchmany`` pages through a large result without
        holding all of it (a backend may need a server-side cursor for that)."""
        with self._cursor(write=False) as cursor:
            yield cursor

    def _sql(self, statement: str) -> str:
        """The statement in this backend's placeholder style (portable SQL uses ``?``)."""
        return statement

    def _insert_rows(self, cursor: Cursor, table: str, rows: Sequence[Sequence[Any]]) -> None:
        """Insert ``rows``, each a value for every column of ``table`` in order."""
        if rows:
            marks = ", ".join("?" * len(rows[0]))
            cursor.executemany(self._sql(f"INSERT INTO {table} VALUES ({marks})"), rows)

    def _taken_among(
        self, cursor: Cursor, issuer_id: str, list_no: int, indexes: Sequence[int]
    ) -> list[int]:
        """Which of ``indexes`` in the issuer's status list ``list_no`` are taken (portable:
        a placeholder each)."""
        cursor.execute(
            self._sql(
                "SELECT idx FROM rm_status_entries WHERE issuer_id = ? AND list_no = ?"
                f" AND idx IN ({', '.join('?' * len(indexes))})"
            ),
            (issuer_id, list_no, *indexes),
        )
        return [int(row[0]) for row in cursor.fetchall()]

    def _taken_in_list(self, cursor: Cursor, issuer_id: str, list_no: int) -> list[int]:
        """Every taken index of the issuer's status list ``list_no``."""
        cursor.execute(
            self._sql("SELECT idx FROM rm_status_entries WHERE issuer_id = ? AND list_no = ?"),
            (issuer_id, list_no),
        )
        return [int(row[0]) for row in cursor.fetchall()]

    def keep_places(self) -> None:
        """Keep the status lists' taken places in memory between this model's transactions
        (see :class:`KeptPlaces`): its projector then asks the store about none, and a list
        is read whole when first needed (a few milliseconds)."""
        self._kept_places = KeptPlaces(self._taken_in_list, KEPT_LISTS)

    def close(self) -> None:  # noqa: B027 (a hook: only pooled backends need it)
        """Release the backend's connections (nothing to do where there is no pool)."""

    def _announce(self, cursor: Cursor, position: int) -> None:  # noqa: B027 (a hook)
        """Announce, when the transaction commits, that the model reached ``position``
        (only where the backend can tell other processes)."""

    def notices(self) -> PositionNotices | None:
        """A listener to the positions announced (None: the backend announces none, and
        the position is read again and again)."""
        return None

    def create_tables(self, *, indexed: bool = True) -> None:
        """Create what is missing; without the secondary indexes unless ``indexed`` (they
        serve the API's queries: a scratch model, compared by its digest, needs none).

        A read model made with the earlier schema is brought to this one in the same
        transaction, its rows and digest as a replay would make them.
        """
        with self._cursor(write=True) as c:
            for statement in SCHEMA:
                if indexed or not statement.startswith(_SECONDARY_INDEX):
                    c.execute(statement)
            c.execute("SELECT * FROM rm_credentials WHERE 1 = 0")
            if "status_list" not in {column[0] for column in c.description}:
                _move_status_places(c)
            for index in _RETIRED_INDEXES:
                c.execute(f"DROP INDEX IF EXISTS {index}")

    def drop_tables(self) -> None:
        with self._cursor(write=True) as c:
            for table, _ in (*_DIGEST_TABLES, ("rm_tracking", "")):
                c.execute(f"DROP TABLE IF EXISTS {table}")

    def position(self) -> int:
        """The last log position applied (0 before any)."""
        with self._single_statement(write=False) as c:
            c.execute(self._sql("SELECT position FROM rm_tracking WHERE name = ?"), (self.name,))
            row = c.fetchone()
        return int(row[0]) if row else 0

    def tracked(self, name: str) -> int:
        """The position another follower of the store (such as the Kafka relay) has reached."""
        with self._single_statement(write=False) as c:
            c.execute(self._sql("SELECT position FROM rm_tracking WHERE name = ?"), (name,))
            row = c.fetchone()
        return int(row[0]) if row else 0

    def track(self, name: str, from_position: int, to_position: int) -> None:
        """Move ``name`` from ``from_position`` to ``to_position``; raises
        :class:`PositionMoved` if it is no longer at ``from_position``."""
        with self._single_statement(write=True) as c:
            if from_position == 0:
                c.execute(
                    self._sql(
                        "INSERT INTO rm_tracking VALUES (?, ?) ON CONFLICT (name) DO NOTHING"
                    ),
                    (name, to_position),
                )
            else:
                c.execute(
                    self._sql(
                        "UPDATE rm_tracking SET position = ? WHERE name = ? AND position = ?"
                    ),
                    (to_position, name, from_position),
                )
            if c.rowcount != 1:
                raise PositionMoved(f"{name} is no longer at position {from_position}")

    @contextmanager
    def transaction(self, from_position: int, to_position: int) -> Iterator[ReadModelWriter]:
        """Apply changes for positions after ``from_position`` up to ``to_position`` at once.

        Raises :class:`PositionMoved`, applying nothing, if the model is no longer at
        ``from_position``; that is how two projectors never apply an event twice.
        """
        try:
            with self._cursor(write=True) as c:
                if from_position == 0:
                    c.execute(
                        self._sql(
                            "INSERT INTO rm_tracking VALUES (?, ?) ON CONFLICT (name) DO NOTHING"
                        ),
                        (self.name, to_position),
                    )
                else:
                    c.execute(
                        self._sql(
                            "UPDATE rm_tracking SET position = ? WHERE name = ? AND position = ?"
                        ),
                        (to_position, self.name, from_position),
                    )
                if c.rowcount != 1:
                    raise PositionMoved(f"the read model is no longer at position {from_position}")
                if self._kept_places is not None:
                    self._kept_places.begin(c)
                writer = ReadModelWriter(
                    c, self._sql, self._taken_among, self._insert_rows, self._kept_places
                )
                yield writer
                writer.finish()
                self._announce(c, to_position)
        except BaseException:
            if self._kept_places is not None:
                # What the bits learnt in a transaction that was not committed is not so.
                self._kept_places.forget()
            raise

    def credential(self, credential_id: str) -> dict[str, Any] | None:
        """Public status of one credential with its version history, or None."""
        with self._cursor(write=False) as c:
            c.execute(
                self._sql(
                    "SELECT credential_id, issuer_id, status, current_version, title, issued,"
                    " created_at, updated_at, revoked_at, revocation_reason, personal_data_erased"
                    " FROM rm_credentials WHERE credential_id = ?"
                ),
                (credential_id,),
            )
            row = c.fetchone()
            if row is None:
                return None
            c.execute(
                self._sql(
                    "SELECT version, event, content, recorded_at, position"
                    " FROM rm_credential_versions WHERE credential_id = ? ORDER BY version"
                ),
                (credential_id,),
            )
            version_rows = c.fetchall()
        status, current = row[2], row[3]
        versions = []
        for version, event, content, recorded_at, position in version_rows:
            version_status = "superseded" if version < current else status
            versions.append(
                {
                    "version": version,
                    "status": version_status,
                    "superseded_by": version + 1 if version < current else None,
                    "event": event,
                    "recorded_at": recorded_at,
                    "log_position": position,
                    "content": json.loads(content),
                }
            )
        return {
            "credential_id": row[0],
            "issuer_id": row[1],
            "status": status,
            "current_version": current,
            "title": row[4],
            "issued": row[5],
            "created_at": row[6],
            "updated_at": row[7],
            "revocation": None if row[8] is None else {"at": row[8], "reason": row[9]},
            "personal_data_erased": bool(row[10]),
            "versions": versions,
        }

    def pathways(self, issuer_id: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Every pathway at its current version (of one issuer, if named), by title."""
        where, params = ("WHERE p.issuer_id = ?", (issuer_id,)) if issuer_id else ("", ())
        with self._cursor(write=False) as c:
            c.execute(
                self._sql(
                    "SELECT p.pathway_id, p.version, p.issuer_id, p.title, p.target,"
                    " p.published_at FROM rm_pathway_versions p"
                    " JOIN (SELECT pathway_id, MAX(version) AS current FROM rm_pathway_versions"
                    " GROUP BY pathway_id) c"
                    " ON c.pathway_id = p.pathway_id AND c.current = p.version"
                    f" {where} ORDER BY p.title, p.pathway_id LIMIT ?"
                ),
                (*params, limit),
            )
            rows = c.fetchall()
        return [
            {
                "pathway_id": row[0],
                "current_version": row[1],
                "issuer_id": row[2],
                "title": row[3],
                "target": json.loads(row[4]),
                "updated_at": row[5],
            }
            for row in rows
        ]

    def pathway(self, pathway_id: str) -> dict[str, Any] | None:
        """One pathway with every version's target and rules, or None."""
        with self._cursor(write=False) as c:
            c.execute(
                self._sql(
                    "SELECT version, issuer_id, target, rules, published_at, position"
                    " FROM rm_pathway_versions WHERE pathway_id = ? ORDER BY version"
                ),
                (pathway_id,),
            )
            rows = c.fetchall()
        if not rows:
            return None
        return {
            "pathway_id": pathway_id,
            "issuer_id": rows[0][1],
            "current_version": rows[-1][0],
            "versions": [
                {
                    "version": version,
                    "target": json.loads(target),
                    "rules": json.loads(rules),
                    "published_at": at,
                    "log_position": position,
                }
                for version, _, target, rules, at, position in rows
            ],
        }

    def version_standing(self, credential_id: str, version: int) -> dict[str, Any] | None:
        """One version's status now, its issuer, content and log position (one query)."""
        with self._cursor(write=False) as c:
            c.execute(
                self._sql(
                    "SELECT c.issuer_id, c.status, c.current_version, v.content, v.position"
                    " FROM rm_credentials c JOIN rm_credential_versions v"
                    " ON v.credential_id = c.credential_id"
                    " WHERE c.credential_id = ? AND v.version = ?"
                ),
                (credential_id, version),
            )
            row = c.fetchone()
        if row is None:
            return None
        issuer_id, status, current, content, position = row
        return {
            "issuer_id": issuer_id,
            "status": "superseded" if version < current else status,
            "content": json.loads(content),
            "log_position": position,
        }

    def recognition(self, recognition_id: str) -> dict[str, Any] | None:
        """A recorded recognition, each component with its credential's status now."""
        with self._cursor(write=False) as c:
            c.execute(
                self._sql(
                    "SELECT issuer_id, pathway_id, pathway_version, components, recorded_at,"
                    " position FROM rm_recognitions WHERE recognition_id = ?"
                ),
                (recognition_id,),
            )
            row = c.fetchone()
        if row is None:
            return None
        components = []
        for component in json.loads(row[3]):
            found = self.credential(component["credential_id"])
            version = int(component["version"])
            now = "unknown" if found is None else version_status_of(found, version)
            components.append(
                {
                    "credential_id": component["credential_id"],
                    "version": version,
                    "document_hash": component["document_hash"],
                    "status": now,
                    "revocation": found["revocation"] if found and now == "revoked" else None,
                }
            )
        return {
            "recognition_id": recognition_id,
            "issuer_id": row[0],
            "pathway_id": row[1],
            "pathway_version": row[2],
            "recorded_at": row[4],
            "log_position": row[5],
            "components": components,
        }

    def commitment_of(self, credential_id: str, version: int) -> str | None:
        with self._cursor(write=False) as c:
            c.execute(
                self._sql(
                    "SELECT commitment FROM rm_credential_versions"
                    " WHERE credential_id = ? AND version = ?"
                ),
                (credential_id, version),
            )
            row = c.fetchone()
        return None if row is None else str(row[0])

    def credentials(
        self,
        *,
        issuer_id: str | None,
        status: str | None,
        after: str | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """A page of credential summaries ordered by id, after the cursor ``after``."""
        where, params = ["1 = 1"], []
        if issuer_id is not None:
            where.append("issuer_id = ?")
            params.append(issuer_id)
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if after is not None:
            where.append("credential_id > ?")
            params.append(after)
        with self._cursor(write=False) as c:
            c.execute(
                self._sql(
                    "SELECT credential_id, issuer_id, status, current_version, title, issued"
                    f" FROM rm_credentials WHERE {' AND '.join(where)}"
                    " ORDER BY credential_id LIMIT ?"
                ),
                (*params, limit),
            )
            rows = c.fetchall()
        keys = ("credential_id", "issuer_id", "status", "current_version", "title", "issued")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def seal_certificates(self, issuer_id: str) -> list[dict[str, Any]]:
        """An issuer's seal certificates, in the order registered."""
        with self._cursor(write=False) as c:
            c.execute(
                self._sql(
                    "SELECT sha256, certificate, not_before, not_after, legal_identifier, country,"
                    " registered_at, retired_at, revoked_at, revocation_reason, position"
                    " FROM rm_seal_certificates WHERE issuer_id = ? ORDER BY position"
                ),
                (issuer_id,),
            )
            rows = c.fetchall()
        keys = (
            "sha256",
            "certificate",
            "not_before",
            "not_after",
            "legal_identifier",
            "country",
            "registered_at",
            "retired_at",
            "revoked_at",
            "revocation_reason",
            "position",
        )
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def seal(self, seal_sha256: str) -> dict[str, Any] | None:
        """The record of a sealed EDC credential, by the seal's digest."""
        with self._cursor(write=False) as c:
            c.execute(
                self._sql(
                    "SELECT seal_sha256, credential_id, version, issuer_id, certificate_sha256,"
                    " recorded_at, position FROM rm_seals WHERE seal_sha256 = ?"
                ),
                (seal_sha256,),
            )
            row = c.fetchone()
        if row is None:
            return None
        keys = (
            "seal_sha256",
            "credential_id",
            "version",
            "issuer_id",
            "certificate_sha256",
            "recorded_at",
            "position",
        )
        return dict(zip(keys, row, strict=True))

    def wallet_keys(self, issuer_id: str) -> list[dict[str, Any]]:
        """The keys that have signed an issuer's SD-JWT VCs, oldest first, with when each was
        adopted and retired (a JWT is judged by the key in use at its ``iat``)."""
        with self._cursor(write=False) as c:
            c.execute(
                self._sql(
                    "SELECT kid, jwk, adopted_at, retired_at, position FROM rm_wallet_keys"
                    " WHERE issuer_id = ? ORDER BY position"
                ),
                (issuer_id,),
            )
            rows = c.fetchall()
        return [
            {"kid": k, "jwk": json.loads(j), "adopted_at": a, "retired_at": r, "position": p}
            for k, j, a, r, p in rows
        ]

    def wallet_delivery(self, jwt_sha256: str) -> dict[str, Any] | None:
        """The record of a delivered SD-JWT VC, by the digest of its issuer-signed JWT."""
        with self._cursor(write=False) as c:
            c.execute(
                self._sql(
                    "SELECT jwt_sha256, issuer_id, credential_id, version, kid, status_index,"
                    " delivered_at, position FROM rm_wallet_deliveries WHERE jwt_sha256 = ?"
                ),
                (jwt_sha256,),
            )
            row = c.fetchone()
        if row is None:
            return None
        keys = (
            "jwt_sha256",
            "issuer_id",
            "credential_id",
            "version",
            "kid",
            "status_index",
            "delivered_at",
            "position",
        )
        return dict(zip(keys, row, strict=True))

    def wallet_deliveries(self, credential_id: str) -> int:
        """How many SD-JWT VCs of a credential went to wallets."""
        with self._cursor(write=False) as c:
            c.execute(
                self._sql("SELECT COUNT(*) FROM rm_wallet_deliveries WHERE credential_id = ?"),
                (credential_id,),
            )
            return int(c.fetchone()[0])

    def wallet_status(self, issuer_id: str) -> tuple[list[int], int]:
        """The status list entries of an issuer's SD-JWT VCs that are no longer valid (their
        version revoked or superseded), and the highest entry taken (-1 if none)."""
        with self._cursor(write=False) as c:
            c.execute(
                self._sql(
                    "SELECT d.status_index, CASE WHEN c.status = 'revoked'"
                    " OR d.version < c.current_version THEN 1 ELSE 0 END"
                    " FROM rm_wallet_deliveries d JOIN rm_credentials c"
                    " ON c.credential_id = d.credential_id WHERE d.issuer_id = ?"
                ),
                (issuer_id,),
            )
            rows = c.fetchall()
        highest = max((int(r[0]) for r in rows), default=-1)
        return sorted(int(r[0]) for r in rows if r[1]), highest

    def wallet_status_entry(self, issuer_id: str, index: int) -> int:
        """One entry of an issuer's Token Status List: 1 if the version delivered with it is
        revoked or superseded, else 0 (an entry no delivery took is 0)."""
        with self._cursor(write=False) as c:
            c.execute(
                self._sql(
                    "SELECT CASE WHEN c.status = 'revoked' OR d.version < c.current_version"
                    " THEN 1 ELSE 0 END FROM rm_wallet_deliveries d JOIN rm_credentials c"
                    " ON c.credential_id = d.credential_id"
                    " WHERE d.issuer_id = ? AND d.status_index = ?"
                ),
                (issuer_id, index),
            )
            row = c.fetchone()
        return 0 if row is None else int(row[0])

    def issuer(self, issuer_id: str) -> dict[str, Any] | None:
        """An issuer's public register entry with its key and status history."""
        with self._cursor(write=False) as c:
            c.execute(
                self._sql(
                    "SELECT issuer_id, legal_name, country, region, quality_assurance, address,"
                    " status, registered_at, updated_at FROM rm_issuers WHERE issuer_id = ?"
                ),
                (issuer_id,),
            )
            row = c.fetchone()
            if row is None:
                return None
            c.execute(
                self._sql(
                    "SELECT address, valid_from, valid_until FROM rm_issuer_keys"
                    " WHERE issuer_id = ? ORDER BY seq"
                ),
                (issuer_id,),
            )
            keys = c.fetchall()
            c.execute(
                self._sql(
                    "SELECT at, event, detail, position FROM rm_issuer_history"
                    " WHERE issuer_id = ? ORDER BY position"
                ),
                (issuer_id,),
            )
            history = c.fetchall()
        return {
            "issuer_id": row[0],
            "legal_name": row[1],
            "country": row[2],
            "region": row[3],
            "quality_assurance": json.loads(row[4]),
            "address": row[5],
            "status": row[6],
            "registered_at": row[7],
            "updated_at": row[8],
            "keys": [{"address": a, "valid_from": f, "valid_until": u} for a, f, u in keys],
            "history": [
                {"at": at, "event": event, "position": position, **json.loads(detail)}
                for at, event, detail, position in history
            ],
        }

    def register_history(self, *, after_position: int, limit: int) -> list[dict[str, Any]]:
        """Every change to the issuer register, in log order, after a position."""
        with self._cursor(write=False) as c:
            c.execute(
                self._sql(
                    "SELECT position, issuer_id, at, event, detail FROM rm_issuer_history"
                    " WHERE position > ? ORDER BY position LIMIT ?"
                ),
                (after_position, limit),
            )
            rows = c.fetchall()
        return [
            {"position": p, "issuer_id": i, "at": at, "event": e, **json.loads(d)}
            for p, i, at, e, d in rows
        ]

    def anchoring_keys(self) -> list[dict[str, str | None]]:
        """The ledger's anchoring addresses, oldest first, with when each was valid."""
        with self._cursor(write=False) as c:
            c.execute(
                self._sql("SELECT address, created, revoked FROM rm_anchoring_keys ORDER BY seq")
            )
            rows = c.fetchall()
        return [{"address": a, "created": cr, "revoked": rv} for a, cr, rv in rows]

    def document(self, document_id: str) -> dict[str, Any] | None:
        """Where a document is anchored, if it is (its id names one credential version)."""
        with self._cursor(write=False) as c:
            c.execute(
                self._sql(
                    "SELECT document_id, issuer_id, credential_id, version, checkpoint_size,"
                    " leaf_index, public_url FROM rm_documents WHERE document_id = ?"
                ),
                (document_id,),
            )
            row = c.fetchone()
        if row is None:
            return None
        keys = (
            "document_id",
            "issuer_id",
            "credential_id",
            "version",
            "checkpoint_size",
            "leaf_index",
            "public_url",
        )
        return dict(zip(keys, row, strict=True))

    def revoked_documents(
        self, issuer_id: str, document_id: str | None = None
    ) -> list[dict[str, str]]:
        """An issuer's documents that no longer stand, with why: the credential was revoked,
        or the version was superseded. With ``document_id``, one indexed lookup."""
        where = "d.issuer_id = ?"
        params: list[Any] = [issuer_id]
        if document_id is not None:
            where += " AND d.document_id = ?"
            params.append(document_id)
        with self._cursor(write=False) as c:
            c.execute(
                self._sql(
                    "SELECT d.document_id, d.version, c.status, c.current_version,"
                    " c.revocation_reason FROM rm_documents d JOIN rm_credentials c"
                    " ON c.credential_id = d.credential_id"
                    f" WHERE {where} AND (c.status = 'revoked' OR d.version < c.current_version)"
                    " ORDER BY d.document_id"
                ),
                params,
            )
            rows = c.fetchall()
        return [
            {
                "id": doc_id,
                "revocationReason": (
                    f"revoked: {reason}"
                    if status == "revoked"
                    else f"superseded by version {version + 1}"
                ),
            }
            for doc_id, version, status, _current, reason in rows
        ]

    def status_entry(self, credential_id: str) -> dict[str, Any] | None:
        """A credential's place in its issuer's status list."""
        with self._cursor(write=False) as c:
            c.execute(
                self._sql(
                    "SELECT issuer_id, status_list, status_index FROM rm_credentials"
                    " WHERE credential_id = ?"
                ),
                (credential_id,),
            )
            row = c.fetchone()
        if row is None or row[1] is None:
            return None
        return {"issuer_id": row[0], "list_no": int(row[1]), "index": int(row[2])}

    def revoked_status_indexes(self, issuer_id: str, list_no: int) -> list[int] | None:
        """The set bits of an issuer's status list, or None if the list does not exist."""
        with self._cursor(write=False) as c:
            c.execute(
                self._sql("SELECT 1 FROM rm_status_lists WHERE issuer_id = ? AND list_no = ?"),
                (issuer_id, list_no),
            )
            if c.fetchone() is None:
                return None
            c.execute(
                self._sql(
                    "SELECT s.idx FROM rm_status_entries s JOIN rm_credentials c"
                    " ON c.credential_id = s.credential_id"
                    " WHERE s.issuer_id = ? AND s.list_no = ? AND c.status = 'revoked'"
                ),
                (issuer_id, list_no),
            )
            return [int(r[0]) for r in c.fetchall()]

    def issuers(self, *, after: str | None, limit: int) -> list[dict[str, Any]]:
        with self._cursor(write=False) as c:
            c.execute(
                self._sql(
                    "SELECT issuer_id, legal_name, country, address, status FROM rm_issuers"
                    " WHERE issuer_id > ? ORDER BY issuer_id LIMIT ?"
                ),
                (after or "", limit),
            )
            rows = c.fetchall()
        keys = ("issuer_id", "legal_name", "country", "address", "status")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def digest(self, *, at: Callable[[int], object] | None = None) -> tuple[str, int]:
        """The digest of every table (:func:`combined_digest`) and the log position the rows
        reflect, read in one snapshot; ``at`` is told the position before the rows are read
        (what is compared with the digest can start on it)."""
        with self._reading_cursor() as c:
            c.execute(self._sql("SELECT position FROM rm_tracking WHERE name = ?"), (self.name,))
            row = c.fetchone()
            position = int(row[0]) if row else 0
            if at is not None:
                at(position)
            tables = {table: _table_digest(c, table, key) for table, key in _DIGEST_TABLES}
        return combined_digest(tables), position

    def table_digests(self, tables: Collection[str]) -> dict[str, str]:
        """The digests of the named tables, read in one snapshot (two processes can read a
        model that is not written any more in halves)."""
        with self._reading_cursor() as c:
            return {t: _table_digest(c, t, key) for t, key in _DIGEST_TABLES if t in tables}
