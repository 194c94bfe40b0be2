"""CREDLEDGER_TLOG_WITNESSES is checked when the ledger starts: an http(s) URL and a
cosignature/v1 verifier key each, or the start stops with what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anchors.checkpoint import NoteSigner
from anchors.cosignature import CosignatureSigner
from ledger.runtime.embedded import tlog_witness_keys
from ledger.settings import ConfigurationError, Settings
from tests.conftest import store_independent

pytestmark = store_independent
KEY = CosignatureSigner("w.example", Ed25519PrivateKey.generate()).verifier_key()


def settings_with(tmp_path: Path, witness: dict[str, str]) -> Settings:
    return Settings(data_dir=tmp_path, tlog_witnesses=[witness])


def test_a_witness_with_a_url_and_a_cosignature_key_is_taken(tmp_path: Path) -> None:
    ((url, verifier),) = tlog_witness_keys(
        settings_with(tmp_path, {"url": "https://w.example/", "key": KEY})
    )
    assert (url, verifier.vkey) == ("https://w.example/", KEY)


def test_a_url_that_is_not_http_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not an http"):
        tlog_witness_keys(settings_with(tmp_path, {"url": "file:///etc", "key": KEY}))


def test_an_ordinary_note_key_is_not_a_witness_key(tmp_path: Path) -> None:
    ordinary = NoteSigner("w.example", Ed25519PrivateKey.generate()).verifier_key()
    with pytest.raises(ConfigurationError, match="cosignature/v1"):
        tlog_witness_keys(settings_with(tmp_path, {"url": "https://w.example", "key": ordinary}))
