"""Documents on the command line: an issuer collects them, anyone verifies them, fail-closed;
the operator rotates the anchoring key. Anchors are on a real Anvil node."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from anchors.anvil import ManagedAnvil
from ledger.cli.main import cli
from ledger.settings import Settings
from tests.conftest import RegisteredIssuer, RunningLedger, issue
from tests.ledger.formats.blockcerts.test_documents import settled


@pytest.fixture
def settings(anvil_settings: Settings) -> Settings:
    return anvil_settings


def _documents(ledger: RunningLedger, issuer: RegisteredIssuer, tmp: Path, *ids: str) -> Result:
    key = tmp / "key.json"
    if not key.exists():
        issuer.key.save(key)
    common = ["--url", ledger.url, "--key", str(key), "--issuer-id", issuer.issuer_id]
    return CliRunner().invoke(cli, ["documents", *common, *ids, "--out", str(tmp / "docs")])


def _verify(path: Path, anvil: ManagedAnvil, *more: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(cli, ["verify", str(path), "--rpc", anvil.url, "--json", *more])
    return result.exit_code, json.loads(result.stdout)


def test_an_issuer_writes_its_learners_documents_to_a_folder(
    ledger: RunningLedger, issuer: RegisteredIssuer, tmp_path: Path
) -> None:
    ids = [issue(ledger, issuer) for _ in range(3)]
    settled(ledger)
    result = _documents(ledger, issuer, tmp_path, *ids)
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (tmp_path / "docs").iterdir())
    assert written == sorted(f"{i}-v1.json" for i in ids)


def test_a_document_verifies_on_the_command_line_with_every_step(
    ledger: RunningLedger, issuer: RegisteredIssuer, anvil: ManagedAnvil, tmp_path: Path
) -> None:
    credential_id = issue(ledger, issuer)
    settled(ledger)
    _documents(ledger, issuer, tmp_path, credential_id)
    code, report = _verify(tmp_path / "docs" / f"{credential_id}-v1.json", anvil)
    assert (code, report["verdict"]) == (0, "valid")
    # The same checks, in the same order, as the web page and POST /verify show.
    assert [s["name"] for s in report["steps"]] == [
        "format",
        "integrity",
        "ledger_record",
        "anchor_path",
        "issuer_signature",
        "issuer",
        "issuer_registered",
        "quality_assurance",
        "checkpoint_signature",
        "log_inclusion",
        "witnesses",
        "transaction",
        "validity",
        "status",
    ]
    api = ledger.public.verify(
        document=json.loads((tmp_path / "docs" / f"{credential_id}-v1.json").read_text())
    )
    assert [s["name"] for s in api["steps"]] == [s["name"] for s in report["steps"]]


def test_a_revoked_document_is_revoked_on_the_command_line(
    ledger: RunningLedger, issuer: RegisteredIssuer, anvil: ManagedAnvil, tmp_path: Path
) -> None:
    credential_id = issue(ledger, issuer)
    settled(ledger)
    _documents(ledger, issuer, tmp_path, credential_id)
    ledger.public.revoke(issuer.signer.revoke(credential_id, 1, "issued in error"))
    code, report = _verify(tmp_path / "docs" / f"{credential_id}-v1.json", anvil)
    assert (code, report["verdict"]) == (1, "revoked")


def test_an_unreachable_revocation_list_gives_status_unknown_never_valid(
    ledger: RunningLedger, issuer: RegisteredIssuer, anvil: ManagedAnvil, tmp_path: Path
) -> None:
    credential_id = issue(ledger, issuer)
    settled(ledger)
    _documents(ledger, issuer, tmp_path, credential_id)
    ledger.public.revoke(issuer.signer.revoke(credential_id, 1, "issued in error"))
    profile = tmp_path / "profile.json"
    profile.write_text(
        json.dumps(ledger.public._call("GET", f"/issuers/{issuer.issuer_id}/profile"))
    )
    # The revoked credential's ledger goes away; the verifier holds the issuer's profile.
    ledger.stop_http()
    code, report = _verify(
        tmp_path / "docs" / f"{credential_id}-v1.json", anvil, "--issuer-profile", str(profile)
    )
    assert (code, report["verdict"]) == (3, "status-unknown")
    assert report["steps"][-1]["name"] == "status" and report["steps"][-1]["passed"] is None
