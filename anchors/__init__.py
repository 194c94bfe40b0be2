"""Cryptography and chains: the transparency log, anchor trees, checkpoints, Ethereum anchors.

Knows nothing of the ledger's HTTP or storage; ``consumers`` wire ledger events into it.
"""

import sys as _sys

# py_ecc raises the interpreter's recursion limit to 100,000 when it is first imported (and
# eth-account imports it). Under that limit a deeply nested JSON body overflows the C stack and
# kills the process instead of raising RecursionError. Import it here, once, before anything
# else can, and put the limit back: its own work recurses only as deep as a scalar's bits.
_limit = _sys.getrecursionlimit()
import py_ecc  # noqa: E402, F401

_sys.setrecursionlimit(_limit)
