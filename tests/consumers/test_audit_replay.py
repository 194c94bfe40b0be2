"""What an audit compares its replay with: the live read model's digest, taken in a process of
its own while the audit runs, in one snapshot."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from consumers.audit_replay import LiveDigest, local_target
from ledger.settings import Settings
from tests.conftest import RegisteredIssuer, RunningLedger, issue, settled, wait_for


def test_a_live_digest_taken_in_its_own_process_is_the_read_models_own(
    ledger: RunningLedger, issuer: RegisteredIssuer, settings: Settings
) -> None:
    for n in range(3):
        issue(ledger, issuer, learner={"identifier": f"l{n}", "full_name": "L"})
    # Once the batch's anchor is recorded too, nothing more is written between the two reads.
    wait_for(lambda: settled(ledger.embedded))
    direct = local_target(ledger.embedded.storage.read_model)
    live = LiveDigest(settings)
    assert (live.position, live.digest()) == (direct.position, direct.digest())


def test_a_live_digest_left_before_it_is_read_stops(settings: Settings) -> None:
    live = LiveDigest(settings)
    live.close()
    assert "audit-live-digest" not in {p.name for p in multiprocessing.active_children()}


def test_a_live_digest_that_cannot_read_the_model_says_why(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    live = LiveDigest(Settings(data_dir=not_a_directory))
    with pytest.raises(RuntimeError, match=r"live digest process failed: (.|\n)*FileExistsError"):
        live.position  # noqa: B018 (reading it is the test)
    live.close()
