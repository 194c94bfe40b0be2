"""The auditor's helper process: the second core's share of a full audit.

For each batch of log entries the audit will check next, the helper parses the entries and
recovers who signed each command (secp256k1 recovery, the costliest check, needs no register);
once the audit has checked a batch, the helper replays those envelopes into the scratch read
model, which it owns. The audit itself still decides every check, in order: the helper only
does the work that depends on nothing but the entry, and replays nothing unchecked.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import queue
import traceback
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from anchors.child_process import die_with_parent
from consumers.audit_replay import ScratchReplay, Target
from ledger.audit.issuer_register import Recovery, recover_envelope_signer
from ledger.audit.sources import ReadModelReplay

# Below this many entries, starting a process costs more than it saves (measured: slower at
# 30,000 entries, faster at 100,000; see docs/benchmarks.md).
WORTH_IT_ENTRIES = 50_000
# How long the audit waits for an answer before it looks whether the helper is alive.
_POLL_SECONDS = 5.0


class AuditHelper:
    """Signers recovered ahead (:class:`ledger.audit.sources.SignersAhead`) and the read-model
    replay (:class:`ledger.audit.sources.ReadModelReplay`), in a process of their own.

    ``target``: the live read model to compare with (None: no replay); ``keep``: where the
    scratch read model is kept between audits.
    """

    def __init__(self, target: Target | None, keep: Path | None = None) -> None:
        context = multiprocessing.get_context("spawn")
        self._requests: multiprocessing.Queue[tuple[Any, ...]] = context.Queue()
        self._answers: multiprocessing.Queue[tuple[Any, ...]] = context.Queue()
        self._process: BaseProcess = context.Process(
            target=_serve,
            args=(self._requests, self._answers, target, keep, os.getpid()),
            name="audit-helper",
            daemon=True,
        )
        self._process.start()
        self._closed = False

    def ahead(self, index: int, entries: list[bytes]) -> None:
        self._requests.put(("recover", index, entries))

    def recovered(self, index: int) -> list[Recovery | None]:
        kind, *answer = self._answer()
        if kind != "recovered" or answer[0] != index:
            raise RuntimeError(f"the audit helper answered {kind} for another batch")
        results: list[Recovery | None] = answer[1]
        return results

    def checked_through(self, position: int) -> None:
        self._requests.put(("replay", position))

    def feed(self, envelopes: list[dict[str, Any]]) -> None:
        """Replay envelopes the helper was not given as log entries (events not yet logged)."""
        if envelopes:
            self._requests.put(("feed", envelopes))

    def digests(self) -> tuple[str, str]:
        self._requests.put(("digests",))
        try:
            kind, *answer = self._answer()
            if kind != "digests":
                raise RuntimeError(f"the audit helper answered {kind} for the digests")
            return str(answer[0]), str(answer[1])
        finally:
            self.close()

    def close(self) -> None:
        """Stop the helper (its scratch read model closed, a temporary one removed)."""
        if self._closed:
            return
        self._closed = True
        self._requests.put(("stop",))
        self._process.join(timeout=30)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=5)

    def _answer(self) -> tuple[Any, ...]:
        while True:
            try:
                answer = self._answers.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if not self._process.is_alive():
                    raise RuntimeError("the audit helper process stopped") from None
                continue
            if answer[0] == "failed":
                raise RuntimeError(f"the audit helper failed: {answer[1]}")
            return tuple(answer)


def _recover(entry: bytes) -> tuple[dict[str, Any] | None, Recovery | None]:
    """The envelope and its recovery; (None, None) for what the audit must look at itself."""
    try:
        envelope = json.loads(entry)
        return envelope, recover_envelope_signer(envelope)
    except Exception:
        # Not an envelope the audit will accept; it finds out why, in order.
        return None, None


def _serve(
    requests: multiprocessing.Queue[tuple[Any, ...]],
    answers: multiprocessing.Queue[tuple[Any, ...]],
    target: Target | None,
    keep: Path | None,
    parent: int,
) -> None:
    die_with_parent(parent=parent)
    replay = ScratchReplay(target, keep) if target is not None else None
    pending: list[dict[str, Any]] = []  # recovered, not yet checked by the audit
    try:
        while True:
            kind, *request = requests.get()
            if kind == "recover":
                index, entries = request
                recovered = [_recover(entry) for entry in entries]
                answers.put(("recovered", index, [r for _, r in recovered]))
                pending.extend(e for e, _ in recovered if e is not None)
            elif kind == "replay":
                through = request[0]
                checked = [e for e in pending if _position(e) <= through]
                pending = [e for e in pending if _position(e) > through]
                if replay is not None:
                    replay.feed(checked)
            elif kind == "feed":
                if replay is not None:
                    replay.feed(request[0])
            elif kind == "digests":
                if replay is None:
                    raise RuntimeError("this audit helper keeps no replay")
                answers.put(("digests", *replay.digests()))
            else:
                return
    except Exception:
        answers.put(("failed", traceback.format_exc(limit=5)))


def _position(envelope: dict[str, Any]) -> int:
    try:
        return int(envelope["position"])
    except (KeyError, TypeError, ValueError):
        return -1


def audit_replay(
    target: Target | None, keep: Path | None, entries: int
) -> tuple[ReadModelReplay | None, AuditHelper | None]:
    """The replay an audit of ``entries`` log entries uses, and its helper where one pays
    (enough entries, and a second core): then the helper is the replay too."""
    if entries >= WORTH_IT_ENTRIES and (os.cpu_count() or 1) > 1:
        helper = AuditHelper(target, keep)
        return (helper if target is not None else None), helper
    return (ScratchReplay(target, keep) if target is not None else None), None
