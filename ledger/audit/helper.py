"""The auditor's helper process: the second core's share of a long audit.

For each batch of log entries the audit will check next, the helper parses the entries and
recovers who signed each command (secp256k1 recovery, the costliest check, needs no register
and depends on nothing but the entry). The share is not fixed: when the audit comes to a batch
whose answer is not back yet, it recovers that batch itself rather than wait, and the helper
skips it (the second core also runs the read-model replay, whose cost per entry grows with the
size of the history: a fixed share left one process or the other waiting). The audit itself
still decides every check, in order, with the register as it stood at each entry; it only
takes the recovered signer from here.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import traceback
from multiprocessing.process import BaseProcess
from multiprocessing.sharedctypes import Synchronized
from typing import Any

from anchors.child_process import die_with_parent
from ledger.audit.issuer_register import Recovery, recover_envelope_signer
from ledger.domain import json_text
from ledger.operations import heap

# Below this many entries, starting a process costs more than it saves.
WORTH_IT_ENTRIES = 50_000


class AuditHelper:
    """Signers recovered ahead (:class:`ledger.audit.sources.SignersAhead`), in a process of
    their own."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._requests: multiprocessing.Queue[tuple[Any, ...]] = context.Queue()
        self._answers: multiprocessing.Queue[tuple[Any, ...]] = context.Queue()
        # The last batch the audit recovered itself: the helper skips it and any before it.
        self._taken = context.Value("q", -1, lock=False)
        self._process: BaseProcess = context.Process(
            target=_serve,
            args=(self._requests, self._answers, self._taken, os.getpid()),
            name="audit-helper",
            daemon=True,
        )
        self._process.start()
        self._closed = False
        self._sizes: dict[int, int] = {}  # each batch sent ahead: its number of entries

    def ahead(self, index: int, entries: list[bytes]) -> None:
        self._requests.put(("recover", index, entries))
        self._sizes[index] = len(entries)

    def recovered(self, index: int) -> list[Recovery | None]:
        size = self._sizes.pop(index)
        while True:
            try:
                kind, *answer = self._answers.get(block=False)
            except queue.Empty:
                if not self._process.is_alive():
                    raise RuntimeError("the audit helper process stopped") from None
                # Not back yet: the audit does this batch itself, and the helper skips it.
                self._taken.value = index
                return [None] * size
            if kind == "failed":
                raise RuntimeError(f"the audit helper failed: {answer[0]}")
            if kind == "skipped" or answer[0] < index:
                continue  # a batch the audit recovered itself
            if answer[0] != index:
                raise RuntimeError(f"the audit helper answered for entry {answer[0]}, not {index}")
            results: list[Recovery | None] = answer[1]
            return results

    def close(self) -> None:
        """Stop the helper."""
        if self._closed:
            return
        self._closed = True
        self._requests.put(("stop",))
        self._process.join(timeout=30)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=5)


def _recover(entry: bytes) -> Recovery | None:
    """The entry's recovery; None for what the audit must look at itself."""
    try:
        return recover_envelope_signer(json_text.loads(entry))
    except Exception:
        # Not an envelope the audit will accept; it finds out why, in order.
        return None


def _serve(
    requests: multiprocessing.Queue[tuple[Any, ...]],
    answers: multiprocessing.Queue[tuple[Any, ...]],
    taken: Synchronized[int],
    parent: int,
) -> None:
    die_with_parent(parent=parent)
    heap.settle()
    try:
        while True:
            kind, *request = requests.get()
            if kind != "recover":
                return
            index, entries = request
            if taken.value >= index:
                answers.put(("skipped", index, []))
                continue
            answers.put(("recovered", index, [_recover(entry) for entry in entries]))
    except Exception:
        answers.put(("failed", traceback.format_exc(limit=5)))


def helper_for(entries: int) -> AuditHelper | None:
    """A helper process for an audit of ``entries`` log entries, where one pays (enough
    entries, and a second core)."""
    return AuditHelper() if entries >= WORTH_IT_ENTRIES and (os.cpu_count() or 1) > 1 else None
