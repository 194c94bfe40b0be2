"""Issuer signatures: secp256k1 over canonical bytes, as Ethereum's ``personal_sign``.

An issuer is identified by an Ethereum address. A command is signed as an EIP-191 personal
message over its RFC 8785 bytes, so any Ethereum wallet or library can produce the signature
and anyone can re-verify it from the public history by recovering the address.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import sha3
from coincurve import PrivateKey, PublicKey

_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HALF_N = _SECP256K1_N // 2


# The addresses of recently recovered public keys: an issuer signs many commands with one key,
# and its address (a Keccak-256 of the key) need not be hashed again for each.
_ADDRESSES: dict[bytes, bytes] = {}
_ADDRESSES_KEPT = 4096


class SignatureFormatError(ValueError):
    """A signature that is not 65 bytes of canonical (low-s) r || s || v."""


def keccak256(data: bytes) -> bytes:
    digest: bytes = sha3.keccak_256(data).digest()
    return digest


def personal_message_hash(message: bytes) -> bytes:
    """The EIP-191 (version 0x45) hash that ``personal_sign`` signs."""
    prefix = b"\x19Ethereum Signed Message:\n" + str(len(message)).encode("ascii")
    return keccak256(prefix + message)


def checksum_address(address_bytes: bytes) -> str:
    """EIP-55 mixed-case hex of a 20-byte address."""
    hex_address = address_bytes.hex()
    digest = keccak256(hex_address.encode("ascii")).hex()
    return "0x" + "".join(
        c.upper() if c.isalpha() and int(digest[i], 16) >= 8 else c
        for i, c in enumerate(hex_address)
    )


def normalize_address(address: str) -> str:
    """The EIP-55 form of an address given in any case; ValueError if it is not one."""
    body = address[2:] if address.lower().startswith("0x") else ""
    if len(body) != 40:
        raise ValueError("an Ethereum address is 0x followed by 40 hex digits")
    try:
        raw = bytes.fromhex(body)
    except ValueError:
        raise ValueError("an Ethereum address is 0x followed by 40 hex digits") from None
    expected = checksum_address(raw)
    if body != body.lower() and body != body.upper() and address != expected:
        raise ValueError("the address's mixed-case EIP-55 checksum is wrong")
    return expected


def _address_of(public_key: PublicKey) -> str:
    return checksum_address(keccak256(public_key.format(compressed=False)[1:])[-20:])


def recover_signer(message: bytes, signature_hex: str) -> bytes:
    """The 20-byte address whose key made ``signature_hex`` over ``message``."""
    body = signature_hex[2:] if signature_hex.startswith("0x") else signature_hex
    try:
        signature = bytes.fromhex(body)
    except ValueError:
        raise SignatureFormatError("the signature is not hex") from None
    if len(signature) != 65:
        raise SignatureFormatError("the signature must be 65 bytes: r, s and v")
    # One encoding per signature: personal_sign's v of 27 or 28. Accepting 0 or 1 as well
    # would give the same signature two spellings, and so two different signed events.
    if signature[64] not in (27, 28):
        raise SignatureFormatError("the signature's recovery byte v must be 27 or 28")
    v = signature[64] - 27
    if int.from_bytes(signature[32:64], "big") > _HALF_N:
        raise SignatureFormatError("the signature's s value must be in the lower half (EIP-2)")
    try:
        public_key = PublicKey.from_signature_and_message(
            signature[:64] + bytes([v]), personal_message_hash(message), hasher=None
        )
    except Exception as exc:  # coincurve raises plain Exception for unrecoverable input
        raise SignatureFormatError("no public key can be recovered from the signature") from exc
    public = public_key.format(compressed=False)[1:]
    address = _ADDRESSES.get(public)
    if address is None:
        if len(_ADDRESSES) >= _ADDRESSES_KEPT:
            _ADDRESSES.clear()
        address = _ADDRESSES[public] = keccak256(public)[-20:]
    return address


def recover_address(message: bytes, signature_hex: str) -> str:
    """The EIP-55 address whose key made ``signature_hex`` over ``message``."""
    return checksum_address(recover_signer(message, signature_hex))


def address_bytes(address: str) -> bytes:
    return bytes.fromhex(address[2:])


class IssuerKey:
    """An issuer's secp256k1 signing key."""

    def __init__(self, private_key: PrivateKey) -> None:
        self._key = private_key
        self.address = _address_of(private_key.public_key)

    @classmethod
    def generate(cls) -> IssuerKey:
        return cls(PrivateKey())

    @classmethod
    def from_hex(cls, secret_hex: str) -> IssuerKey:
        body = secret_hex[2:] if secret_hex.startswith("0x") else secret_hex
        return cls(PrivateKey(bytes.fromhex(body)))

    def secret(self) -> bytes:
        return bytes(self._key.secret)

    def secret_hex(self) -> str:
        return "0x" + self._key.secret.hex()

    def sign(self, message: bytes) -> str:
        """The ``personal_sign`` signature (0x-hex, v = 27 or 28) over ``message``."""
        raw = self._key.sign_recoverable(personal_message_hash(message), hasher=None)
        return "0x" + (raw[:64] + bytes([raw[64] + 27])).hex()

    def save(self, path: Path) -> None:
        """Write the key as JSON readable only by its owner."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"address": self.address, "private_key": self.secret_hex()}, handle)
            handle.write("\n")

    @classmethod
    def load(cls, path: Path) -> IssuerKey:
        data = json.loads(path.read_text("utf-8"))
        return cls.from_hex(data["private_key"])
