"""The copy of a cached credential that a command works on: whatever the command changes,
the cached credential stays as its events made it."""

from __future__ import annotations

import copy
from typing import Any

from ledger.domain.aggregates import Credential

ISSUER = "3f1c2a9e-7b4d-4e8f-9a1b-2c3d4e5f6a7b"


def command(kind: str, version: str = "1", **more: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "command_id": f"{kind}-1",
        "issuer_id": ISSUER,
        "version": version,
        **more,
    }


def cached() -> Credential:
    credential = Credential(issuer_id=ISSUER, command=command("issue"), signature="sig")
    credential.collect_events()
    return credential


def test_a_command_on_the_copy_leaves_the_cached_credential_as_it_was() -> None:
    original = cached()
    working = copy.deepcopy(original)
    cid = str(original.id)
    working.amend(command("amend", credential_id=cid), "sig-2")
    working.record_seal(command("record-seal", "2", credential_id=cid, seal_sha256="ab"), "s")
    working.record_delivery(command("offer", "2", credential_id=cid), "s", "cd", "kid", 3)
    working.revoke(command("revoke", "2", credential_id=cid), "sig-3")
    assert (len(original.versions), original.version, original.revoked) == (1, 1, False)
    assert (original.seals, original.deliveries) == (set(), 0)
    assert original.collect_events() == []
    assert len(working.collect_events()) == 4


def test_the_copy_is_the_same_credential() -> None:
    original = cached()
    working = copy.deepcopy(original)
    assert (working.id, working.version, working.issuer_id) == (
        original.id,
        original.version,
        original.issuer_id,
    )
    assert working.versions == original.versions
    assert working.modified_on == original.modified_on
