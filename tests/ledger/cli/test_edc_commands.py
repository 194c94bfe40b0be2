"""Europass EDC on the command line: the issuer registers, rotates and revokes its seal
certificate, seals and records its learners' credentials, and anyone verifies a sealed file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ledger.cli.main import cli
from ledger.formats.edc.demo_pki import DemoCA, SealIdentity
from ledger.settings import Settings, create_secrets
from tests.conftest import RegisteredIssuer, RunningLedger, anchored_everything, issue, wait_for


@pytest.fixture(scope="module")
def ca() -> DemoCA:
    return DemoCA.create()


@pytest.fixture
def settings(tmp_path: Path, database: Callable[[], dict[str, Any]], ca: DemoCA) -> Settings:
    create_secrets(tmp_path / "data")
    anchors = tmp_path / "anchors.pem"
    anchors.write_bytes(ca.certificate_pem())
    return Settings(
        data_dir=tmp_path / "data", chain="in-process", edc_trust_anchors=anchors, **database()
    )


def files(identity: SealIdentity, folder: Path, name: str) -> tuple[Path, Path]:
    certificate, key = folder / f"{name}.pem", folder / f"{name}-key.pem"
    certificate.write_bytes(identity.certificate_pem())
    key.write_bytes(identity.key_pem())
    return certificate, key


def run(ledger: RunningLedger, issuer: RegisteredIssuer, tmp: Path, *args: str) -> Result:
    key = tmp / "issuer-key.json"
    if not key.exists():
        issuer.key.save(key)
    command, rest = args[0], args[1:]
    sub = [command] if command != "seal-cert" else [command, rest[0]]
    rest = rest if command != "seal-cert" else rest[1:]
    common = ["--url", ledger.url, "--key", str(key), "--issuer-id", issuer.issuer_id]
    return CliRunner().invoke(cli, [*sub, *common, *rest])


def test_an_issuer_seals_records_and_anyone_verifies_on_the_command_line(
    ledger: RunningLedger, issuer: RegisteredIssuer, ca: DemoCA, tmp_path: Path
) -> None:
    certificate, key = files(ca.issue_seal("Example TU", "VATIE-1234567X", "IE"), tmp_path, "seal")
    registered = run(ledger, issuer, tmp_path, "seal-cert", "register", str(certificate))
    assert registered.exit_code == 0, registered.output
    ids = [issue(ledger, issuer) for _ in range(2)]
    out = tmp_path / "docs"
    sealed = run(
        ledger, issuer, tmp_path, "documents", *ids, "--out", str(out), "--format", "edc",
        "--seal-cert", str(certificate), "--seal-key", str(key),
    )  # fmt: skip
    assert sealed.exit_code == 0, sealed.output
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{i}-v1.edc.jsonld" for i in ids)
    wait_for(lambda: anchored_everything(ledger))
    anchors = tmp_path / "anchors.pem"
    anchors.write_bytes(ca.certificate_pem())
    verified = CliRunner().invoke(
        cli,
        [
            "verify", str(out / f"{ids[0]}-v1.edc.jsonld"), "--ledger-url", ledger.url,
            "--trust-anchors", str(anchors), "--json",
        ],
    )  # fmt: skip
    report = json.loads(verified.stdout)
    assert (verified.exit_code, report["verdict"]) == (0, "valid"), report


def test_a_changed_sealed_file_fails_on_the_command_line_without_a_ledger(
    ledger: RunningLedger, issuer: RegisteredIssuer, ca: DemoCA, tmp_path: Path
) -> None:
    certificate, key = files(ca.issue_seal("Example TU", "VATIE-1234567X", "IE"), tmp_path, "s")
    run(ledger, issuer, tmp_path, "seal-cert", "register", str(certificate))
    credential_id = issue(ledger, issuer)
    out = tmp_path / "docs"
    run(
        ledger, issuer, tmp_path, "documents", credential_id, "--out", str(out),
        "--format", "edc", "--seal-cert", str(certificate), "--seal-key", str(key),
    )  # fmt: skip
    path = out / f"{credential_id}-v1.edc.jsonld"
    sealed = json.loads(path.read_text("utf-8"))
    sealed["payload"] = sealed["payload"].replace("Applied", "Applies", 1)
    path.write_text(json.dumps(sealed), "utf-8")
    verified = CliRunner().invoke(cli, ["verify", str(path), "--json"])
    report = json.loads(verified.stdout)
    assert verified.exit_code == 1
    assert report["verdict"] == "invalid"
    assert report["steps"][0] == {
        "name": "seal",
        "passed": False,
        "detail": "The seal does not verify over the payload with its x5c certificate.",
    }


def test_a_rotated_out_certificate_no_longer_seals_and_a_revoked_one_neither(
    ledger: RunningLedger, issuer: RegisteredIssuer, ca: DemoCA, tmp_path: Path
) -> None:
    old, old_key = files(ca.issue_seal("Example TU", "VATIE-1234567X", "IE"), tmp_path, "old")
    new, new_key = files(ca.issue_seal("Example TU", "VATIE-1234567X", "IE"), tmp_path, "new")
    run(ledger, issuer, tmp_path, "seal-cert", "register", str(old))
    rotated = run(ledger, issuer, tmp_path, "seal-cert", "rotate", str(old), str(new))
    assert rotated.exit_code == 0, rotated.output
    credential_id = issue(ledger, issuer)
    out = tmp_path / "docs"

    def seal_with(certificate: Path, key: Path) -> Result:
        return run(
            ledger, issuer, tmp_path, "documents", credential_id, "--out", str(out),
            "--format", "edc", "--seal-cert", str(certificate), "--seal-key", str(key),
        )  # fmt: skip

    refused = seal_with(old, old_key)
    assert refused.exit_code == 1 and "rotated out" in refused.output
    revoked = run(ledger, issuer, tmp_path, "seal-cert", "revoke", str(new), "--reason", "lost")
    assert revoked.exit_code == 0, revoked.output
    refused = seal_with(new, new_key)
    assert refused.exit_code == 1 and "no seal certificate in use" in refused.output
