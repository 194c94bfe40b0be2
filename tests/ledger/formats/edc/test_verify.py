"""Verifying a sealed EDC credential against a ledger's public record: a faithful credential is
valid; any change of any part, to any JSON value, fails a named step and never raises."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from ledger.domain.commitment import commit
from ledger.formats.edc.credential import edc_credential
from ledger.formats.edc.demo_pki import DemoCA, SealIdentity
from ledger.formats.edc.seal import certificate_digest, read_sealed, seal
from ledger.formats.edc.verify import TrustAnchors, verify_sealed
from tests.conftest import store_independent_for_balance
from tests.ledger.formats.edc import builders

# The ledger's record is given, not stored: the SQLite pass runs these.
pytestmark = store_independent_for_balance

LEARNER = builders.FULL_LEARNER
SALT = builders.SALT
COMMITMENT = commit(LEARNER, SALT)


class PublicRecord:
    """A ledger's public record of one sealed credential version, as the API would answer."""

    def __init__(self, sealed: dict[str, Any], identity: SealIdentity) -> None:
        read = read_sealed(sealed)
        self.digest = read.digest
        self.certificate = {
            "sha256": certificate_digest(identity.certificate),
            "not_before": "2000-01-01T00:00:00Z",
            "not_after": "2100-01-01T00:00:00Z",
            "legal_identifier": "VATIE-1234567X",
            "country": builders.issuer()["legal_identifier"]["country"],
            "retired_at": None,
            "revoked_at": None,
        }

    def seal_record(self, digest: str) -> dict[str, Any] | None:
        if digest != self.digest:
            return None
        return {
            "credential_id": builders.CREDENTIAL_ID,
            "version": 1,
            "certificate_sha256": self.certificate["sha256"],
            "recorded_at": "2026-11-29T12:00:00Z",
            "position": 7,
        }

    def seal_certificates(self, issuer_id: str) -> list[dict[str, Any]]:
        return [self.certificate] if issuer_id == builders.ISSUER_ID else []

    def issuer(self, issuer_id: str) -> dict[str, Any] | None:
        entry = builders.issuer()
        return {k: entry[k] for k in ("legal_name", "country", "region", "quality_assurance")}

    def credential(self, credential_id: str) -> dict[str, Any] | None:
        content = {k: v for k, v in full_content().items() if k != "learner"}
        version = {"version": 1, "status": "active", "superseded_by": None, "content": content}
        return {"versions": [version], "revocation": None}

    def commitment_of(self, credential_id: str, version: int) -> str | None:
        return COMMITMENT

    def anchoring(self, position: int, digest: str) -> tuple[bool | None, str]:
        return True, "anchored"


def full_content() -> dict[str, Any]:
    return {**builders.full_content(), "learner": {"commitment": COMMITMENT}}


@pytest.fixture(scope="module")
def ca() -> DemoCA:
    return DemoCA.create()


@pytest.fixture(scope="module")
def identity(ca: DemoCA) -> SealIdentity:
    return ca.issue_seal("Example TU", "VATIE-1234567X", "IE")


def credential() -> dict[str, Any]:
    return edc_credential(
        credential_id=builders.CREDENTIAL_ID,
        version=1,
        content=full_content(),
        learner=LEARNER,
        salt=SALT,
        issuer=builders.issuer(),
    )


def check(
    payload: dict[str, Any], identity: SealIdentity, ca: DemoCA
) -> tuple[str, dict[str, Any]]:
    sealed = seal(payload, identity.chain, identity.key, datetime.now(UTC))
    record = PublicRecord(
        seal(credential(), identity.chain, identity.key, datetime.now(UTC)), identity
    )
    record.digest = read_sealed(sealed).digest  # the ledger recorded this very seal
    report = verify_sealed(sealed, record, TrustAnchors((ca.certificate,)))
    return report.verdict, {s.name: s.passed for s in report.steps}


def test_a_faithful_credential_is_valid(identity: SealIdentity, ca: DemoCA) -> None:
    verdict, steps = check(credential(), identity, ca)
    assert verdict == "valid", steps
    assert all(steps.values())


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if path else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _paths(inner, (*path, index))
    return found


HOSTILE = [None, -1, True, "", [None], {}, {"@id": "urn:x"}]


def _replaced(document: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    target: Any = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return changed


def test_any_part_changed_to_any_value_is_never_valid_and_never_raises(
    identity: SealIdentity, ca: DemoCA
) -> None:
    original = credential()
    paths = _paths(original)
    # Every top-level member, and a spread of nested ones (every 29th), to every hostile value.
    chosen = [p for p in paths if len(p) == 1] + paths[::29]
    verdicts: dict[str, int] = {}
    for path in chosen:
        for value in HOSTILE:
            changed = _replaced(original, path, value)
            if changed == original:
                continue
            verdict, _ = check(changed, identity, ca)
            verdicts[verdict] = verdicts.get(verdict, 0) + 1
            assert verdict != "valid", (path, json.dumps(value))
    assert sum(verdicts.values()) > 100
