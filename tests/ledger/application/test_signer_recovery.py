"""A bulk request's signers are recovered beside its other checks, with the same outcomes."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from ledger.application.command_checks import check_issue, check_issues
from ledger.application.signer_recovery import MINIMUM, SignerRecovery
from ledger.client import CommandSigner
from ledger.domain.content import DEFAULT_RULES
from ledger.domain.errors import LedgerError
from ledger.domain.signing import IssuerKey
from tests.conftest import LEARNER, content

ISSUER_ID = str(uuid.uuid4())
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

Body = tuple[dict[str, Any], str, dict[str, Any] | None]


def body(signer: CommandSigner) -> Body:
    signed = signer.issue(content(), LEARNER)
    return signed["command"], signed["signature"], signed["personal_data"]


def high_s(signature: str) -> str:
    raw = bytes.fromhex(signature[2:])
    mirrored = (N - int.from_bytes(raw[32:64], "big")).to_bytes(32, "big")
    return "0x" + (raw[:32] + mirrored + bytes([55 - raw[64]])).hex()


def mixed_bodies() -> list[Body]:
    """Forty bodies of several signers, with every kind of refusal among them."""
    signers = [CommandSigner(IssuerKey.generate(), ISSUER_ID) for _ in range(3)]
    bodies = [body(signers[i % 3]) for i in range(40)]
    bodies[3][0]["content"]["title"] = "Not what was signed"  # another address is recovered
    bodies[7] = (bodies[7][0], "0x1234", bodies[7][2])
    bodies[11] = (bodies[11][0], high_s(bodies[11][1]), bodies[11][2])
    bodies[19] = (bodies[19][0], "0x" + "00" * 65, bodies[19][2])
    bodies[23][0]["content"]["issuer_country"] = "http://example.org/not-a-country"
    bodies[29] = (bodies[29][0], bodies[29][1], None)
    return bodies


def described(outcome: Any) -> Any:
    if isinstance(outcome, LedgerError):
        return type(outcome), outcome.detail, outcome.extra
    return outcome


@pytest.mark.parametrize("idle", [True, False], ids=["helped", "alone"])
def test_a_bulk_check_gives_each_body_the_outcome_a_lone_check_gives(idle: bool) -> None:
    bodies = mixed_bodies()
    now = datetime.now(UTC)
    recovery = SignerRecovery(idle=lambda: idle)
    try:
        together = check_issues(bodies, now, DEFAULT_RULES, recovery)
    finally:
        recovery.close()
    alone = [check_issue(b, now, DEFAULT_RULES) for b in bodies]
    assert [described(o) for o in together] == [described(o) for o in alone]
    refused = [i for i, o in enumerate(together) if isinstance(o, LedgerError)]
    assert refused == [7, 11, 19, 23, 29]


def test_signers_come_back_in_the_order_their_messages_were_submitted() -> None:
    keys = [IssuerKey.generate() for _ in range(2 * MINIMUM + 5)]
    recovery = SignerRecovery(idle=lambda: True)
    try:
        signed = [
            (f"message {i}".encode(), k.sign(f"message {i}".encode())) for i, k in enumerate(keys)
        ]
        recovered = list(recovery.signers(signed))
    finally:
        recovery.close()
    assert ["0x" + bytes(r).hex() for r in recovered] == [k.address.lower() for k in keys]


def test_a_closed_recovery_starts_a_new_helper_for_the_next_batch() -> None:
    key = IssuerKey.generate()
    recovery = SignerRecovery(idle=lambda: True)
    for _ in range(2):
        signed = [
            (f"message {i}".encode(), key.sign(f"message {i}".encode())) for i in range(2 * MINIMUM)
        ]
        assert {bytes(r).hex() for r in recovery.signers(signed)} == {key.address[2:].lower()}
        recovery.close()


def test_without_an_idle_core_no_helper_thread_is_started() -> None:
    key = IssuerKey.generate()
    recovery = SignerRecovery(idle=lambda: False)
    before = set(threading.enumerate())
    signed = [
        (f"message {i}".encode(), key.sign(f"message {i}".encode())) for i in range(4 * MINIMUM)
    ]
    assert len(list(recovery.signers(signed))) == 4 * MINIMUM
    assert set(threading.enumerate()) <= before
