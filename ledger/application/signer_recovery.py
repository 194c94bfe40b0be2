"""Signers of many commands recovered on a helper thread while the caller checks the rest.

Recovering a secp256k1 public key (libsecp256k1, through cffi) and hashing its message (Keccak,
in C) run without the interpreter's lock: on a machine with a core to spare, a bulk request's
signatures are recovered at the same time as its next commands are validated, instead of after
them. Commands are handed over in chunks, so that the hand-over costs little beside a recovery.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

from ledger.domain.errors import SignatureInvalid
from ledger.domain.signing import SignatureFormatError, recover_signer

# Sixteen recoveries take ~0.5 ms: long beside the ~10 µs a chunk's hand-over costs, short
# enough that the last chunk (recovered by the caller) leaves little to wait for.
MINIMUM = 8

Signed = tuple[bytes, str]


def recover(message: bytes, signature: str) -> bytes | SignatureInvalid:
    """The 20-byte address that signed ``message``, or why the signature is refused."""
    try:
        return recover_signer(message, signature)
    except SignatureFormatError as exc:
        return SignatureInvalid(str(exc))


def _recover_chunk(chunk: Sequence[Signed]) -> list[bytes | SignatureInvalid]:
    return [recover(message, signature) for message, signature in chunk]


class SignerRecovery:
    """Recovers signers in the order they are submitted; one helper thread, started on first
    use (in the process that uses it: a forked child starts its own)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pid = 0

    def _helper(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None or self._pid != os.getpid():
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="signer-recovery")
                self._pid = os.getpid()
            return self._pool

    def batch(self) -> RecoveryBatch:
        """A batch to submit signed messages to, then read their signers from."""
        return RecoveryBatch(self)

    def close(self) -> None:
        """Stop the helper thread (a later batch starts another)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


class RecoveryBatch:
    """Signed messages submitted one by one; :meth:`signers` answers in submission order."""

    def __init__(self, recovery: SignerRecovery) -> None:
        self._recovery = recovery
        self._signed: list[Signed] = []

    def submit(self, message: bytes, signature: str) -> None:
        self._signed.append((message, signature))

    def signers(self) -> Iterator[bytes | SignatureInvalid]:
        """Each submitted message's signer or refusal: the first half recovered by the helper
        thread while the calling thread recovers the second."""
        half = len(self._signed) // 2
        if half < MINIMUM:
            yield from _recover_chunk(self._signed)
            return
        first = self._recovery._helper().submit(_recover_chunk, self._signed[:half])
        second = _recover_chunk(self._signed[half:])
        yield from first.result()
        yield from second
