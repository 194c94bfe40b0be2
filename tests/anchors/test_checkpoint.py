"""Checkpoints are C2SP signed notes, byte-compatible with the Go reference implementation."""

from __future__ import annotations

import base64

import pytest

from anchors.checkpoint import (
    Checkpoint,
    NoteSigner,
    NoteVerifier,
    open_note,
    verify_checkpoint,
)
from anchors.merkle import VerificationError, leaf_hash

# The example key and note of golang.org/x/mod/sumdb/note (its documentation and tests).
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SEED = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def test_signing_reproduces_the_go_reference_note_byte_for_byte() -> None:
    signer = NoteSigner.from_seed("PeterNeumann", GO_SEED)
    assert signer.verifier_key() == GO_VKEY
    assert signer.sign(GO_TEXT) == GO_NOTE


def test_the_go_reference_note_opens_with_its_key() -> None:
    assert open_note(GO_NOTE, NoteVerifier.parse(GO_VKEY)) == GO_TEXT


def test_a_changed_text_fails() -> None:
    with pytest.raises(VerificationError, match="does not verify"):
        open_note(GO_NOTE.replace("answer", "answers"), NoteVerifier.parse(GO_VKEY))


def test_signatures_by_unknown_keys_are_ignored_but_one_is_needed() -> None:
    other = NoteSigner.from_seed("Witness", bytes(32))
    cosigned = GO_NOTE + other.sign(GO_TEXT).split("\n\n", 1)[1]
    assert open_note(cosigned, NoteVerifier.parse(GO_VKEY)) == GO_TEXT
    with pytest.raises(VerificationError, match="no signature by Witness"):
        open_note(GO_NOTE, NoteVerifier.parse(other.verifier_key()))


def test_a_checkpoint_round_trips_and_binds_its_origin() -> None:
    signer = NoteSigner.from_seed("example.org/log", bytes(range(32)))
    checkpoint = Checkpoint("example.org/log", 7, leaf_hash(b"x"))
    note = signer.sign(checkpoint.body())
    verifier = NoteVerifier.parse(signer.verifier_key())
    assert verify_checkpoint(note, verifier, "example.org/log") == checkpoint
    with pytest.raises(VerificationError, match="not 'elsewhere'"):
        verify_checkpoint(note, verifier, "elsewhere")


@pytest.mark.parametrize(
    "body",
    ["o\n07\nAAAA\n", "o\n1\n" + base64.b64encode(b"short").decode() + "\n", "o\n1\n", "o\nx\ny\n"],
)
def test_malformed_checkpoints_are_refused(body: str) -> None:
    with pytest.raises(VerificationError):
        Checkpoint.parse(body)
