"""Fixtures of the persistence tests."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ledger.application.storage import Storage, open_storage
from ledger.client import CommandSigner
from ledger.domain import samples
from ledger.domain.commands import IssuerRegistration, SignedCommand
from ledger.domain.signing import IssuerKey
from ledger.settings import Settings, create_secrets


def issue_to(storage: Storage, learners: Sequence[str]) -> None:
    """A new issuer registered, and a credential issued to each of ``learners`` in one bulk
    write (a learner named twice gets two)."""
    key = IssuerKey.generate()
    issuer = storage.ledger.register_issuer(
        IssuerRegistration(**samples.issuer_registration(key.address))
    )
    signer = CommandSigner(key, str(issuer.id))
    now = datetime.now(UTC).replace(microsecond=0)
    bodies = [
        signer.issue(
            samples.credential_content(now, title=f"Course {n}"),
            {"identifier": learner, "full_name": f"Learner {learner}"},
        )
        for n, learner in enumerate(learners)
    ]
    outcomes = storage.ledger.issue_many([SignedCommand(**b) for b in bodies])
    assert not any(isinstance(o, Exception) for o in outcomes), outcomes


@pytest.fixture
def sqlite_storage(tmp_path: Path) -> Iterator[Storage]:
    """A fresh store of the embedded default (SQLite files in a temporary directory)."""
    create_secrets(tmp_path)
    opened = open_storage(Settings(data_dir=tmp_path, store="sqlite"))
    try:
        yield opened
    finally:
        opened.close()
