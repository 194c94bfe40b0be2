"""The audit re-derives a history of hundreds of events, and names the exact place of each kind
of tampering done directly in the databases."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from anchors.anvil import ManagedAnvil
from anchors.checkpoint import NoteSigner
from consumers.audit_replay import WORTH_A_PROCESS, ReplayProcess, local_target, replay_for
from consumers.envelope import StoredEnvelopes
from ledger.application.storage import open_storage
from ledger.audit import helper as audit_helper
from ledger.audit.auditor import Auditor
from ledger.audit.helper import helper_for
from ledger.audit.report import AuditReport
from ledger.audit.sources import LocalHistory
from ledger.cli.main import cli
from ledger.domain.canonical import canonical_bytes
from ledger.domain.codelists import ECTS
from ledger.domain.signing import IssuerKey
from ledger.settings import Settings
from tests.conftest import (
    LEARNER,
    STORE,
    RegisteredIssuer,
    RunningLedger,
    anchored_everything,
    content,
    free_port,
    register,
    settled,
    wait_for,
)

pytestmark = pytest.mark.skipif(
    STORE != "sqlite", reason="the tampering is done with SQL on the embedded SQLite files"
)


@pytest.fixture
def settings(anvil_settings: Settings) -> Settings:
    return anvil_settings.model_copy(update={"batch_size": 40})


def busy_history(ledger: RunningLedger, issuer: RegisteredIssuer) -> list[str]:
    """Issues, amendments, revocations, an erasure, a key rotation, a suspension."""
    bodies = [issuer.signer.issue(content(), {**LEARNER, "identifier": f"h{i}"}) for i in range(80)]
    ids = [r["result"]["credential_id"] for r in ledger.public.bulk_issue(bodies)]
    for credential_id in ids[:30]:
        ledger.public.amend(
            issuer.signer.amend(credential_id, 1, content(title="Amended"), learner=LEARNER)
        )
    for credential_id in ids[30:60]:
        ledger.public.revoke(issuer.signer.revoke(credential_id, 1, "withdrawn"))
    ledger.public.erase(issuer.signer.erase(ids[60], 1))
    new_key = IssuerKey.generate()
    ledger.public.rotate_key(issuer.signer.rotate_key(new_key))
    issuer.signer.key = new_key
    ledger.admin.suspend_issuer(issuer.issuer_id, "review")
    ledger.admin.reinstate_issuer(issuer.issuer_id, "review passed")
    issuer.signer.issue(content(), LEARNER)
    ledger.public.issue(issuer.signer.issue(content(), {**LEARNER, "identifier": "last"}))
    wait_for(lambda: anchored_everything(ledger), timeout=60)
    ledger.embedded.stop()
    return ids


def audit(
    settings: Settings, anvil: ManagedAnvil | None = None, helped: bool = False
) -> AuditReport:
    """The audit of ``settings``'s stores; ``helped``: as a long audit runs, with the helper
    process that recovers signers ahead and the read-model replay in a process of its own, in
    batches of 50 entries (so that many batches go ahead)."""
    from anchors.ethereum import Web3Chain

    storage = open_storage(settings)
    key = NoteSigner.from_seed(settings.log_origin_value(), settings.log_key_seed())
    replay = replay_for(local_target(storage.read_model), None, WORTH_A_PROCESS if helped else 0)
    helper = helper_for(audit_helper.WORTH_IT_ENTRIES if helped else 0)
    assert (helper is not None) == helped == isinstance(replay, ReplayProcess)
    try:
        return Auditor(
            StoredEnvelopes(storage.ledger).decoded,
            LocalHistory(storage.log),
            storage.anchors,
            key.verifier_key(),
            Web3Chain.connect(anvil.url) if anvil else None,
            replay=replay,
            ahead=helper,
        ).run(batch=50 if helped else 1000)
    finally:
        replay.close()
        if helper is not None:
            helper.close()
        storage.close()


def events_db(settings: Settings) -> sqlite3.Connection:
    return sqlite3.connect(settings.events_db, isolation_level=None)


def stored_event(settings: Settings, kind: str, nth: int = 0) -> tuple[int, dict[str, Any]]:
    rows = (
        events_db(settings)
        .execute(
            "SELECT rowid, state FROM stored_events WHERE topic LIKE ? ORDER BY rowid",
            (f"%{kind}",),
        )
        .fetchall()
    )
    return rows[nth][0], json.loads(rows[nth][1])


def rewrite(settings: Settings, position: int, state: dict[str, Any]) -> None:
    events_db(settings).execute(
        "UPDATE stored_events SET state = ? WHERE rowid = ?",
        (json.dumps(state, separators=(",", ":")).encode(), position),
    )


def index_of(settings: Settings, position: int) -> int:
    storage = open_storage(settings)
    try:
        found = storage.log.store.index_of(position)
    finally:
        storage.close()
    assert found is not None
    return found


@pytest.fixture
def history(ledger: RunningLedger, issuer: RegisteredIssuer) -> list[str]:
    return busy_history(ledger, issuer)


def test_an_untouched_history_audits_clean_on_chain(
    history: list[str], settings: Settings, anvil: ManagedAnvil
) -> None:
    report = audit(settings, anvil)
    assert report.clean, report.finding
    assert report.entries > 200 and report.checkpoints >= 5 and report.anchors >= 5


def test_the_cli_audits_clean_and_says_so(
    history: list[str], settings: Settings, anvil: ManagedAnvil
) -> None:
    result = CliRunner().invoke(
        cli,
        ["audit", "--data-dir", str(settings.data_dir), "--rpc", anvil.url, "--json"],
        env={"CREDLEDGER_CHAIN": "rpc"},
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["clean"] is True


def test_an_unreachable_chain_leaves_the_audit_unconfirmed_not_failed(
    history: list[str], settings: Settings
) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "audit",
            "--data-dir",
            str(settings.data_dir),
            "--rpc",
            f"http://127.0.0.1:{free_port()}",
            "--json",
        ],
        env={"CREDLEDGER_CHAIN": "rpc"},
    )
    assert result.exit_code == 3, result.output
    report = json.loads(result.stdout)
    assert report["finding"] is None and "unreachable" in report["unconfirmed"][0]


def test_a_changed_event_is_named(history: list[str], settings: Settings) -> None:
    position, state = stored_event(settings, "Credential.Issued", 5)
    state["command"]["content"]["title"] = "Master of Everything"
    rewrite(settings, position, state)
    finding = audit(settings).finding
    assert finding is not None and finding.check == "event-store"
    assert finding.position == position and finding.index == index_of(settings, position)


def test_a_deleted_event_is_named(history: list[str], settings: Settings) -> None:
    position, _ = stored_event(settings, "Credential.Revoked", 3)
    index = index_of(settings, position)
    events_db(settings).execute("DELETE FROM stored_events WHERE rowid = ?", (position,))
    finding = audit(settings).finding
    assert finding is not None and finding.check == "event-store" and finding.index == index
    assert finding.position == position


def test_two_swapped_events_are_named(history: list[str], settings: Settings) -> None:
    first, a = stored_event(settings, "Credential.Issued", 30)
    second, b = stored_event(settings, "Credential.Issued", 31)
    rewrite(settings, first, b)
    rewrite(settings, second, a)
    finding = audit(settings).finding
    assert finding is not None and finding.position == first


def test_an_event_appended_behind_the_logs_back_is_named(
    history: list[str], settings: Settings
) -> None:
    connection = events_db(settings)
    row = connection.execute(
        "SELECT topic, state FROM stored_events WHERE topic LIKE '%Credential.Issued' LIMIT 1"
    ).fetchone()
    forged = json.loads(row[1])
    forged["command"]["command_id"] = "forged"
    forged["command"]["content"]["title"] = "Doctor of Everything"
    connection.execute(
        "INSERT INTO stored_events VALUES (?, 1, ?, ?)",
        ("0" * 31 + "1", row[0], json.dumps(forged, separators=(",", ":")).encode()),
    )
    inserted = connection.execute("SELECT MAX(rowid) FROM stored_events").fetchone()[0]
    finding = audit(settings).finding
    assert finding is not None and finding.check == "issuer-signature"
    assert finding.position == inserted


def test_a_changed_read_model_row_fails_the_digest(history: list[str], settings: Settings) -> None:
    sqlite3.connect(settings.read_model_db, isolation_level=None).execute(
        "UPDATE rm_credentials SET status = 'active' WHERE credential_id = ?", (history[40],)
    )
    finding = audit(settings).finding
    assert finding is not None and finding.check == "read-model"


def test_a_signature_replaced_by_another_issuers_is_named(
    history: list[str], settings: Settings, ledger: RunningLedger
) -> None:
    position, state = stored_event(settings, "Credential.Revoked", 2)
    other = IssuerKey.generate()
    state["signature"] = other.sign(canonical_bytes(state["command"]))
    rewrite(settings, position, state)
    index = index_of(settings, position)
    # The attacker rewrites the log's copy too, so that the entries still agree.
    envelope = json.loads(
        sqlite3.connect(settings.log_db)
        .execute("SELECT entry FROM log_entries WHERE idx = ?", (index,))
        .fetchone()[0]
    )
    envelope["signature"] = state["signature"]
    sqlite3.connect(settings.log_db, isolation_level=None).execute(
        "UPDATE log_entries SET entry = ? WHERE idx = ?", (canonical_bytes(envelope), index)
    )
    finding = audit(settings).finding
    assert finding is not None and finding.check == "issuer-signature"
    assert finding.index == index and finding.position == position


def test_a_rewritten_and_reanchored_history_breaks_consistency_with_the_last_audit(
    history: list[str], settings: Settings, anvil: ManagedAnvil, tmp_path: Path
) -> None:
    state = tmp_path / "audit-state.json"
    runner = CliRunner()
    args = ["audit", "--data-dir", str(settings.data_dir), "--state", str(state)]
    assert runner.invoke(cli, args).exit_code == 0
    # Rewrite everything from scratch with the same keys, and let it be anchored again.
    for name in ("events.sqlite", "read-model.sqlite", "log.sqlite"):
        for path in settings.data_dir.glob(f"{name}*"):
            path.unlink()
    from ledger.api import create_app
    from ledger.client import LedgerClient
    from ledger.runtime.embedded import EmbeddedLedger
    from tests.conftest import start_server

    with EmbeddedLedger(settings) as rewritten:
        server, thread, url = start_server(create_app(rewritten.api_context()))
        try:
            fake = RunningLedger(
                rewritten,
                url,
                LedgerClient(url, admin_token=settings.admin_token_value()),
                LedgerClient(url),
                settings.data_dir,
            )
            forger = register(fake)
            for i in range(3):
                fake.public.issue(
                    forger.signer.issue(content(), {**LEARNER, "identifier": f"f{i}"})
                )
            wait_for(lambda: anchored_everything(fake), timeout=60)
        finally:
            server.should_exit = True
            thread.join()
    result = runner.invoke(cli, [*args, "--json"])
    assert result.exit_code == 1
    finding = json.loads(result.stdout)["finding"]
    assert finding["check"] == "consistency"


@pytest.fixture
def quiet_history(ledger: RunningLedger, issuer: RegisteredIssuer) -> RunningLedger:
    """A smaller history, left running behind its API."""
    for i in range(12):
        credential_id = ledger.public.issue(
            issuer.signer.issue(content(), {**LEARNER, "identifier": f"q{i}"})
        )["credential_id"]
        if i % 4 == 0:
            ledger.public.revoke(issuer.signer.revoke(credential_id, 1, "withdrawn"))
        elif i % 4 == 1:
            ledger.public.amend(
                issuer.signer.amend(credential_id, 1, content(title="Amended"), learner=LEARNER)
            )
    wait_for(lambda: anchored_everything(ledger), timeout=60)
    return ledger


def append_copy(settings: Settings, source: int, onto: int) -> int:
    """Store a copy of the event at position ``source`` as the next event of the aggregate
    of the event at position ``onto``, as an attacker with write access to the store would;
    the copy's position."""
    connection = events_db(settings)
    topic, state = connection.execute(
        "SELECT topic, state FROM stored_events WHERE rowid = ?", (source,)
    ).fetchone()
    stored_id, version = connection.execute(
        "SELECT originator_id, MAX(originator_version) FROM stored_events WHERE originator_id = "
        "(SELECT originator_id FROM stored_events WHERE rowid = ?)",
        (onto,),
    ).fetchone()
    connection.execute(
        "INSERT INTO stored_events VALUES (?, ?, ?, ?)", (stored_id, version + 1, topic, state)
    )
    position: int = connection.execute("SELECT MAX(rowid) FROM stored_events").fetchone()[0]
    return position


def logged_and_anchored(settings: Settings) -> None:
    """Run the consumers over the store as it is now, until everything is anchored."""
    from ledger.runtime.embedded import EmbeddedLedger

    with EmbeddedLedger(settings) as running:
        wait_for(lambda: settled(running), timeout=60)


def test_a_signed_revocation_moved_onto_another_credential_is_named_by_the_audit(
    quiet_history: RunningLedger, settings: Settings
) -> None:
    quiet_history.embedded.stop()
    source, revoked = stored_event(settings, "Credential.Revoked", 0)
    onto, issued = stored_event(settings, "Credential.Issued", 2)
    assert issued["command"]["command_id"] != revoked["command"]["command_id"]
    position = append_copy(settings, source, onto)
    logged_and_anchored(settings)
    finding = audit(settings).finding
    assert finding is not None and finding.check == "binding", finding
    assert finding.position == position and finding.index == index_of(settings, position)
    assert "names credential" in finding.detail


def test_a_signed_amendment_recorded_twice_is_named_by_the_audit(
    quiet_history: RunningLedger, settings: Settings
) -> None:
    quiet_history.embedded.stop()
    source, _ = stored_event(settings, "Credential.Amended", 0)
    position = append_copy(settings, source, source)
    logged_and_anchored(settings)
    finding = audit(settings).finding
    assert finding is not None and finding.check == "binding", finding
    assert finding.position == position
    assert "was used by an earlier event" in finding.detail


def logged_up_to_date(ledger: RunningLedger) -> bool:
    storage = ledger.embedded.storage
    return storage.log.position() >= storage.read_model.position()


def test_a_running_ledger_audits_clean_through_its_public_api(
    quiet_history: RunningLedger, anvil: ManagedAnvil
) -> None:
    wait_for(lambda: logged_up_to_date(quiet_history))
    result = CliRunner().invoke(
        cli, ["audit", "--url", quiet_history.url, "--rpc", anvil.url, "--json"]
    )
    report = json.loads(result.stdout)
    assert result.exit_code == 0, report
    assert report["anchors"] >= 1 and report["entries"] > 15


def test_a_changed_live_read_model_fails_the_public_audit(
    quiet_history: RunningLedger, settings: Settings
) -> None:
    wait_for(lambda: logged_up_to_date(quiet_history))
    sqlite3.connect(settings.read_model_db, isolation_level=None).execute(
        "UPDATE rm_credentials SET title = 'Doctor of Everything'"
    )
    result = CliRunner().invoke(cli, ["audit", "--url", quiet_history.url, "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["finding"]["check"] == "read-model"


def test_an_incremental_audit_resumes_from_the_last_checkpoint_and_still_finds_tampering(
    ledger: RunningLedger, issuer: RegisteredIssuer, settings: Settings, tmp_path: Path
) -> None:
    for i in range(60):
        ledger.public.issue(issuer.signer.issue(content(), {**LEARNER, "identifier": f"i{i}"}))
    wait_for(lambda: anchored_everything(ledger), timeout=60)
    state = tmp_path / "state.json"
    args = ["audit", "--data-dir", str(settings.data_dir), "--state", str(state), "--json"]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    total_first = json.loads(first.stdout)["checkpoints"]
    resumed_from = json.loads(state.read_text())["size"]
    for i in range(60, 130):
        ledger.public.issue(issuer.signer.issue(content(), {**LEARNER, "identifier": f"i{i}"}))
    wait_for(lambda: anchored_everything(ledger), timeout=60)
    ledger.embedded.stop()
    later = [p for p, _ in [stored_event(settings, "Credential.Issued", n) for n in (100, 110)]]
    assert all(index_of(settings, p) >= resumed_from for p in later)
    position, stored = stored_event(settings, "Credential.Issued", 110)
    stored["command"]["content"]["title"] = "Tampered"
    rewrite(settings, position, stored)
    second = CliRunner().invoke(cli, args)
    report = json.loads(second.stdout)
    assert second.exit_code == 1
    assert report["finding"]["check"] == "event-store"
    assert report["finding"]["position"] == position
    # Only what came after the saved checkpoint was audited again.
    assert report["checkpoints"] < total_first + 2


def test_an_incremental_audit_of_an_untouched_history_is_clean_and_moves_on(
    ledger: RunningLedger, issuer: RegisteredIssuer, settings: Settings, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    args = ["audit", "--data-dir", str(settings.data_dir), "--state", str(state), "--json"]
    for round_ in range(2):
        for i in range(50):
            ledger.public.issue(
                issuer.signer.issue(content(), {**LEARNER, "identifier": f"r{round_}-{i}"})
            )
        wait_for(lambda: anchored_everything(ledger), timeout=60)
        before = json.loads(state.read_text())["size"] if state.exists() else 0
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        assert json.loads(state.read_text())["size"] > before


def test_each_audit_is_recorded_for_prometheus_textfile_collector(
    quiet_history: RunningLedger, tmp_path: Path
) -> None:
    wait_for(lambda: logged_up_to_date(quiet_history))
    recorded = tmp_path / "textfile" / "credledger_audit.prom"
    args = ["audit", "--url", quiet_history.url, "--metrics-file", str(recorded), "--json"]
    CliRunner().invoke(cli, args)
    report = json.loads(CliRunner().invoke(cli, args).stdout)
    values = {
        sample.name: sample.value
        for family in text_string_to_metric_families(recorded.read_text())
        for sample in family.samples
    }
    assert values["credledger_audit_runs_total"] == 2
    assert values["credledger_audit_clean"] == 1
    assert values["credledger_audit_findings"] == 0
    assert values["credledger_audit_entries"] == report["entries"]


@pytest.fixture
def stacking_history(ledger: RunningLedger, issuer: RegisteredIssuer) -> None:
    """Two issuers' credentials, a pathway, a recognition of both, a stacked credential."""
    other = register(ledger, legal_name="Boyne Academy")
    ids = [
        ledger.public.issue(holder.signer.issue(content(), LEARNER))["credential_id"]
        for holder in (issuer, other)
    ]
    wait_for(lambda: settled(ledger.embedded), timeout=60)
    documents = [
        ledger.public.documents(holder.signer.read_documents([{"credential_id": i}]))[0]["document"]
        for holder, i in zip((issuer, other), ids, strict=True)
    ]
    target = {"title": "Certificate", "eqf_level": "http://data.europa.eu/snb/eqf/6"}
    target["thematic_area"] = "http://data.europa.eu/snb/isced-f/0613"
    rules = {"credits": [{"framework": ECTS, "minimum": "10"}]}
    pathway_id = ledger.public.publish_pathway(issuer.signer.publish_pathway(target, rules))[
        "pathway_id"
    ]
    recognition = ledger.public.recognise(issuer.signer.recognise(pathway_id, 1, documents))
    parts = [{"credential_id": i, "version": "1"} for i in ids]
    stacked = content(has_part=parts, recognition_id=recognition["recognition_id"])
    ledger.public.issue(issuer.signer.issue(stacked, LEARNER))
    wait_for(lambda: anchored_everything(ledger), timeout=60)
    ledger.embedded.stop()


def test_pathways_recognitions_and_stacked_credentials_audit_clean(
    stacking_history: None, settings: Settings
) -> None:
    report = audit(settings)
    assert report.finding is None, report.finding


def test_a_tampered_recognition_is_named_at_its_position(
    stacking_history: None, settings: Settings
) -> None:
    position, state = stored_event(settings, "Recognition.Recorded")
    state["command"]["components"][0]["document_hash"] = "00" * 32
    rewrite(settings, position, state)
    finding = audit(settings).finding
    assert finding is not None and finding.check == "event-store"
    assert finding.position == position and finding.index == index_of(settings, position)
