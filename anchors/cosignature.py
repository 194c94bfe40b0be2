"""Witness cosignatures of checkpoints, C2SP tlog-cosignature ``cosignature/v1`` (Ed25519).

A witness signs ``cosignature/v1\\ntime <t>\\n`` followed by the checkpoint's body, and gives a
signed-note signature line ``— <name> base64(key id ‖ t as 8 bytes big-endian ‖ signature)``.
Its key id is ``SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)[:4]`` (type 0x04, not the 0x01 of an
ordinary note key), and its verifier key reads ``<name>+<hex key id>+base64(0x04 ‖ key)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from anchors.merkle import VerificationError

COSIGNATURE_TYPE = b"\x04"
_DASH = "\u2014"
_NAME = re.compile(r"[^\s+\u2014]+")


def _key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + COSIGNATURE_TYPE + public_key).digest()[:4]


def signed_message(body: str, timestamp: int) -> bytes:
    """What a cosignature signs: the header lines, then the checkpoint body."""
    return f"cosignature/v1\ntime {timestamp}\n{body}".encode()


@dataclass(frozen=True)
class Cosignature:
    """A witness's cosignature of a checkpoint body, as its note signature line says."""

    name: str
    key_id: bytes
    timestamp: int
    signature: bytes

    def line(self) -> str:
        packed = self.key_id + self.timestamp.to_bytes(8, "big") + self.signature
        return f"{_DASH} {self.name} {base64.b64encode(packed).decode()}\n"

    @classmethod
    def parse(cls, line: str) -> Cosignature:
        """A signature line; VerificationError unless it has a cosignature's shape."""
        parts = line.rstrip("\n").split(" ")
        if len(parts) != 3 or parts[0] != _DASH or not _NAME.fullmatch(parts[1]):
            raise VerificationError("a cosignature line is '— <name> <base64>'")
        try:
            packed = base64.b64decode(parts[2], validate=True)
        except binascii.Error:
            raise VerificationError("a cosignature line's signature is not base64") from None
        if len(packed) != 4 + 8 + 64:
            raise VerificationError("a cosignature/v1 signature is 76 bytes")
        return cls(parts[1], packed[:4], int.from_bytes(packed[4:12], "big"), packed[12:])


class CosignatureVerifier:
    """A witness's cosignature/v1 verifier key."""

    def __init__(self, vkey: str) -> None:
        name, _, rest = vkey.partition("+")
        key_id_hex, _, encoded = rest.partition("+")
        try:
            key = base64.b64decode(encoded, validate=True)
            key_id = bytes.fromhex(key_id_hex)
        except (binascii.Error, ValueError):
            raise VerificationError(f"witness key {vkey!r} is malformed") from None
        if not _NAME.fullmatch(name) or len(key) != 33 or key[:1] != COSIGNATURE_TYPE:
            raise VerificationError(f"witness key {vkey!r} is no cosignature/v1 Ed25519 key")
        if len(key_id) != 4 or key_id != _key_id(name, key[1:]):
            raise VerificationError(f"witness key {vkey!r}: its key id does not match the key")
        self.vkey = vkey
        self.name = name
        self.key_id = key_id
        self._public = Ed25519PublicKey.from_public_bytes(key[1:])

    def verifies(self, body: str, cosignature: Cosignature) -> bool:
        """Whether ``cosignature`` is this witness's over the checkpoint ``body``."""
        if (cosignature.name, cosignature.key_id) != (self.name, self.key_id):
            return False
        try:
            self._public.verify(cosignature.signature, signed_message(body, cosignature.timestamp))
        except InvalidSignature:
            return False
        return True

    def find(self, note: str) -> Cosignature | None:
        """This witness's valid cosignature among a signed note's lines, if any."""
        body, _, signatures = note.partition("\n\n")
        for line in signatures.splitlines():
            try:
                found = Cosignature.parse(line)
            except VerificationError:
                continue
            if self.verifies(body + "\n", found):
                return found
        return None


class CosignatureSigner:
    """Signs checkpoint bodies as a witness, cosignature/v1."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        if not _NAME.fullmatch(name):
            raise ValueError("a key name has no spaces, '+' or '—'")
        self.name = name
        self._key = private_key
        self._public = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = _key_id(name, self._public)

    @classmethod
    def from_private_key(cls, text: str) -> CosignatureSigner:
        """A witness key in the signed-note private key form Go's tools and the
        transparency-dev witness use: ``PRIVATE+KEY+<name>+<hex id>+base64(0x01 ‖ seed)``."""
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise ValueError("a witness key file holds PRIVATE+KEY+<name>+<id>+<key>")
        try:
            raw = base64.b64decode(parts[4], validate=True)
        except binascii.Error:
            raise ValueError("the witness key is not base64") from None
        if len(raw) != 33 or raw[:1] != b"\x01":
            raise ValueError("the witness key is not an Ed25519 key")
        return cls(parts[2], Ed25519PrivateKey.from_private_bytes(raw[1:]))

    def private_key(self) -> str:
        """The key in that same private key form (its id the ordinary note key's)."""
        seed = self._key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        note_id = hashlib.sha256(self.name.encode() + b"\n\x01" + self._public).digest()[:4]
        encoded = base64.b64encode(b"\x01" + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{note_id.hex()}+{encoded}"

    def verifier_key(self) -> str:
        encoded = base64.b64encode(COSIGNATURE_TYPE + self._public).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    def cosign(self, body: str, timestamp: int) -> Cosignature:
        signature = self._key.sign(signed_message(body, timestamp))
        return Cosignature(self.name, self.key_id, timestamp, signature)


def cosigned_note(note: str, cosignatures: dict[str, str], witnesses: Iterable[str]) -> str:
    """A signed checkpoint note with the stored cosignature lines of ``witnesses`` (verifier
    keys) appended, in the order given; witnesses without one are left out."""
    lines = [cosignatures[vkey] for vkey in witnesses if vkey in cosignatures]
    return note + "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def is_cosignature_key(key: str) -> bool:
    """Whether a witness key is a cosignature/v1 verifier key (``name+id+key``), not BLS hex."""
    return "+" in key


def cosigners(note: str, trusted: Iterable[str]) -> list[str]:
    """The trusted cosignature/v1 witnesses (verifier keys) whose valid cosignature ``note``
    carries; a malformed key among ``trusted`` counts for nothing."""
    found = []
    for vkey in trusted:
        try:
            verifier = CosignatureVerifier(vkey)
        except VerificationError:
            continue
        if verifier.find(note) is not None:
            found.append(vkey)
    return found
