"""The store's announcements of new events: how the Kafka relay hears a write made by an API
worker in another process at once, instead of asking the store again and again."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from ledger.application.storage import Storage, open_storage
from ledger.domain.commands import IssuerRegistration
from ledger.domain.samples import issuer_registration
from ledger.domain.signing import IssuerKey
from ledger.persistence.event_notices import EventNotices
from ledger.settings import Settings
from tests.conftest import STORE

pytestmark = pytest.mark.skipif(
    STORE != "postgres", reason="PostgreSQL announces writes (NOTIFY); SQLite announces none"
)

# A wait that is not cut short runs this long: far beyond the test's own patience.
LONG_WAIT = 120.0
PATIENCE = 30.0


@pytest.fixture
def two_processes(settings: Settings) -> Iterator[tuple[Storage, Storage]]:
    """The same database opened twice, as a worker and the relay's process each have it."""
    writer, listener = open_storage(settings), open_storage(settings)
    yield writer, listener
    writer.close()
    listener.close()


def _waits_in_a_thread(notices: EventNotices) -> threading.Event:
    returned = threading.Event()

    def wait() -> None:
        notices.wait(LONG_WAIT)
        returned.set()

    threading.Thread(target=wait, daemon=True).start()
    return returned


def _listening(storage: Storage) -> EventNotices:
    notices = storage.event_notices()
    assert notices is not None
    # The first wait only starts listening: it returns at once, as what was announced
    # before is not heard, and the caller must look at the store again.
    assert _waits_in_a_thread(notices).wait(PATIENCE)
    return notices


def test_a_write_in_another_process_wakes_the_waiting_listener(
    two_processes: tuple[Storage, Storage],
) -> None:
    writer, listener = two_processes
    notices = _listening(listener)
    returned = _waits_in_a_thread(notices)
    writer.ledger.register_issuer(
        IssuerRegistration(**issuer_registration(IssuerKey.generate().address))
    )
    assert returned.wait(PATIENCE)
    notices.close()


def test_a_listener_that_listens_again_returns_at_once(
    two_processes: tuple[Storage, Storage],
) -> None:
    _, listener = two_processes
    notices = _listening(listener)
    notices.close()  # as after its connection was lost: announcements meanwhile go unheard
    assert _waits_in_a_thread(notices).wait(PATIENCE)
    notices.close()
