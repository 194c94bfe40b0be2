"""Verifying a credential's proof bundle, step by step, trusting nothing it can recompute.

Each step passes or fails with a sentence; a step that could not be run (no chain given, no
ledger to ask for the current status) is reported as not checked. The verdict is ``valid`` only
when every step passed, and never when the current status is unknown.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from typing import Any

from anchors.anchor_tree import checkpoint_leaf, root_from_path
from anchors.chain import BURN_ADDRESS, Chain, ChainUnavailable, confirmations_of
from anchors.checkpoint import Checkpoint, NoteVerifier, verify_checkpoint
from anchors.cosignature import cosigners, is_cosignature_key
from anchors.merkle import VerificationError, leaf_hash, verify_consistency, verify_inclusion
from anchors.witness import verify_quorum
from ledger.domain.binding import target_problem
from ledger.domain.canonical import canonical_bytes
from ledger.domain.signing import SignatureFormatError, checksum_address, recover_signer
from ledger.verify.bundle import BUNDLE_FORMAT
from ledger.verify.report import Report

_CREDENTIAL_EVENTS = ("Credential.Issued", "Credential.Amended")
_TX_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")


class _Failed(Exception):
    pass


def _proof_hash(value: Any) -> bytes:
    """One hash of a log proof: 32 bytes in canonical base64. A lenient decoder ignores the
    last character's padding bits, so two spellings would name one hash; only the one the
    ledger writes is taken."""
    raw = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
    if len(raw) != 32 or base64.b64encode(raw).decode() != value:
        raise binascii.Error("a proof hash is 32 bytes in canonical base64")
    return raw


def _b64list(values: Any) -> list[bytes]:
    if not isinstance(values, list):
        raise ValueError("a proof is a list of base64 hashes")
    return [_proof_hash(v) for v in values]


def _parse_envelope(text: Any) -> tuple[dict[str, Any], bytes]:
    if not isinstance(text, str):
        raise ValueError("an envelope is canonical JSON text")
    raw = text.encode()
    parsed = json.loads(text)
    if canonical_bytes(parsed) != raw:
        raise ValueError("the envelope is not in RFC 8785 canonical form")
    return parsed, raw


def verify_bundle(
    bundle: Any,
    chain: Chain | None,
    trusted_log_key: str | None = None,
    confirmations: int = 1,
    current_status: Callable[[str, int], dict[str, Any] | None] | None = None,
    witnesses: frozenset[str] = frozenset(),
    quorum: int = 0,
) -> Report:
    """Check ``bundle``; ``chain`` for the anchoring transaction, ``trusted_log_key`` to pin
    the log's key (else the bundle's own, which is said), ``current_status`` to ask the
    ledger whether the version recorded at a log position still stands."""
    report = Report()
    try:
        _verify(
            report,
            bundle,
            chain,
            trusted_log_key,
            confirmations,
            current_status,
            witnesses,
            quorum,
        )
    except _Failed:
        report.verdict = "invalid"
    return report


def _bls_cosigners(body: str, cosigned: dict[str, Any], trusted: frozenset[str]) -> int:
    """How many trusted BLS witnesses the checkpoint's aggregate cosignature proves."""
    signers = tuple(cosigned.get("signers") or ())
    bls = frozenset(k for k in trusted if not is_cosignature_key(k))
    aggregate_signature = str(cosigned.get("aggregate") or "")
    if not signers or not aggregate_signature:
        return 0
    if not verify_quorum(body, signers, aggregate_signature, bls, len(signers)):
        return 0
    return len(signers)


def _c2sp_cosigners(
    witnessed: Any, checkpoint: Checkpoint, log_key: NoteVerifier, trusted: frozenset[str]
) -> tuple[int, str]:
    """How many trusted cosignature/v1 witnesses cosigned this checkpoint, or a later one the
    log signed and proved consistent with it; and on which."""
    if not isinstance(witnessed, dict):
        return 0, "(none given)"
    try:
        note = str(witnessed["checkpoint"])
        later = verify_checkpoint(note, log_key, log_key.name)
        proof = _b64list(witnessed["consistency"])
        if later.size == checkpoint.size:
            if later.root != checkpoint.root or proof:
                raise VerificationError("another root for the same size")
        else:
            verify_consistency(checkpoint.size, later.size, checkpoint.root, later.root, proof)
    except (KeyError, TypeError, ValueError, VerificationError) as exc:
        return 0, f"(the witnessed checkpoint does not hold: {exc})"
    found = cosigners(note, sorted(k for k in trusted if is_cosignature_key(k)))
    where = (
        "on this checkpoint"
        if later.size == checkpoint.size
        else f"on the checkpoint of {later.size} entries, proved consistent with this one"
    )
    return len(found), where


def _verify(
    report: Report,
    bundle: Any,
    chain: Chain | None,
    trusted_log_key: str | None,
    confirmations: int,
    current_status: Callable[[str, int], dict[str, Any] | None] | None,
    witnesses: frozenset[str],
    quorum: int,
) -> None:
    def check(name: str, passed: bool, detail: str) -> None:
        report.add(name, passed, detail)
        if not passed:
            raise _Failed

    try:
        if not isinstance(bundle, dict) or bundle.get("format") != BUNDLE_FORMAT:
            raise ValueError(f"not a {BUNDLE_FORMAT} bundle")
        event = bundle["event"]
        envelope, raw = _parse_envelope(event["envelope"])
        issuer_events = [(e, *_parse_envelope(e["envelope"])) for e in bundle["issuer_events"]]
        log_part, anchor = bundle["log"], bundle["anchor"]
        size, note = int(log_part["size"]), str(log_part["checkpoint"])
        command = envelope["content"]
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        check("bundle", False, f"The bundle cannot be read: {exc}.")
        return
    report.add("bundle", True, "The bundle is well formed and its envelopes are canonical.")

    credential_ok = envelope.get("type") in _CREDENTIAL_EVENTS and envelope.get(
        "aggregate_id"
    ) == bundle.get("credential_id")
    unbound = target_problem(envelope) if credential_ok else None
    check(
        "envelope",
        credential_ok and unbound is None,
        f"The log entry is the {envelope.get('type')} event of credential "
        f"{envelope.get('aggregate_id')}, hashing to {leaf_hash(raw).hex()[:16]}…, and its "
        "signed command names this credential."
        if credential_ok and unbound is None
        else f"The event is not the one its signed command names: {unbound}."
        if unbound
        else "The envelope is not an issue or amendment of this credential.",
    )
    report.credential = {k: v for k, v in command.get("content", {}).items() if k != "learner"}

    try:
        signer = checksum_address(
            recover_signer(canonical_bytes(command), str(envelope.get("signature")))
        )
    except SignatureFormatError as exc:
        check("issuer_signature", False, f"The issuer signature is unusable: {exc}.")
        return
    report.add("issuer_signature", True, f"The command was signed by {signer}.")

    key, suspended, known = None, False, False
    for _, issuer_envelope, _ in issuer_events:
        if issuer_envelope.get("aggregate_id") != envelope.get("issuer_id"):
            continue
        kind, content = issuer_envelope.get("type"), issuer_envelope.get("content", {})
        if kind == "Issuer.Registered":
            key, known = content.get("address"), True
        elif kind == "Issuer.KeyRotated":
            key = content.get("new_address")
        elif kind == "Issuer.Suspended":
            suspended = True
        elif kind == "Issuer.Reinstated":
            suspended = False
    registered = known and key is not None and str(key).lower() == signer.lower()
    check(
        "issuer_registered",
        registered and not suspended,
        f"Issuer {envelope.get('issuer_id')} was registered with key {key} and in good "
        "standing when the command was recorded."
        if registered and not suspended
        else (
            "The issuer was suspended when the command was recorded."
            if registered
            else f"{signer} was not the registered key of issuer {envelope.get('issuer_id')} "
            "when the command was recorded."
        ),
    )

    try:
        if trusted_log_key is not None and trusted_log_key != log_part.get("verifier_key"):
            raise VerificationError("the bundle names another log key than the pinned one")
        verifier = NoteVerifier.parse(trusted_log_key or str(log_part.get("verifier_key")))
        checkpoint = verify_checkpoint(note, verifier, verifier.name)
        if checkpoint.size != size:
            raise VerificationError(f"the checkpoint is of size {checkpoint.size}, not {size}")
    except VerificationError as exc:
        check("checkpoint_signature", False, f"The checkpoint does not verify: {exc}.")
        return
    pinned = "the pinned" if trusted_log_key else "the bundle's (not pinned)"
    report.add(
        "checkpoint_signature",
        True,
        f"The checkpoint of {checkpoint.size} entries is signed by {pinned} log key "
        f"{verifier.name}.",
    )

    if quorum > 0:
        body = note.partition("\n\n")[0] + "\n"
        by_bls = _bls_cosigners(body, log_part.get("cosignatures") or {}, witnesses)
        by_c2sp, c2sp_detail = _c2sp_cosigners(
            log_part.get("witnessed"), checkpoint, verifier, witnesses
        )
        agreed = by_bls + by_c2sp >= quorum
        check(
            "witnesses",
            agreed,
            f"{by_bls + by_c2sp} trusted witnesses cosigned (quorum {quorum}): {by_bls} in a "
            f"BLS aggregate of this checkpoint, {by_c2sp} with cosignature/v1 {c2sp_detail}."
            if agreed
            else f"Only {by_bls + by_c2sp} trusted witnesses cosigned, quorum {quorum} "
            f"({by_bls} BLS; {by_c2sp} cosignature/v1 {c2sp_detail}).",
        )
    else:
        report.add("witnesses", None, "No witness quorum was required.")

    try:
        for item, _, item_raw in [(event, envelope, raw), *issuer_events]:
            verify_inclusion(
                int(item["index"]),
                size,
                leaf_hash(item_raw),
                _b64list(item["inclusion"]),
                checkpoint.root,
            )
    except (VerificationError, ValueError, binascii.Error, KeyError) as exc:
        check("log_inclusion", False, f"An entry is not proved in the log: {exc}.")
        return
    report.add(
        "log_inclusion",
        True,
        f"The event is entry {event['index']} of the log, and the issuer's register events "
        f"are entries too, all under the checkpoint's root.",
    )

    try:
        anchored_root = bytes.fromhex(str(anchor["root"]))
        computed = root_from_path(checkpoint_leaf(note), anchor["path"])
    except (VerificationError, ValueError, KeyError, TypeError) as exc:
        check("anchor_path", False, f"The anchor path is unusable: {exc}.")
        return
    check(
        "anchor_path",
        anchor.get("leaf_index") == 0 and computed == anchored_root,
        "The checkpoint is the first leaf of the batch's anchor tree, whose root is "
        f"{anchored_root.hex()[:16]}…"
        if computed == anchored_root
        else f"The anchor path leads to {computed.hex()}, not the anchored root.",
    )

    _check_document_leaf(check, report, bundle.get("document"), anchored_root)

    if chain is None:
        report.add("transaction", None, "No chain was given: the anchor was not checked.")
    else:
        _check_transaction(check, report, chain, anchor, anchored_root, confirmations)

    if current_status is None:
        report.add("status", None, "The current status was not checked (no ledger asked).")
        report.verdict = "status-unknown"
        return
    try:
        status = current_status(str(bundle["credential_id"]), int(envelope["position"]))
    except Exception:
        status = None
    if status is None:
        report.add("status", None, "The ledger could not be asked for the current status.")
        report.verdict = "status-unknown"
        return
    state = status.get("status")
    if state == "active":
        report.add("status", True, "The credential version is current and not revoked.")
        # A witness quorum that was not asked for is no gap; any other unchecked step is.
        unchecked = [s for s in report.steps if s.passed is None and s.name != "witnesses"]
        report.verdict = "status-unknown" if unchecked else "valid"
    elif state == "superseded":
        report.add(
            "status",
            False,
            f"This version was superseded by version {status.get('superseded_by')}.",
        )
        report.verdict = "superseded"
    else:
        reason = (status.get("revocation") or {}).get("reason", "no reason given")
        report.add("status", False, f"The credential was revoked: {reason}.")
        report.verdict = "revoked"


def _check_document_leaf(
    check: Callable[[str, bool, str], None],
    report: Report,
    document: Any,
    root: bytes,
) -> None:
    """The leaf the ledger anchored for this version's document, proved under the same root."""
    if document is None:
        return
    try:
        leaf = bytes.fromhex(str(document["leaf"]))
        reached = root_from_path(leaf, document["path"])
    except (VerificationError, ValueError, KeyError, TypeError) as exc:
        check("document_leaf", False, f"The document leaf's path is unusable: {exc}.")
        return
    check(
        "document_leaf",
        reached == root,
        f"The ledger anchored document leaf {leaf.hex()[:16]}… for version "
        f"{document.get('version')} in the same tree."
        if reached == root
        else "The document leaf's path does not lead to the anchored root.",
    )
    report.document_leaf = leaf.hex()


def _check_transaction(
    check: Callable[[str, bool, str], None],
    report: Report,
    chain: Chain,
    anchor: dict[str, Any],
    root: bytes,
    confirmations: int,
) -> None:
    tx_hash = str(anchor.get("tx_hash"))
    if not _TX_HASH.match(tx_hash):
        check("transaction", False, f"{tx_hash!r} is not a transaction hash.")
        return
    try:
        chain_id = chain.chain_id()
        mined = chain.transaction(tx_hash)
        head = chain.head()
    except ChainUnavailable as exc:
        # A check that could not run accuses nobody: the verdict becomes "status-unknown".
        report.add("transaction", None, f"The chain could not be reached: {exc}.")
        return
    if mined is None:
        check("transaction", False, f"Transaction {anchor.get('tx_hash')} is not on the chain.")
        return
    problems = []
    if chain_id != anchor.get("chain_id"):
        problems.append(f"the node is chain {chain_id}, the bundle says {anchor.get('chain_id')}")
    if mined.data != root:
        problems.append("its data is not the anchored root")
    if (mined.to or "").lower() != BURN_ADDRESS.lower() or mined.value != 0:
        problems.append("it is not a zero-value transaction to the burn address")
    # A re-organisation may mine the same transaction in another block: the root is still
    # anchored by that transaction, so only the confirmations count, counted where it is now.
    moved = mined.block_hash != anchor.get("block_hash") or mined.block_number != anchor.get(
        "block_number"
    )
    depth = confirmations_of(mined.block_number, head)
    if depth < confirmations:
        problems.append(f"it has {depth} confirmations, {confirmations} are required")
    note = (
        f" (the bundle names block {anchor.get('block_number')}: the transaction moved to "
        "another block in a re-organisation)"
        if moved
        else ""
    )
    check(
        "transaction",
        not problems,
        f"Transaction {mined.tx_hash} in block {mined.block_number} of chain {chain_id} carries "
        f"the root, with {depth} confirmations{note}."
        if not problems
        else "The anchoring transaction does not match: " + "; ".join(problems) + ".",
    )
