"""What a PostgreSQL connection sends, from libpq's trace: for tests that count round trips."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg_pool import ConnectionPool


@contextmanager
def messages_sent(pool: ConnectionPool) -> Iterator[list[str]]:
    """Each protocol message the pool's connection (a pool of one) sends meanwhile: its name,
    then its content as the trace prints it (a simple query's text; nothing for Sync)."""
    sent: list[str] = []
    with tempfile.TemporaryFile() as trace:
        with pool.connection() as connection:
            connection.pgconn.trace(trace.fileno())
            connection.pgconn.set_trace_flags(
                psycopg.pq.Trace.SUPPRESS_TIMESTAMPS | psycopg.pq.Trace.REGRESS_MODE
            )
        try:
            yield sent
        finally:
            with pool.connection() as connection:
                connection.pgconn.untrace()
            trace.seek(0)
            for line in trace.read().decode().splitlines():
                direction, _, message, *content = line.split("\t")
                if direction == "F":
                    sent.append(" ".join([message.strip(), *content]).strip())
