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


def check_envelope_signature(envelope: dict[str, Any], register: IssuerRegister) -> str | None:
    """Why the envelope's issuer signature does not hold, or None if it does."""
    if envelope["type"] not in _SIGNED:
        return None
    command = {k: v for k, v in envelope["content"].items() if k not in RECORDED_BESIDE}
    issuer = str(envelope["issuer_id"])
    try:
        # Issuer commands hold only text (their schema admits nothing else), so the plain
        # canonical form applies; a command that is not text fails the signature, as it should.
        signer = (
            "0x"
            + recover_signer(canonical_bytes_of_text(command), str(envelope["signature"])).hex()
        )
    except SignatureFormatError as exc:
        return f"the issuer signature is unusable: {exc}"
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
