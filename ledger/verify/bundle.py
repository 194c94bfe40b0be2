"""Self-contained proof bundles: everything needed to check a credential version without the
ledger — its envelope, the issuer's register events, log inclusion, the signed checkpoint, the
anchor-tree path and the anchoring transaction."""

from __future__ import annotations

import base64
from typing import Any

from anchors.anchor_tree import AnchorTree
from anchors.anchoring import AnchorStore
from anchors.cosignature import cosigned_note, is_cosignature_key
from anchors.log import TransparencyLog
from anchors.witness import aggregate
from ledger.domain.errors import Conflict, NotFound
from ledger.persistence.read_model import ReadModel

BUNDLE_FORMAT = "credledger-proof/v1"


class AnchorPending(Conflict):
    code = "anchor-pending"
    title = "Not anchored yet"


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def witnessed(log: TransparencyLog, size: int, trusted: frozenset[str]) -> dict[str, Any]:
    """The trusted BLS witnesses' cosignatures of a checkpoint, aggregated into one
    signature."""
    found = {
        k: v
        for k, v in log.store.cosignatures(size).items()
        if k in trusted and not is_cosignature_key(k)
    }
    signers = sorted(found)
    return {
        "signers": signers,
        "aggregate": aggregate([found[k] for k in signers]) if found else None,
    }


def witnessed_checkpoint(
    log: TransparencyLog, size: int, trusted: frozenset[str]
) -> dict[str, Any] | None:
    """The checkpoint of ``size`` entries or a later one, whichever the most trusted C2SP
    witnesses cosigned (the earliest of those), with their cosignature/v1 lines and the
    consistency proof from ``size`` to it; None if none of them cosigned any."""
    keys = sorted(k for k in trusted if is_cosignature_key(k))
    if not keys:
        return None
    best, most = 0, 0
    for cosigned_size, signers in log.store.cosigners_from(size).items():
        count = len(signers & set(keys))
        if count > most:
            best, most = cosigned_size, count
    found = log.store.checkpoints(best - 1, 1) if most else []
    if not found or found[0][0] != best:
        return None
    proof = log.consistency_proof(size, best).hashes if best > size else ()
    return {
        "checkpoint": cosigned_note(found[0][1], log.store.cosignatures(best), keys),
        "consistency": [_b64(h) for h in proof],
    }


def _logged(log: TransparencyLog, position: int, size: int) -> dict[str, Any]:
    index = log.store.index_of(position)
    if index is None or index >= size:
        raise AnchorPending("the event is not in an anchored batch yet")
    proof = log.inclusion_proof(index, size)
    return {
        "envelope": log.store.entries(index, index + 1)[0].decode(),
        "index": index,
        "inclusion": [_b64(h) for h in proof.hashes],
    }


def build_bundle(
    credential_id: str,
    version: int | None,
    read_model: ReadModel,
    log: TransparencyLog,
    anchors: AnchorStore,
    verifier_key: str,
    witnesses: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The proof bundle of a credential version (default: the current one)."""
    found = read_model.credential(credential_id)
    if found is None:
        raise NotFound(f"no credential {credential_id}")
    chosen = (
        found["versions"][-1]
        if version is None
        else next((v for v in found["versions"] if v["version"] == version), None)
    )
    if chosen is None:
        raise NotFound(f"credential {credential_id} has no version {version}")
    index = log.store.index_of(chosen["log_position"])
    anchor = anchors.covering(index) if index is not None else None
    if index is None or anchor is None:
        raise AnchorPending("the credential is in the log's next batch: anchoring is pending")
    size = anchor.checkpoint_size
    issuer = read_model.issuer(found["issuer_id"])
    assert issuer is not None
    issuer_events = [
        _logged(log, event["position"], size)
        for event in issuer["history"]
        if event["position"] < chosen["log_position"]
    ]
    tree = AnchorTree.build([bytes.fromhex(leaf) for leaf in anchor.leaves])
    placed = next(
        (
            d
            for d in anchor.documents
            if d.get("credential_id") == credential_id and d.get("version") == chosen["version"]
        ),
        None,
    )
    # The leaf the ledger anchored for this version's credential document, if it made one (a
    # learner erased before the batch was anchored has none): a document is checked against it.
    document = (
        None
        if placed is None
        else {
            "version": chosen["version"],
            "leaf": anchor.leaves[placed["leaf_index"]],
            "leaf_index": placed["leaf_index"],
            "path": tree.path(placed["leaf_index"]),
        }
    )
    return {
        "format": BUNDLE_FORMAT,
        "credential_id": credential_id,
        "event": _logged(log, chosen["log_position"], size),
        "issuer_events": issuer_events,
        "log": {
            "verifier_key": verifier_key,
            "size": size,
            "checkpoint": anchor.checkpoint_note,
            "cosignatures": witnessed(log, size, witnesses),
            "witnessed": witnessed_checkpoint(log, size, witnesses),
        },
        "anchor": {
            "chain_id": anchor.chain_id,
            "tx_hash": anchor.tx_hash,
            "block_number": anchor.block_number,
            "block_hash": anchor.block_hash,
            "root": anchor.root,
            "leaf_index": 0,
            "path": tree.path(0),
        },
        "document": document,
    }
