"""What the anchoring needs from a chain, whichever chain it is."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

# 0xdead...dead, where Blockcerts' cert-issuer sends its anchors (EIP-55 form).
BURN_ADDRESS = "0xdeaDDeADDEaDdeaDdEAddEADDEAdDeadDEADDEaD"


def confirmations_of(block_number: int, head: int) -> int:
    """How many blocks confirm a transaction mined in ``block_number`` when the chain is at
    ``head``: the blocks after it, as block explorers and the Blockcerts verifier count."""
    return max(0, head - block_number)


class ChainUnavailable(Exception):
    """The chain node cannot be reached now; try again later."""


class ChainRejected(Exception):
    """The node refused a transaction; the message says why."""


@dataclass(frozen=True)
class Fees:
    max_fee_per_gas: int
    max_priority_fee_per_gas: int


@dataclass(frozen=True)
class Inclusion:
    """Where a transaction was mined."""

    tx_hash: str
    block_number: int
    block_hash: str
    succeeded: bool
    gas_used: int


@dataclass(frozen=True)
class MinedTransaction:
    """A mined transaction as the chain reports it, for verification."""

    tx_hash: str
    sender: str
    to: str | None
    value: int
    data: bytes
    chain_id: int
    block_number: int
    block_hash: str


class Chain(ABC):
    """An EVM chain, reached over JSON-RPC (or in process, for tests)."""

    @abstractmethod
    def chain_id(self) -> int: ...

    @abstractmethod
    def head(self) -> int:
        """The latest block number."""

    @abstractmethod
    def block(self, number: int) -> tuple[str, int] | None:
        """(hash, timestamp) of a block, or None if there is no such block now."""

    @abstractmethod
    def nonce(self, address: str) -> int:
        """The next nonce of ``address``, counting its pending transactions."""

    @abstractmethod
    def confirmed_nonce(self, address: str) -> int:
        """The next nonce of ``address`` counting only mined transactions."""

    @abstractmethod
    def balance(self, address: str) -> int:
        """The balance of ``address`` in wei, at the latest block."""

    @abstractmethod
    def fees(self) -> Fees:
        """EIP-1559 fees that get a transaction mined soon."""

    @abstractmethod
    def send(self, raw: bytes) -> None:
        """Broadcast a signed transaction (a repeat of a known one is not an error)."""

    @abstractmethod
    def inclusion(self, tx_hash: str) -> Inclusion | None:
        """Where the transaction was mined, or None if it is not mined (now)."""

    @abstractmethod
    def is_known(self, tx_hash: str) -> bool:
        """Whether the node knows the transaction (mined or waiting in its pool)."""

    @abstractmethod
    def transaction(self, tx_hash: str) -> MinedTransaction | None:
        """The mined transaction, or None."""

    def mine(self, blocks: int) -> bool:
        """Mine ``blocks`` empty blocks now, where the chain is a development node that mines
        only when asked (Anvil, eth-tester); True if it did. A public chain makes its own
        blocks, and this answers False."""
        return False
