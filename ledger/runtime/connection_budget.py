"""How many PostgreSQL connections a ``serve`` deployment may hold, against what the server
accepts: said once at the start, so that an operator learns it from a warning, not from a tool
that cannot connect later (an audit's ``PoolTimeout`` while the deployment holds them all).
"""

from __future__ import annotations

import logging

import psycopg

from ledger.settings import Settings

log = logging.getLogger("credledger.serve")

# Listening connections a process may hold beside its pools (new events, read-model positions).
LISTENERS = 2
# Pools a process opens: the event store's, the log's and the read model's.
POOLS = 3


def processes(settings: Settings, workers: int, no_consumers: bool, apart: bool) -> int:
    """The processes of ``serve`` that open the stores: the serving process (unless it only
    supervises API workers), the API workers, and the two consumers' processes when ``apart``
    (:func:`ledger.runtime.supervised.consumers_apart`) holds for this shape."""
    if no_consumers:
        return workers
    api_workers = workers if workers > 1 else 0
    # With workers, the consumers run in processes of their own only through Kafka.
    consumers_apart = apart and (workers == 1 or settings.transport == "kafka")
    return 1 + api_workers + (2 if consumers_apart else 0)


def connection_budget(settings: Settings, workers: int, no_consumers: bool, apart: bool) -> int:
    """The most connections the deployment's processes may hold at once."""
    return processes(settings, workers, no_consumers, apart) * _per_process(settings)


def _per_process(settings: Settings) -> int:
    return POOLS * settings.postgres_pool_size + LISTENERS


def server_allows(settings: Settings) -> int | None:
    """Connections the server accepts from roles without superuser rights; None when it
    cannot be asked now (the stores report an unreachable server when they open)."""
    from ledger.persistence.postgres import conninfo

    try:
        with psycopg.connect(
            conninfo(settings), connect_timeout=max(1, settings.postgres_timeout_seconds)
        ) as connection:
            rows = connection.execute(
                "SELECT name, setting::int FROM pg_settings WHERE name IN"
                " ('max_connections', 'superuser_reserved_connections', 'reserved_connections')"
            ).fetchall()
    except psycopg.Error:
        return None
    limits: dict[str, int] = {name: value for name, value in rows}
    return (
        limits["max_connections"]
        - limits.get("superuser_reserved_connections", 0)
        - limits.get("reserved_connections", 0)
    )


def warn_when_over(settings: Settings, workers: int, no_consumers: bool, apart: bool) -> None:
    """Log a warning when the deployment may hold more connections than the server accepts."""
    if settings.store != "postgres":
        return
    count = processes(settings, workers, no_consumers, apart)
    budget = count * _per_process(settings)
    allowed = server_allows(settings)
    if allowed is not None and budget > allowed:
        log.warning(
            "this deployment may hold up to %d connections to PostgreSQL (%d processes, "
            "CREDLEDGER_POSTGRES_POOL_SIZE=%d), more than the %d the server accepts: lower "
            "the pool size or --workers, or raise the server's max_connections, and leave "
            "room for credledger audit and the other tools",
            budget,
            count,
            settings.postgres_pool_size,
            allowed,
        )
