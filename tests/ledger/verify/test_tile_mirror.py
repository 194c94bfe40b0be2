"""``credledger verify BUNDLE --tiles URL``: a proof bundle checked against a tile mirror of
the log — the ledger's own ``/tlog/``, or the static export behind a plain file server — and
refused when the mirror's tiles do not hold."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from anchors.tile_export import TileExport
from ledger.cli.main import cli
from tests.conftest import (
    LEARNER,
    RegisteredIssuer,
    RunningLedger,
    anchored_everything,
    content,
    issue,
    store_independent,
    wait_for,
)

pytestmark = store_independent


def verified(bundle: Path, tiles_url: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["verify", str(bundle), "--tiles", tiles_url, "--json"])
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def mirror_step(report: dict[str, Any]) -> dict[str, Any]:
    (step,) = [s for s in report["steps"] if s["name"] == "tile_mirror"]
    return step


@pytest.fixture
def bundle(ledger: RunningLedger, issuer: RegisteredIssuer, tmp_path: Path) -> Path:
    credential_id = issue(ledger, issuer)
    # More than a tile after it, so the proofs cross tiles and levels.
    ledger.public.bulk_issue(
        [issuer.signer.issue(content(), {**LEARNER, "identifier": f"m{i}"}) for i in range(300)]
    )
    wait_for(lambda: anchored_everything(ledger), timeout=60)
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(ledger.public.proof(credential_id)))
    return path


def test_a_bundle_is_confirmed_by_the_ledgers_own_tiles(
    ledger: RunningLedger, bundle: Path
) -> None:
    report = verified(bundle, f"{ledger.url}/tlog")
    step = mirror_step(report)
    assert step["passed"] is True, step
    assert "hold the bundle's event at index" in step["detail"]


def test_a_bundle_is_confirmed_by_a_static_export_and_refused_when_a_tile_is_changed(
    ledger: RunningLedger, bundle: Path, static_server: tuple[Path, str]
) -> None:
    directory, url = static_server
    TileExport(ledger.embedded.storage.log, directory).step()
    assert mirror_step(verified(bundle, url))["passed"] is True
    tile = directory / "tile" / "0" / "000"
    data = bytearray(tile.read_bytes())
    data[40] ^= 1
    tile.write_bytes(bytes(data))
    report = verified(bundle, url)
    assert report["verdict"] == "invalid"
    assert mirror_step(report)["passed"] is False
