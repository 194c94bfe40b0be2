"""C2SP tlog-checkpoints as signed notes, signed and verified with Ed25519.

A checkpoint's text is three lines: the log's origin, the tree size in decimal, and the base64
root hash. A signed note is that text, a blank line, and one line per signature:
``— <name> base64(key id || signature)``, where the key id is the first four bytes of
``SHA-256(name || 0x0A || 0x01 || public key)`` (c2sp.org/signed-note, Ed25519 type 0x01).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from anchors.merkle import HASH_SIZE, VerificationError

_ED25519 = b"\x01"
_DASH = "\u2014"


@dataclass(frozen=True)
class Checkpoint:
    """A log's state: which log, how many entries, and their root hash."""

    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        lines = body.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise VerificationError("a checkpoint is origin, size and root hash lines")
        origin, size_text, root_text = lines[0], lines[1], lines[2]
        if not origin or not size_text.isdigit() or (size_text != "0" and size_text[0] == "0"):
            raise VerificationError("the checkpoint's origin or size line is malformed")
        try:
            root = base64.b64decode(root_text, validate=True)
        except binascii.Error:
            raise VerificationError("the checkpoint's root hash is not base64") from None
        if len(root) != HASH_SIZE:
            raise VerificationError("the checkpoint's root hash is not 32 bytes")
        return cls(origin, int(size_text), root)


def _key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + _ED25519 + public_key).digest()[:4]


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


class NoteSigner:
    """Signs notes under a key name with an Ed25519 private key."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        if not name or any(c.isspace() for c in name) or "+" in name:
            raise ValueError("a key name is non-empty, without spaces or '+'")
        self.name = name
        self._key = private_key
        self._public = _raw(private_key.public_key())
        self._key_id = _key_id(name, self._public)

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> NoteSigner:
        return cls(name, Ed25519PrivateKey.from_private_bytes(seed))

    def verifier_key(self) -> str:
        """The public verifier key: ``name+hex(key id)+base64(0x01 || public key)``."""
        encoded = base64.b64encode(_ED25519 + self._public).decode()
        return f"{self.name}+{self._key_id.hex()}+{encoded}"

    def sign(self, text: str) -> str:
        """The signed note: ``text`` (ending in a newline), a blank line, the signature line."""
        if not text.endswith("\n"):
            raise ValueError("a note's text ends with a newline")
        signature = self._key.sign(text.encode())
        blob = base64.b64encode(self._key_id + signature).decode()
        return f"{text}\n{_DASH} {self.name} {blob}\n"


@dataclass(frozen=True)
class NoteVerifier:
    """Checks signatures by one named Ed25519 key."""

    name: str
    key_id: bytes
    public_key: Ed25519PublicKey

    @classmethod
    def parse(cls, verifier_key: str) -> NoteVerifier:
        try:
            name, key_id_hex, encoded = verifier_key.split("+", 2)
            raw = base64.b64decode(encoded, validate=True)
            key_id = bytes.fromhex(key_id_hex)
        except (ValueError, binascii.Error):
            raise VerificationError("the verifier key is not name+keyid+base64") from None
        if raw[:1] != _ED25519 or len(raw) != 33 or len(key_id) != 4:
            raise VerificationError("the verifier key is not an Ed25519 note key")
        if _key_id(name, raw[1:]) != key_id:
            raise VerificationError("the verifier key's id does not match its name and key")
        return cls(name, key_id, Ed25519PublicKey.from_public_bytes(raw[1:]))


def open_note(note: str, verifier: NoteVerifier) -> str:
    """The text of ``note`` if ``verifier``'s key signed it; ignores other keys' signatures."""
    text, separator, signatures = note.partition("\n\n")
    if not separator or not signatures.endswith("\n"):
        raise VerificationError("a signed note is text, a blank line and signature lines")
    text += "\n"
    for line in signatures[:-1].split("\n"):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != _DASH:
            raise VerificationError(f"malformed signature line {line!r}")
        _, name, blob = parts
        try:
            raw = base64.b64decode(blob, validate=True)
        except binascii.Error:
            raise VerificationError(f"signature of {name} is not base64") from None
        if name != verifier.name or raw[:4] != verifier.key_id:
            continue
        try:
            verifier.public_key.verify(raw[4:], text.encode())
        except InvalidSignature:
            raise VerificationError(f"the signature by {name} does not verify") from None
        return text
    raise VerificationError(f"the note carries no signature by {verifier.name}")


def verify_checkpoint(note: str, verifier: NoteVerifier, origin: str) -> Checkpoint:
    """The checkpoint in ``note``, if signed by ``verifier`` for ``origin``."""
    checkpoint = Checkpoint.parse(open_note(note, verifier))
    if checkpoint.origin != origin:
        raise VerificationError(f"the checkpoint is for {checkpoint.origin!r}, not {origin!r}")
    return checkpoint
