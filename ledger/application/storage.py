"""Choosing the storage backend by configuration, in this one place.

Each backend module (``ledger.persistence.sqlite``, ``ledger.persistence.postgres``) provides
``event_store_env``, ``schema_lock``, ``open_vault``, ``open_read_model``, ``open_log_store``,
``open_anchor_store``, ``open_wallet_sessions`` and ``open_event_notices``; nothing else names a
backend.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from anchors.anchoring import AnchorStore
from anchors.log import TransparencyLog
from ledger.application.service import Ledger
from ledger.persistence.event_notices import EventNotices
from ledger.persistence.personal_data import LearnerCipher, PersonalDataVault
from ledger.persistence.read_model import ReadModel
from ledger.persistence.wallet_keys import WalletKeyring
from ledger.persistence.wallet_sessions import WalletSessions
from ledger.settings import Settings


@dataclass
class Storage:
    """The ledger application, its read model and its transparency log, on one backend."""

    ledger: Ledger
    read_model: ReadModel
    log: TransparencyLog
    anchors: AnchorStore
    wallet_sessions: WalletSessions
    # A new listener to the store's announcements of new events (None where it makes none).
    event_notices: Callable[[], EventNotices | None] = lambda: None

    @property
    def vault(self) -> PersonalDataVault:
        return self.ledger.vault

    def close(self) -> None:
        self.ledger.close()
        self.read_model.close()
        self.log.store.close()


def open_storage(settings: Settings) -> Storage:
    """Open the event store with its vault, and the read model, that ``settings.store`` names."""
    backend = importlib.import_module(f"ledger.persistence.{settings.store}")
    cipher = LearnerCipher(settings.master_key_bytes())
    env = {
        **backend.event_store_env(settings),
        # Issuers are read by every command. The cache fast-forwards when read; an issue
        # decided on it unread is written only if the issuer it held was current.
        "AGGREGATE_CACHE_MAXSIZE": "10000",
    }
    with backend.schema_lock(settings):
        ledger = Ledger(
            lambda recorder: backend.open_vault(recorder, cipher),
            env=env,
            rules=settings.content_rules,
            read_freshness=timedelta(seconds=settings.read_freshness_seconds),
            wallet_keyring=WalletKeyring(settings.master_key_bytes()),
        )
        read_model: ReadModel = backend.open_read_model(settings)
        log_store = backend.open_log_store(settings)
    return Storage(
        ledger=ledger,
        read_model=read_model,
        log=TransparencyLog(log_store),
        anchors=backend.open_anchor_store(log_store),
        wallet_sessions=backend.open_wallet_sessions(ledger.recorder),
        event_notices=lambda: backend.open_event_notices(settings, ledger.recorder),
    )


def open_read_model(settings: Settings) -> ReadModel:
    """Only the read model that ``settings.store`` names (for a reader of its digest)."""
    backend = importlib.import_module(f"ledger.persistence.{settings.store}")
    with backend.schema_lock(settings):
        read_model: ReadModel = backend.open_read_model(settings)
    return read_model


def open_log(settings: Settings) -> TransparencyLog:
    """Only the transparency log that ``settings.store`` names (for readers of the log)."""
    backend = importlib.import_module(f"ledger.persistence.{settings.store}")
    return TransparencyLog(backend.open_log_store(settings))
