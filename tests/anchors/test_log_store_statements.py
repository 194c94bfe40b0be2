"""On PostgreSQL the log's reads are single statements sent alone, and its writes single
transactions: what its one connection sends, read from libpq's trace."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest

from anchors.log import TransparencyLog
from ledger.persistence.postgres import PostgresLogStore, conninfo, open_anchor_store
from ledger.settings import Settings
from tests.conftest import STORE
from tests.protocol_trace import messages_sent

pytestmark = pytest.mark.skipif(STORE != "postgres", reason="PostgreSQL's protocol messages")


@pytest.fixture
def store(settings: Settings) -> Iterator[PostgresLogStore]:
    """A log store of one connection, holding three entries and a checkpoint."""
    opened = PostgresLogStore(conninfo(settings), pool_size=1)
    log = TransparencyLog(opened)
    log.append([b"a", b"b", b"c"], [1, 2, 3])
    opened.add_checkpoint(3, "example.org/log\n3\nAAA=\n")
    yield opened
    opened.close()


READS: dict[str, Callable[[PostgresLogStore], object]] = {
    "state": lambda s: s.state(),
    "entries": lambda s: s.entries(0, 3),
    "entry ends": lambda s: s.entry_ends(0, 3, 1),
    "positions": lambda s: s.positions(0, 3),
    "nodes": lambda s: s.nodes([(0, 0), (1, 0)]),
    "hashes": lambda s: s.hashes(0, 0, 3),
    "latest checkpoint": lambda s: s.latest_checkpoint(),
    "anchor record": lambda s: open_anchor_store(s).get(3),
}


@pytest.mark.parametrize("read", READS)
def test_a_read_of_the_log_is_one_statement_outside_a_transaction_block(
    store: PostgresLogStore, read: str
) -> None:
    with messages_sent(store._pool) as sent:
        READS[read](store)
    # One statement: a simple query, or an extended query's messages ended by one Sync.
    statements = [m for m in sent if m.startswith("Query") or m == "Sync"]
    assert len(statements) == 1, sent
    assert "BEGIN" not in statements[0] and "COMMIT" not in statements[0], sent


def test_an_append_to_the_log_is_one_transaction(store: PostgresLogStore) -> None:
    log = TransparencyLog(store)
    with messages_sent(store._pool) as sent:
        log.append([b"d"], [4])
    # The lock, the state's compare-and-set and the entries all inside one transaction.
    begin = max(i for i, m in enumerate(sent) if m == 'Query  "BEGIN"')
    commit = sent.index('Query  "COMMIT"', begin)
    inside = sent[begin:commit]
    assert any("LOCK TABLE log_state" in m for m in inside), sent
    assert any("UPDATE log_state" in m for m in inside), sent
    assert any("log_entries" in m for m in inside), sent
    assert store.state() == (4, 4)


def test_a_read_leaves_its_connection_ready_after_the_server_refused_it(
    store: PostgresLogStore,
) -> None:
    with pytest.raises(psycopg.errors.DivisionByZero):
        store._rows("SELECT 1 / 0", ())
    assert store.state() == (3, 3)
