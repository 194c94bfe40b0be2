"""Credential documents: who may fetch them, what they carry, how lists and /verify judge them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from anchors import data_integrity, status_list
from anchors.anchor_tree import root_from_path
from anchors.chain import BURN_ADDRESS
from anchors.jsonld import document_hash
from anchors.merkle_proof_2019 import MerkleProof2019
from ledger.client import CommandSigner, LedgerRequestError
from ledger.domain.commitment import commit
from ledger.settings import Settings, create_secrets
from tests.conftest import (
    LEARNER,
    RegisteredIssuer,
    RunningLedger,
    content,
    issue,
    wait_for,
)
from tests.conftest import settled as everything_settled


@pytest.fixture
def settings(tmp_path: Path, database: Callable[[], dict[str, Any]]) -> Settings:
    create_secrets(tmp_path / "data")
    return Settings(
        data_dir=tmp_path / "data", chain="in-process", batch_age_seconds=0.2, **database()
    )


@pytest.fixture
def http(ledger: RunningLedger) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ledger.url, timeout=30) as client:
        yield client


def settled(ledger: RunningLedger) -> None:
    """Wait until every event is anchored and the read model has seen the anchors."""
    wait_for(lambda: everything_settled(ledger.embedded))


def fetch(
    ledger: RunningLedger, signer: CommandSigner, credential_id: str, version: int | None = None
) -> dict[str, Any]:
    wanted = {"credential_id": credential_id, **({"version": version} if version else {})}
    (item,) = ledger.public.documents(signer.read_documents([wanted]))
    return item


def document(
    ledger: RunningLedger, issuer: RegisteredIssuer, credential_id: str, version: int | None = None
) -> dict[str, Any]:
    item = fetch(ledger, issuer.signer, credential_id, version)
    assert "document" in item, item
    found: dict[str, Any] = item["document"]
    return found


def test_an_issuer_gets_a_document_for_each_version(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, issuer)
    ledger.public.amend(issuer.signer.amend(credential_id, 1, content(title="Renamed"), LEARNER))
    settled(ledger)
    first = document(ledger, issuer, credential_id, 1)
    current = document(ledger, issuer, credential_id)
    assert (first["credentialVersion"], current["credentialVersion"]) == (1, 2)
    assert first["id"] != current["id"]
    assert current["name"] == "Renamed"


def test_a_document_hashes_to_a_leaf_whose_path_leads_to_the_anchored_root(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, issuer)
    settled(ledger)
    found = document(ledger, issuer, credential_id)
    proof = MerkleProof2019.decode(found["proof"]["proofValue"])
    assert document_hash(found) == proof.target_hash
    assert root_from_path(proof.target_hash, proof.path) == proof.merkle_root
    mined = ledger.embedded.chain.chain.transaction("0x" + proof.tx_hash.hex())
    assert mined is not None and mined.data == proof.merkle_root


def test_a_document_carries_every_constitutive_element(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = issue(
        ledger,
        issuer,
        prerequisites="Python programming",
        stackability={"option": "stackable", "towards": {"title": "MSc Data Science"}},
        further_information="https://example.edu/ml",
    )
    settled(ledger)
    subject = document(ledger, issuer, credential_id)["credentialSubject"]
    claim = subject["hasClaim"]
    spec = claim["specifiedBy"]
    assert subject["fullName"] == LEARNER["full_name"]
    assert claim["title"] and claim["awardedBy"]["awardingBody"][0]["legalName"]
    assert spec["creditPoint"][0]["point"] == "5" and spec["eqfLevel"].endswith("/eqf/6")
    assert len(spec["learningOutcome"]) == 2 and spec["mode"] and spec["learningSetting"]
    assert spec["accreditation"]["dcType"] and spec["entryRequirement"]["noteLiteral"]
    assessment = claim["provenBy"][0]
    assert assessment["specifiedBy"]["dcType"] and assessment["grade"]["noteLiteral"] == "A"
    assert assessment["idVerification"] and claim["stackability"] == "stackable"
    assert claim["isPartOf"]["title"] == "MSc Data Science" and claim["additionalNote"]


def test_the_document_opens_the_public_commitment_to_its_learner(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, issuer)
    settled(ledger)
    opened = document(ledger, issuer, credential_id)["credentialSubject"]["learnerCommitment"]
    public = ledger.embedded.storage.read_model.commitment_of(credential_id, 1)
    assert opened["commitment"] == public == commit(LEARNER, opened["salt"])


def test_another_issuer_cannot_fetch_a_document(
    ledger: RunningLedger, issuer: RegisteredIssuer, other_issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, issuer)
    settled(ledger)
    with pytest.raises(Exception, match="another issuer") as raised:
        fetch(ledger, other_issuer.signer, credential_id)
    assert getattr(raised.value, "status", None) == 403


def test_a_stale_document_request_is_refused(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, issuer)
    old = CommandSigner(
        issuer.key, issuer.issuer_id, clock=lambda: datetime.now(UTC) - timedelta(minutes=10)
    )
    with pytest.raises(Exception, match="within") as raised:
        fetch(ledger, old, credential_id)
    assert getattr(raised.value, "code", None) == "invalid-input"


def test_a_signed_document_request_is_answered_once(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, issuer)
    settled(ledger)
    request = issuer.signer.read_documents([{"credential_id": credential_id}])
    assert "document" in ledger.public.documents(request)[0]
    with pytest.raises(LedgerRequestError) as replayed:
        ledger.public.documents(request)
    assert (replayed.value.status, replayed.value.code) == (409, "read-already-answered")
    again = issuer.signer.read_documents([{"credential_id": credential_id}])
    assert "document" in ledger.public.documents(again)[0]


def test_after_erasure_no_new_document_is_made_but_a_held_one_still_verifies(
    ledger: RunningLedger, issuer: RegisteredIssuer, http: httpx.Client
) -> None:
    credential_id = issue(ledger, issuer)
    settled(ledger)
    held = document(ledger, issuer, credential_id)
    ledger.public.erase(issuer.signer.erase(credential_id, 1))
    settled(ledger)
    assert fetch(ledger, issuer.signer, credential_id)["problem"]["code"] == (
        "personal-data-erased"
    )
    assert http.post("/verify", json={"document": held}).json()["verdict"] == "valid"


def test_the_profile_lists_the_anchoring_address_and_the_revocation_list(
    ledger: RunningLedger, issuer: RegisteredIssuer, http: httpx.Client
) -> None:
    profile = http.get(f"/issuers/{issuer.issuer_id}/profile").json()
    address = ledger.embedded.chain.account.address
    assert profile["type"] == "Profile" and profile["name"] == "Example Technological University"
    assert [k["id"] for k in profile["publicKey"]] == [f"ecdsa-koblitz-pubkey:{address}"]
    assert profile["revocationList"].endswith(f"/issuers/{issuer.issuer_id}/revocation-list")
    assert profile["accreditation"][0]["body"] == "Quality and Qualifications Ireland"


def test_the_revocation_list_gives_revoked_and_superseded_documents_with_reasons(
    ledger: RunningLedger, issuer: RegisteredIssuer, http: httpx.Client
) -> None:
    revoked, amended, kept = (issue(ledger, issuer) for _ in range(3))
    ledger.public.amend(issuer.signer.amend(amended, 1, content(title="Renamed"), LEARNER))
    settled(ledger)
    ledger.public.revoke(issuer.signer.revoke(revoked, 1, "issued in error"))
    settled(ledger)
    listed = http.get(f"/issuers/{issuer.issuer_id}/revocation-list").json()
    reasons = {e["id"]: e["revocationReason"] for e in listed["revokedAssertions"]}
    assert listed["type"] == "RevocationList"
    assert reasons == {
        document(ledger, issuer, revoked)["id"]: "revoked: issued in error",
        document(ledger, issuer, amended, 1)["id"]: "superseded by version 2",
    }
    assert document(ledger, issuer, kept)["id"] not in reasons


def test_a_revocation_list_query_for_one_id_answers_for_that_id_only(
    ledger: RunningLedger, issuer: RegisteredIssuer, http: httpx.Client
) -> None:
    first, second = issue(ledger, issuer), issue(ledger, issuer)
    settled(ledger)
    for credential_id in (first, second):
        ledger.public.revoke(issuer.signer.revoke(credential_id, 1, "withdrawn"))
    wanted = document(ledger, issuer, first)["id"]
    url = f"/issuers/{issuer.issuer_id}/revocation-list"
    listed = http.get(url, params={"assertionId": wanted}).json()["revokedAssertions"]
    assert [e["id"] for e in listed] == [wanted]


def test_the_status_list_sets_the_bit_of_a_revoked_credential_only(
    ledger: RunningLedger, issuer: RegisteredIssuer, http: httpx.Client
) -> None:
    revoked, active = issue(ledger, issuer), issue(ledger, issuer)
    ledger.public.revoke(issuer.signer.revoke(revoked, 1, "withdrawn"))
    entries = {c: ledger.public.status(c)["credentialStatus"] for c in (revoked, active)}
    assert entries[revoked]["statusListCredential"] == entries[active]["statusListCredential"]
    assert entries[revoked]["statusListIndex"] != entries[active]["statusListIndex"]
    credential = http.get(urlsplit(entries[revoked]["statusListCredential"]).path).json()
    encoded = credential["credentialSubject"]["encodedList"]
    assert status_list.is_set(encoded, int(entries[revoked]["statusListIndex"]))
    assert not status_list.is_set(encoded, int(entries[active]["statusListIndex"]))
    assert data_integrity.verify(credential)


def test_the_status_list_has_at_least_131072_entries(
    ledger: RunningLedger, issuer: RegisteredIssuer, http: httpx.Client
) -> None:
    entry = ledger.public.status(issue(ledger, issuer))["credentialStatus"]
    credential = http.get(urlsplit(entry["statusListCredential"]).path).json()
    assert not status_list.is_set(credential["credentialSubject"]["encodedList"], 131_071)


def test_verify_accepts_a_valid_document(
    ledger: RunningLedger, issuer: RegisteredIssuer, http: httpx.Client
) -> None:
    credential_id = issue(ledger, issuer)
    settled(ledger)
    report = http.post("/verify", json={"document": document(ledger, issuer, credential_id)})
    assert report.json()["verdict"] == "valid"
    passed = {s["name"]: s["passed"] for s in report.json()["steps"]}
    # The document's own checks, the record's and the register's; no witness quorum is set.
    assert passed.pop("witnesses") is None
    assert passed == dict.fromkeys(
        (
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
            "transaction",
            "validity",
            "status",
        ),
        True,
    )


def test_verify_names_integrity_for_a_changed_document(
    ledger: RunningLedger, issuer: RegisteredIssuer, http: httpx.Client
) -> None:
    credential_id = issue(ledger, issuer)
    settled(ledger)
    changed = document(ledger, issuer, credential_id)
    changed["credentialSubject"]["fullName"] = "Someone Else"
    report = http.post("/verify", json={"document": changed}).json()
    assert report["verdict"] == "invalid"
    assert {s["name"]: s["passed"] for s in report["steps"]}["integrity"] is False


def test_verify_reports_a_revoked_document_as_revoked(
    ledger: RunningLedger, issuer: RegisteredIssuer, http: httpx.Client
) -> None:
    credential_id = issue(ledger, issuer)
    settled(ledger)
    held = document(ledger, issuer, credential_id)
    ledger.public.revoke(issuer.signer.revoke(credential_id, 1, "issued in error"))
    report = http.post("/verify", json={"document": held}).json()
    assert report["verdict"] == "revoked"
    assert "issued in error" in report["steps"][-1]["detail"]


def credit_points_of(node: Any) -> list[dict[str, Any]]:
    """Every CreditPoint object in a document."""
    if isinstance(node, dict):
        points = node.get("creditPoint") if "@context" not in node else None
        points = points or []
        found = [points] if isinstance(points, dict) else list(points)
        inside = [v for k, v in node.items() if k != "@context"]
        return found + [p for value in inside for p in credit_points_of(value)]
    if isinstance(node, list):
        return [p for value in node for p in credit_points_of(value)]
    return []


def test_a_changed_document_anchored_by_another_transaction_is_not_the_ledgers_record(
    ledger: RunningLedger, issuer: RegisteredIssuer, http: httpx.Client
) -> None:
    credential_id = issue(ledger, issuer)
    settled(ledger)
    forged = document(ledger, issuer, credential_id)
    assert credit_points_of(forged)
    for point in credit_points_of(forged):
        point["point"] = "60"
    # Re-hashed, and anchored alone in a transaction of its own by the anchoring key itself.
    leaf = document_hash({k: v for k, v in forged.items() if k != "proof"})
    anchoring = ledger.embedded.chain
    signed = anchoring.account.sign_transaction(
        {
            "type": 2,
            "chainId": anchoring.chain.chain_id(),
            "nonce": anchoring.chain.nonce(anchoring.account.address),
            "to": BURN_ADDRESS,
            "value": 0,
            "data": leaf,
            "gas": 30_000,
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 10**9,
        }
    )
    anchoring.chain.send(bytes(signed.raw_transaction))
    anchoring.chain.mine(1)
    proof = MerkleProof2019(leaf, leaf, (), anchoring.chain.chain_id(), bytes(signed.hash))
    forged["proof"]["proofValue"] = proof.encode()
    report = http.post("/verify", json={"document": forged}).json()
    passed = {s["name"]: s["passed"] for s in report["steps"]}
    # On its own the forgery holds: its hash, its path and its transaction check out.
    assert passed["integrity"] and passed["anchor_path"] and passed["transaction"]
    assert passed["ledger_record"] is False
    assert report["verdict"] == "invalid"
    step = next(s for s in report["steps"] if s["name"] == "ledger_record")
    assert "not the one the ledger anchored for this credential version" in step["detail"]
