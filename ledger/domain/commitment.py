"""Salted commitments to a learner's personal data.

Events carry ``SHA-256(salt || JCS(learner))`` in place of the learner's identification, so that
the public history proves which person a credential names without revealing them, and erasing
the salt and the clear data (kept apart, encrypted) leaves every hash and proof intact.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Any

from ledger.domain.canonical import canonical_bytes, canonical_bytes_of_text

SALT_BYTES = 32


def new_salt() -> str:
    """A fresh random salt, as hex; one per credential version, so commitments never link."""
    return secrets.token_hex(SALT_BYTES)


def commit(learner: dict[str, Any], salt_hex: str) -> str:
    """The commitment (lower-case hex) to ``learner`` under ``salt_hex``."""
    return _commit(learner, salt_hex, canonical_bytes)


def _commit(learner: dict[str, Any], salt_hex: str, canonical: Callable[[Any], bytes]) -> str:
    salt = bytes.fromhex(salt_hex)
    if len(salt) != SALT_BYTES:
        raise ValueError(f"the salt must be {SALT_BYTES} bytes ({2 * SALT_BYTES} hex digits)")
    return hashlib.sha256(salt + canonical(learner)).hexdigest()


def matches(learner: dict[str, Any], salt_hex: str, commitment: str) -> bool:
    """Whether ``commitment`` opens to ``learner`` (as dumped by its validated model)."""
    try:
        expected = _commit(learner, salt_hex, canonical_bytes_of_text)
    except ValueError:
        return False
    return hmac.compare_digest(expected, commitment)
