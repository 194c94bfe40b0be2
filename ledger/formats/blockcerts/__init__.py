"""Blockcerts v3 (W3C VC 2.0 with a MerkleProof2019): the document of a credential version
(``document``), documents placed in and read from anchor batches (``anchor_batches``), and the
reference verifier's checks (``verify``)."""
