"""A batch too large for one anchor event is recorded in parts; the audit holds every part to
the anchor it speaks for: the same leaves, from the same place, the same documents at them."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest

from anchors.anvil import ManagedAnvil
from ledger.domain.canonical import canonical_bytes
from ledger.settings import Settings
from tests.conftest import (
    LEARNER,
    STORE,
    RegisteredIssuer,
    RunningLedger,
    content,
    settled,
    wait_for,
)
from tests.ledger.audit.test_audit import audit, index_of, rewrite, stored_event

pytestmark = pytest.mark.skipif(
    STORE != "sqlite", reason="the tampering is done with SQL on the embedded SQLite files"
)


@pytest.fixture
def settings(anvil_settings: Settings) -> Settings:
    return anvil_settings.model_copy(update={"batch_size": 1000, "batch_age_seconds": 1.0})


@pytest.fixture
def history(ledger: RunningLedger, issuer: RegisteredIssuer) -> None:
    """Two batches of 200 credentials or more, each anchored in two parts or more.

    Each batch's credentials are one bulk request, so one transaction: the log sees all of
    them at once, and no batch age can close a batch between them on a slow machine."""
    for batch in range(2):
        bodies = [
            issuer.signer.issue(content(), {**LEARNER, "identifier": f"p{batch}-{i}"})
            for i in range(200)
        ]
        assert all(r["ok"] for r in ledger.public.bulk_issue(bodies))
        wait_for(lambda: settled(ledger.embedded), timeout=60)
    ledger.embedded.stop()


def tamper_placed(settings: Settings, change: Any) -> tuple[int, int]:
    """Apply ``change`` to the content of the first ``Placed`` event, in the store and the
    log alike (as one with write access to both would): its (index, position)."""
    position, state = stored_event(settings, "BatchAnchor.Placed", 0)
    change(state)
    rewrite(settings, position, state)
    index = index_of(settings, position)
    log = sqlite3.connect(settings.log_db, isolation_level=None)
    envelope = json.loads(
        log.execute("SELECT entry FROM log_entries WHERE idx = ?", (index,)).fetchone()[0]
    )
    change(envelope["content"])
    log.execute(
        "UPDATE log_entries SET entry = ? WHERE idx = ?", (canonical_bytes(envelope), index)
    )
    return index, position


def test_a_history_anchored_in_parts_audits_clean_on_chain(
    history: None, settings: Settings, anvil: ManagedAnvil
) -> None:
    report = audit(settings, anvil)
    assert report.clean, report.finding
    assert stored_event(settings, "BatchAnchor.AnchoredInParts", 1)
    assert stored_event(settings, "BatchAnchor.Placed", 1)


def test_a_part_naming_another_leaf_than_its_anchor_is_named(
    history: None, settings: Settings
) -> None:
    def another_leaf(content: dict[str, Any]) -> None:
        content["leaves"][3] = "ab" * 32

    index, position = tamper_placed(settings, another_leaf)
    finding = audit(settings).finding
    assert finding is not None and finding.check == "binding", finding
    assert (finding.index, finding.position) == (index, position)
    assert "names other leaves than its anchor" in finding.detail


def test_a_part_moving_documents_between_leaves_is_named(history: None, settings: Settings) -> None:
    def swapped(content: dict[str, Any]) -> None:
        first, second = content["documents"][:2]
        first["leaf_index"], second["leaf_index"] = second["leaf_index"], first["leaf_index"]

    index, _ = tamper_placed(settings, swapped)
    finding = audit(settings).finding
    assert finding is not None and finding.check == "binding" and finding.index == index
    assert "names other documents than its anchor" in finding.detail


def test_a_part_continuing_at_the_wrong_leaf_is_named(history: None, settings: Settings) -> None:
    def moved(content: dict[str, Any]) -> None:
        content["first_leaf"] += 1

    index, _ = tamper_placed(settings, moved)
    finding = audit(settings).finding
    assert finding is not None and finding.check == "binding" and finding.index == index
    assert "continue at" in finding.detail
