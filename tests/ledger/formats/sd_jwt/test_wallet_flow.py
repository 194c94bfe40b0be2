"""A learner's wallet through OpenID4VCI against the running ledger: the issuer offers, the
wallet redeems code and PIN, proves its key, receives the SD-JWT VC, and presents a subset that
``POST /verify`` reports claim by claim. Every refusal is a named OpenID4VCI error."""

from __future__ import annotations

import hashlib
import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from ledger.client import LedgerRequestError
from ledger.domain.canonical import canonical_bytes
from ledger.domain.errors import InvalidGrant, InvalidNonce
from ledger.formats.sd_jwt import jws, status_list
from ledger.formats.sd_jwt.credential import claims_of
from ledger.formats.sd_jwt.disclosures import parse, read, reveal
from ledger.formats.sd_jwt.holder import Holder, OfferRefused, read_offer
from ledger.formats.sd_jwt.issuance import PRE_AUTHORIZED_GRANT, WalletIssuer
from ledger.persistence.wallet_sessions import STATUS_ENTRY_BLOCK, SpendRefused, WalletSessions
from ledger.settings import Settings
from tests.conftest import (
    LEARNER,
    STORE,
    RegisteredIssuer,
    RunningLedger,
    anchored_everything,
    content,
    issue,
    wait_for,
)
from tests.ledger.audit.test_audit import audit

AUDIENCE = "https://employer.example/verifier"
# What does not touch the stores (the SD-JWT VC's shape, the metadata, verification of a
# presentation) runs in the SQLite pass only; offers, tokens, nonces and status run in both.
store_independent = pytest.mark.skipif(
    STORE != "sqlite", reason="does not depend on the store: the SQLite pass runs it"
)
SHOWN = {"title", "eqf_level", "credit_points"}
FULL_LEARNER = {**LEARNER, "date_of_birth": "2001-02-03", "given_name": "Siobhán"}


@pytest.fixture
def wallet_issuer(ledger: RunningLedger, issuer: RegisteredIssuer) -> RegisteredIssuer:
    ledger.public.adopt_wallet_key(issuer.signer.adopt_wallet_key())
    return issuer


def offer(ledger: RunningLedger, issuer: RegisteredIssuer, credential_id: str) -> dict[str, Any]:
    version = ledger.public.status(credential_id)["current_version"]
    return ledger.public.offer(issuer.signer.offer(credential_id, version))


def delivered(ledger: RunningLedger, issuer: RegisteredIssuer) -> tuple[str, str, Holder]:
    credential_id = issue(ledger, issuer, learner=FULL_LEARNER)
    made = offer(ledger, issuer, credential_id)
    holder = Holder()
    return credential_id, holder.receive(made["credential_offer_uri"], made["tx_code"]), holder


def verify(ledger: RunningLedger, presentation: str, nonce: str = "n-1") -> dict[str, Any]:
    return ledger.public.verify(sd_jwt=presentation, nonce=nonce, audience=AUDIENCE)


def step(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in report["steps"] if s["name"] == name)


def refused(call: Any) -> dict[str, Any]:
    with pytest.raises(LedgerRequestError) as caught:
        call()
    return caught.value.problem


def token_for(ledger: RunningLedger, made: dict[str, Any]) -> str:
    code = read_offer(made["credential_offer_uri"])["grants"][PRE_AUTHORIZED_GRANT][
        "pre-authorized_code"
    ]
    answer = httpx.post(
        f"{ledger.url}/oid4vci/token",
        data={
            "grant_type": PRE_AUTHORIZED_GRANT,
            "pre-authorized_code": code,
            "tx_code": made["tx_code"],
        },
    )
    assert answer.headers["cache-control"] == "no-store"
    return str(answer.json()["access_token"])


def nonce(ledger: RunningLedger) -> str:
    return str(httpx.post(f"{ledger.url}/oid4vci/nonce").json()["c_nonce"])


def credential_request(ledger: RunningLedger, token: str, proof: str) -> httpx.Response:
    return httpx.post(
        f"{ledger.url}/oid4vci/credential",
        headers={"Authorization": f"Bearer {token}"},
        json={"credential_configuration_id": "eu-micro-credential", "proofs": {"jwt": [proof]}},
    )


# Issuance --------------------------------------------------------------------------------------


def test_a_presentation_of_title_level_and_credits_verifies_and_shows_only_those(
    ledger: RunningLedger, wallet_issuer: RegisteredIssuer
) -> None:
    _, sd_jwt, holder = delivered(ledger, wallet_issuer)
    wait_for(lambda: anchored_everything(ledger))
    report = verify(ledger, holder.present(sd_jwt, SHOWN, "n-1", AUDIENCE))
    assert report["verdict"] == "valid", report["steps"]
    shown = {c["claim"]: c for c in report["credential"]["disclosed"]}
    assert set(shown) == SHOWN
    assert shown["eqf_level"]["value_labels"] == ["Level 6"]
    assert shown["credit_points"]["value_labels"] == ["5 European Credit Transfer System"]
    assert "2001-02-03" not in json.dumps(report) and "Siobh" not in json.dumps(report)


@store_independent
def test_only_the_credential_id_version_and_validity_claims_are_visible(
    ledger: RunningLedger, wallet_issuer: RegisteredIssuer
) -> None:
    credential_id, sd_jwt, holder = delivered(ledger, wallet_issuer)
    claims = jws.parse(sd_jwt.split("~")[0]).payload
    assert set(claims) == {
        "iss",
        "vct",
        "iat",
        "nbf",
        "cnf",
        "status",
        "credential_id",
        "credential_version",
        "_sd",
        "_sd_alg",
    }
    assert (claims["credential_id"], claims["credential_version"]) == (credential_id, 1)
    assert claims["cnf"] == {"jwk": holder.jwk}
    assert claims["vct"] == f"{ledger.url}/vct/eu-micro-credential/v1"


@store_independent
def test_every_element_and_learner_attribute_is_a_disclosure_of_its_own(
    ledger: RunningLedger, wallet_issuer: RegisteredIssuer
) -> None:
    _, sd_jwt, _ = delivered(ledger, wallet_issuer)
    issued = parse(sd_jwt)
    disclosures = [read(d) for d in issued.disclosures]
    revealed = reveal(jws.parse(issued.jwt).payload, disclosures)
    expected = claims_of(content(), FULL_LEARNER)
    assert {k: revealed[k] for k in expected if k != "issued"} == {
        k: v for k, v in expected.items() if k != "issued"
    }
    names = [d.name for d in disclosures if d.name is not None]
    assert sorted(names) == sorted(expected)
    outcomes = [d for d in disclosures if d.name is None and isinstance(d.value, dict)]
    assert len(outcomes) >= 2  # learning outcomes and awarding bodies, element by element


@store_independent
def test_the_issuer_profile_and_jwks_publish_the_key_and_the_jwt_verifies_with_it(
    ledger: RunningLedger, wallet_issuer: RegisteredIssuer
) -> None:
    _, sd_jwt, _ = delivered(ledger, wallet_issuer)
    jwt = jws.parse(sd_jwt.split("~")[0])
    iss = jwt.payload["iss"]
    metadata = httpx.get(
        f"{ledger.url}/.well-known/jwt-vc-issuer/issuers/{wallet_issuer.issuer_id}"
    )
    assert metadata.json()["issuer"] == iss == f"{ledger.url}/issuers/{wallet_issuer.issuer_id}"
    (key,) = metadata.json()["jwks"]["keys"]
    assert key["kid"] == jwt.header["kid"]
    assert jws.verifies(jwt, jws.public_key({k: key[k] for k in ("kty", "crv", "x", "y")}))
    profile = httpx.get(iss).json()
    assert [k["kid"] for k in profile["wallet_keys"]] == [key["kid"]]


@store_independent
def test_the_metadata_names_the_endpoints_and_the_configuration(ledger: RunningLedger) -> None:
    issuer = httpx.get(f"{ledger.url}/.well-known/openid-credential-issuer").json()
    server = httpx.get(f"{ledger.url}/.well-known/oauth-authorization-server").json()
    configuration = issuer["credential_configurations_supported"]["eu-micro-credential"]
    assert issuer["credential_issuer"] == server["issuer"] == ledger.url
    assert issuer["nonce_endpoint"] == f"{ledger.url}/oid4vci/nonce"
    assert configuration["format"] == "dc+sd-jwt"
    assert configuration["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"] == [
        "ES256"
    ]
    assert server["grant_types_supported"] == [PRE_AUTHORIZED_GRANT]
    vct = httpx.get(configuration["vct"]).json()
    assert {c["path"][0] for c in vct["claims"]} >= SHOWN


# Offers ----------------------------------------------------------------------------------------


def test_a_wrong_pin_is_counted_and_locks_the_offer(
    ledger: RunningLedger, wallet_issuer: RegisteredIssuer
) -> None:
    made = offer(ledger, wallet_issuer, issue(ledger, wallet_issuer))
    code = read_offer(made["credential_offer_uri"])["grants"][PRE_AUTHORIZED_GRANT][
        "pre-authorized_code"
    ]
    wrong = "000000" if made["tx_code"] != "000000" else "111111"
    answers = [
        httpx.post(
            f"{ledger.url}/oid4vci/token",
            data={"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": code, "tx_code": pin},
        ).json()
        for pin in [wrong] * 5 + [made["tx_code"]]
    ]
    assert [a["reason"] for a in answers] == ["wrong-pin"] * 4 + ["offer-locked"] * 2
    assert {a["error"] for a in answers} == {"invalid_grant"}


@pytest.mark.parametrize("body", [b"grant_type", "é=1".encode(), b"x=" + b"1" * 5000])
@store_independent
def test_a_token_request_that_is_not_a_form_is_an_oauth_invalid_request(
    ledger: RunningLedger, body: bytes
) -> None:
    answer = httpx.post(
        f"{ledger.url}/oid4vci/token",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")


def test_an_offer_delivers_once(ledger: RunningLedger, wallet_issuer: RegisteredIssuer) -> None:
    made = offer(ledger, wallet_issuer, issue(ledger, wallet_issuer))
    Holder().receive(made["credential_offer_uri"], made["tx_code"])
    with pytest.raises(OfferRefused) as again:
        Holder().receive(made["credential_offer_uri"], made["tx_code"])
    assert (again.value.answer["error"], again.value.answer["reason"]) == (
        "invalid_grant",
        "offer-used",
    )


def test_an_expired_offer_is_refused(
    ledger: RunningLedger, wallet_issuer: RegisteredIssuer
) -> None:
    made = offer(ledger, wallet_issuer, issue(ledger, wallet_issuer))
    storage = ledger.embedded.storage
    later = storage.ledger.clock() + timedelta(days=2)
    issuer = WalletIssuer(storage.ledger, storage.wallet_sessions, ledger.url, clock=lambda: later)
    code = read_offer(made["credential_offer_uri"])["grants"][PRE_AUTHORIZED_GRANT]
    form = {
        "grant_type": PRE_AUTHORIZED_GRANT,
        "pre-authorized_code": code["pre-authorized_code"],
        "tx_code": made["tx_code"],
    }
    with pytest.raises(InvalidGrant) as caught:
        issuer.token(form)
    assert caught.value.reason == "offer-expired"


def test_an_offer_request_is_signed_fresh_and_answered_once(
    ledger: RunningLedger, wallet_issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, wallet_issuer)
    body = wallet_issuer.signer.offer(credential_id, 1)
    ledger.public.offer(body)
    assert refused(lambda: ledger.public.offer(body))["code"] == "read-already-answered"
    stale = wallet_issuer.signer.offer(credential_id, 1)
    stale["command"]["signed_at"] = "2020-01-01T00:00:00+00:00"
    stale["signature"] = wallet_issuer.key.sign(canonical_bytes(stale["command"]))
    assert refused(lambda: ledger.public.offer(stale))["errors"][0]["rule"] == "stale-request"


def test_offers_of_revoked_superseded_or_erased_versions_are_refused(
    ledger: RunningLedger, wallet_issuer: RegisteredIssuer
) -> None:
    signer = wallet_issuer.signer
    revoked, amended, erased = (issue(ledger, wallet_issuer) for _ in range(3))
    ledger.public.revoke(signer.revoke(revoked, 1, "issued in error"))
    ledger.public.amend(signer.amend(amended, 1, content(title="v2"), learner=LEARNER))
    ledger.public.erase(signer.erase(erased, 1))
    assert refused(lambda: ledger.public.offer(signer.offer(revoked, 1)))["code"] == (
        "already-revoked"
    )
    assert refused(lambda: ledger.public.offer(signer.offer(amended, 1)))["code"] == (
        "version-mismatch"
    )
    assert refused(lambda: ledger.public.offer(signer.offer(erased, 1)))["code"] == (
        "personal-data-erased"
    )


def test_an_issuer_offers_only_its_own_credentials(
    ledger: RunningLedger, wallet_issuer: RegisteredIssuer, other_issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, wallet_issuer)
    problem = refused(lambda: ledger.public.offer(other_issuer.signer.offer(credential_id, 1)))
    assert problem["code"] == "not-your-credential"


def test_an_issuer_without_a_wallet_key_is_told_to_adopt_one(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, issuer)
    problem = refused(lambda: ledger.public.offer(issuer.signer.offer(credential_id, 1)))
    assert problem["code"] == "no-wallet-key"


def test_a_credential_revoked_after_the_token_is_not_delivered(
    ledger: RunningLedger, wallet_issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, wallet_issuer)
    made = offer(ledger, wallet_issuer, credential_id)
    token = token_for(ledger, made)
    ledger.public.revoke(wallet_issuer.signer.revoke(credential_id, 1, "issued in error"))
    holder = Holder()
    answer = credential_request(ledger, token, holder.proof(ledger.url, nonce(ledger)))
    assert answer.status_code == 400
    assert (answer.json()["error"], answer.json()["reason"]) == (
        "credential_request_denied",
        "already-revoked",
    )


# Key proofs ------------------------------------------------------------------------------------


def test_a_proof_with_a_spent_nonce_is_refused(
    ledger: RunningLedger, wallet_issuer: RegisteredIssuer
) -> None:
    first = offer(ledger, wallet_issuer, issue(ledger, wallet_issuer))
    second = offer(ledger, wallet_issuer, issue(ledger, wallet_issuer))
    holder, used = Holder(), nonce(ledger)
    assert credential_request(ledger, token_for(ledger, first), holder.proof(ledger.url, used))
    answer = credential_request(ledger, token_for(ledger, second), holder.proof(ledger.url, used))
    assert (answer.json()["error"], answer.json()["reason"]) == ("invalid_nonce", "stale-nonce")


@store_independent
def test_a_proof_for_another_audience_is_refused(
    ledger: RunningLedger, wallet_issuer: RegisteredIssuer
) -> None:
    token = token_for(ledger, offer(ledger, wallet_issuer, issue(ledger, wallet_issuer)))
    proof = Holder().proof("https://another-issuer.example", nonce(ledger))
    answer = credential_request(ledger, token, proof).json()
    assert (answer["error"], answer["reason"]) == ("invalid_proof", "proof-audience")


@store_independent
def test_a_proof_signed_by_another_key_than_its_jwk_is_refused(
    ledger: RunningLedger, wallet_issuer: RegisteredIssuer
) -> None:
    token = token_for(ledger, offer(ledger, wallet_issuer, issue(ledger, wallet_issuer)))
    holder, other = Holder(), ec.generate_private_key(ec.SECP256R1())
    claims = {
        "aud": ledger.url,
        "nonce": nonce(ledger),
        "iat": int(ledger.embedded.storage.ledger.clock().timestamp()),
    }
    forged = jws.sign({"typ": "openid4vci-proof+jwt", "jwk": holder.jwk}, claims, other)
    answer = credential_request(ledger, token, forged).json()
    assert (answer["error"], answer["reason"]) == ("invalid_proof", "proof-signature")


def test_a_credential_request_without_a_valid_token_is_401_with_the_challenge(
    ledger: RunningLedger,
) -> None:
    answer = credential_request(ledger, "not-a-token", "x.y.z")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert answer.json()["reason"] == "token-unknown"


# Presentations ---------------------------------------------------------------------------------


@store_independent
def test_a_changed_disclosure_fails_the_disclosures_step(
    ledger: RunningLedger, wallet_issuer: RegisteredIssuer
) -> None:
    _, sd_jwt, holder = delivered(ledger, wallet_issuer)
    shown = holder.present(sd_jwt, {"title"}, "n-1", AUDIENCE)
    jwt, disclosure, kb = shown.split("~")
    salt, name, _ = json.loads(jws.b64url_decode(disclosure))
    forged = jws.b64url(json.dumps([salt, name, "Forged title"]).encode())
    report = verify(ledger, f"{jwt}~{forged}~{kb}")
    assert report["verdict"] == "invalid"
    assert step(report, "disclosures")["passed"] is False
    assert "Forged" not in json.dumps(report["credential"])


@store_independent
def test_a_presentation_without_a_key_binding_jwt_fails(
    ledger: RunningLedger, wallet_issuer: RegisteredIssuer
) -> None:
    _, sd_jwt, _ = delivered(ledger, wallet_issuer)
    report = verify(ledger, sd_jwt)
    assert report["verdict"] == "invalid"
    assert "missing" in step(report, "key_binding")["detail"]


def test_a_replayed_presentation_fails(
    ledger: RunningLedger, wallet_issuer: RegisteredIssuer
) -> None:
    _, sd_jwt, holder = delivered(ledger, wallet_issuer)
    shown = holder.present(sd_jwt, SHOWN, "n-1", AUDIENCE)
    assert step(verify(ledger, shown), "key_binding")["passed"] is True
    again = verify(ledger, shown)
    assert again["verdict"] == "invalid"
    assert "replayed" in step(again, "key_binding")["detail"]


@store_independent
def test_a_presentation_for_another_nonce_or_audience_fails(
    ledger: RunningLedger, wallet_issuer: RegisteredIssuer
) -> None:
    _, sd_jwt, holder = delivered(ledger, wallet_issuer)
    assert (
        step(verify(ledger, holder.present(sd_jwt, SHOWN, "old", AUDIENCE)), "key_binding")[
            "passed"
        ]
        is False
    )
    other = ledger.public.verify(
        sd_jwt=holder.present(sd_jwt, SHOWN, "n-1", "https://elsewhere.example"),
        nonce="n-1",
        audience=AUDIENCE,
    )
    assert step(other, "key_binding")["passed"] is False


@store_independent
def test_a_presentation_signed_by_another_holders_key_fails(
    ledger: RunningLedger, wallet_issuer: RegisteredIssuer
) -> None:
    _, sd_jwt, _ = delivered(ledger, wallet_issuer)
    thief = Holder()
    report = verify(ledger, thief.present(sd_jwt, SHOWN, "n-1", AUDIENCE))
    assert report["verdict"] == "invalid"
    assert "another holder" in step(report, "key_binding")["detail"]


# Status ----------------------------------------------------------------------------------------


def status_entry(ledger: RunningLedger, issuer: RegisteredIssuer, sd_jwt: str) -> int:
    answer = httpx.get(f"{ledger.url}/issuers/{issuer.issuer_id}/token-status-list")
    assert answer.headers["content-type"] == "application/statuslist+jwt"
    assert answer.headers["cache-control"].startswith("public, max-age=")
    token = jws.parse(answer.text)
    reference = jws.parse(sd_jwt.split("~")[0]).payload["status"]["status_list"]
    assert token.payload["sub"] == reference["uri"] == answer.url
    return status_list.status_at(token.payload["status_list"], reference["idx"])


def test_revoking_sets_the_status_entry_of_every_delivered_vc_of_the_version(
    ledger: RunningLedger, wallet_issuer: RegisteredIssuer
) -> None:
    credential_id, first, _ = delivered(ledger, wallet_issuer)
    made = offer(ledger, wallet_issuer, credential_id)
    second = Holder().receive(made["credential_offer_uri"], made["tx_code"])
    _, unrelated, _ = delivered(ledger, wallet_issuer)
    assert [status_entry(ledger, wallet_issuer, vc) for vc in (first, second, unrelated)] == [
        0,
        0,
        0,
    ]
    ledger.public.revoke(wallet_issuer.signer.revoke(credential_id, 1, "issued in error"))
    assert [status_entry(ledger, wallet_issuer, vc) for vc in (first, second, unrelated)] == [
        1,
        1,
        0,
    ]


def test_an_amendment_supersedes_the_delivered_version(
    ledger: RunningLedger, wallet_issuer: RegisteredIssuer
) -> None:
    credential_id, sd_jwt, holder = delivered(ledger, wallet_issuer)
    signer = wallet_issuer.signer
    ledger.public.amend(signer.amend(credential_id, 1, content(title="v2"), learner=FULL_LEARNER))
    assert status_entry(ledger, wallet_issuer, sd_jwt) == 1
    report = verify(ledger, holder.present(sd_jwt, SHOWN, "n-1", AUDIENCE))
    assert report["verdict"] == "superseded"


def test_after_a_key_rotation_earlier_vcs_verify_and_new_ones_use_the_new_key(
    ledger: RunningLedger, wallet_issuer: RegisteredIssuer
) -> None:
    _, before, holder = delivered(ledger, wallet_issuer)
    ledger.public.adopt_wallet_key(wallet_issuer.signer.adopt_wallet_key())
    _, after, _ = delivered(ledger, wallet_issuer)
    kids = [jws.parse(vc.split("~")[0]).header["kid"] for vc in (before, after)]
    keys = ledger.public.issuer(wallet_issuer.issuer_id)["wallet_keys"]
    assert kids == [k["kid"] for k in keys] and keys[0]["retired_at"] is not None
    report = verify(ledger, holder.present(before, SHOWN, "n-1", AUDIENCE))
    assert step(report, "issuer_signature")["passed"] is True
    listed = httpx.get(f"{ledger.url}/issuers/{wallet_issuer.issuer_id}/token-status-list")
    assert jws.parse(listed.text).header["kid"] == kids[1]


def test_a_history_with_keys_deliveries_and_a_rotation_audits_clean(
    ledger: RunningLedger, wallet_issuer: RegisteredIssuer, settings: Settings
) -> None:
    credential_id, _, _ = delivered(ledger, wallet_issuer)
    ledger.public.adopt_wallet_key(wallet_issuer.signer.adopt_wallet_key())
    delivered(ledger, wallet_issuer)
    ledger.public.revoke(wallet_issuer.signer.revoke(credential_id, 1, "issued in error"))
    wait_for(lambda: anchored_everything(ledger))
    ledger.embedded.stop()
    report = audit(settings)
    assert report.finding is None, report.finding


def test_two_requests_racing_with_one_token_deliver_once(
    ledger: RunningLedger, wallet_issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, wallet_issuer)
    token = token_for(ledger, offer(ledger, wallet_issuer, credential_id))
    proofs = [Holder().proof(ledger.url, nonce(ledger)) for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda proof: credential_request(ledger, token, proof), proofs))
    assert sorted(a.status_code for a in answers)[0] == 200
    assert [a.status_code for a in answers].count(200) == 1
    refused = [a.json()["error"] for a in answers if a.status_code != 200]
    assert set(refused) <= {"credential_request_denied", "invalid_token"}
    assert ledger.public.status(credential_id)["wallet_deliveries"] == 1


def concurrent_requests(
    ledger: RunningLedger, issuer: RegisteredIssuer, credential_ids: list[str]
) -> list[tuple[str, httpx.Response]]:
    """(credential id offered, answer) for a credential request per id, all sent at once."""
    tokens = [token_for(ledger, offer(ledger, issuer, c)) for c in credential_ids]
    proofs = [Holder().proof(ledger.url, nonce(ledger)) for _ in credential_ids]
    with ThreadPoolExecutor(len(credential_ids)) as pool:
        answers = list(pool.map(credential_request, [ledger] * len(tokens), tokens, proofs))
    return list(zip(credential_ids, answers, strict=True))


def issued_claims(answer: httpx.Response) -> dict[str, Any]:
    sd_jwt = answer.json()["credentials"][0]["credential"]
    return dict(jws.parse(sd_jwt.split("~")[0]).payload)


def test_requests_delivered_together_each_get_the_credential_of_their_own_offer(
    ledger: RunningLedger, wallet_issuer: RegisteredIssuer
) -> None:
    credential_ids = [issue(ledger, wallet_issuer) for _ in range(6)]
    for credential_id, answer in concurrent_requests(ledger, wallet_issuer, credential_ids):
        assert answer.status_code == 200, answer.text
        assert issued_claims(answer)["credential_id"] == credential_id
        assert ledger.public.status(credential_id)["wallet_deliveries"] == 1


def test_several_offers_of_one_credential_delivered_at_once_are_all_recorded(
    ledger: RunningLedger, wallet_issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, wallet_issuer)
    answers = concurrent_requests(ledger, wallet_issuer, [credential_id] * 4)
    assert [a.status_code for _, a in answers] == [200] * 4
    assert ledger.public.status(credential_id)["wallet_deliveries"] == 4
    indexes = {issued_claims(a)["status"]["status_list"]["idx"] for _, a in answers}
    assert len(indexes) == 4


def test_requests_sharing_one_nonce_deliver_once_and_the_others_are_told_it_is_stale(
    ledger: RunningLedger, wallet_issuer: RegisteredIssuer
) -> None:
    credential_ids = [issue(ledger, wallet_issuer) for _ in range(4)]
    tokens = [token_for(ledger, offer(ledger, wallet_issuer, c)) for c in credential_ids]
    shared = nonce(ledger)
    proofs = [Holder().proof(ledger.url, shared) for _ in credential_ids]
    with ThreadPoolExecutor(len(tokens)) as pool:
        answers = list(pool.map(credential_request, [ledger] * len(tokens), tokens, proofs))
    assert sorted(a.status_code for a in answers) == [200, 400, 400, 400]
    assert {a.json()["error"] for a in answers if a.status_code == 400} == {"invalid_nonce"}
    delivered_ids = [c for c in credential_ids if ledger.public.status(c)["wallet_deliveries"]]
    assert len(delivered_ids) == 1


def test_a_delivery_and_what_it_spends_are_stored_together_or_not_at_all(
    ledger: RunningLedger, wallet_issuer: RegisteredIssuer
) -> None:
    storage = ledger.embedded.storage
    sessions = storage.wallet_sessions
    credential_id = issue(ledger, wallet_issuer)
    token_hash = hashlib.sha256(
        token_for(ledger, offer(ledger, wallet_issuer, credential_id)).encode()
    ).hexdigest()
    stored, _ = sessions.offer_for_token(token_hash, time.time())
    assert stored is not None
    (delivery,) = storage.ledger.prepare_deliveries(
        [(stored.command, stored.signature, stored.signer)]
    )
    spent_meanwhile, fresh = nonce(ledger), nonce(ledger)
    sessions.spend_nonces([(spent_meanwhile, wallet_issuer.issuer_id)], time.time())
    with pytest.raises(SpendRefused):
        storage.ledger.record_deliveries(
            [(delivery, "ab" * 32, 0)],
            sessions.delivery_spends([fresh, spent_meanwhile], [token_hash], time.time()),
        )
    assert ledger.public.status(credential_id)["wallet_deliveries"] == 0
    assert sessions.offer_for_token(token_hash, time.time()) == (stored, "")
    assert sessions.fresh_nonces([fresh], time.time()) == {fresh}


class _RacedSessions:
    """The store's wallet sessions, with another worker spending each nonce just after this
    one checked it."""

    def __init__(self, sessions: WalletSessions) -> None:
        self._sessions = sessions

    def fresh_nonces(self, nonces: list[str], now: float) -> set[str]:
        fresh = self._sessions.fresh_nonces(nonces, now)
        self._sessions.spend_nonces([(n, "another worker") for n in nonces], now)
        return fresh

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sessions, name)


def test_a_nonce_spent_by_another_worker_during_the_delivery_is_refused_and_nothing_recorded(
    ledger: RunningLedger, wallet_issuer: RegisteredIssuer
) -> None:
    storage = ledger.embedded.storage
    raced: Any = _RacedSessions(storage.wallet_sessions)
    issuer = WalletIssuer(storage.ledger, raced, ledger.url)
    credential_id = issue(ledger, wallet_issuer)
    token = token_for(ledger, offer(ledger, wallet_issuer, credential_id))
    request = {"proofs": {"jwt": [Holder().proof(ledger.url, nonce(ledger))]}}
    with pytest.raises(InvalidNonce, match="nonce is not a fresh one"):
        issuer.credential(f"Bearer {token}", request)
    assert ledger.public.status(credential_id)["wallet_deliveries"] == 0
    # The token was not spent: with a fresh nonce the wallet gets its credential.
    answer = credential_request(ledger, token, Holder().proof(ledger.url, nonce(ledger)))
    assert answer.status_code == 200, answer.text
    assert ledger.public.status(credential_id)["wallet_deliveries"] == 1


def test_status_entries_are_never_given_twice_across_processes(
    ledger: RunningLedger, wallet_issuer: RegisteredIssuer
) -> None:
    storage = ledger.embedded.storage
    one = storage.wallet_sessions
    other = type(one)(storage.ledger.recorder)  # a second worker on the same store
    taken = [
        s.take_status_entry(wallet_issuer.issuer_id) for s in (one, other) * STATUS_ENTRY_BLOCK
    ]
    taken += [
        i
        for i in one.spend_nonces([(nonce(ledger), wallet_issuer.issuer_id)], time.time())
        if i is not None
    ]
    assert len(taken) == len(set(taken)) == 2 * STATUS_ENTRY_BLOCK + 1
