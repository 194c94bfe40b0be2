"""credledger's EDC seals in the EU's own signature library, EU DSS 6.2 (Java), unchanged.

The program in ``tests/interop/dss`` (built by tests/run.sh with Maven) validates files offline
with the demo CA as the only trust anchor and no online source. Every credential's seal is
JAdES-BASELINE-B and TOTAL_PASSED; a changed payload byte or signature bit is TOTAL_FAILED /
HASH_FAILURE (DSS reports a broken signature value as a hash failure); a seal by a certificate
the CA did not issue is INDETERMINATE / NO_CERTIFICATE_CHAIN_FOUND. The seal certificates carry
``noRevAvail`` (RFC 9608), so DSS's stock policy asks for no revocation data.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ledger.formats.edc.credential import edc_credential
from ledger.formats.edc.demo_pki import DemoCA
from ledger.formats.edc.seal import seal
from tests.conftest import STORE
from tests.ledger.formats.edc import builders

ROOT = Path(__file__).resolve().parents[2]
DSS = ROOT / ".deploy" / "dss"

pytestmark = pytest.mark.skipif(
    STORE != "sqlite",
    reason="seals do not depend on the store: the interoperability run is the SQLite pass's",
)


def flip_signature_bit(sealed: dict[str, Any]) -> None:
    signature = bytearray(base64.urlsafe_b64decode(sealed["signatures"][0]["signature"] + "=="))
    signature[-1] ^= 0x01
    sealed["signatures"][0]["signature"] = base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


def change_payload_byte(sealed: dict[str, Any]) -> None:
    sealed["payload"] = sealed["payload"].replace("Zoë", "Zoe", 1)


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, str, str]]:
    """DSS's (indication, sub-indication, format) for each sealed file, in one JVM run."""
    folder = tmp_path_factory.mktemp("dss")
    ca, rogue = DemoCA.create(), DemoCA.create("a CA nobody trusts")
    (folder / "ca.pem").write_bytes(ca.certificate_pem())
    ec_seal = ca.issue_seal("Example Technological University", "VATIE-1234567X", "IE")
    rsa_seal = ca.issue_seal(
        "Example Technological University", "VATIE-1234567X", "IE", rsa_key=True
    )
    untrusted = rogue.issue_seal("Example Technological University", "VATIE-1234567X", "IE")
    now = datetime.now(UTC)
    files: dict[str, dict[str, Any]] = {}
    for name, (content, learner) in {
        "sample": (builders.content(), builders.LEARNER),
        "minimal": (builders.minimal_content(), builders.LEARNER),
        "full": (builders.full_content(), builders.FULL_LEARNER),
    }.items():
        credential = edc_credential(
            credential_id=builders.CREDENTIAL_ID,
            version=1,
            content=content,
            learner=learner,
            salt=builders.SALT,
            issuer=builders.issuer(),
        )
        files[f"{name}-es256"] = seal(credential, ec_seal.chain, ec_seal.key, now)
        files[f"{name}-rs256"] = seal(credential, rsa_seal.chain, rsa_seal.key, now)
    files["sample-ps256"] = seal(
        json.loads(files["sample-es256"]["payload"]),
        rsa_seal.chain,
        rsa_seal.key,
        now,
        rsa_pss=True,
    )
    changes: dict[str, Callable[[dict[str, Any]], None]] = {
        "payload-changed": change_payload_byte,
        "signature-changed": flip_signature_bit,
    }
    for name, change in changes.items():
        changed = json.loads(json.dumps(files["sample-es256"]))
        change(changed)
        files[name] = changed
    files["untrusted"] = seal(
        json.loads(files["sample-es256"]["payload"]), untrusted.chain, untrusted.key, now
    )
    paths = []
    for name, sealed in files.items():
        path = folder / f"{name}.jsonld"
        path.write_text(json.dumps(sealed, ensure_ascii=False), "utf-8")
        paths.append(str(path))
    result = subprocess.run(
        [
            "java",
            "-cp",
            f"{DSS / 'classes'}:{DSS / 'lib'}/*",
            "dev.credledger.dss.ValidateSeals",
            str(folder / "ca.pem"),
            *paths,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    found = {}
    for line in result.stdout.splitlines():
        path, indication, sub_indication, signature_format = line.split("\t")
        found[Path(path).stem] = (indication, sub_indication, signature_format)
    return found


@pytest.mark.parametrize(
    "name",
    [
        "sample-es256",
        "sample-rs256",
        "sample-ps256",
        "minimal-es256",
        "minimal-rs256",
        "full-es256",
        "full-rs256",
    ],
)
def test_every_sealed_credential_passes_as_jades_baseline_b(
    verdicts: dict[str, tuple[str, str, str]], name: str
) -> None:
    assert verdicts[name] == ("TOTAL_PASSED", "null", "JAdES-BASELINE-B")


@pytest.mark.parametrize("name", ["payload-changed", "signature-changed"])
def test_a_changed_byte_or_bit_fails_with_a_hash_failure(
    verdicts: dict[str, tuple[str, str, str]], name: str
) -> None:
    assert verdicts[name][:2] == ("TOTAL_FAILED", "HASH_FAILURE")


def test_a_seal_by_a_certificate_of_another_ca_finds_no_chain(
    verdicts: dict[str, tuple[str, str, str]],
) -> None:
    assert verdicts["untrusted"][:2] == ("INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND")
