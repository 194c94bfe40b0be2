"""The state of OpenID4VCI issuance between requests: offers, access tokens, nonces, and the
next free entry of each issuer's Token Status List.

It sits beside the event store (so every API worker sees it) and is operational state, not
history: an offer's pre-authorized code, PIN and access token are kept only as SHA-256
digests, and what a delivery proves is recorded as an event, not here. Each decision is one
conditional UPDATE, so two workers never both redeem a code or take one status entry.
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS wallet_offers ("
    " code_hash TEXT PRIMARY KEY, issuer_id TEXT NOT NULL, credential_id TEXT NOT NULL,"
    " version INTEGER NOT NULL, command TEXT NOT NULL, signature TEXT NOT NULL,"
    " signer TEXT NOT NULL, pin_hash TEXT NOT NULL, attempts INTEGER NOT NULL,"
    " expires DOUBLE PRECISION NOT NULL, redeemed DOUBLE PRECISION, token_hash TEXT,"
    " token_expires DOUBLE PRECISION, delivered DOUBLE PRECISION)",
    "CREATE UNIQUE INDEX IF NOT EXISTS wallet_offers_by_token ON wallet_offers (token_hash)",
    # Expired rows are dropped as new ones come: by index, not by reading the table each time.
    "CREATE INDEX IF NOT EXISTS wallet_offers_by_expiry ON wallet_offers (expires)",
    "CREATE TABLE IF NOT EXISTS wallet_nonces ("
    " nonce TEXT PRIMARY KEY, expires DOUBLE PRECISION NOT NULL)",
    "CREATE INDEX IF NOT EXISTS wallet_nonces_by_expiry ON wallet_nonces (expires)",
    "CREATE TABLE IF NOT EXISTS wallet_status_counters ("
    " issuer_id TEXT PRIMARY KEY, next_index INTEGER NOT NULL)",
)
# Offers and nonces are kept this long past their expiry (to tell "expired" from "unknown").
_KEPT_AFTER_EXPIRY = 86_400.0
# Status list entries are reserved this many at a time and handed out from memory; what a
# process reserved and did not use (it stopped) stays 0, valid, referenced by nothing.
STATUS_ENTRY_BLOCK = 64


class SpendRefused(Exception):
    """A nonce or access token of a group was spent, or expired, since it was checked: the
    group's transaction is rolled back and nothing of it recorded."""


@dataclass(frozen=True)
class StoredOffer:
    """An offer as the issuer signed it, and where its code stands."""

    issuer_id: str
    credential_id: str
    version: int
    command: dict[str, Any]
    signature: str
    signer: str  # the issuer key (address) that signed the offer


@dataclass(frozen=True)
class Redemption:
    """What presenting a pre-authorized code gave: the offer, or why not."""

    offer: StoredOffer | None
    refusal: str | None = None
    tries_left: int = 0


_OFFER_COLUMNS = "issuer_id, credential_id, version, command, signature, signer"


def _offer(row: Any) -> StoredOffer:
    return StoredOffer(
        str(row[0]), str(row[1]), int(row[2]), json.loads(row[3]), str(row[4]), str(row[5])
    )


class WalletSessions(ABC):
    """Offers, tokens, nonces and status entries; one subclass per backend."""

    def __init__(self) -> None:
        self._blocks_lock = threading.Lock()
        self._blocks: dict[str, tuple[int, int]] = {}  # issuer id: (next entry, block end)

    @abstractmethod
    def _transaction(self, *, commit: bool = True) -> AbstractContextManager[Any]:
        """A cursor in a transaction committed on success; with ``commit`` false, a cursor
        for reads only (a backend may run each statement alone)."""

    def _sql(self, statement: str) -> str:
        """The statement in the backend's placeholder style (written with ``?``)."""
        return statement

    def _run(self, c: Any, statement: str, params: tuple[Any, ...]) -> Any:
        c.execute(self._sql(statement), params)
        if "RETURNING" not in statement and "SELECT" not in statement:
            return None
        row = c.fetchone()
        # Backends give rows as mappings (psycopg) or sequences (sqlite3): read by position.
        return None if row is None else tuple(row.values() if isinstance(row, dict) else row)

    def open_offer(
        self, code_hash: str, pin_hash: str, offer: StoredOffer, now: float, expires: float
    ) -> None:
        """Keep a new offer until ``expires``; offers long expired are dropped."""
        with self._transaction() as c:
            self._run(c, "DELETE FROM wallet_offers WHERE expires < ?", (now - _KEPT_AFTER_EXPIRY,))
            self._run(
                c,
                "INSERT INTO wallet_offers VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, NULL, NULL, NULL,"
                " NULL)",
                (
                    code_hash,
                    offer.issuer_id,
                    offer.credential_id,
                    offer.version,
                    json.dumps(offer.command, separators=(",", ":")),
                    offer.signature,
                    offer.signer,
                    pin_hash,
                    expires,
                ),
            )

    def redeem(
        self,
        code_hash: str,
        pin_hash: str,
        token_hash: str,
        now: float,
        token_expires: float,
        max_attempts: int,
    ) -> Redemption:
        """Exchange a pre-authorized code and its PIN for an access token, once.

        A wrong PIN counts against the offer; after ``max_attempts`` wrong ones it is locked.
        """
        with self._transaction() as c:
            row = self._run(
                c,
                "UPDATE wallet_offers SET redeemed = ?, token_hash = ?, token_expires = ?"
                " WHERE code_hash = ? AND pin_hash = ? AND redeemed IS NULL AND attempts < ?"
                f" AND expires > ? RETURNING {_OFFER_COLUMNS}",
                (now, token_hash, token_expires, code_hash, pin_hash, max_attempts, now),
            )
            if row is not None:
                return Redemption(_offer(row))
            row = self._run(
                c,
                "UPDATE wallet_offers SET attempts = attempts + 1 WHERE code_hash = ?"
                " AND pin_hash <> ? AND redeemed IS NULL AND attempts < ? AND expires > ?"
                " RETURNING attempts",
                (code_hash, pin_hash, max_attempts, now),
            )
            if row is not None:
                left = max_attempts - int(row[0])
                return Redemption(None, "wrong-pin" if left else "locked", left)
            row = self._run(
                c,
                "SELECT redeemed, attempts, expires FROM wallet_offers WHERE code_hash = ?",
                (code_hash,),
            )
        if row is None:
            return Redemption(None, "unknown")
        redeemed, attempts, expires = row
        if redeemed is not None:
            return Redemption(None, "used")
        if int(attempts) >= max_attempts:
            return Redemption(None, "locked")
        if float(expires) <= now:
            return Redemption(None, "expired")
        return Redemption(None, "unknown")

    def offer_for_token(self, token_hash: str, now: float) -> tuple[StoredOffer | None, str]:
        """The offer an access token was issued for, or None and why (expired, delivered)."""
        with self._transaction(commit=False) as c:
            row = self._run(
                c,
                f"SELECT {_OFFER_COLUMNS}, token_expires, delivered FROM wallet_offers"
                " WHERE token_hash = ?",
                (token_hash,),
            )
        if row is None:
            return None, "unknown"
        if row[7] is not None:
            return None, "delivered"
        if float(row[6]) <= now:
            return None, "expired"
        return _offer(row), ""

    def delivered(self, token_hashes: Sequence[str], now: float) -> None:
        """Mark the offers behind these access tokens delivered: the tokens are spent."""
        with self._transaction() as c:
            for token_hash in token_hashes:
                self._run(
                    c,
                    "UPDATE wallet_offers SET delivered = ? WHERE token_hash = ?",
                    (now, token_hash),
                )

    def delivery_spends(
        self, nonces: Sequence[str], token_hashes: Sequence[str], now: float
    ) -> Callable[[Any], None]:
        """The statements that spend a group's key proof nonces and access tokens, to run in
        the transaction that records the group's deliveries (given its cursor): a nonce spent
        or expired, or a token used, since they were checked raises :class:`SpendRefused`,
        and the whole transaction rolls back."""

        def spend(c: Any) -> None:
            for nonce in nonces:
                statement = "DELETE FROM wallet_nonces WHERE nonce = ? AND expires > ? RETURNING 1"
                if self._run(c, statement, (nonce, now)) is None:
                    raise SpendRefused("a key proof's nonce was spent or expired meanwhile")
            for token_hash in token_hashes:
                statement = (
                    "UPDATE wallet_offers SET delivered = ? WHERE token_hash = ?"
                    " AND delivered IS NULL RETURNING 1"
                )
                if self._run(c, statement, (now, token_hash)) is None:
                    raise SpendRefused("an access token was used meanwhile")

        return spend

    def fresh_nonces(self, nonces: Sequence[str], now: float) -> set[str]:
        """Which of ``nonces`` were issued here and are neither spent nor expired (a read:
        they are spent with the deliveries, see :meth:`delivery_spends`)."""
        fresh: set[str] = set()
        with self._transaction(commit=False) as c:
            for nonce in nonces:
                statement = "SELECT nonce FROM wallet_nonces WHERE nonce = ? AND expires > ?"
                if self._run(c, statement, (nonce, now)) is not None:
                    fresh.add(nonce)
        return fresh

    def take_status_entry(self, issuer_id: str) -> int:
        """The issuer's next free status list entry, never given twice (entries are reserved
        in blocks, so taking one rarely writes)."""
        with self._blocks_lock:
            following, end = self._blocks.get(issuer_id, (0, 0))
            if following == end:
                with self._transaction() as c:
                    row = self._run(
                        c,
                        "INSERT INTO wallet_status_counters VALUES (?, ?) ON CONFLICT (issuer_id)"
                        " DO UPDATE SET next_index = wallet_status_counters.next_index + ?"
                        " RETURNING next_index",
                        (issuer_id, STATUS_ENTRY_BLOCK, STATUS_ENTRY_BLOCK),
                    )
                assert row is not None
                end = int(row[0])
                following = end - STATUS_ENTRY_BLOCK
            self._blocks[issuer_id] = (following + 1, end)
            return following

    def issue_nonce(self, nonce: str, now: float, expires: float) -> None:
        with self._transaction() as c:
            self._run(c, "DELETE FROM wallet_nonces WHERE expires < ?", (now,))
            self._run(c, "INSERT INTO wallet_nonces VALUES (?, ?)", (nonce, expires))

    def spend_nonces(self, spends: Sequence[tuple[str, str]], now: float) -> list[int | None]:
        """Spend key proofs' nonces, each taking its issuer's next free status list entry, in
        one transaction: per (nonce, issuer id), the entry, or None (taking nothing) if the
        nonce was not issued here, is stale or was spent already. An entry is never given
        twice; one left unused stays 0, valid, referenced by nothing."""
        entries: list[int | None] = []
        with self._transaction() as c:
            for nonce, issuer_id in spends:
                spent = self._run(
                    c,
                    "DELETE FROM wallet_nonces WHERE nonce = ? AND expires > ? RETURNING nonce",
                    (nonce, now),
                )
                if spent is None:
                    entries.append(None)
                    continue
                row = self._run(
                    c,
                    "INSERT INTO wallet_status_counters VALUES (?, 1) ON CONFLICT (issuer_id)"
                    " DO UPDATE SET next_index = wallet_status_counters.next_index + 1"
                    " RETURNING next_index",
                    (issuer_id,),
                )
                assert row is not None
                entries.append(int(row[0]) - 1)
        return entries
