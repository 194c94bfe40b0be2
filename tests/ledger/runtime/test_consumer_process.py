"""`credledger serve` on the embedded default runs the read model's projector in a process of
its own and the log, anchoring and witness consumers in another: it keeps both running
(restarted when they die, with nothing lost, applied or logged twice), stops them on the way
out, and they die with it. A write is answered once the read-model process shows it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger.client import CommandSigner, LedgerClient, LedgerRequestError
from ledger.domain import samples
from ledger.domain.signing import IssuerKey
from tests.conftest import LEARNER, STORE, content, serving, wait_for
from tests.processes import consumers_of

pytestmark = pytest.mark.skipif(
    STORE != "sqlite", reason="the embedded deployment: the SQLite pass runs it"
)


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    url: str
    signer: CommandSigner
    data_dir: Path
    log: Path


def signalled(served: Served, role: str, signum: signal.Signals) -> int:
    """Send ``signum`` to the consumers' process of ``role`` (consumers, read-model); its pid."""
    (pid,) = consumers_of(served.process.pid, role)
    os.kill(pid, signum)
    return pid


def gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def still_running(pids: list[int]) -> dict[int, str]:
    """Which of ``pids`` still run, each with its state and command line (what a failure
    needs to say)."""
    running = {}
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if state != "Z":
            running[pid] = f"{state} {command}"
    return running


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    env = {"CREDLEDGER_BATCH_AGE_SECONDS": "1", "CREDLEDGER_CONSUMERS": "process"}
    log = tmp_path / "serve.log"
    with log.open("wb") as output, serving(tmp_path / "data", env, output) as running:
        process, url, token = running
        key = IssuerKey.generate()
        with LedgerClient(url, admin_token=token) as admin:
            entry = admin.register_issuer(samples.issuer_registration(key.address))
        yield Served(process, url, CommandSigner(key, entry["issuer_id"]), tmp_path / "data", log)


def signed(served: Served, count: int, tag: str) -> list[dict[str, Any]]:
    return [
        served.signer.issue(content(), {**LEARNER, "identifier": f"{tag}-{i}"})
        for i in range(count)
    ]


def issued_ids(served: Served, bodies: list[dict[str, Any]]) -> list[str]:
    with LedgerClient(served.url, timeout=60) as client:
        results = client.bulk_issue(bodies)
    assert all(result["ok"] for result in results), results[:2]
    return [result["result"]["credential_id"] for result in results]


def issue(served: Served, count: int, tag: str) -> list[str]:
    return issued_ids(served, signed(served, count, tag))


def anchored(served: Served) -> set[str]:
    found: set[str] = set()
    after = 0
    while True:
        page = httpx.get(f"{served.url}/log/anchors", params={"after_size": after}).json()
        if not page["items"]:
            return found
        for anchor in page["items"]:
            found |= {document["credential_id"] for document in anchor.get("documents", [])}
            after = max(after, anchor["checkpoint_size"])


def logged_positions(data_dir: Path) -> list[int]:
    with sqlite3.connect(data_dir / "log.sqlite") as db:
        return [row[0] for row in db.execute("SELECT position FROM log_entries ORDER BY idx")]


def stored_positions(data_dir: Path) -> list[int]:
    with sqlite3.connect(data_dir / "events.sqlite") as db:
        # eventsourcing's notification id is the row id.
        return [row[0] for row in db.execute("SELECT rowid FROM stored_events ORDER BY rowid")]


def read_model_position(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "read-model.sqlite") as db:
        row = db.execute("SELECT position FROM rm_tracking WHERE name = 'read-model'").fetchone()
        return int(row[0]) if row else 0


def test_serve_runs_the_read_model_and_the_consumers_in_processes_of_their_own(
    served: Served,
) -> None:
    assert len(consumers_of(served.process.pid, "read-model")) == 1
    assert len(consumers_of(served.process.pid, "consumers")) == 1
    issued = issue(served, 20, "apart")
    wait_for(lambda: set(issued) <= anchored(served), timeout=60)


def test_a_write_is_answered_once_the_read_model_process_shows_it(served: Served) -> None:
    (credential,) = issue(served, 1, "read-your-write")
    answer = httpx.get(f"{served.url}/credentials/{credential}")
    assert answer.status_code == 200
    assert read_model_position(served.data_dir) == stored_positions(served.data_dir)[-1]


def test_a_killed_consumers_process_is_restarted_and_nothing_is_lost_or_logged_twice(
    served: Served,
) -> None:
    first = issue(served, 10, "before")
    killed = signalled(served, "consumers", signal.SIGKILL)
    meanwhile = issue(served, 10, "meanwhile")
    wait_for(lambda: bool(consumers_of(served.process.pid, "consumers")), timeout=30)
    assert consumers_of(served.process.pid, "consumers") != [killed]
    wait_for(lambda: set(first + meanwhile) <= anchored(served), timeout=60)
    assert "the consumers process exited with code -9; restarting it" in served.log.read_text()
    # The log holds the store's events in the store's order, each once, up to where it got.
    logged = logged_positions(served.data_dir)
    assert logged == stored_positions(served.data_dir)[: len(logged)]


def test_writes_go_on_while_the_read_model_process_restarts_and_none_is_lost(
    served: Served,
) -> None:
    first = issue(served, 10, "before")
    killed = signalled(served, "read-model", signal.SIGKILL)
    bodies = signed(served, 10, "meanwhile")
    answers: list[list[str]] = []

    def answered() -> bool:
        # Answered once the restarted process (1 s later) has applied them; where the restart
        # takes longer than an answer waits, stored and said so (503): the client sends the
        # same request again and is given the first results.
        try:
            answers.append(issued_ids(served, bodies))
        except LedgerRequestError as unavailable:
            assert unavailable.status == 503, unavailable.problem
            return False
        return True

    wait_for(answered, timeout=60)
    meanwhile = answers[0]
    assert consumers_of(served.process.pid, "read-model") not in ([], [killed])
    assert "the read-model process exited with code -9; restarting it" in served.log.read_text()
    for credential in first + meanwhile:
        assert httpx.get(f"{served.url}/credentials/{credential}").status_code == 200
    # Everything stored reaches the read model: the clients' writes (applied before their
    # answers) and what the consumers' process wrote meanwhile (an anchor's record, which
    # the projector picks up at its next interval).
    wait_for(
        lambda: read_model_position(served.data_dir) == stored_positions(served.data_dir)[-1],
        timeout=10,
    )


def test_a_repeated_request_is_answered_only_once_the_read_model_shows_the_first(
    served: Served,
) -> None:
    bodies = signed(served, 10, "paused")
    paused = signalled(served, "read-model", signal.SIGSTOP)
    try:
        # Stored the first time, nothing the second: neither is answered while the read
        # model cannot show the credentials.
        for _ in ("the request", "the same request again"):
            with pytest.raises(LedgerRequestError) as unavailable:
                issued_ids(served, bodies)
            assert unavailable.value.status == 503
    finally:
        os.kill(paused, signal.SIGCONT)
    for credential in issued_ids(served, bodies):
        assert httpx.get(f"{served.url}/credentials/{credential}").status_code == 200


@pytest.mark.parametrize(
    ("role", "named"),
    [("consumers", "log-anchor-witness-consumers"), ("read-model", "read-model-projector-process")],
)
def test_readiness_names_a_consumers_process_while_it_is_down(
    served: Served, role: str, named: str
) -> None:
    # Reaped by the serving process, it is restarted only after a delay of 1 s.
    killed = signalled(served, role, signal.SIGKILL)
    wait_for(lambda: gone(killed), timeout=10)
    answer = httpx.get(f"{served.url}/health/ready")
    assert answer.status_code == 503
    assert f"consumer: {named} is not running" in answer.json()["not_ready"]
    wait_for(lambda: httpx.get(f"{served.url}/health/ready").status_code == 200, timeout=30)


def test_a_stopped_serve_stops_its_consumers_processes_first(served: Served) -> None:
    started = consumers_of(served.process.pid)
    served.process.send_signal(signal.SIGINT)
    assert served.process.wait(timeout=60) == 0
    assert len(started) == 2
    assert still_running(started) == {}


def test_the_consumers_processes_die_with_a_killed_serve(served: Served) -> None:
    started = consumers_of(served.process.pid)
    os.kill(served.process.pid, signal.SIGKILL)
    served.process.wait(timeout=10)
    deadline = time.monotonic() + 30
    while still_running(started) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(started) == 2
    assert still_running(started) == {}


def test_with_consumers_as_threads_serve_starts_no_such_process(tmp_path: Path) -> None:
    env = {"CREDLEDGER_CONSUMERS": "thread"}
    with serving(tmp_path / "data", env) as (process, url, _token):
        assert httpx.get(f"{url}/health/ready").status_code == 200
        assert consumers_of(process.pid) == []
