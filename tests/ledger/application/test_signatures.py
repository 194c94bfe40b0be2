"""Only a registered issuer's valid signature, by its current key, writes anything."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from ledger.client import CommandSigner, LedgerRequestError
from ledger.domain.canonical import canonical_bytes
from ledger.domain.signing import IssuerKey, recover_address
from tests.conftest import LEARNER, RegisteredIssuer, RunningLedger, content, issue, stored_events


def refused(call: Any, status: int, code: str) -> dict[str, Any]:
    with pytest.raises(LedgerRequestError) as caught:
        call()
    assert (caught.value.status, caught.value.code) == (status, code), caught.value.problem
    return caught.value.problem


def log_size(ledger: RunningLedger) -> int:
    return stored_events(ledger)


def test_signatures_are_ethereum_personal_sign_compatible() -> None:
    key = IssuerKey.generate()
    message = canonical_bytes({"type": "issue", "title": "Zoë"})
    ours = key.sign(message)
    theirs = Account.sign_message(encode_defunct(message), key.secret_hex()).signature.hex()
    assert ours.removeprefix("0x") == theirs.removeprefix("0x")
    assert Account.recover_message(encode_defunct(message), signature=ours) == key.address
    assert recover_address(message, theirs) == key.address


def test_a_tampered_command_is_refused_with_401(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    body = issuer.signer.issue(content(), LEARNER)
    body["command"]["content"]["title"] = "Something the issuer did not sign"
    before = log_size(ledger)
    problem = refused(lambda: ledger.public.issue(body), 401, "bad-signature")
    assert "current key" in problem["detail"]
    assert log_size(ledger) == before


def test_a_signature_by_another_key_is_refused(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    impostor = CommandSigner(IssuerKey.generate(), issuer.issuer_id)
    refused(lambda: ledger.public.issue(impostor.issue(content(), LEARNER)), 401, "bad-signature")


@pytest.mark.parametrize("signature", ["0x1234", "not hex", "0x" + "00" * 65])
def test_a_malformed_signature_is_refused(
    ledger: RunningLedger, issuer: RegisteredIssuer, signature: str
) -> None:
    body = issuer.signer.issue(content(), LEARNER)
    body["signature"] = signature
    refused(lambda: ledger.public.issue(body), 401, "bad-signature")


def test_a_high_s_signature_is_refused(ledger: RunningLedger, issuer: RegisteredIssuer) -> None:
    body = issuer.signer.issue(content(), LEARNER)
    raw = bytes.fromhex(body["signature"][2:])
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    high_s = (n - int.from_bytes(raw[32:64], "big")).to_bytes(32, "big")
    flipped_v = bytes([55 - raw[64]])  # 27 <-> 28 keeps the same key for the mirrored s
    body["signature"] = "0x" + (raw[:32] + high_s + flipped_v).hex()
    problem = refused(lambda: ledger.public.issue(body), 401, "bad-signature")
    assert "lower half" in problem["detail"]


def test_a_signature_has_one_encoding_and_a_recovery_byte_of_0_or_1_is_refused(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    body = issuer.signer.issue(content(), LEARNER)
    raw = bytes.fromhex(body["signature"][2:])
    body["signature"] = "0x" + (raw[:64] + bytes([raw[64] - 27])).hex()
    before = log_size(ledger)
    problem = refused(lambda: ledger.public.issue(body), 401, "bad-signature")
    assert "27 or 28" in problem["detail"]
    assert log_size(ledger) == before


def test_an_unknown_issuer_is_refused(ledger: RunningLedger) -> None:
    stranger = CommandSigner(IssuerKey.generate(), "00000000-0000-4000-8000-000000000000")
    refused(lambda: ledger.public.issue(stranger.issue(content(), LEARNER)), 401, "unknown-issuer")


def test_a_suspended_issuer_is_refused_until_reinstated(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    ledger.admin.suspend_issuer(issuer.issuer_id, "QA licence lapsed")
    refused(
        lambda: ledger.public.issue(issuer.signer.issue(content(), LEARNER)),
        403,
        "issuer-suspended",
    )
    assert ledger.admin.reinstate_issuer(issuer.issuer_id, "licence renewed")["status"] == "active"
    assert ledger.public.issue(issuer.signer.issue(content(), LEARNER))["status"] == "active"


def test_after_key_rotation_only_the_new_key_signs(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    new_key = IssuerKey.generate()
    result = ledger.public.rotate_key(issuer.signer.rotate_key(new_key))
    assert result["status"] == "key-rotated"
    refused(
        lambda: ledger.public.issue(issuer.signer.issue(content(), LEARNER)), 401, "bad-signature"
    )
    rotated = CommandSigner(new_key, issuer.issuer_id)
    assert ledger.public.issue(rotated.issue(content(), LEARNER))["status"] == "active"
    keys = ledger.public.issuer(issuer.issuer_id)["keys"]
    assert [k["address"] for k in keys] == [issuer.key.address, new_key.address]
    assert keys[0]["valid_until"] == keys[1]["valid_from"]


def test_key_rotation_needs_proof_of_the_new_key(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    body = issuer.signer.rotate_key(IssuerKey.generate())
    body["new_key_signature"] = IssuerKey.generate().sign(canonical_bytes(body["command"]))
    refused(lambda: ledger.public.rotate_key(body), 401, "bad-signature")


def test_operator_actions_need_the_admin_token(ledger: RunningLedger) -> None:
    registration = {
        "legal_name": "Rogue",
        "country": "http://publications.europa.eu/resource/authority/country/IRL",
        "quality_assurance": [
            {
                "type": "http://data.europa.eu/snb/accreditation/bb4618238e",
                "body": "x",
                "reference": "y",
            }
        ],
        "address": IssuerKey.generate().address,
    }
    refused(lambda: ledger.public.register_issuer(registration), 401, "bad-admin-token")


def test_an_issuer_registers_only_once(ledger: RunningLedger, issuer: RegisteredIssuer) -> None:
    from ledger.domain import samples

    refused(
        lambda: ledger.admin.register_issuer(samples.issuer_registration(issuer.key.address)),
        409,
        "already-registered",
    )


def test_a_credential_issued_before_rotation_still_answers(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, issuer)
    ledger.public.rotate_key(issuer.signer.rotate_key(IssuerKey.generate()))
    assert ledger.public.status(credential_id)["status"] == "active"
