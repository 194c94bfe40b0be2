"""Events through a real Apache Kafka broker (deploy/kafka.sh): the relay publishes the store's
events in order; the read model consumes them as a consumer group, dropping repeats and
waiting out gaps; the log, beside the relay, takes what the relay read. Each test has a topic
and a group of its own."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import SecretStr

from anchors.log import TransparencyLog
from anchors.memory import MemoryLogStore
from consumers.envelope import StoredEnvelopes
from consumers.follower import NotificationFollower
from consumers.kafka_follower import KafkaFollower
from consumers.kafka_messages import EventMessage, decode_record, encode_run
from consumers.kafka_relay import RELAY, STREAM_KEY, KafkaRelay, ensure_topic
from consumers.projector import ReadModelProjector
from ledger.application.storage import open_storage
from ledger.client import CommandSigner
from ledger.domain.commands import IssuerRegistration, SignedCommand
from ledger.domain.samples import issuer_registration
from ledger.domain.signing import IssuerKey
from ledger.persistence.read_model import ReadModel
from ledger.runtime.embedded import EmbeddedLedger
from ledger.settings import ConfigurationError, Settings, create_secrets
from tests.conftest import LEARNER, content, settled, wait_for
from tests.e2e.cluster import delete_topic, service_up

ROOT = Path(__file__).resolve().parents[2]
SASL_LISTENER = "127.0.0.1:29094"


@pytest.fixture(scope="session")
def kafka() -> Iterator[str]:
    """A local broker from the deploy script (stopped after if it was started here)."""
    with service_up("kafka"):
        yield "127.0.0.1:29092"


@pytest.fixture
def kafka_settings(
    tmp_path: Path, database: Callable[[], dict[str, Any]], kafka: str
) -> Iterator[Settings]:
    create_secrets(tmp_path / "data")
    run = uuid.uuid4().hex[:8]
    yield Settings(
        data_dir=tmp_path / "data",
        chain="in-process",
        transport="kafka",
        kafka_bootstrap_servers=kafka,
        kafka_topic=f"credledger-test-{run}",
        kafka_projector_group=f"read-model-{run}",
        batch_age_seconds=0.3,
        **database(),
    )
    delete_topic(f"credledger-test-{run}", kafka)


@pytest.fixture
def running(kafka_settings: Settings) -> Iterator[EmbeddedLedger]:
    embedded = EmbeddedLedger(kafka_settings).start()
    yield embedded
    embedded.stop()


def _issue(embedded: EmbeddedLedger, count: int) -> None:
    key = IssuerKey.generate()
    app = embedded.storage.ledger
    issuer = app.register_issuer(IssuerRegistration(**issuer_registration(key.address)))
    signer = CommandSigner(key, str(issuer.id))
    commands = [
        SignedCommand(**signer.issue(content(), {**LEARNER, "identifier": f"k-{i}"}))
        for i in range(count)
    ]
    app.issue_many(commands)


def _agrees_with_the_store(embedded: EmbeddedLedger) -> bool:
    """The log's root equals the root of the same history rebuilt from the store without any
    transport, compared at one size: the anchoring may still add its bookkeeping events."""
    size = embedded.storage.log.size()
    log = TransparencyLog(MemoryLogStore())
    read = StoredEnvelopes(embedded.storage.ledger)
    while log.size() < size and (batch := read(log.size(), min(1000, size - log.size()))):
        log.append([entry for _, entry in batch], [position for position, _ in batch])
    return log.size() == size and log.root() == embedded.storage.log.root(size)


def _quiet(embedded: EmbeddedLedger) -> bool:
    """Anchored, and then both consumers at the store's last event (anchor events included):
    asked in this order so that the anchor's own events are stored before the positions are read."""
    if not settled(embedded):
        return False
    stored = embedded.storage.ledger.recorder.max_notification_id()
    log_at, read_at = embedded.storage.log.position(), embedded.storage.read_model.position()
    return log_at == read_at == stored


def test_every_event_reaches_the_log_and_the_read_model_in_the_stores_order(
    running: EmbeddedLedger,
) -> None:
    _issue(running, 50)
    wait_for(lambda: _quiet(running))
    assert _agrees_with_the_store(running)


def _groups_reading(topic: str, bootstrap: str) -> set[str]:
    """The consumer groups that committed offsets of ``topic`` on the broker."""

    async def ask() -> set[str]:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            reading = set()
            for group, _ in await admin.list_consumer_groups():
                partition = TopicPartition(topic, 0)
                offsets = await admin.list_consumer_group_offsets(group, partitions=[partition])
                if offsets.get(partition) is not None and offsets[partition].offset >= 0:
                    reading.add(group)
            return reading
        finally:
            await admin.close()

    return asyncio.run(ask())


def test_only_the_read_model_reads_the_topic_the_log_takes_what_the_relay_read(
    running: EmbeddedLedger, kafka_settings: Settings
) -> None:
    _issue(running, 20)
    wait_for(lambda: _quiet(running))
    groups = _groups_reading(kafka_settings.kafka_topic, kafka_settings.kafka_bootstrap_servers)
    assert groups == {kafka_settings.kafka_projector_group}
    assert _agrees_with_the_store(running)


def test_the_relay_publishes_consecutive_events_together_as_one_record(
    running: EmbeddedLedger,
) -> None:
    _issue(running, 30)
    wait_for(lambda: _quiet(running))
    stored = running.storage.ledger.recorder.select_notifications(start=None, limit=1000)
    records = _records(running.settings, events=len(stored))
    published = [m.position for value in records for m in decode_record(value)]
    assert published == [n.id for n in stored]
    assert len(records) < len(published)


def _records(settings: Settings, events: int) -> list[bytes]:
    """The values of the events topic's records from its start, until they carry ``events``."""

    async def read() -> list[bytes]:
        consumer = AIOKafkaConsumer(
            settings.kafka_topic,
            bootstrap_servers=settings.kafka_bootstrap_servers,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            values: list[bytes] = []
            carried = 0
            for _ in range(60):
                batches = await consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    for record in records:
                        assert record.value is not None
                        values.append(record.value)
                        carried += len(decode_record(record.value))
                if carried >= events:
                    break
            return values
        finally:
            await consumer.stop()

    return asyncio.run(read())


def test_messages_published_again_are_dropped_by_position(
    running: EmbeddedLedger, fresh_read_model: Callable[[str], ReadModel]
) -> None:
    _issue(running, 20)
    wait_for(lambda: _quiet(running))
    # The relay's recorded position goes back, as after a crash before it recorded how far it
    # got: its next publish finds it moved (compare-and-set) and publishes again from there.
    published = running.storage.read_model.tracked(RELAY)
    running.storage.read_model.track(RELAY, published, 1)
    _issue(running, 1)
    wait_for(lambda: _quiet(running) and running.storage.read_model.tracked(RELAY) > published)
    assert _agrees_with_the_store(running)
    replayed = fresh_read_model("replayed")
    ReadModelProjector(NotificationFollower(running.storage.ledger), replayed).catch_up()
    assert running.storage.read_model.digest() == replayed.digest()


class _Deaf:
    """A listener to the store's announcements whose connection is down."""

    def wait(self, timeout: float) -> None:
        raise ConnectionError("the listener's connection is down")

    def close(self) -> None:
        pass


def test_a_relay_that_cannot_hear_the_store_looks_at_it_again_and_again(
    kafka_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    storage = open_storage(kafka_settings)
    relay = KafkaRelay(storage.ledger, storage.read_model, kafka_settings, notices=_Deaf())
    stop, never_woken = threading.Event(), threading.Event()
    running = threading.Thread(target=relay.start().run, args=(stop, never_woken))
    running.start()
    try:
        key = IssuerKey.generate()
        storage.ledger.register_issuer(IssuerRegistration(**issuer_registration(key.address)))
        stored = storage.ledger.recorder.max_notification_id()
        wait_for(lambda: storage.read_model.tracked(RELAY) == stored)
        assert "cannot hear the store's announcements" in caplog.text
    finally:
        stop.set()
        running.join()
        relay.stop()
        storage.close()


def _linked_messages(source: EmbeddedLedger) -> list[EventMessage]:
    """The first stored events of ``source`` as the relay would publish them, each linked to
    the one before."""
    notifications = source.storage.ledger.recorder.select_notifications(start=None, limit=10)
    messages, previous = [], 0
    for notification in notifications:
        messages.append(EventMessage.of(notification, previous))
        previous = notification.id
    return messages


def test_a_gap_is_waited_out_never_skipped(kafka_settings: Settings) -> None:
    # Stored events from a ledger of its own, sent by hand out of order.
    with EmbeddedLedger(kafka_settings.model_copy(update={"transport": "embedded"})) as source:
        _issue(source, 2)
        messages = _linked_messages(source)
        follower = KafkaFollower(source.storage.ledger, kafka_settings, "gap-test").start()
        try:
            _produce(kafka_settings, messages[1:])
            assert _after_polling(follower, 0, polls=10) == []
            _produce(kafka_settings, messages[:1])
            received = _after_polling(follower, 0, polls=50)
            assert [e.position for e in received] == [m.position for m in messages]
        finally:
            follower.stop()


def test_a_record_partly_applied_is_read_again_and_only_its_rest_taken(
    kafka_settings: Settings,
) -> None:
    # One record carrying a run of stored events, as the relay publishes them.
    with EmbeddedLedger(kafka_settings.model_copy(update={"transport": "embedded"})) as source:
        _issue(source, 3)
        messages = _linked_messages(source)
        positions = [m.position for m in messages]
        _produce_values(kafka_settings, [encode_run(messages)])
        first = KafkaFollower(source.storage.ledger, kafka_settings, "partly-applied").start()
        try:
            assert [e.position for e in _after_polling(first, 0, polls=50)] == positions
            # Applied through the second event only, as a consumer that crashed after its
            # transaction for those: the record's offset is not committed past it.
            first.commit_through(positions[1])
        finally:
            first.stop()
        again = KafkaFollower(source.storage.ledger, kafka_settings, "partly-applied").start()
        try:
            rest = _after_polling(again, positions[1], polls=50)
            assert [e.position for e in rest] == positions[2:]
        finally:
            again.stop()


def _after_polling(follower: KafkaFollower, position: int, polls: int) -> list[Any]:
    """The first events the follower gives after ``position`` within some polls, or none."""
    for _ in range(polls):
        if found := follower.after(position):
            return found
    return []


def _produce(settings: Settings, messages: list[EventMessage]) -> None:
    """Each message a record of its own, in the single-event form of earlier relays."""
    _produce_values(settings, [message.encode() for message in messages])


def _produce_values(settings: Settings, values: list[bytes]) -> None:
    async def send() -> None:
        await ensure_topic(settings)
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
        await producer.start()
        try:
            for value in values:
                await producer.send_and_wait(settings.kafka_topic, value, key=STREAM_KEY)
        finally:
            await producer.stop()

    asyncio.run(send())


def _sasl(settings: Settings, password: str) -> Settings:
    """The same ledger, reaching the broker through its SASL_PLAINTEXT listener."""
    return settings.model_copy(
        update={
            "kafka_bootstrap_servers": SASL_LISTENER,
            "kafka_security_protocol": "SASL_PLAINTEXT",
            "kafka_sasl_mechanism": "PLAIN",
            "kafka_sasl_username": "credledger",
            "kafka_sasl_password": SecretStr(password),
        }
    )


def test_events_flow_through_a_sasl_listener_with_the_right_credentials(
    kafka_settings: Settings,
) -> None:
    password = (ROOT / ".deploy" / "kafka" / "sasl-password").read_text().strip()
    embedded = EmbeddedLedger(_sasl(kafka_settings, password)).start()
    try:
        _issue(embedded, 10)
        wait_for(lambda: _quiet(embedded))
        assert _agrees_with_the_store(embedded)
    finally:
        embedded.stop()


def test_a_wrong_sasl_password_publishes_nothing_and_says_why(
    kafka_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    embedded = EmbeddedLedger(_sasl(kafka_settings, "not-the-password")).start()
    try:
        _issue(embedded, 3)
        wait_for(lambda: "the relay waits for Kafka" in caplog.text)
        assert "Authentication failed: Invalid username or password" in caplog.text
        assert embedded.storage.read_model.tracked(RELAY) == 0
        # The read model reads the topic; the log, beside the relay, may take the store's.
        assert embedded.storage.read_model.position() == 0
    finally:
        embedded.stop()


def test_a_sasl_protocol_without_credentials_is_refused_at_start(
    kafka_settings: Settings,
) -> None:
    incomplete = kafka_settings.model_copy(update={"kafka_security_protocol": "SASL_SSL"})
    with pytest.raises(ConfigurationError, match="CREDLEDGER_KAFKA_SASL_USERNAME"):
        EmbeddedLedger(incomplete)
