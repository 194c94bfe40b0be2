"""A learner's reference is HMAC-SHA256 (RFC 2104) of the issuer and the learner's identifier
under a key derived from the master key: the same value for ever, as stores already hold it."""

from __future__ import annotations

import hashlib
import hmac
from concurrent.futures import ThreadPoolExecutor

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ledger.persistence.personal_data import LearnerCipher

MASTER_KEY = bytes(range(32))
ISSUER = "060ec7bc-f920-5c33-9d55-2a72a439daf7"
IDENTIFIERS = ["s0000001", "  urn:schac:personalUniqueCode:ie:tud.ie:C21  ", "Łukasz Ó'Brien", ""]


def by_the_standard_library(issuer_id: str, identifier: str) -> str:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"credledger/v1/learner-ref"
    ).derive(MASTER_KEY)
    message = f"{issuer_id}\n{identifier.strip()}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def test_a_learner_reference_is_hmac_sha256_of_issuer_and_identifier() -> None:
    cipher = LearnerCipher(MASTER_KEY)
    for identifier in IDENTIFIERS:
        assert cipher.learner_ref(ISSUER, identifier) == by_the_standard_library(ISSUER, identifier)


def test_request_threads_computing_references_at_once_get_the_same_values() -> None:
    cipher = LearnerCipher(MASTER_KEY)
    identifiers = [f"s{i:07}" for i in range(400)]
    expected = [by_the_standard_library(ISSUER, i) for i in identifiers]
    with ThreadPoolExecutor(8) as pool:
        for _ in range(4):
            assert list(pool.map(lambda i: cipher.learner_ref(ISSUER, i), identifiers)) == expected
