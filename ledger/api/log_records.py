"""Whether a record the ledger keeps (a recorded seal, a wallet delivery) is in the log under a
checkpoint that is anchored on chain: the check verifiers of those records share."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from anchors.checkpoint import NoteVerifier, verify_checkpoint
from anchors.merkle import VerificationError, leaf_hash, verify_inclusion
from ledger.api.app_context import ApiContext


def anchored_record(
    ctx: ApiContext, position: int, names_it: Callable[[dict[str, Any]], bool], what: str
) -> tuple[bool | None, str]:
    """(passed, sentence): the event at ``position`` is a log entry ``names_it`` accepts, with
    an inclusion proof under the signed checkpoint an anchor covers. None while pending."""
    log, anchors = ctx.log, ctx.anchors
    index = log.store.index_of(position)
    anchor = anchors.covering(index) if index is not None else None
    if index is None or anchor is None or anchor.tx_hash is None:
        return None, f"The {what}'s record is in the log's next batch: anchoring is pending."
    entry = log.store.entries(index, index + 1)[0]
    if not names_it(json.loads(entry)):
        return False, f"Log entry {index} does not record this {what}."
    try:
        checkpoint = verify_checkpoint(
            anchor.checkpoint_note, NoteVerifier.parse(ctx.log_verifier_key), ctx.log_origin
        )
        proof = log.inclusion_proof(index, checkpoint.size)
        verify_inclusion(index, checkpoint.size, leaf_hash(entry), proof.hashes, checkpoint.root)
    except VerificationError as exc:
        return False, f"The {what}'s log entry is not under the anchored checkpoint: {exc}."
    return True, (
        f"The {what}'s record is log entry {index}, under the checkpoint of "
        f"{checkpoint.size} entries anchored in transaction {anchor.tx_hash} (block "
        f"{anchor.block_number}, chain {anchor.chain_id})."
    )
