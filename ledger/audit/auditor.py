"""The auditor: re-derive everything the ledger claims from what it stores, trusting nothing.

Against a local store, the audit walks the event store in order and, for each event, rebuilds
its envelope and checks it is the log's entry at the same index, checks its issuer signature
against the issuer register as replayed from the history itself, and rebuilds the log tree.
It re-derives each signed command's binding: the event's type, credential and version are
the ones the command names, and no command id of an issuer is used twice (ledger.domain.binding).
At every checkpoint it checks the signature, the root, and the consistency with the previous
checkpoint; every recorded anchor is checked on chain; finally the read model is replayed into
a scratch database and its digest compared with the live one. The first discrepancy ends the
audit and is reported with its log index and event position.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from anchors.anchor_tree import AnchorTree, checkpoint_leaf
from anchors.anchoring import AnchorRecord
from anchors.chain import BURN_ADDRESS, Chain, ChainUnavailable, confirmations_of
from anchors.checkpoint import Checkpoint, NoteVerifier, verify_checkpoint
from anchors.cosignature import cosigners, is_cosignature_key
from anchors.log import TransparencyLog
from anchors.memory import MemoryLogStore
from anchors.merkle import VerificationError, verify_consistency
from anchors.witness import verify_quorum
from ledger.audit.issuer_register import IssuerRegister, Recovery, check_envelope_signature
from ledger.audit.report import AuditReport, Discrepancy, Finding
from ledger.audit.resume import Resume, node_of
from ledger.audit.sources import Anchors, History, ReadModelReplay, SignersAhead, StoredEntry
from ledger.domain import json_text
from ledger.domain.aggregates import anchor_id_for
from ledger.domain.binding import ANCHOR_EVENTS, Bindings
from ledger.domain.canonical import canonical_bytes


class Auditor:
    """Audits a log's history; with ``stored_envelopes`` (the event store's events as log
    entries, in order, each with its value where it is known) it also checks the log against
    the event store."""

    def __init__(
        self,
        stored_envelopes: Callable[[int, int], list[StoredEntry]] | None,
        log: History,
        anchors: Anchors,
        verifier_key: str,
        chain: Chain | None,
        confirmations: int = 1,
        replay: ReadModelReplay | None = None,
        resume: Resume | None = None,
        progress: Callable[[int, int], None] | None = None,
        ahead: SignersAhead | None = None,
        resumable: bool = True,
    ) -> None:
        self._stored = stored_envelopes
        # With ``ahead``, the signers are recovered there, a batch ahead of the checks.
        self._ahead = ahead
        self._log = log
        self._anchors = anchors
        self._verifier = NoteVerifier.parse(verifier_key)
        self._chain = chain
        self._confirmations = confirmations
        self._replay = replay
        self._progress = progress
        self._resume = resume
        # The tree is rebuilt from hashes: its entries are read from the log, not kept.
        self.rebuilt = TransparencyLog(MemoryLogStore(keep_entries=False))
        self._bindings = Bindings()
        self._part_of: tuple[int, AnchorRecord | None] | None = None
        self.checkpoints_seen: dict[int, str] = {}
        self.resume_point: Resume | None = resume
        # The state to resume from copies the binding checks' (large) state: only when wanted.
        self._resumable = resumable

    def run(self, batch: int = 1000) -> AuditReport:
        report = AuditReport()
        try:
            self._audit(report, batch)
        except Discrepancy as exc:
            report.finding = exc.finding
        return report

    def _timed(self, report: AuditReport, phase: str, started: float) -> float:
        now = time.perf_counter()
        report.timings[phase] = report.timings.get(phase, 0.0) + now - started
        return now

    def _audit(self, report: AuditReport, batch: int) -> None:
        size = self._log.size()
        checkpoints = self._log.checkpoints()
        self.checkpoints_seen = {k: v for k, v in checkpoints.items() if k <= size}
        index, register, previous = self._start()
        rebuilt = self.rebuilt
        last_checkpoint = max(self.checkpoints_seen, default=0)
        following: list[bytes] = []
        if self._ahead is not None and index < size:
            following = self._log.entries(index, min(size, index + batch))
            self._ahead.ahead(index, following)
        while index < size:
            started = time.perf_counter()
            logged = following or self._log.entries(index, min(size, index + batch))
            following = []
            if self._ahead is not None:
                # The next batch goes out before this one is checked: both cores work.
                after = index + len(logged)
                if after < size:
                    following = self._log.entries(after, min(size, after + batch))
                    self._ahead.ahead(after, following)
            started = self._timed(report, "reading the log", started)
            recovered = self._ahead.recovered(index) if self._ahead is not None else None
            started = self._timed(report, "issuer signatures, bindings and register", started)
            stored = self._stored(index, len(logged)) if self._stored else None
            self._timed(report, "rebuilding envelopes from the event store", started)
            cuts = sorted(c - index for c in checkpoints if index < c <= index + len(logged))
            begin = 0
            for end in [*cuts, len(logged)]:
                envelopes = []
                for offset in range(begin, end):
                    position, expected, known = (
                        stored[offset]
                        if stored is not None and offset < len(stored)
                        else (None, None, None)
                    )
                    envelopes.append(
                        self._check_entry(
                            index + offset,
                            logged[offset],
                            position,
                            expected,
                            known,
                            register,
                            report,
                            recovered[offset] if recovered is not None else None,
                        )
                    )
                started = time.perf_counter()
                if self._replay is not None:
                    self._feed(envelopes, logged[begin:end])
                    started = self._timed(report, "read-model replay", started)
                if end > begin:
                    rebuilt.append(logged[begin:end], list(range(index + begin, index + end)))
                started = self._timed(report, "rebuilding the tree", started)
                if index + end in checkpoints and end > begin:
                    note = checkpoints[index + end]
                    previous = self._check_checkpoint(rebuilt, index + end, note, previous)
                    report.checkpoints += 1
                started = self._timed(report, "checkpoints and consistency", started)
                # The state to resume from is kept at the last checkpoint only: copying it at
                # every checkpoint would make the audit quadratic in the history.
                if self._resumable and index + end == last_checkpoint and end > begin:
                    self.resume_point = Resume.at(
                        note,
                        index + end,
                        int(envelopes[-1]["position"]),
                        register,
                        rebuilt,
                        self._bindings,
                    )
                    self._timed(report, "the state to resume from", started)
                begin = end
            index += len(logged)
            report.entries = index
            if self._progress is not None:
                self._progress(index, size)
        # Events stored after the log's last entry are not logged yet (the log follows the
        # store); they are still checked, so that a forged one is found before it is logged.
        while self._stored is not None and (tail := self._stored(index, batch)):
            envelopes = [
                self._check_unlogged(index + offset, position, entry, register)
                for offset, (position, entry, _) in enumerate(tail)
            ]
            if self._replay is not None:
                self._feed(envelopes, [entry for _, entry, _ in tail])
            index += len(tail)
            report.unlogged += len(tail)
        if self._replay is not None:
            self._finish_replay()
        started = time.perf_counter()
        first = self._resume.size if self._resume is not None else 0
        report.anchors = self._check_anchors(
            {k: v for k, v in checkpoints.items() if k > first}, report
        )
        started = self._timed(report, "anchors on chain", started)
        self._check_read_model()
        self._timed(report, "read-model digests", started)

    def _start(self) -> tuple[int, IssuerRegister, Checkpoint | None]:
        """Where the audit begins: the start of the log, or where the last one stopped."""
        if self._resume is None:
            return 0, IssuerRegister(), None
        resume = self._resume
        try:
            previous = verify_checkpoint(resume.checkpoint, self._verifier, self._verifier.name)
        except VerificationError as exc:
            raise Discrepancy(
                Finding("resume", None, None, f"the saved checkpoint does not verify: {exc}")
            ) from None
        self.rebuilt = TransparencyLog(
            MemoryLogStore.resumed(
                resume.size,
                resume.position,
                {node_of(key): bytes.fromhex(value) for key, value in resume.frontier.items()},
                keep_entries=False,
            )
        )
        size = self._log.size()
        if size < resume.size:
            raise Discrepancy(
                Finding(
                    "consistency",
                    None,
                    None,
                    f"the log has {size} entries, fewer than the {resume.size} of the checkpoint "
                    "audited before: history was rewritten",
                )
            )
        again = self._log.checkpoints().get(resume.size)
        if again is not None and again != resume.checkpoint:
            raise Discrepancy(
                Finding(
                    "consistency",
                    resume.size - 1,
                    None,
                    f"the log now shows another checkpoint of size {resume.size} than the one "
                    "audited before: history was rewritten",
                )
            )
        register = IssuerRegister(dict(resume.keys), set(resume.suspended))
        self._bindings = resume.restored_bindings()
        return resume.size, register, previous

    def _check_entry(
        self,
        index: int,
        entry: bytes,
        position: int | None,
        expected: bytes | None,
        known: dict[str, Any] | None,
        register: IssuerRegister,
        report: AuditReport,
        recovered: Recovery | None = None,
    ) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            if expected is not None and entry == expected:
                # Equal to the event store's rebuilt envelope: canonical by construction, and
                # the value it was built from is the value it parses to.
                envelope = known if known is not None else json_text.loads(entry)
                canonical = True
            else:
                envelope = json_text.loads(entry)
                canonical = canonical_bytes(envelope) == entry
        except ValueError:
            canonical, envelope = False, {}
        if not canonical:
            raise Discrepancy(Finding("envelope", index, position, "the entry is not canonical"))
        logged_position = envelope.get("position")
        if self._stored is None:
            position = logged_position
        elif expected is None:
            raise Discrepancy(
                Finding(
                    "event-store",
                    index,
                    logged_position,
                    f"the log's entry {index} (position {logged_position}) has no stored event",
                )
            )
        if self._stored is not None and entry != expected:
            # The store skipped the logged position: that event, not the next, was deleted.
            deleted = (
                isinstance(logged_position, int)
                and position is not None
                and position > logged_position
            )
            if deleted:
                raise Discrepancy(
                    Finding(
                        "event-store",
                        index,
                        logged_position,
                        f"the event at position {logged_position} (the log's entry {index}) "
                        "is missing from the event store",
                    )
                )
            raise Discrepancy(
                Finding(
                    "event-store",
                    index,
                    position,
                    f"the stored event at position {position} differs from the log's entry "
                    f"{index} (logged position {logged_position})",
                )
            )
        started = self._timed(report, "envelopes (canonical form, store agreement)", started)
        problem = check_envelope_signature(envelope, register, recovered)
        if problem is not None:
            raise Discrepancy(Finding("issuer-signature", index, position, problem))
        register.apply(envelope)
        self._bound(envelope, index, position, "")
        self._timed(report, "issuer signatures, bindings and register", started)
        result: dict[str, Any] = envelope
        return result

    def _check_unlogged(
        self, index: int, position: int, entry: bytes, register: IssuerRegister
    ) -> dict[str, Any]:
        try:
            envelope = json_text.loads(entry)
        except ValueError:
            raise Discrepancy(
                Finding("event-store", index, position, "the stored event does not decode")
            ) from None
        problem = check_envelope_signature(envelope, register)
        if problem is not None:
            raise Discrepancy(
                Finding("issuer-signature", index, position, f"{problem} (not yet logged)")
            )
        register.apply(envelope)
        self._bound(envelope, index, position, " (not yet logged)")
        result: dict[str, Any] = envelope
        return result

    def _bound(self, envelope: dict[str, Any], index: int, position: int | None, note: str) -> None:
        """Check that the event's signed command names it (type, target, version, id)."""
        problem = self._bindings.check(envelope)
        if problem is None and envelope.get("type") in ANCHOR_EVENTS:
            problem = self._anchor_event_problem(envelope)
        if problem is not None:
            raise Discrepancy(Finding("binding", index, position, problem + note))
        self._bindings.apply(envelope)

    def _anchor_event_problem(self, envelope: dict[str, Any]) -> str | None:
        """Why an anchor event does not name what the anchor it speaks for holds: the same
        leaves, from the same place, and the same documents at them."""
        content = envelope.get("content") or {}
        size = content.get("checkpoint_size")
        if not isinstance(size, int):
            return "the anchor event names no checkpoint"
        # A batch's parts follow one another: its record is read once, not once a part.
        if self._part_of is None or self._part_of[0] != size:
            self._part_of = (size, self._anchors.get(size))
        record = self._part_of[1]
        if record is None:
            return None  # a source without anchor records (a tile mirror): nothing to hold to
        if str(envelope.get("aggregate_id")) != str(anchor_id_for(self._verifier.name, size)):
            return f"the anchor event of checkpoint {size} is not that anchor's"
        first = content.get("first_leaf", 0)
        leaves = content.get("leaves") or []
        # The first event says how many leaves there are in all (an Anchored one: its own).
        in_all = (
            None
            if envelope.get("type") == "BatchAnchor.Placed"
            else content.get("leaf_count", len(leaves))
        )
        if in_all not in (None, len(record.leaves)) or (
            record.leaves[first : first + len(leaves)] != leaves
        ):
            return f"the anchor event of checkpoint {size} names other leaves than its anchor"
        if record.documents and content.get("documents") != [
            d for d in record.documents if first <= d["leaf_index"] < first + len(leaves)
        ]:
            return f"the anchor event of checkpoint {size} names other documents than its anchor"
        return None

    def _check_checkpoint(
        self,
        rebuilt: TransparencyLog,
        size: int,
        note: str,
        previous: Checkpoint | None,
    ) -> Checkpoint:
        try:
            checkpoint = verify_checkpoint(note, self._verifier, self._verifier.name)
        except VerificationError as exc:
            raise Discrepancy(
                Finding("checkpoint-signature", size - 1, None, f"checkpoint {size}: {exc}")
            ) from None
        root = rebuilt.root(size)
        if checkpoint.size != size or checkpoint.root != root:
            raise Discrepancy(
                Finding(
                    "checkpoint-root",
                    size - 1,
                    None,
                    f"the signed checkpoint of size {checkpoint.size} has root "
                    f"{checkpoint.root.hex()}, the entries give {root.hex()}",
                )
            )
        if previous is not None:
            proof = rebuilt.consistency_proof(previous.size, size)
            try:
                verify_consistency(
                    previous.size, size, previous.root, checkpoint.root, list(proof.hashes)
                )
            except VerificationError as exc:
                raise Discrepancy(
                    Finding(
                        "consistency",
                        size - 1,
                        None,
                        f"checkpoints {previous.size} and {size} are not consistent: {exc}",
                    )
                ) from None
        return checkpoint

    def _check_anchors(self, checkpoints: dict[int, str], report: AuditReport) -> int:
        count = 0
        for size in sorted(checkpoints):
            record = self._anchors.get(size)
            if record is None or record.state != "recorded":
                continue
            if record.checkpoint_note != checkpoints[size]:
                raise Discrepancy(
                    Finding("anchor", size - 1, None, f"anchor {size} is of another checkpoint")
                )
            named = self._bindings.anchor_leaves.get(str(anchor_id_for(self._verifier.name, size)))
            if named is not None and named[0] != len(record.leaves):
                raise Discrepancy(
                    Finding(
                        "anchor",
                        size - 1,
                        None,
                        f"anchor {size}: its events name {named[0]} of its "
                        f"{len(record.leaves)} leaves",
                    )
                )
            leaves = [bytes.fromhex(leaf) for leaf in record.leaves]
            if not leaves or leaves[0] != checkpoint_leaf(checkpoints[size]):
                raise Discrepancy(
                    Finding("anchor", size - 1, None, f"anchor {size}: the first leaf is wrong")
                )
            root = AnchorTree.build(leaves).root
            if self._chain is not None and not report.unconfirmed:
                try:
                    self._check_transaction(size, record, root)
                except ChainUnavailable as exc:
                    # Not checked is not failed: say so, and accuse no anchor.
                    report.unconfirmed.append(
                        f"the chain is unreachable ({exc}); anchors from checkpoint {size} on "
                        "could not be confirmed"
                    )
            count += 1
        return count

    def _check_transaction(self, size: int, record: Any, root: bytes) -> None:
        mined = self._chain.transaction(record.tx_hash) if self._chain else None
        head = self._chain.head() if self._chain else 0
        if mined is None or mined.data != root or (mined.to or "").lower() != BURN_ADDRESS.lower():
            raise Discrepancy(
                Finding(
                    "anchor-transaction",
                    size - 1,
                    None,
                    f"anchor of checkpoint {size}: transaction {record.tx_hash} does not carry "
                    "the anchor-tree root",
                )
            )
        if confirmations_of(mined.block_number, head) < self._confirmations:
            raise Discrepancy(
                Finding("anchor-transaction", size - 1, None, f"anchor {size} lacks confirmations")
            )

    def _feed(self, envelopes: list[dict[str, Any]], entries: list[bytes]) -> None:
        assert self._replay is not None
        with _replay_failure():
            self._replay.feed(envelopes, entries)

    def _finish_replay(self) -> None:
        assert self._replay is not None
        with _replay_failure():
            self._replay.finish()

    def _check_read_model(self) -> None:
        if self._replay is None:
            return
        with _replay_failure():
            live, replayed = self._replay.digests()
        if live != replayed:
            raise Discrepancy(
                Finding(
                    "read-model",
                    None,
                    None,
                    f"the live read model's digest {live[:16]}… differs from the replay's "
                    f"{replayed[:16]}…",
                )
            )


@contextmanager
def _replay_failure() -> Iterator[None]:
    """The replay, or the live digest it stops at, failed: a read-model finding."""
    try:
        yield
    except RuntimeError as exc:
        raise Discrepancy(Finding("read-model", None, None, str(exc))) from None


def check_witnesses(
    note: str,
    cosigned: dict[str, Any],
    trusted: frozenset[str],
    quorum: int,
    c2sp_note: str | None = None,
) -> Finding | None:
    """Whether a quorum of trusted witnesses, of either kind, cosigned: BLS witnesses the latest
    checkpoint ``note`` (an aggregate), C2SP witnesses ``c2sp_note`` (the latest audited
    checkpoint with cosignature/v1 lines, its consistency with the rest checked by the audit)."""
    signers = tuple(cosigned.get("signers") or ())
    aggregated = cosigned.get("aggregate")
    body = note.partition("\n\n")[0] + "\n"
    bls = frozenset(k for k in trusted if not is_cosignature_key(k))
    by_bls = (
        len(signers)
        if signers and aggregated and verify_quorum(body, signers, str(aggregated), bls, 1)
        else 0
    )
    c2sp = sorted(k for k in trusted if is_cosignature_key(k))
    by_c2sp = len(cosigners(c2sp_note, c2sp)) if c2sp_note is not None else 0
    if by_bls + by_c2sp >= quorum:
        return None
    return Finding(
        "witnesses",
        None,
        None,
        f"the checkpoints lack cosignatures by {quorum} trusted witnesses ({by_bls} in a BLS "
        f"aggregate, {by_c2sp} with cosignature/v1)",
    )
