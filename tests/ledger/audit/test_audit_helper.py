"""A long audit recovers the issuer signers in a helper process, a batch ahead of its checks
(a batch not back in time it recovers itself, and the helper skips), and replays the read
model in a process of its own: it reaches exactly the verdicts the audit reaches alone and
names the same place for each tampering."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from anchors.anvil import ManagedAnvil
from consumers.audit_replay import ReplayProcess, Taken
from ledger.audit import helper as audit_helper
from ledger.cli.main import cli
from ledger.domain.canonical import canonical_bytes
from ledger.domain.signing import IssuerKey
from ledger.settings import Settings
from tests.conftest import STORE, RegisteredIssuer, RunningLedger, wait_for
from tests.ledger.audit.test_audit import (
    audit,
    busy_history,
    events_db,
    index_of,
    rewrite,
    stored_event,
)

pytestmark = pytest.mark.skipif(
    STORE != "sqlite", reason="the tampering is done with SQL on the embedded SQLite files"
)


@pytest.fixture
def settings(anvil_settings: Settings) -> Settings:
    return anvil_settings.model_copy(update={"batch_size": 40})


@pytest.fixture
def history(ledger: RunningLedger, issuer: RegisteredIssuer) -> list[str]:
    return busy_history(ledger, issuer)


def forge_signature(settings: Settings, nth: int) -> tuple[int, int]:
    """Another key's signature on a revocation, in the store and the log alike: (index,
    position)."""
    position, state = stored_event(settings, "Credential.Revoked", nth)
    state["signature"] = IssuerKey.generate().sign(canonical_bytes(state["command"]))
    rewrite(settings, position, state)
    index = index_of(settings, position)
    log = sqlite3.connect(settings.log_db, isolation_level=None)
    envelope = json.loads(
        log.execute("SELECT entry FROM log_entries WHERE idx = ?", (index,)).fetchone()[0]
    )
    envelope["signature"] = state["signature"]
    log.execute(
        "UPDATE log_entries SET entry = ? WHERE idx = ?", (canonical_bytes(envelope), index)
    )
    return index, position


def test_an_untouched_history_audits_clean_with_the_helper_as_without(
    history: list[str], settings: Settings, anvil: ManagedAnvil
) -> None:
    alone, helped = audit(settings, anvil), audit(settings, anvil, helped=True)
    assert helped.clean, helped.finding
    assert (helped.entries, helped.checkpoints, helped.anchors, helped.unlogged) == (
        alone.entries,
        alone.checkpoints,
        alone.anchors,
        alone.unlogged,
    )


def test_a_forged_signature_is_named_with_the_helper_as_without(
    history: list[str], settings: Settings
) -> None:
    index, position = forge_signature(settings, 20)
    alone, helped = audit(settings), audit(settings, helped=True)
    assert helped.finding is not None and helped.finding.check == "issuer-signature"
    assert (helped.finding.index, helped.finding.position) == (index, position)
    assert helped.finding == alone.finding


def test_a_changed_read_model_row_is_found_with_the_helper(
    history: list[str], settings: Settings
) -> None:
    sqlite3.connect(settings.read_model_db, isolation_level=None).execute(
        "UPDATE rm_credentials SET status = 'active' WHERE credential_id = ?", (history[40],)
    )
    finding = audit(settings, helped=True).finding
    assert finding is not None and finding.check == "read-model"


def test_an_event_stored_behind_the_logs_back_is_named_with_the_helper(
    history: list[str], settings: Settings
) -> None:
    connection = events_db(settings)
    topic, state = connection.execute(
        "SELECT topic, state FROM stored_events WHERE topic LIKE '%Credential.Issued' LIMIT 1"
    ).fetchone()
    forged = json.loads(state)
    forged["command"]["command_id"] = "forged"
    connection.execute(
        "INSERT INTO stored_events VALUES (?, 1, ?, ?)",
        ("0" * 31 + "1", topic, json.dumps(forged, separators=(",", ":")).encode()),
    )
    inserted = connection.execute("SELECT MAX(rowid) FROM stored_events").fetchone()[0]
    finding = audit(settings, helped=True).finding
    assert finding is not None and finding.check == "issuer-signature"
    assert finding.position == inserted


def logged(settings: Settings, start: int, stop: int) -> list[bytes]:
    log = sqlite3.connect(settings.log_db)
    rows = log.execute(
        "SELECT entry FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx", (start, stop)
    )
    return [bytes(row[0]) for row in rows]


@pytest.fixture
def batches(history: list[str], settings: Settings) -> tuple[list[bytes], list[bytes]]:
    """The log's first two batches of 20 entries."""
    return logged(settings, 0, 20), logged(settings, 20, 40)


@pytest.fixture
def helper() -> Iterator[audit_helper.AuditHelper]:
    started = audit_helper.AuditHelper()
    yield started
    started.close()


def answers(helper: audit_helper.AuditHelper, count: int) -> bool:
    return helper._answers.qsize() == count


def test_the_helper_answers_the_signers_of_the_batches_sent_ahead(
    batches: tuple[list[bytes], list[bytes]], helper: audit_helper.AuditHelper
) -> None:
    first, second = batches
    helper.ahead(0, first)
    helper.ahead(20, second)
    wait_for(lambda: answers(helper, 2), timeout=60)
    assert helper.recovered(0) == [audit_helper._recover(entry) for entry in first]
    assert helper.recovered(20) == [audit_helper._recover(entry) for entry in second]


def test_a_batch_not_back_in_time_is_left_to_the_audit_and_the_next_one_answered(
    batches: tuple[list[bytes], list[bytes]], helper: audit_helper.AuditHelper
) -> None:
    first, second = batches
    helper.ahead(0, first)
    # The helper process has only just been started: nothing can be back yet.
    assert helper.recovered(0) == [None] * len(first)
    helper.ahead(20, second)
    wait_for(lambda: answers(helper, 2), timeout=60)
    assert helper.recovered(20) == [audit_helper._recover(entry) for entry in second]


def test_the_cli_audits_a_long_history_with_the_helper(
    history: list[str],
    settings: Settings,
    anvil: ManagedAnvil,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = []
    monkeypatch.setattr(audit_helper, "WORTH_IT_ENTRIES", 1)
    original = audit_helper.AuditHelper.__init__

    def counted(self: audit_helper.AuditHelper, *args: object, **kwargs: object) -> None:
        started.append(self)
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(audit_helper.AuditHelper, "__init__", counted)
    result = CliRunner().invoke(
        cli,
        ["audit", "--data-dir", str(settings.data_dir), "--rpc", anvil.url, "--json"],
        env={"CREDLEDGER_CHAIN": "rpc"},
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["clean"] is True
    assert len(started) == 1


def test_a_replay_process_left_before_its_digests_stops() -> None:
    replay = ReplayProcess(Taken(10, "live digest"))
    replay.feed([], [])
    replay.close()
    assert "audit-replay" not in {p.name for p in multiprocessing.active_children()}


def test_a_replay_process_that_fails_says_why() -> None:
    replay = ReplayProcess(Taken(10, "live digest"))
    envelope = {"position": 1, "type": "Nothing.Known", "time": "2026-01-01T00:00:00Z"}
    replay.feed([envelope], [json.dumps(envelope).encode()])
    with pytest.raises(RuntimeError, match=r"replay process failed: (.|\n)*Nothing\.Known"):
        replay.digests()
    assert "audit-replay" not in {p.name for p in multiprocessing.active_children()}
