"""The OpenWallet Foundation's SD-JWT libraries (@sd-jwt/sd-jwt-vc, @sd-jwt/crypto-nodejs and
@sd-jwt/jwt-status-list 0.19.0, from npm, installed by tests/run.sh) as the learner's wallet
against a running ``credledger serve``: the whole pre-authorized code flow, the library's
verification of what it received and of its own presentation, ``POST /verify`` of that
presentation, and the Token Status List after a revocation, read by the library and by the
ledger."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ledger.client import CommandSigner, LedgerClient
from ledger.domain import samples
from ledger.domain.codelists import ECTS
from ledger.domain.signing import IssuerKey
from tests.conftest import STORE, ServeProcess, wait_for

ROOT = Path(__file__).resolve().parents[2]
MODULES = ROOT / ".deploy" / "sd-jwt" / "node_modules"
WALLET = Path(__file__).parent / "sd_jwt" / "wallet.mjs"
SHOWN = ["title", "eqf_level", "credit_points"]
# The library's presentation frame: the title, the EQF level, and the first (ECTS) credit points.
FRAME = json.dumps({"title": True, "eqf_level": True, "credit_points": {"0": True}})
AUDIENCE = "https://employer.example/verifier"

pytestmark = [
    pytest.mark.skipif(
        STORE != "sqlite",
        reason="`credledger serve` in its default (embedded) form; the stores are covered by "
        "the wallet flow tests of both passes",
    ),
    pytest.mark.skipif(
        not (MODULES / "@sd-jwt" / "sd-jwt-vc").is_dir(),
        reason="the @sd-jwt libraries are installed by tests/run.sh",
    ),
]


def wallet(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        ["node", str(WALLET), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SD_JWT_MODULES": str(MODULES)},
    )
    answer: dict[str, Any] = json.loads(done.stdout)
    assert done.returncode == 0, answer
    return answer


def received_by_wallet(offer: dict[str, Any], nonce: str) -> dict[str, Any]:
    """The library wallet takes the offer and presents title, EQF level and credits for
    ``nonce`` and the audience."""
    return wallet(
        "receive", offer["credential_offer_uri"], offer["tx_code"], nonce, AUDIENCE, FRAME
    )


@pytest.fixture
def offered(serve: ServeProcess) -> tuple[LedgerClient, CommandSigner, str, dict[str, Any]]:
    _, url, token = serve
    client = LedgerClient(url)
    key = IssuerKey.generate()
    admin = LedgerClient(url, admin_token=token)
    issuer_id = admin.register_issuer(samples.issuer_registration(key.address))["issuer_id"]
    signer = CommandSigner(key, issuer_id)
    client.adopt_wallet_key(signer.adopt_wallet_key())
    learner = {"identifier": "w-1", "full_name": "Zoë Ångström", "date_of_birth": "1999-12-31"}
    content = samples.credential_content(datetime.now(UTC).replace(microsecond=0))
    credential_id = client.issue(signer.issue(content, learner))["credential_id"]
    offer = client.offer(signer.offer(credential_id, 1))
    return client, signer, credential_id, offer


def test_the_library_wallet_receives_verifies_and_presents_a_subset(
    offered: tuple[LedgerClient, CommandSigner, str, dict[str, Any]],
) -> None:
    client, _, _, offer = offered
    received = received_by_wallet(offer, "n-42")
    assert {"title", "eqf_level", "credit_points", "birthdate", "name"} <= set(
        received["credential_claims"]
    )
    assert received["key_binding"] is True
    assert set(SHOWN) <= set(received["presented_claims"])
    assert received["credit_points"] == [{"framework": ECTS, "point": "5"}]
    assert "birthdate" not in received["presented_claims"]
    assert "name" not in received["presented_claims"]

    report = client.verify(sd_jwt=received["presentation"], nonce="n-42", audience=AUDIENCE)
    disclosed = {c["claim"]: c["value"] for c in report["credential"]["disclosed"]}
    assert disclosed == {
        "title": "Applied Machine Learning",
        "eqf_level": "http://data.europa.eu/snb/eqf/6",
        "credit_points": [{"framework": ECTS, "point": "5"}],
    }
    failed = [s for s in report["steps"] if s["passed"] is False]
    assert failed == []
    assert report["verdict"] in ("valid", "not-anchored")


def test_after_revocation_the_library_and_the_ledger_say_revoked(
    offered: tuple[LedgerClient, CommandSigner, str, dict[str, Any]],
) -> None:
    client, signer, credential_id, offer = offered
    received = received_by_wallet(offer, "n-43")
    assert wallet("status", received["credential"]) == {"status": "valid"}
    client.revoke(signer.revoke(credential_id, 1, "issued in error"))
    wait_for(lambda: wallet("status", received["credential"])["status"] == "invalid")
    assert "Status is not valid" in wallet("status", received["credential"])["error"]
    report = client.verify(sd_jwt=received["presentation"], nonce="n-43", audience=AUDIENCE)
    assert report["verdict"] == "revoked"


def test_a_presentation_changed_after_signing_fails_in_the_library_and_the_ledger(
    offered: tuple[LedgerClient, CommandSigner, str, dict[str, Any]],
) -> None:
    client, _, _, offer = offered
    received = received_by_wallet(offer, "n-44")
    jwt, first, *rest = received["presentation"].split("~")
    salt, name, _ = json.loads(_decode(first))
    forged = _encode([salt, name, "Forged"])
    presentation = "~".join([jwt, forged, *rest])
    assert wallet("verify", presentation, "n-44", AUDIENCE)["verified"] is False
    report = client.verify(sd_jwt=presentation, nonce="n-44", audience=AUDIENCE)
    assert report["verdict"] == "invalid"


def _decode(part: str) -> str:
    import base64

    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode()


def _encode(value: Any) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
