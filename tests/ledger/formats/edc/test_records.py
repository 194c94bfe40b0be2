"""EDC credentials through the API: the issuer registers its seal certificate, fetches the
unsealed credential, seals it on its side, records the seal; the ledger anchors it, and
``POST /verify`` follows it through revocation, amendment and erasure. Each refusal is a named
problem."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger.client import LedgerRequestError
from ledger.formats.edc.demo_pki import DemoCA, SealIdentity
from ledger.formats.edc.seal import seal
from ledger.settings import Settings, create_secrets
from tests.conftest import (
    LEARNER,
    RegisteredIssuer,
    RunningLedger,
    anchored_everything,
    content,
    issue,
    register,
    wait_for,
)
from tests.ledger.audit.test_audit import audit

SAMPLES = Path(__file__).parent / "commission-samples"


@pytest.fixture(scope="module")
def ca() -> DemoCA:
    return DemoCA.create()


@pytest.fixture
def settings(tmp_path: Path, database: Callable[[], dict[str, Any]], ca: DemoCA) -> Settings:
    data_dir = tmp_path / "data"
    create_secrets(data_dir)
    anchors = tmp_path / "edc-trust-anchors.pem"
    anchors.write_bytes(ca.certificate_pem())
    return Settings(
        data_dir=data_dir,
        chain="in-process",
        batch_age_seconds=1.0,
        edc_trust_anchors=anchors,
        **database(),
    )


@pytest.fixture
def sealer(ca: DemoCA) -> SealIdentity:
    return ca.issue_seal("Example Technological University", "VATIE-1234567X", "IE")


@pytest.fixture
def sealing_issuer(
    ledger: RunningLedger, issuer: RegisteredIssuer, sealer: SealIdentity
) -> Iterator[RegisteredIssuer]:
    pem = sealer.certificate_pem().decode()
    ledger.public.register_seal_certificate(issuer.signer.register_seal_certificate(pem))
    yield issuer


def edc(ledger: RunningLedger, issuer: RegisteredIssuer, credential_id: str) -> dict[str, Any]:
    (item,) = ledger.public.documents(
        issuer.signer.read_documents([{"credential_id": credential_id}], format="edc")
    )
    assert "credential" in item, item
    found: dict[str, Any] = item["credential"]
    return found


def sealed_for(
    ledger: RunningLedger, issuer: RegisteredIssuer, identity: SealIdentity, credential_id: str
) -> dict[str, Any]:
    return seal(edc(ledger, issuer, credential_id), identity.chain, identity.key, datetime.now(UTC))


def recorded(
    ledger: RunningLedger, issuer: RegisteredIssuer, sealed: dict[str, Any]
) -> dict[str, Any]:
    return ledger.public.record_seal(issuer.signer.record_seal(sealed))


def refusal(call: Callable[[], object]) -> dict[str, Any]:
    with pytest.raises(LedgerRequestError) as refused:
        call()
    return refused.value.problem


def steps(report: dict[str, Any]) -> dict[str, bool | None]:
    return {step["name"]: step["passed"] for step in report["steps"]}


def test_the_register_keeps_the_seal_certificate_and_its_legal_identifier(
    ledger: RunningLedger, sealing_issuer: RegisteredIssuer, sealer: SealIdentity
) -> None:
    (found,) = ledger.public.seal_certificates(sealing_issuer.issuer_id)
    assert found["legal_identifier"] == "VATIE-1234567X"
    assert found["revoked_at"] is None and found["retired_at"] is None


def test_the_edc_credential_names_the_ledgers_credential_and_version(
    ledger: RunningLedger, sealing_issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, sealing_issuer)
    credential = edc(ledger, sealing_issuer, credential_id)
    assert credential["id"] == f"urn:credledger:{credential_id}:v1"
    assert credential["issuer"]["eIDASIdentifier"]["notation"] == "VATIE-1234567X"
    assert credential["credentialSubject"]["fullName"] == {"en": LEARNER["full_name"]}


def test_a_recorded_seal_verifies_once_anchored(
    ledger: RunningLedger, sealing_issuer: RegisteredIssuer, sealer: SealIdentity
) -> None:
    sealed = sealed_for(ledger, sealing_issuer, sealer, issue(ledger, sealing_issuer))
    assert recorded(ledger, sealing_issuer, sealed)["status"] == "seal-recorded"
    wait_for(lambda: anchored_everything(ledger))
    report = ledger.public.verify(edc=sealed)
    assert report["verdict"] == "valid", report
    assert set(steps(report)) == {
        "seal",
        "certificate_chain",
        "shapes",
        "seal_certificate",
        "ledger_record",
        "anchor",
        "status",
    }


def test_a_revoked_credentials_seal_says_revoked(
    ledger: RunningLedger, sealing_issuer: RegisteredIssuer, sealer: SealIdentity
) -> None:
    credential_id = issue(ledger, sealing_issuer)
    sealed = sealed_for(ledger, sealing_issuer, sealer, credential_id)
    recorded(ledger, sealing_issuer, sealed)
    ledger.public.revoke(sealing_issuer.signer.revoke(credential_id, 1, "issued in error"))
    wait_for(lambda: anchored_everything(ledger))
    assert ledger.public.verify(edc=sealed)["verdict"] == "revoked"
    problem = refusal(lambda: recorded(ledger, sealing_issuer, sealed))
    assert problem["code"] in ("already-revoked", "seal-already-recorded")


def test_an_amendment_supersedes_the_sealed_version(
    ledger: RunningLedger, sealing_issuer: RegisteredIssuer, sealer: SealIdentity
) -> None:
    credential_id = issue(ledger, sealing_issuer)
    first = sealed_for(ledger, sealing_issuer, sealer, credential_id)
    recorded(ledger, sealing_issuer, first)
    ledger.public.amend(
        sealing_issuer.signer.amend(
            credential_id, 1, content(title="Applied ML II"), learner=LEARNER
        )
    )
    wait_for(lambda: anchored_everything(ledger))
    assert ledger.public.verify(edc=first)["verdict"] == "superseded"
    problem = refusal(lambda: recorded(ledger, sealing_issuer, first))
    assert problem["code"] == "version-mismatch"


def test_after_erasure_no_new_edc_credential_but_the_held_one_verifies(
    ledger: RunningLedger, sealing_issuer: RegisteredIssuer, sealer: SealIdentity
) -> None:
    credential_id = issue(ledger, sealing_issuer)
    held = sealed_for(ledger, sealing_issuer, sealer, credential_id)
    recorded(ledger, sealing_issuer, held)
    ledger.public.erase(sealing_issuer.signer.erase(credential_id, 1))
    (item,) = ledger.public.documents(
        sealing_issuer.signer.read_documents([{"credential_id": credential_id}], format="edc")
    )
    assert item["problem"]["code"] == "personal-data-erased"
    wait_for(lambda: anchored_everything(ledger))
    assert ledger.public.verify(edc=held)["verdict"] == "valid"


def test_a_seal_by_an_unregistered_certificate_is_refused(
    ledger: RunningLedger, sealing_issuer: RegisteredIssuer, ca: DemoCA
) -> None:
    stranger = ca.issue_seal("Example Technological University", "VATIE-1234567X", "IE")
    sealed = sealed_for(ledger, sealing_issuer, stranger, issue(ledger, sealing_issuer))
    problem = refusal(lambda: recorded(ledger, sealing_issuer, sealed))
    assert problem["errors"][0]["rule"] == "unregistered-certificate"


def test_an_expired_certificate_is_not_registered(
    ledger: RunningLedger, issuer: RegisteredIssuer, ca: DemoCA
) -> None:
    expired = ca.issue_seal(
        "Example TU",
        "VATIE-1234567X",
        "IE",
        not_before=datetime.now(UTC) - timedelta(days=30),
        days=10,
    )
    pem = expired.certificate_pem().decode()
    problem = refusal(
        lambda: ledger.public.register_seal_certificate(
            issuer.signer.register_seal_certificate(pem)
        )
    )
    assert problem["errors"][0]["rule"] == "expired"


def test_a_seal_for_another_issuers_credential_is_refused(
    ledger: RunningLedger, sealing_issuer: RegisteredIssuer, sealer: SealIdentity
) -> None:
    sealed = sealed_for(ledger, sealing_issuer, sealer, issue(ledger, sealing_issuer))
    other = register(ledger, legal_name="Another Academy")
    problem = refusal(lambda: recorded(ledger, other, sealed))
    assert problem["code"] == "not-your-credential"


def test_a_malformed_seal_is_refused_naming_the_field(
    ledger: RunningLedger, sealing_issuer: RegisteredIssuer, sealer: SealIdentity
) -> None:
    sealed = sealed_for(ledger, sealing_issuer, sealer, issue(ledger, sealing_issuer))
    body = sealing_issuer.signer.record_seal(sealed)
    body["sealed"] = {**sealed, "signatures": [{"protected": "!!", "signature": "x"}]}
    problem = refusal(lambda: ledger.public.record_seal(body))
    assert problem["errors"][0]["field"] == "sealed.signatures[0].protected"


def test_a_payload_that_is_not_the_ledgers_record_is_refused(
    ledger: RunningLedger, sealing_issuer: RegisteredIssuer, sealer: SealIdentity
) -> None:
    credential_id = issue(ledger, sealing_issuer)
    credential = edc(ledger, sealing_issuer, credential_id)
    credential["credentialSubject"]["fullName"] = {"en": "Someone Else"}
    sealed = seal(credential, sealer.chain, sealer.key, datetime.now(UTC))
    problem = refusal(lambda: recorded(ledger, sealing_issuer, sealed))
    assert problem["errors"][0]["rule"] == "not-the-ledgers-record"


def test_many_seals_are_recorded_in_one_request(
    ledger: RunningLedger, sealing_issuer: RegisteredIssuer, sealer: SealIdentity
) -> None:
    bodies = [
        sealing_issuer.signer.record_seal(
            sealed_for(ledger, sealing_issuer, sealer, issue(ledger, sealing_issuer))
        )
        for _ in range(3)
    ]
    results = ledger.public.record_seals(bodies)
    assert [r["ok"] for r in results] == [True, True, True]


def test_the_commissions_sealed_sample_is_read_and_not_issued_here(
    ledger: RunningLedger,
) -> None:
    sample = json.loads((SAMPLES / "Sample-MC-Annex1-signed.jsonld").read_text("utf-8"))
    report = ledger.public.verify(edc=sample)
    assert report["verdict"] == "not-issued-here"
    assert steps(report)["seal"] is True
    assert steps(report)["ledger_record"] is False


def test_the_audit_re_derives_seal_certificates_and_seals(
    ledger: RunningLedger,
    sealing_issuer: RegisteredIssuer,
    sealer: SealIdentity,
    ca: DemoCA,
    settings: Settings,
) -> None:
    recorded(
        ledger,
        sealing_issuer,
        sealed_for(ledger, sealing_issuer, sealer, issue(ledger, sealing_issuer)),
    )
    successor = ca.issue_seal("Example Technological University", "VATIE-1234567X", "IE")
    (old,) = ledger.public.seal_certificates(sealing_issuer.issuer_id)
    ledger.public.register_seal_certificate(
        sealing_issuer.signer.register_seal_certificate(
            successor.certificate_pem().decode(), replaces=old["sha256"]
        )
    )
    ledger.public.revoke_seal_certificate(
        sealing_issuer.signer.revoke_seal_certificate(old["sha256"], "key compromise drill")
    )
    wait_for(lambda: anchored_everything(ledger))
    report = audit(settings)
    assert report.finding is None, report.finding
