"""Rotating the ledger's anchoring key: a recorded operation, refused where it would break
documents, and the only way the key may change. On real Anvil nodes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import SecretStr

from anchors.anvil import ManagedAnvil, dev_account, find_anvil
from ledger.cli.main import cli
from ledger.client import CommandSigner
from ledger.domain.commands import IssuerRegistration, SignedCommand
from ledger.domain.samples import issuer_registration
from ledger.domain.signing import IssuerKey
from ledger.runtime.embedded import EmbeddedLedger
from ledger.settings import ConfigurationError, Settings
from tests.conftest import LEARNER, anchored_everything, content, settings_on, wait_for


def _node(tmp_path: Path, **options: Any) -> ManagedAnvil:
    binary = find_anvil()
    assert binary is not None, "anvil is installed by tests/run.sh"
    return ManagedAnvil(binary, state_file=None, **options).start()


def _issue_one(embedded: EmbeddedLedger) -> None:
    key = IssuerKey.generate()
    app = embedded.storage.ledger
    issuer = app.register_issuer(IssuerRegistration(**issuer_registration(key.address)))
    app.issue(SignedCommand(**CommandSigner(key, str(issuer.id)).issue(content(), LEARNER)))


def _rotate(settings: Settings, key_file: Path) -> Any:
    # The command reads its store from the environment, as an operator's shell gives it.
    env = {
        "CREDLEDGER_STORE": settings.store,
        "CREDLEDGER_POSTGRES_PORT": str(settings.postgres_port),
        "CREDLEDGER_POSTGRES_DBNAME": settings.postgres_dbname,
        "CREDLEDGER_POSTGRES_USER": settings.postgres_user,
        "CREDLEDGER_POSTGRES_PASSWORD": settings.postgres_password.get_secret_value(),
    }
    return CliRunner(env=env).invoke(
        cli,
        [
            "anchoring-key",
            "rotate",
            "--data-dir",
            str(settings.data_dir),
            "--key-file",
            str(key_file),
        ],
    )


def _all_recorded(embedded: EmbeddedLedger) -> bool:
    running = SimpleNamespace(embedded=embedded)
    return anchored_everything(running) and not embedded.storage.anchors.unfinished()  # type: ignore[arg-type]


@pytest.fixture
def node(tmp_path: Path) -> Any:
    started = _node(tmp_path)
    yield started
    started.stop()


def test_a_key_changed_only_in_configuration_is_refused_at_start(
    tmp_path: Path, database: Callable[[], dict[str, Any]], node: ManagedAnvil
) -> None:
    settings = settings_on(tmp_path, database, node)
    EmbeddedLedger(settings).stop()
    changed = settings.model_copy(update={"chain_private_key": SecretStr(dev_account(1).key.hex())})
    with pytest.raises(ConfigurationError, match="anchoring-key rotate"):
        EmbeddedLedger(changed)


def test_rotation_is_refused_while_a_batch_is_in_flight(
    tmp_path: Path, database: Callable[[], dict[str, Any]]
) -> None:
    manual = _node(tmp_path, automine=False)
    try:
        settings = settings_on(tmp_path, database, manual)
        with EmbeddedLedger(settings) as embedded:
            _issue_one(embedded)
            wait_for(lambda: bool(embedded.storage.anchors.unfinished()))
        key_file = tmp_path / "new.hex"
        key_file.write_text(dev_account(3).key.hex())
        result = _rotate(settings, key_file)
        assert result.exit_code != 0
        assert "still being anchored" in result.output
    finally:
        manual.stop()


def test_after_rotation_batches_are_anchored_by_the_new_key(
    tmp_path: Path, database: Callable[[], dict[str, Any]], node: ManagedAnvil
) -> None:
    settings = settings_on(tmp_path, database, node)
    with EmbeddedLedger(settings) as embedded:
        _issue_one(embedded)
        wait_for(lambda: _all_recorded(embedded))
    key_file = tmp_path / "new.hex"
    key_file.write_text(dev_account(3).key.hex())
    result = _rotate(settings, key_file)
    assert result.exit_code == 0, result.output
    # The rotated key now comes from secrets.json, not from the environment.
    rotated = settings.model_copy(update={"chain_private_key": None})
    with EmbeddedLedger(rotated) as embedded:
        _issue_one(embedded)
        wait_for(lambda: _all_recorded(embedded))
        latest = embedded.storage.anchors.latest()
        keys = embedded.storage.ledger.anchoring_keys()
    assert latest is not None and latest.sender == dev_account(3).address
    assert [k["address"] for k in keys] == [dev_account(0).address, dev_account(3).address]
    assert keys[0]["revoked"] == keys[1]["created"] and keys[1]["revoked"] is None


def test_a_retired_key_is_never_adopted_again(
    tmp_path: Path, database: Callable[[], dict[str, Any]], node: ManagedAnvil
) -> None:
    settings = settings_on(tmp_path, database, node)
    EmbeddedLedger(settings).stop()
    first, back = tmp_path / "first.hex", tmp_path / "back.hex"
    first.write_text(dev_account(3).key.hex())
    back.write_text(dev_account(0).key.hex())
    assert _rotate(settings, first).exit_code == 0
    result = _rotate(settings, back)
    assert result.exit_code != 0 and "never reused" in result.output
