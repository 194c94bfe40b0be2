"""The ES256 keys the ledger keeps for issuers' SD-JWT VCs and status lists.

Nothing is stored: each key is derived from the master key, the issuer and the command that
adopted it (HKDF-SHA256), so every API worker signs with the same key, a backup of the store
holds no key, and adopting a new key (a new command) gives a new, unrelated one.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# The order of the P-256 group: a derived scalar is reduced into [1, n - 1].
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


class WalletKeyring:
    """Derives the issuer keys that sign SD-JWT VCs."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ValueError("the master key must be 32 bytes")
        self._master_key = master_key
        self.private_key = lru_cache(maxsize=1024)(self._derive)

    def _derive(self, issuer_id: str, adopted_by: str) -> ec.EllipticCurvePrivateKey:
        # 48 bytes reduced modulo n: the bias is below 2^-128 (FIPS 186-5, A.2.1).
        material = HKDF(
            algorithm=hashes.SHA256(),
            length=48,
            salt=None,
            info=f"credledger/v1/wallet-key/{issuer_id}/{adopted_by}".encode(),
        ).derive(self._master_key)
        scalar = int.from_bytes(material, "big") % (_P256_ORDER - 1) + 1
        return ec.derive_private_key(scalar, ec.SECP256R1())
