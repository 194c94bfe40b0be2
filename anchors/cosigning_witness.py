"""A witness's side of C2SP tlog-witness: check a log's checkpoint against the last one
cosigned, persist it, and cosign it (cosignature/v1).

For each log it knows (origin and note verifier key) the witness keeps the size and root it last
cosigned, in one JSON file replaced atomically before any cosignature leaves. A checkpoint is
cosigned only if the log signed it, ``old`` is the size the witness holds (else 409 with that
size), and the consistency proof connects the two trees (else 422). A checkpoint of the held
size with another root is a fork: refused, and both signed notes kept as evidence.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from anchors.checkpoint import Checkpoint, NoteVerifier, open_note
from anchors.cosignature import CosignatureSigner
from anchors.merkle import VerificationError, verify_consistency
from anchors.tlog_witness import MAX_PROOF_LINES

SIZE_MEDIA_TYPE = "text/x.tlog.size"
MAX_REQUEST_BYTES = 64 * 1024


@dataclass(frozen=True)
class Answer:
    """What the witness answers an add-checkpoint request: status, media type and body."""

    status: int
    media_type: str
    body: str


def _refused(status: int, reason: str) -> Answer:
    return Answer(status, "text/plain; charset=utf-8", reason + "\n")


class CosigningWitness:
    """Cosigns the checkpoints of the logs it knows, never two that no proof connects."""

    def __init__(
        self,
        signer: CosignatureSigner,
        logs: dict[str, str],
        state_file: Path,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.signer = signer
        self._logs = {origin: NoteVerifier.parse(vkey) for origin, vkey in logs.items()}
        self._state_file = state_file
        self._clock = clock
        self._lock = threading.Lock()
        self._held: dict[str, dict[str, object]] = (
            json.loads(state_file.read_text()) if state_file.is_file() else {}
        )

    def add_checkpoint(self, request: bytes) -> Answer:
        """Answer one ``POST /add-checkpoint`` body."""
        if len(request) > MAX_REQUEST_BYTES:
            return _refused(400, "the request is too large")
        try:
            old, proof, note = _parse_request(request.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            return _refused(400, f"malformed request: {exc}")
        origin = note.partition("\n")[0]
        verifier = self._logs.get(origin)
        if verifier is None:
            return _refused(404, f"unknown log {origin!r}")
        try:
            checkpoint = Checkpoint.parse(open_note(note, verifier))
        except VerificationError as exc:
            return _refused(403, f"the checkpoint is not signed by the log's key: {exc}")
        with self._lock:
            return self._decide(origin, old, proof, note, checkpoint)

    def _decide(
        self, origin: str, old: int, proof: list[bytes], note: str, checkpoint: Checkpoint
    ) -> Answer:
        held = self._held.get(origin, {"size": 0, "root": "", "note": ""})
        held_size, held_root = int(str(held["size"])), str(held["root"])
        if old != held_size:
            return Answer(409, SIZE_MEDIA_TYPE, f"{held_size}\n")
        if checkpoint.size < held_size:
            return _refused(400, "the checkpoint is smaller than the one cosigned")
        if checkpoint.size == held_size and held_size > 0:
            if base64.b64encode(checkpoint.root).decode() != held_root:
                self._keep_evidence(origin, str(held["note"]), note)
                return _refused(409, "a fork: another root for the size already cosigned")
        elif held_size > 0:
            try:
                verify_consistency(
                    held_size, checkpoint.size, base64.b64decode(held_root), checkpoint.root, proof
                )
            except VerificationError as exc:
                self._keep_evidence(origin, str(held["note"]), note)
                return _refused(422, f"the consistency proof does not hold: {exc}")
        elif proof:
            return _refused(422, "a first checkpoint comes without a proof")
        self._held[origin] = {
            "size": checkpoint.size,
            "root": base64.b64encode(checkpoint.root).decode(),
            "note": note,
        }
        self._persist()
        body = note.partition("\n\n")[0] + "\n"
        cosignature = self.signer.cosign(body, int(self._clock()))
        return Answer(200, "text/plain; charset=utf-8", cosignature.line())

    def _persist(self) -> None:
        self._state_file.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self._state_file.parent, prefix=".witness-")
        with os.fdopen(handle, "w") as out:
            json.dump(self._held, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self._state_file)

    def _keep_evidence(self, origin: str, held: str, offered: str) -> None:
        """Both signed notes, side by side: together they prove the log equivocated."""
        digest = hashlib.sha256(offered.encode()).hexdigest()[:16]
        folder = self._state_file.parent / "evidence"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{hashlib.sha256(origin.encode()).hexdigest()[:16]}-{digest}.txt").write_text(
            f"cosigned before:\n{held}\noffered now:\n{offered}"
        )


def _parse_request(text: str) -> tuple[int, list[bytes], str]:
    head, separator, note = text.partition("\n\n")
    if not separator:
        raise ValueError("no blank line before the checkpoint")
    lines = head.split("\n")
    if not lines[0].startswith("old ") or not lines[0][4:].isdigit():
        raise ValueError("the first line is 'old <size>'")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise ValueError("over 63 proof lines")
    try:
        proof = [base64.b64decode(line, validate=True) for line in lines[1:]]
    except binascii.Error:
        raise ValueError("a proof line is not base64") from None
    if any(len(h) != 32 for h in proof):
        raise ValueError("a proof hash is not 32 bytes")
    return int(lines[0][4:]), proof, note
