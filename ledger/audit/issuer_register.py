"""The issuer register as the audit replays it, and the issuer signatures checked against it.

The audit trusts no stored register: it rebuilds keys and standing from the history itself, in
order, and checks each signed event against the register as it stood at that point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ledger.domain.binding import COMMAND_OF_EVENT, RECORDED_BESIDE
from ledger.domain.canonical import canonical_bytes_of_text
from ledger.domain.signing import SignatureFormatError, checksum_address, recover_signer

# Every event that records an issuer's signed command.
_SIGNED = frozenset(COMMAND_OF_EVENT)


@dataclass
class IssuerRegister:
    """Issuer keys and standing, replayed from the history in order."""

    keys: dict[str, str] = field(default_factory=dict)
    suspended: set[str] = field(default_factory=set)

    def apply(self, envelope: dict[str, Any]) -> None:
        kind, issuer = envelope["type"], str(envelope["issuer_id"])
        content = envelope["content"]
        if kind == "Issuer.Registered":
            self.keys[str(envelope["aggregate_id"])] = str(content["address"]).lower()
        elif kind == "Issuer.KeyRotated":
            self.keys[issuer] = str(content["new_address"]).lower()
        elif kind == "Issuer.Suspended":
            self.suspended.add(str(envelope["aggregate_id"]))
        elif kind == "Issuer.Reinstated":
            self.suspended.discard(str(envelope["aggregate_id"]))


# The signer an envelope's signature recovers to ("0x…" hex), or why it is unusable; both None
# for an envelope that records no signed command.
Recovery = tuple[str | None, str | None]


def recover_envelope_signer(envelope: dict[str, Any]) -> Recovery:
    """Who signed the command the envelope records: the expensive half of the signature check,
    which needs no register (so it can be done ahead, elsewhere)."""
    if envelope["type"] not in _SIGNED:
        return None, None
    command = {k: v for k, v in envelope["content"].items() if k not in RECORDED_BESIDE}
    try:
        # Issuer commands hold only text (their schema admits nothing else), so the plain
        # canonical form applies; a command that is not text fails the signature, as it should.
        signed = canonical_bytes_of_text(command)
        return "0x" + recover_signer(signed, str(envelope["signature"])).hex(), None
    except SignatureFormatError as exc:
        return None, f"the issuer signature is unusable: {exc}"


def check_envelope_signature(
    envelope: dict[str, Any], register: IssuerRegister, recovered: Recovery | None = None
) -> str | None:
    """Why the envelope's issuer signature does not hold, or None if it does (``recovered``:
    :func:`recover_envelope_signer` of this envelope, done ahead)."""
    if envelope["type"] not in _SIGNED:
        return None
    signer, unusable = recovered if recovered is not None else recover_envelope_signer(envelope)
    if unusable is not None or signer is None:
        return unusable or "the issuer signature is unusable"
    issuer = str(envelope["issuer_id"])
    expected = register.keys.get(issuer)
    if expected is None:
        return f"issuer {issuer} was not registered at this point"
    if signer.lower() != expected:
        return (
            f"signed by {checksum_address(bytes.fromhex(signer[2:]))}, but the key of issuer "
            f"{issuer} was {expected} at this point"
        )
    if issuer in register.suspended:
        return f"issuer {issuer} was suspended at this point"
    return None
