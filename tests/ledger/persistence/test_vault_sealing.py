"""A batch of personal data is sealed with fresh randomness for every key and nonce."""

from __future__ import annotations

import os

import pytest

from ledger.persistence.personal_data import (
    LearnerCipher,
    LearnerRecord,
    PersonalDataVault,
    RandomBytes,
    SealedRecord,
)

NONCE = 12


class MemoryVault(PersonalDataVault):
    """The vault's sealing over a dictionary of wrapped keys (what a recorder would store)."""

    def __init__(self) -> None:
        super().__init__(LearnerCipher(os.urandom(32)))
        self.keys: dict[str, bytes] = {}

    def _wrapped_keys(self, learner_refs: list[str]) -> dict[str, bytes]:
        return {ref: self.keys[ref] for ref in learner_refs if ref in self.keys}

    def _load(self, commitments: list[str]) -> dict[str, tuple[str, bytes, bytes]]:
        raise NotImplementedError

    def credentials_of(self, learner_ref: str) -> list[str]:
        raise NotImplementedError

    def erase(self, learner_ref: str) -> None:
        raise NotImplementedError

    def erasures(self) -> int:
        raise NotImplementedError

    def spend_read(self, nonce: str, now: float, expires: float) -> bool:
        raise NotImplementedError


def record(learner: str, number: int) -> LearnerRecord:
    return LearnerRecord(
        "issuer-1",
        f"credential-{number}",
        f"{number:064x}",
        {"identifier": learner, "full_name": f"Learner {learner}"},
        f"salt-{number}",
    )


def keys_of(records: list[SealedRecord]) -> dict[str, bytes]:
    return {r.learner_ref: r.wrapped_key for r in records}


def test_every_record_and_new_key_of_a_batch_has_its_own_nonce() -> None:
    vault = MemoryVault()
    vault.keys.update(keys_of(vault.seal([record("known", 0)]).records))
    batch = vault.seal([record(f"new-{n % 5}", n) for n in range(1, 11)] + [record("known", 11)])
    new_keys = {k for ref, k in keys_of(batch.records).items() if ref not in vault.keys}
    nonces = [r.ciphertext[:NONCE] for r in batch.records] + [k[:NONCE] for k in new_keys]
    assert len(new_keys) == 5
    assert len(set(nonces)) == len(nonces) == 16


def test_a_known_learners_records_carry_the_key_they_already_have() -> None:
    vault = MemoryVault()
    vault.keys.update(keys_of(vault.seal([record("known", 0)]).records))
    batch = vault.seal([record("known", 1), record("known", 2)])
    assert [r.wrapped_key for r in batch.records] == [*vault.keys.values()] * 2


def test_each_sealed_record_opens_to_what_was_sealed() -> None:
    vault = MemoryVault()
    records = [record(f"learner-{n % 3}", n) for n in range(9)]
    batch = vault.seal(records)
    assert len(keys_of(batch.records)) == 3
    for sealed, original in zip(batch.records, records, strict=True):
        data_key = vault.cipher.unwrap(sealed.learner_ref, sealed.wrapped_key)
        opened = vault.cipher.open(data_key, original.commitment, sealed.ciphertext)
        assert (opened.learner, opened.salt) == (original.learner, original.salt)


def test_random_bytes_are_handed_out_once_each() -> None:
    random = RandomBytes(40)
    taken = [random.take(12), random.take(12), random.take(16)]
    assert b"".join(taken) == random._bytes
    with pytest.raises(RuntimeError, match="more random bytes"):
        random.take(1)
