"""An anchoring account the chain refuses (it cannot pay) is said loudly, not left pending."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account

from anchors.anvil import ManagedAnvil
from ledger.settings import Settings
from tests.conftest import (
    RegisteredIssuer,
    RunningLedger,
    anchored_everything,
    issue,
    settings_on,
    wait_for,
)

PENNILESS = Account.create()


@pytest.fixture
def settings(
    tmp_path: Path, database: Callable[[], dict[str, Any]], anvil: ManagedAnvil
) -> Settings:
    return settings_on(tmp_path, database, anvil, chain_private_key=PENNILESS.key.hex())


def health(ledger: RunningLedger) -> dict[str, Any]:
    found: dict[str, Any] = httpx.get(f"{ledger.url}/health").json()["anchoring"]
    return found


def test_an_account_that_cannot_pay_blocks_anchoring_visibly_until_it_is_funded(
    ledger: RunningLedger,
    issuer: RegisteredIssuer,
    anvil: ManagedAnvil,
    caplog: pytest.LogCaptureFixture,
) -> None:
    credential_id = issue(ledger, issuer)
    wait_for(lambda: health(ledger)["state"] == "blocked", timeout=30)
    blocked = health(ledger)
    assert "insufficient funds" in blocked["detail"].lower()
    assert PENNILESS.address in blocked["detail"]
    anchor = ledger.public.status(credential_id)["versions"][0]["anchor"]
    assert anchor["state"] == "pending" and "anchoring: blocked" in anchor["detail"]
    assert any(
        r.levelname == "ERROR" and "insufficient funds" in r.getMessage().lower()
        for r in caplog.records
    )
    anvil.rpc("anvil_setBalance", PENNILESS.address, hex(10**18))
    wait_for(lambda: anchored_everything(ledger), timeout=60)
    assert health(ledger) == {"state": "ok"}
