"""A proof bundle checked against a tile mirror of the log (C2SP tlog-tiles anywhere: the
ledger's ``/tlog/``, a static export, a CDN): the mirror's checkpoint is signed by the log's
key, its tiles give that checkpoint's root, the bundle's event is in it, and the bundle's own
checkpoint is consistent with it. No ledger API is needed."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from anchors.checkpoint import Checkpoint, NoteVerifier, verify_checkpoint
from anchors.cosignature import cosigners, is_cosignature_key
from anchors.merkle import VerificationError, leaf_hash, verify_consistency, verify_inclusion
from anchors.tile_reader import TileReader
from ledger.verify.report import Report

STEP = "tile_mirror"


def check_against_mirror(
    report: Report,
    bundle: dict[str, Any],
    fetch: Callable[[str], bytes],
    trusted_log_key: str | None,
    witnesses: frozenset[str] = frozenset(),
) -> None:
    """Add the mirror's step to ``report`` (a failure makes the verdict invalid);
    ``fetch(path)`` reads a path below the mirror's prefix."""
    try:
        log_part = bundle["log"]
        verifier = NoteVerifier.parse(trusted_log_key or str(log_part["verifier_key"]))
        own_note = str(log_part["checkpoint"])
        own = Checkpoint.parse(own_note.partition("\n\n")[0] + "\n")
        note = fetch("checkpoint").decode("utf-8")
        mirrored = verify_checkpoint(note, verifier, verifier.name)
        reader = TileReader(fetch, mirrored.size)
        if reader.root() != mirrored.root:
            raise VerificationError("its tiles do not give its checkpoint's root")
        event = bundle["event"]
        index, entry = int(event["index"]), str(event["envelope"]).encode()
        if reader.entry(index) != entry:
            raise VerificationError(f"its entry {index} is not the bundle's envelope")
        verify_inclusion(
            index, mirrored.size, leaf_hash(entry), reader.inclusion_proof(index), mirrored.root
        )
        if own.size > mirrored.size:
            raise VerificationError(f"its checkpoint ({mirrored.size}) predates the bundle's")
        if own.size == mirrored.size:
            if own.root != mirrored.root:
                raise VerificationError("its checkpoint has another root for the same size")
        else:
            proof = reader.consistency_proof(own.size)
            verify_consistency(own.size, mirrored.size, own.root, mirrored.root, proof)
    except (KeyError, TypeError, ValueError, UnicodeDecodeError, VerificationError) as exc:
        report.add(STEP, False, f"The tile mirror does not confirm the bundle: {exc}.")
        report.verdict = "invalid"
        return
    c2sp = sorted(k for k in witnesses if is_cosignature_key(k))
    cosigned = f", cosigned by {len(cosigners(note, c2sp))} trusted witnesses" if c2sp else ""
    report.add(
        STEP,
        True,
        f"The mirror's checkpoint of {mirrored.size} entries (root "
        f"{base64.b64encode(mirrored.root).decode()[:12]}…) is signed by the log's key"
        f"{cosigned}, its tiles give that root, hold the bundle's event at index {index}, and "
        f"prove it consistent with the bundle's checkpoint of {own.size}.",
    )
