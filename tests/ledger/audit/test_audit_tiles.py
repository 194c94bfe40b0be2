"""``credledger audit --tiles URL``: the log audited from a tile mirror — its entries and
checkpoint from the tiles, the anchors and read model from the API when given — and a mirror
whose entries were changed is caught."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from anchors.tile_export import TileExport
from anchors.tlog_tiles import entries_of, entry_bundle
from ledger.cli.main import cli
from tests.conftest import (
    LEARNER,
    RegisteredIssuer,
    RunningLedger,
    anchored_everything,
    content,
    store_independent,
    wait_for,
)

pytestmark = store_independent


def audit(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["audit", *args, "--json"])
    report: dict[str, Any] = json.loads(result.stdout)
    return report


@pytest.fixture
def history(ledger: RunningLedger, issuer: RegisteredIssuer) -> str:
    """A history of some 300 entries, all anchored; the log's verifier key."""
    ledger.public.bulk_issue(
        [issuer.signer.issue(content(), {**LEARNER, "identifier": f"a{i}"}) for i in range(300)]
    )
    wait_for(lambda: anchored_everything(ledger), timeout=60)
    return str(httpx.get(f"{ledger.url}/log/key").json()["verifier_key"])


def test_the_ledgers_own_tiles_with_its_api_audit_clean(
    ledger: RunningLedger, history: str
) -> None:
    report = audit("--tiles", f"{ledger.url}/tlog", "--url", ledger.url)
    assert report["finding"] is None
    assert report["entries"] > 300 and report["checkpoints"] >= 1


def test_a_static_export_alone_audits_clean_against_the_pinned_key(
    ledger: RunningLedger, history: str, static_server: tuple[Path, str]
) -> None:
    directory, url = static_server
    TileExport(ledger.embedded.storage.log, directory).step()
    report = audit("--tiles", url, "--log-key", history)
    assert report["finding"] is None
    assert report["entries"] > 300


def test_a_mirror_with_a_changed_entry_is_caught(
    ledger: RunningLedger, history: str, static_server: tuple[Path, str]
) -> None:
    directory, url = static_server
    TileExport(ledger.embedded.storage.log, directory).step()
    bundle = directory / "tile" / "entries" / "000"
    entries = entries_of(bundle.read_bytes())
    entries[7] = entries[7].replace(b'"v":1', b'"v":2')
    bundle.write_bytes(entry_bundle(entries))
    report = audit("--tiles", url, "--log-key", history)
    # The changed bytes still read as an envelope; the checkpoint's root gives them away.
    assert report["finding"]["check"] == "checkpoint-root"
