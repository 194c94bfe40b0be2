"""Rotating the ledger's anchoring key, safely for documents already handed out.

Issuer profiles list every anchoring address with when it was adopted and retired; verifiers
judge a transaction's sender against the key valid at the block's time. So a rotation must not
leave a transaction of the old key still to be mined after its retirement: it is refused while
a batch is in flight, and done while the service is stopped.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from eth_account import Account

from anchors.anchoring import AnchorRecord
from ledger.application.storage import open_storage
from ledger.domain.errors import AnchoringKeyChanged
from ledger.settings import Settings, store_secret


@dataclass(frozen=True)
class Rotation:
    retired: str
    adopted: str
    at: datetime


def rotate_anchoring_key(settings: Settings, new_key_hex: str | None = None) -> Rotation:
    """Retire the current anchoring address and adopt a new key (generated if not given).

    The new key is stored as ``anchoring_key`` in ``secrets.json``; it must hold funds before
    the next batch can be anchored.
    """
    key = new_key_hex or "0x" + secrets.token_hex(32)
    adopted = Account.from_key(key).address
    storage = open_storage(settings)
    try:
        in_flight = storage.anchors.unfinished()
        if in_flight:
            raise AnchoringKeyChanged(
                f"the batch at log size {in_flight[0].checkpoint_size} is still being anchored "
                "with the current key; start the service until it is anchored, stop it, and "
                "rotate then"
            )
        keys = storage.ledger.anchoring_keys()
        if not keys:
            raise AnchoringKeyChanged("the ledger has not anchored yet: there is no key to rotate")
        at = _after_the_last_anchor(storage.anchors.latest())
        storage.ledger.rotate_anchoring_key(adopted, at)
        store_secret(settings.data_dir, "anchoring_key", key)
        return Rotation(retired=str(keys[-1]["address"]), adopted=adopted, at=at)
    finally:
        storage.close()


def _after_the_last_anchor(latest: AnchorRecord | None) -> datetime:
    """Now, once the clock is a whole second past the last anchor's block: profiles give the
    retirement in whole seconds, and a verifier refuses a transaction not strictly before it
    (an anchor mined in the second of the rotation would read as sent by a retired key)."""
    if latest is not None and latest.block_time is not None:
        wait = latest.block_time + 1 - time.time()
        if wait > 0:
            time.sleep(wait)
    return datetime.now(UTC)


def environment_overrides() -> bool:
    """Whether CREDLEDGER_CHAIN_PRIVATE_KEY would override the rotated key."""
    return bool(os.environ.get("CREDLEDGER_CHAIN_PRIVATE_KEY"))
