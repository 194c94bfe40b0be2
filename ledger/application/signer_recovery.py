"""The signers of a bulk request's commands, recovered on two cores when one is idle.

Recovering a secp256k1 public key (libsecp256k1, through cffi) and hashing its message (Keccak,
in C) run without the interpreter's lock, so a helper thread can recover half of a batch's
signers while the calling thread recovers the other half: ~1.8 times as fast. That pays only
when a core is idle. On a machine the ledger's own processes keep busy (the embedded default at
full load: serving, logging, hashing, projecting), the helper would take its core from the
consumers, which then fall behind and anchor later, for no more credentials a second; there the
caller recovers them all.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

from ledger.domain.errors import SignatureInvalid
from ledger.domain.signing import SignatureFormatError, recover_signer

# Below this many signatures in each half, handing one half over costs more than it saves.
MINIMUM = 8
# The helper is used while the system's load (its one-minute average of runnable threads)
# leaves at least this much of a core idle.
IDLE_CORE = 0.5

Signed = tuple[bytes, str]


def recover(message: bytes, signature: str) -> bytes | SignatureInvalid:
    """The 20-byte address that signed ``message``, or why the signature is refused."""
    try:
        return recover_signer(message, signature)
    except SignatureFormatError as exc:
        return SignatureInvalid(str(exc))


def _recover_all(signed: Sequence[Signed]) -> list[bytes | SignatureInvalid]:
    return [recover(message, signature) for message, signature in signed]


def a_core_is_idle() -> bool:
    """Whether the system's load leaves a core's worth (:data:`IDLE_CORE`) unused."""
    return (os.cpu_count() or 1) - os.getloadavg()[0] >= IDLE_CORE


class SignerRecovery:
    """Recovers the signers of many messages, in order; one helper thread, started on first
    use (in the process that uses it: a forked child starts its own). ``idle``: whether a core
    is free for it now."""

    def __init__(self, idle: Callable[[], bool] = a_core_is_idle) -> None:
        self._idle = idle
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pid = 0

    def _helper(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None or self._pid != os.getpid():
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="signer-recovery")
                self._pid = os.getpid()
            return self._pool

    def signers(self, signed: Sequence[Signed]) -> Iterator[bytes | SignatureInvalid]:
        """Each message's signer or refusal, in order: the first half recovered by the helper
        while the calling thread recovers the second, if a core is idle."""
        half = len(signed) // 2
        if half < MINIMUM or not self._idle():
            yield from _recover_all(signed)
            return
        first = self._helper().submit(_recover_all, signed[:half])
        second = _recover_all(signed[half:])
        yield from first.result()
        yield from second

    def close(self) -> None:
        """Stop the helper thread (a later batch starts another)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
