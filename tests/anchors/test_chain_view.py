"""A verifier's view of the chain keeps what the node said for a moment, never what it has not
found yet."""

from __future__ import annotations

from anchors.chain import Chain, Fees, Inclusion, MinedTransaction
from anchors.chain_view import HEAD_SECONDS, MINED_SECONDS, RecentChainView

MINED = MinedTransaction("0xaa", "0xsender", None, 0, b"", 1, 7, "0xblock")


class CountingChain(Chain):
    """A chain that counts what it is asked; its answers are set by the test."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.tip = 10
        self.mined: MinedTransaction | None = None

    def chain_id(self) -> int:
        return 1

    def head(self) -> int:
        self.asked.append("head")
        return self.tip

    def block(self, number: int) -> tuple[str, int] | None:
        self.asked.append(f"block {number}")
        return (f"0x{number}", 1_700_000_000) if number <= self.tip else None

    def transaction(self, tx_hash: str) -> MinedTransaction | None:
        self.asked.append(f"transaction {tx_hash}")
        return self.mined

    def inclusion(self, tx_hash: str) -> Inclusion | None:
        return None

    def nonce(self, address: str) -> int:
        return 0

    def confirmed_nonce(self, address: str) -> int:
        return 0

    def balance(self, address: str) -> int:
        return 0

    def fees(self) -> Fees:
        return Fees(1, 1)

    def send(self, raw: bytes) -> None:
        self.asked.append("send")

    def is_known(self, tx_hash: str) -> bool:
        return False


def view() -> tuple[RecentChainView, CountingChain, list[float]]:
    now = [100.0]
    chain = CountingChain()
    return RecentChainView(chain, clock=lambda: now[0]), chain, now


def test_the_head_is_read_again_after_a_second() -> None:
    seen, chain, now = view()
    assert seen.head() == 10
    chain.tip = 11
    assert seen.head() == 10
    now[0] += HEAD_SECONDS
    assert seen.head() == 11
    assert chain.asked == ["head", "head"]


def test_a_transaction_not_mined_yet_is_asked_for_each_time() -> None:
    seen, chain, now = view()
    assert seen.transaction("0xaa") is None
    chain.mined = MINED
    assert seen.transaction("0xaa") == MINED
    assert seen.transaction("0xaa") == MINED
    assert chain.asked == ["transaction 0xaa", "transaction 0xaa"]
    now[0] += MINED_SECONDS
    seen.transaction("0xaa")
    assert chain.asked.count("transaction 0xaa") == 3


def test_writes_go_straight_to_the_chain() -> None:
    seen, chain, _ = view()
    seen.send(b"raw")
    seen.send(b"raw")
    assert chain.asked == ["send", "send"]


def test_a_transaction_mined_beyond_the_head_kept_has_the_head_read_again() -> None:
    seen, chain, _ = view()
    assert seen.head() == 10
    chain.tip = 12
    chain.mined = MinedTransaction("0xbb", "0xsender", None, 0, b"", 1, 12, "0xblock")
    seen.transaction("0xbb")
    assert seen.head() == 12
