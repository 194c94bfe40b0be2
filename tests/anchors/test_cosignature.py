"""cosignature/v1: a witness's Ed25519 cosignature of a checkpoint, its signature line and its
verifier key (c2sp.org/tlog-cosignature)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anchors.cosignature import (
    Cosignature,
    CosignatureSigner,
    CosignatureVerifier,
    signed_message,
)
from anchors.merkle import VerificationError

BODY = "example.org/log\n42\n" + base64.b64encode(bytes(range(32))).decode() + "\n"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(32))
WITNESS = CosignatureSigner("witness.example", KEY)


def test_the_signed_message_is_the_header_then_the_body() -> None:
    assert signed_message(BODY, 1_700_000_000) == (
        b"cosignature/v1\ntime 1700000000\nexample.org/log\n42\n"
        + BODY.split("\n")[2].encode()
        + b"\n"
    )


def test_the_key_id_commits_to_name_type_0x04_and_key() -> None:
    public = base64.b64decode(WITNESS.verifier_key().split("+")[2])
    assert public[:1] == b"\x04"
    expected = hashlib.sha256(b"witness.example\n\x04" + public[1:]).digest()[:4]
    assert WITNESS.key_id == expected
    assert WITNESS.verifier_key().split("+")[1] == expected.hex()


def test_a_cosignature_line_reads_back_and_verifies() -> None:
    line = WITNESS.cosign(BODY, 1_700_000_000).line()
    assert line.startswith("\u2014 witness.example ")
    parsed = Cosignature.parse(line)
    assert parsed.timestamp == 1_700_000_000
    assert CosignatureVerifier(WITNESS.verifier_key()).verifies(BODY, parsed)


def test_a_cosignature_of_another_body_or_time_does_not_verify() -> None:
    verifier = CosignatureVerifier(WITNESS.verifier_key())
    signed = WITNESS.cosign(BODY, 1_700_000_000)
    assert not verifier.verifies(BODY.replace("\n42\n", "\n43\n"), signed)
    moved = Cosignature(signed.name, signed.key_id, signed.timestamp + 1, signed.signature)
    assert not verifier.verifies(BODY, moved)


def test_another_witness_of_the_same_name_is_not_taken_for_this_one() -> None:
    other = CosignatureSigner("witness.example", Ed25519PrivateKey.generate())
    assert not CosignatureVerifier(WITNESS.verifier_key()).verifies(BODY, other.cosign(BODY, 1))


def test_the_witness_finds_its_line_among_a_notes_signatures() -> None:
    note = BODY + "\n\u2014 example.org/log AAAA\n" + WITNESS.cosign(BODY, 7).line()
    found = CosignatureVerifier(WITNESS.verifier_key()).find(note)
    assert found is not None and found.timestamp == 7
    assert CosignatureVerifier(WITNESS.verifier_key()).find(BODY + "\n") is None


@pytest.mark.parametrize(
    "line",
    ["\u2014 w", "- w AAAA", "\u2014 w !!!!", "\u2014 w " + base64.b64encode(bytes(75)).decode()],
)
def test_a_line_that_is_no_cosignature_is_refused(line: str) -> None:
    with pytest.raises(VerificationError):
        Cosignature.parse(line)


def test_an_ordinary_note_key_is_not_a_cosignature_key() -> None:
    public = WITNESS.verifier_key().split("+")[2]
    ordinary = base64.b64encode(b"\x01" + base64.b64decode(public)[1:]).decode()
    with pytest.raises(VerificationError, match="no cosignature/v1"):
        CosignatureVerifier(f"witness.example+{WITNESS.key_id.hex()}+{ordinary}")


def test_a_key_whose_id_does_not_match_is_refused() -> None:
    name, _, public = WITNESS.verifier_key().split("+")
    with pytest.raises(VerificationError, match="key id"):
        CosignatureVerifier(f"{name}+00000000+{public}")
