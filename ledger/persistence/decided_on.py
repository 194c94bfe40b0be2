"""The issuers a command was decided on, at the versions it read: a write's precondition.

A command's signature is checked against its issuer as the store held it when the command was
decided; the command's events are written afterwards, in a transaction of their own. An issuer
key rotated, or the issuer suspended, in between would put those events after the change in
the store's order, where the audit (which checks every signature against the register as it
stood at the event's position) rightly refuses them. So the write names the issuers and their
versions, and the recorder, once it holds the store's write lock, fails it as a conflict if
any has moved on; the ledger then decides the command again, on the issuer as it now stands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from uuid import UUID

# The recorders' words when an issuer moved on (an integrity error: the ledger decides again).
ISSUER_MOVED = "an issuer the command was decided on changed before it was written"


@dataclass(frozen=True)
class DecidedOn:
    """Issuer id → the version the decision read."""

    versions: Mapping[UUID, int]
