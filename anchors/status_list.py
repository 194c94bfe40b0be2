"""W3C Bitstring Status List encoding: GZIP-compressed bits, base64url, multibase ``u``.

Bit 0 is the most significant bit of the first byte, as the specification orders them.
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterable


def encode(set_bits: Iterable[int], size: int) -> str:
    """The ``encodedList`` of a list of ``size`` bits with ``set_bits`` set."""
    bits = bytearray(size // 8)
    for index in set_bits:
        if not 0 <= index < size:
            raise ValueError(f"status index {index} is outside a list of {size}")
        bits[index // 8] |= 0x80 >> (index % 8)
    # mtime=0: the same bits always give the same bytes.
    packed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


def is_set(encoded_list: str, index: int) -> bool:
    """Whether bit ``index`` of an ``encodedList`` is set."""
    if not encoded_list.startswith("u"):
        raise ValueError("an encodedList is multibase base64url ('u…')")
    body = encoded_list[1:]
    bits = gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    if not 0 <= index < len(bits) * 8:
        raise ValueError(f"status index {index} is outside a list of {len(bits) * 8}")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))
