"""The IETF Token Status List (draft-ietf-oauth-status-list): one status per issued token,
``bits`` bits each, zlib-deflated and base64url in a JWT of type ``statuslist+jwt``.

Entry ``i`` is at byte ``i * bits // 8``, counted from the byte's least significant bit (the
opposite of the W3C Bitstring Status List). Here ``bits`` is 1: 0 valid, 1 invalid.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from ledger.formats.sd_jwt import jws

MEDIA_TYPE = "statuslist+jwt"
BITS = 1
VALID, INVALID = 0, 1
# Every list is at least this long, so its length says nothing of how many credentials an
# issuer has delivered (the draft's "herd privacy").
MIN_ENTRIES = 131_072
MAX_ENTRIES = 1 << 24


class StatusListError(ValueError):
    """A status list token or reference that cannot be read."""


def list_size(highest_index: int) -> int:
    """Entries in a list that holds ``highest_index``: a multiple of 8, at least the minimum."""
    return max(MIN_ENTRIES, (highest_index // 8 + 1) * 8)


def encode(invalid: Iterable[int], size: int) -> str:
    """The ``lst`` of a 1-bit list of ``size`` entries with ``invalid`` set (zlib level 9:
    the same statuses always give the same text)."""
    packed = bytearray(size // 8)
    for index in invalid:
        if not 0 <= index < size:
            raise ValueError(f"status index {index} is outside a list of {size}")
        packed[index // 8] |= 1 << (index % 8)
    return jws.b64url(zlib.compress(bytes(packed), 9))


def status_at(status_list: Any, index: int) -> int:
    """The status of entry ``index`` of a ``status_list`` claim (``{"bits", "lst"}``)."""
    if not isinstance(status_list, dict) or status_list.get("bits") not in (1, 2, 4, 8):
        raise StatusListError("the status_list claim has no bits of 1, 2, 4 or 8")
    bits = int(status_list["bits"])
    lst = status_list.get("lst")
    if not isinstance(lst, str):
        raise StatusListError("the status_list claim has no lst text")
    try:
        inflater = zlib.decompressobj()
        packed = inflater.decompress(jws.b64url_decode(lst), MAX_ENTRIES * bits // 8 + 1)
    except (jws.JwsError, zlib.error):
        raise StatusListError("lst is not base64url zlib data") from None
    if inflater.unconsumed_tail:
        raise StatusListError(f"the list is longer than {MAX_ENTRIES} entries")
    per_byte = 8 // bits
    if not 0 <= index < len(packed) * per_byte:
        raise StatusListError(f"index {index} is outside the list of {len(packed) * per_byte}")
    shift = (index % per_byte) * bits
    return (packed[index // per_byte] >> shift) & ((1 << bits) - 1)


def token(
    uri: str,
    invalid: Iterable[int],
    size: int,
    key: ec.EllipticCurvePrivateKey,
    kid: str,
    issued_at: int,
    ttl: int,
) -> str:
    """The status list token at ``uri``, signed by the issuer's key ``kid``."""
    payload = {
        "sub": uri,
        "iat": issued_at,
        "exp": issued_at + 2 * ttl,
        "ttl": ttl,
        "status_list": {"bits": BITS, "lst": encode(invalid, size)},
    }
    return jws.sign({"typ": MEDIA_TYPE, "kid": kid}, payload, key)
