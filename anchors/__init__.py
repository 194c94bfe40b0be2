"""Cryptography and chains: the transparency log, anchor trees, checkpoints, Ethereum anchors.

Knows nothing of the ledger's HTTP or storage; ``consumers`` wire ledger events into it.
"""
