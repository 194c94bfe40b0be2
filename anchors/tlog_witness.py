"""The log's side of C2SP tlog-witness: asking a witness to cosign a checkpoint.

The log POSTs to ``<witness>/add-checkpoint``: ``old <size>`` (the size the witness last
cosigned), the consistency proof from there (one base64 hash a line), a blank line, and the
signed checkpoint note. The witness answers 200 with its cosignature lines; 409 with the size it
really holds (``text/x.tlog.size``), from which the log proves again; anything else refuses.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence

import httpx

from anchors.checkpoint import Checkpoint
from anchors.cosignature import Cosignature, CosignatureVerifier
from anchors.merkle import VerificationError

MAX_PROOF_LINES = 63
_TRIES = 3


class WitnessRefused(Exception):
    """The witness did not cosign: its status and what it said (a fork, a bad proof, ...)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"the witness answered {status}: {detail}")
        self.status = status
        self.detail = detail


def request_body(old_size: int, proof: Sequence[bytes], note: str) -> bytes:
    """An add-checkpoint request body."""
    if len(proof) > MAX_PROOF_LINES:
        raise ValueError(f"a consistency proof of {len(proof)} hashes is over the protocol's 63")
    lines = [f"old {old_size}", *(base64.b64encode(h).decode() for h in proof)]
    return ("\n".join(lines) + "\n\n" + note).encode()


class WitnessClient:
    """One witness, known by its URL prefix and its cosignature/v1 verifier key."""

    def __init__(
        self, url: str, verifier: CosignatureVerifier, http: httpx.Client | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self.verifier = verifier
        self._http = http or httpx.Client(timeout=30)
        # The size the witness holds, as far as the log knows: it learns it from a 409.
        self.known_size = 0

    def close(self) -> None:
        self._http.close()

    def cosign(self, note: str, proof: Callable[[int, int], Sequence[bytes]]) -> Cosignature:
        """The witness's verified cosignature of checkpoint ``note``; ``proof(old, new)``
        gives the log's consistency proof between two sizes."""
        body = note.partition("\n\n")[0] + "\n"
        size = Checkpoint.parse(body).size
        for _ in range(_TRIES):
            old = self.known_size
            hashes = proof(old, size) if 0 < old < size else []
            answer = self._http.post(
                f"{self.url}/add-checkpoint", content=request_body(old, hashes, note)
            )
            if answer.status_code == 409 and answer.text.strip().isdigit():
                held = int(answer.text.strip())
                if held == old:
                    raise WitnessRefused(409, f"it holds {held} entries and refuses this one")
                if held > size:
                    raise WitnessRefused(409, f"it holds {held} entries, more than this {size}")
                self.known_size = held
                continue
            if answer.status_code != 200:
                raise WitnessRefused(answer.status_code, answer.text.strip()[:500])
            found = self._verified(body, answer.text)
            self.known_size = size
            return found
        raise WitnessRefused(409, "the witness's size kept changing")

    def _verified(self, body: str, lines: str) -> Cosignature:
        for line in lines.splitlines():
            try:
                cosignature = Cosignature.parse(line)
            except VerificationError:
                continue
            if self.verifier.verifies(body, cosignature):
                return cosignature
        raise WitnessRefused(200, "no cosignature by the configured key in the answer")
