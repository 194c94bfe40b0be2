"""A log entry is the RFC 8785 bytes of its event's envelope, whichever way the ledger writes
them: the reference implementation, given the envelope as plain JSON, writes the same bytes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import rfc8785

from consumers.envelope import entry, envelope
from ledger.application.storage import Storage, open_storage
from ledger.client import CommandSigner
from ledger.domain import samples
from ledger.domain.commands import IssuerRegistration, SignedCommand
from ledger.domain.signing import IssuerKey
from ledger.settings import Settings, create_secrets

LEARNER = {"identifier": "élève-7", "full_name": "Zoë Ångström"}


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    create_secrets(tmp_path)
    opened = open_storage(Settings(data_dir=tmp_path))
    yield opened
    opened.close()


def _stored(storage: Storage, topic_suffix: str) -> tuple[int, Any]:
    """The position and decoded event of the last stored event of a type."""
    stored = storage.ledger.recorder.select_notifications(start=None, limit=100)
    found = [n for n in stored if n.topic.endswith(topic_suffix)][-1]
    return found.id, storage.ledger.mapper.to_domain_event(found)


def _reference(position: int, event: Any) -> bytes:
    plain = json.loads(json.dumps(envelope(position, event)))
    return bytes(rfc8785.dumps(plain))


@pytest.fixture
def amended(storage: Storage) -> Storage:
    key = IssuerKey.generate()
    issuer = storage.ledger.register_issuer(
        IssuerRegistration(**samples.issuer_registration(key.address))
    )
    signer = CommandSigner(key, str(issuer.id))
    content = samples.credential_content(
        datetime.now(UTC).replace(microsecond=0), title="Données de recherche — éthique"
    )
    issued = storage.ledger.issue(SignedCommand(**signer.issue(content, LEARNER)))
    amendment = {**content, "title": "Données de recherche — éthique et droit"}
    storage.ledger.amend(SignedCommand(**signer.amend(issued.credential_id, 1, amendment, LEARNER)))
    return storage


@pytest.mark.parametrize("event_type", ["Credential.Issued", "Credential.Amended"])
def test_a_credentials_entry_is_the_reference_bytes_of_its_envelope(
    amended: Storage, event_type: str
) -> None:
    position, event = _stored(amended, event_type)
    assert entry(position, event) == _reference(position, event)
