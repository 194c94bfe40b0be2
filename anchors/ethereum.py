"""Chains reached through web3.py: any JSON-RPC endpoint, or eth-tester in process."""

from __future__ import annotations

from typing import Any

from web3 import Web3
from web3.exceptions import TransactionNotFound, Web3RPCError
from web3.providers import BaseProvider
from web3.types import RPCEndpoint

from anchors.chain import (
    Chain,
    ChainRejected,
    ChainUnavailable,
    Fees,
    Inclusion,
    MinedTransaction,
)
from anchors.keepalive_provider import KeepAliveProvider

_TRANSPORT_ERRORS = (ConnectionError, OSError, TimeoutError)
_KNOWN = ("already known", "known transaction", "alreadyknown", "already imported")


def _hex(value: Any) -> str:
    text = value.hex() if isinstance(value, bytes | bytearray) else str(value)
    return text if text.startswith("0x") else "0x" + text


# Nodes that make a block only when a transaction arrives or they are asked to.
_DEVELOPMENT_NODES = ("anvil/", "ethereumtester/", "hardhatnetwork/", "ganache/")


def _rpc_message(exc: Web3RPCError) -> str:
    """The node's own words for a refusal (web3 gives the JSON-RPC error object)."""
    error = (exc.rpc_response or {}).get("error")
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    return str(exc)


class Web3Chain(Chain):
    """A chain behind a web3 provider; transport failures become :class:`ChainUnavailable`."""

    def __init__(self, provider: BaseProvider) -> None:
        self.web3 = Web3(provider)
        self._development: bool | None = None

    @classmethod
    def connect(cls, rpc_url: str, timeout: float = 10.0) -> Web3Chain:
        """The chain behind the JSON-RPC endpoint ``rpc_url`` (HTTP or HTTPS)."""
        return cls(KeepAliveProvider(rpc_url, timeout=timeout))

    def close(self) -> None:
        """Let go of the kept-alive connection to the node (a later call opens another)."""
        if isinstance(self.web3.provider, KeepAliveProvider):
            self.web3.provider.close()

    def _call(self, function: Any, *args: Any) -> Any:
        try:
            return function(*args)
        except _TRANSPORT_ERRORS as exc:
            raise ChainUnavailable(f"the chain node is unreachable: {exc}") from exc
        except Exception as exc:
            if type(exc).__module__.startswith(("requests", "urllib3", "aiohttp")):
                raise ChainUnavailable(f"the chain node is unreachable: {exc}") from exc
            raise

    def mine(self, blocks: int) -> bool:
        if self._development is None:
            client = str(self._call(lambda: self.web3.client_version)).lower()
            self._development = client.startswith(_DEVELOPMENT_NODES)
        if not self._development:
            return False
        for _ in range(blocks):
            self._call(self.web3.provider.make_request, RPCEndpoint("evm_mine"), [])
        return True

    def chain_id(self) -> int:
        return int(self._call(lambda: self.web3.eth.chain_id))

    def head(self) -> int:
        return int(self._call(lambda: self.web3.eth.block_number))

    def block(self, number: int) -> tuple[str, int] | None:
        try:
            found = self._call(self.web3.eth.get_block, number)
        except Exception as exc:
            if "not found" in str(exc).lower():
                return None
            raise
        if found is None:
            return None
        return _hex(found["hash"]), int(found["timestamp"])

    def nonce(self, address: str) -> int:
        return int(self._call(self.web3.eth.get_transaction_count, address, "pending"))

    def confirmed_nonce(self, address: str) -> int:
        return int(self._call(self.web3.eth.get_transaction_count, address, "latest"))

    def balance(self, address: str) -> int:
        return int(self._call(self.web3.eth.get_balance, address))

    def fees(self) -> Fees:
        latest = self._call(self.web3.eth.get_block, "latest")
        base = int(latest.get("baseFeePerGas", 0))
        try:
            priority = int(self._call(lambda: self.web3.eth.max_priority_fee))
        except (Web3RPCError, ValueError, NotImplementedError):
            priority = 10**9
        priority = max(priority, 1)
        return Fees(max_fee_per_gas=2 * base + priority, max_priority_fee_per_gas=priority)

    def send(self, raw: bytes) -> None:
        try:
            self._call(self.web3.eth.send_raw_transaction, raw)
        except Web3RPCError as exc:
            message = _rpc_message(exc)
            if any(marker in message.lower() for marker in _KNOWN):
                return
            raise ChainRejected(message) from exc
        except ValueError as exc:
            if any(marker in str(exc).lower() for marker in _KNOWN):
                return
            raise ChainRejected(str(exc)) from exc

    def inclusion(self, tx_hash: str) -> Inclusion | None:
        try:
            receipt = self._call(self.web3.eth.get_transaction_receipt, tx_hash)
        except TransactionNotFound:
            return None
        if receipt is None or receipt.get("blockNumber") is None:
            return None
        return Inclusion(
            tx_hash=tx_hash,
            block_number=int(receipt["blockNumber"]),
            block_hash=_hex(receipt["blockHash"]),
            succeeded=int(receipt["status"]) == 1,
            gas_used=int(receipt["gasUsed"]),
        )

    def is_known(self, tx_hash: str) -> bool:
        try:
            return self._call(self.web3.eth.get_transaction, tx_hash) is not None
        except TransactionNotFound:
            return False

    def transaction(self, tx_hash: str) -> MinedTransaction | None:
        try:
            found = self._call(self.web3.eth.get_transaction, tx_hash)
        except TransactionNotFound:
            return None
        if found is None or found.get("blockNumber") is None:
            return None
        data = found.get("input", b"")
        return MinedTransaction(
            tx_hash=tx_hash,
            sender=str(found["from"]),
            to=None if found.get("to") is None else str(found["to"]),
            value=int(found["value"]),
            data=bytes(data)
            if isinstance(data, bytes | bytearray)
            else bytes.fromhex(str(data).removeprefix("0x")),
            chain_id=int(found.get("chainId", self.chain_id())),
            block_number=int(found["blockNumber"]),
            block_hash=_hex(found["blockHash"]),
        )
