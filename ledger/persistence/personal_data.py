"""Personal data kept apart from the events, encrypted, and erasable per learner.

Each learner (per issuer) has a random data key, stored only wrapped by a key derived from the
master key, beside each of their records. Their identification and salts are encrypted under
that data key. Erasing a learner destroys their records and with them the data key: nothing can
decrypt what backups may still hold, and the events, which carry only commitments, stay intact
and verifiable. (Two writers that meet a new learner at the same moment may each give them a
key; each record names its own, and the erasure destroys both. A record sealed under a key
that an erasure destroys before the record is written must not bring the key back: the write
checks, serialised with the erasure, that the key is still held, and otherwise fails as a
concurrent write, so the record is sealed again under a new key.)

A vault remembers the wrapped keys it last saw for learners, so that a new credential is not
preceded by a read of the vault: a learner it does not remember is taken for a new one when the
caller expects that (a credential being issued), and the write then checks, with the others,
that the vault holds no key for them; if it does, the record is sealed again under that key.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ledger.domain import json_text

_NONCE_BYTES = 12
_DATA_KEY_BYTES = 32

# Why a write whose records were sealed under a key that was erased meanwhile is refused.
KEY_ERASED = "a learner's data key was erased while their record was being written"
# Why a write whose records were sealed under a new key for a learner is refused: the vault
# holds a key for them already (the records are sealed again under it).
LEARNER_KNOWN = "a learner taken for a new one already has a data key"
# Why an erasure is refused: the learner's credentials changed after it was decided.
CREDENTIALS_CHANGED = "a learner was given a credential while their erasure was decided"


class RandomBytes:
    """Random bytes read from the operating system once for a batch and handed out in turn:
    a read a nonce cost as much as sealing the record."""

    def __init__(self, size: int) -> None:
        self._bytes = secrets.token_bytes(size)
        self._at = 0

    def take(self, size: int) -> bytes:
        taken = self._bytes[self._at : self._at + size]
        if len(taken) != size:
            raise RuntimeError("more random bytes taken than were drawn")
        self._at += size
        return taken


def _derive(master_key: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master_key)


class _LearnerRefKey:
    """HMAC-SHA256 (RFC 2104) under one key of at most a block (the vault's derived keys are 32
    bytes), its padded key's two hash states computed once.

    ``hmac.digest`` sets the key up again for every message and lets go of the interpreter's
    lock for every call, however short: a bulk request's hundred learners handed the lock to
    the other request threads a hundred times. Copying the two states costs less than half, and
    hashing a message this short keeps the lock.
    """

    _BLOCK = 64  # SHA-256's block size in bytes

    def __init__(self, key: bytes) -> None:
        if len(key) > self._BLOCK:
            raise ValueError("a learner-reference key is at most one SHA-256 block")
        padded = key.ljust(self._BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))

    def hmac_sha256(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


@dataclass(frozen=True)
class SealedRecord:
    """One credential version's personal data, encrypted under its learner's data key, and
    that key, wrapped."""

    commitment: str
    credential_id: str
    learner_ref: str
    ciphertext: bytes
    wrapped_key: bytes


@dataclass(frozen=True)
class OpenedRecord:
    learner: dict[str, Any]
    salt: str


class LearnerCipher:
    """The cryptography of the vault: pseudonymous learner references, key wrapping, sealing."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ValueError("the master key must be 32 bytes")
        self._wrapping = AESGCM(_derive(master_key, b"credledger/v1/wrap-learner-keys"))
        self._pepper = _LearnerRefKey(_derive(master_key, b"credledger/v1/learner-ref"))

    def learner_ref(self, issuer_id: str, identifier: str) -> str:
        """A keyed pseudonym for one learner of one issuer; reveals nothing without the key."""
        message = f"{issuer_id}\n{identifier.strip()}".encode()
        return self._pepper.hmac_sha256(message).hex()

    @staticmethod
    def random_bytes(new_learners: int, records: int) -> RandomBytes:
        """Enough randomness for ``new_learners`` data keys and ``records`` sealed records."""
        return RandomBytes((_DATA_KEY_BYTES + _NONCE_BYTES) * new_learners + _NONCE_BYTES * records)

    @staticmethod
    def new_data_key(random: RandomBytes) -> bytes:
        return random.take(_DATA_KEY_BYTES)

    def wrap(self, learner_ref: str, data_key: bytes, random: RandomBytes) -> bytes:
        nonce = random.take(_NONCE_BYTES)
        return nonce + self._wrapping.encrypt(nonce, data_key, learner_ref.encode())

    def unwrap(self, learner_ref: str, wrapped: bytes) -> bytes:
        nonce, body = wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:]
        return self._wrapping.decrypt(nonce, body, learner_ref.encode())

    @staticmethod
    def seal(
        data_key: bytes, commitment: str, learner: dict[str, Any], salt: str, random: RandomBytes
    ) -> bytes:
        nonce = random.take(_NONCE_BYTES)
        plain = json_text.dumps({"learner": learner, "salt": salt})
        return nonce + AESGCM(data_key).encrypt(nonce, plain, commitment.encode())

    @staticmethod
    def open(data_key: bytes, commitment: str, sealed: bytes) -> OpenedRecord:
        nonce, body = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        plain = json_text.loads(AESGCM(data_key).decrypt(nonce, body, commitment.encode()))
        return OpenedRecord(learner=plain["learner"], salt=plain["salt"])


@dataclass(frozen=True)
class LearnerRecord:
    """What an issue or amend command asks the vault to keep."""

    issuer_id: str
    credential_id: str
    commitment: str
    learner: dict[str, Any]
    salt: str


@dataclass(frozen=True)
class SealedBatch:
    """Personal data ready to store in the same transaction as the events that commit to it,
    and the learners' existing keys it was sealed under, which the write must find still held
    (learner reference to wrapped key), and the learners it took for new ones unasked."""

    records: list[SealedRecord]
    reused_keys: dict[str, bytes]
    # Learners given a new key without asking the vault first: the write finds none held.
    new_learners: list[str]


@dataclass(frozen=True)
class LearnerErasure:
    """Learners whose records are destroyed in the same transaction as the events that record
    their erasure, and the credentials those events name: the write fails (as a concurrent
    write) if the vault holds the learners' data for any other, so a credential issued to
    them meanwhile is never left without its data yet not recorded as erased."""

    learner_refs: list[str]
    credential_ids: list[str]


class PersonalDataVault(ABC):
    """Seals, reads and erases learners' personal data; one implementation per backend.

    Sealed batches are written by the event store's recorder, atomically with the events, so
    an event never commits to data the ledger does not hold.
    """

    # How many learners' wrapped keys a vault remembers (about 200 bytes each).
    REMEMBERED = 20_000

    def __init__(self, cipher: LearnerCipher) -> None:
        self.cipher = cipher
        # Oldest first: an ordered dict drops its first item at once, where a dict's first
        # item is found past every slot deleted before it.
        self._remembered: OrderedDict[str, bytes] = OrderedDict()
        self._remembered_lock = threading.Lock()

    def seal(
        self, records: list[LearnerRecord], *, expect_new: bool = False, fresh: bool = False
    ) -> SealedBatch:
        """Encrypt each record under its learner's data key, creating keys for new learners.

        A learner's key is the one remembered, else the vault's (one read for all), else a new
        one. ``expect_new``: a learner not remembered is taken for a new one without reading
        the vault (the write checks). ``fresh``: nothing remembered is used (a write sealed
        under it was refused).
        """
        refs = {
            r.commitment: self.cipher.learner_ref(r.issuer_id, str(r.learner["identifier"]))
            for r in records
        }
        learners = set(refs.values())
        with self._remembered_lock:
            if fresh:
                for ref in learners:
                    self._remembered.pop(ref, None)
            wrapped_keys = {r: self._remembered[r] for r in learners if r in self._remembered}
        unknown = sorted(learners - wrapped_keys.keys())
        if unknown and not expect_new:
            wrapped_keys.update(self._wrapped_keys(unknown))
        reused_keys = dict(wrapped_keys)
        new_learners = unknown if expect_new else []  # not looked up: taken for new
        random = self.cipher.random_bytes(len(learners - wrapped_keys.keys()), len(records))
        data_keys: dict[str, bytes] = {}
        for ref in learners:
            if ref in wrapped_keys:
                data_keys[ref] = self.cipher.unwrap(ref, wrapped_keys[ref])
            else:
                data_keys[ref] = self.cipher.new_data_key(random)
                wrapped_keys[ref] = self.cipher.wrap(ref, data_keys[ref], random)
        sealed = [
            SealedRecord(
                r.commitment,
                r.credential_id,
                refs[r.commitment],
                self.cipher.seal(
                    data_keys[refs[r.commitment]], r.commitment, r.learner, r.salt, random
                ),
                wrapped_keys[refs[r.commitment]],
            )
            for r in records
        ]
        self._remember(wrapped_keys)
        return SealedBatch(sealed, reused_keys, new_learners)

    def _remember(self, wrapped_keys: dict[str, bytes]) -> None:
        with self._remembered_lock:
            remembered = self._remembered
            remembered.update(wrapped_keys)
            while len(remembered) > self.REMEMBERED:
                remembered.popitem(last=False)

    def forget(self, learner_refs: list[str]) -> None:
        """Forget the keys of learners whose records are being erased."""
        with self._remembered_lock:
            for ref in learner_refs:
                self._remembered.pop(ref, None)

    def get(self, commitment: str) -> OpenedRecord | None:
        """The clear data behind ``commitment``, or None if unknown or erased."""
        return self.get_many([commitment]).get(commitment)

    def get_many(self, commitments: list[str]) -> dict[str, OpenedRecord]:
        """The clear data behind each commitment the vault still holds, in one read."""
        opened: dict[str, OpenedRecord] = {}
        data_keys: dict[str, bytes] = {}
        for commitment, (ref, ciphertext, wrapped) in self._load(commitments).items():
            if ref not in data_keys:
                data_keys[ref] = self.cipher.unwrap(ref, wrapped)
            opened[commitment] = self.cipher.open(data_keys[ref], commitment, ciphertext)
        return opened

    def held(self, commitments: list[str]) -> set[str]:
        """Which of ``commitments`` the vault still holds data for (not erased)."""
        return set(self._load(commitments))

    @abstractmethod
    def erasures(self) -> int:
        """How many deletions of personal data the vault has seen so far (a count that only
        grows): whoever reads the same count before and after reading records knows that
        none of them was erased in between."""

    def learner_of(self, commitment: str) -> str | None:
        """The learner reference behind ``commitment``, if its data is still held."""
        found = self._load([commitment]).get(commitment)
        return None if found is None else found[0]

    @abstractmethod
    def credentials_of(self, learner_ref: str) -> list[str]:
        """Ids of the credentials whose data the vault holds for this learner."""

    @abstractmethod
    def erase(self, learner_ref: str) -> None:
        """Destroy every record of the learner, and with them the data key they carry."""

    @abstractmethod
    def _wrapped_keys(self, learner_refs: list[str]) -> dict[str, bytes]: ...

    @abstractmethod
    def spend_read(self, nonce: str, now: float, expires: float) -> bool:
        """Record a signed read as answered until ``expires`` (epoch seconds); False if it was
        already. Kept beside the learners' data, so every API worker sees it."""

    @abstractmethod
    def _load(self, commitments: list[str]) -> dict[str, tuple[str, bytes, bytes]]:
        """(learner_ref, ciphertext, wrapped data key) of each commitment still held."""
