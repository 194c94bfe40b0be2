"""``serve`` on PostgreSQL says at its start when its processes may hold more connections than
the server accepts: each process opens three pools and up to two listening connections."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.runtime.connection_budget import connection_budget, processes, warn_when_over
from ledger.settings import Settings
from tests.conftest import STORE, store_independent


def kafka_on_postgres(data_dir: Path, pool_size: int = 5) -> Settings:
    return Settings(
        data_dir=data_dir, store="postgres", transport="kafka", postgres_pool_size=pool_size
    )


@store_independent
def test_two_api_workers_on_kafka_with_the_consumers_apart_are_five_processes(
    tmp_path: Path,
) -> None:
    settings = kafka_on_postgres(tmp_path)
    assert processes(settings, workers=2, no_consumers=False, apart=True) == 5


@store_independent
def test_one_worker_with_the_consumers_apart_is_three_processes(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, store="postgres")
    assert processes(settings, workers=1, no_consumers=False, apart=True) == 3


@store_independent
def test_workers_beside_consumer_threads_add_the_serving_process(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, store="postgres")
    assert processes(settings, workers=3, no_consumers=False, apart=True) == 4


@store_independent
def test_workers_without_consumers_are_the_only_processes(tmp_path: Path) -> None:
    settings = kafka_on_postgres(tmp_path)
    assert processes(settings, workers=4, no_consumers=True, apart=True) == 4


@store_independent
def test_the_budget_is_three_pools_and_two_listeners_a_process(tmp_path: Path) -> None:
    settings = kafka_on_postgres(tmp_path, pool_size=10)
    assert connection_budget(settings, workers=2, no_consumers=False, apart=True) == 5 * 32


@pytest.mark.skipif(STORE != "postgres", reason="asks a PostgreSQL server for its limit")
def test_a_budget_past_the_servers_limit_is_warned_about(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    crowded = settings.model_copy(update={"postgres_pool_size": 50, "transport": "kafka"})
    warn_when_over(crowded, workers=2, no_consumers=False, apart=True)
    assert "may hold up to 760 connections to PostgreSQL" in caplog.text


@pytest.mark.skipif(STORE != "postgres", reason="asks a PostgreSQL server for its limit")
def test_the_default_pool_with_two_workers_fits_the_servers_default_limit(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    warn_when_over(
        settings.model_copy(update={"transport": "kafka"}),
        workers=2,
        no_consumers=False,
        apart=True,
    )
    assert "connections to PostgreSQL" not in caplog.text
