"""The Kafka relay: every stored event published to the topic in the store's global order.

The producer is idempotent and waits for every in-sync replica; the relay's position is kept in
the database (compare-and-set) and moved only after the broker acknowledged the whole batch,
so a crash or an outage repeats messages but never loses one. Consumers drop the repeats.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from consumers.kafka_connection import client_options
from consumers.kafka_messages import EventMessage, runs
from ledger.persistence.event_notices import EventNotices
from ledger.persistence.read_model import PositionMoved, ReadModel
from ledger.settings import Settings

log = logging.getLogger("credledger.kafka")

RELAY = "kafka-relay"
# Every message has this key: one partition holds the whole stream, in order.
STREAM_KEY = b"credledger-events"


async def ensure_topic(settings: Settings) -> None:
    """Create the events topic if it does not exist yet."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(
                    settings.kafka_topic,
                    num_partitions=settings.kafka_partitions,
                    replication_factor=settings.kafka_replication_factor,
                )
            ]
        )
    except TopicAlreadyExistsError:
        pass
    finally:
        await admin.close()


# How long the relay waits for the store's announcement before it looks anyway (an announcement
# can be lost with its connection), and how long it polls after listening failed.
LOOK_ANYWAY_SECONDS = 0.25
RELISTEN_PAUSE_SECONDS = 1.0

# Under the broker's default limit on a record batch (1 MB, ``message.max.bytes``).
PRODUCE_BATCH_BYTES = 512 * 1024
# A record carries a run of consecutive events up to this size (about a hundred credentials'),
# so that a produce request holds a couple of records, not hundreds.
RUN_BYTES = 256 * 1024


class KafkaRelay:
    """Publishes what the event store holds beyond the relay's tracked position."""

    def __init__(
        self,
        application: Any,
        tracking: ReadModel,
        settings: Settings,
        batch_size: int = 500,
        notices: EventNotices | None = None,
        on_published: Callable[[], None] | None = None,
    ) -> None:
        self._recorder = application.recorder
        self._on_published = on_published
        self._notices = notices
        self._listen_again_at = 0.0
        # How far this relay has published, as it last moved its tracked position there: read
        # back only when another relay moved it (the compare-and-set tells).
        self._published: int | None = None
        self._published_at = 0.0  # when the last batch that found events began
        self._tracking = tracking
        self._settings = settings
        self._batch_size = batch_size
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._producer: AIOKafkaProducer | None = None

    def _call(self, coroutine: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def start(self) -> KafkaRelay:
        self._thread.start()
        return self

    async def _producer_ready(self) -> AIOKafkaProducer:
        if self._producer is None:
            await ensure_topic(self._settings)
            producer = AIOKafkaProducer(
                **client_options(self._settings),
                enable_idempotence=True,
                acks="all",
                # A batch of events is handed to the producer at once and awaited whole: waiting
                # for more would only delay it (5 ms cost every single write ~20 ms with 8
                # clients once batches stopped filling up).
                linger_ms=0,
                # One produce request carries up to this much of the one partition's events:
                # the default (16 KB) held about seven, and the broker's work goes by request.
                max_batch_size=PRODUCE_BATCH_BYTES,
            )
            await producer.start()
            self._producer = producer
        return self._producer

    async def _send(self, messages: list[EventMessage]) -> None:
        producer = await self._producer_ready()
        sent = [
            await producer.send(self._settings.kafka_topic, value, key=STREAM_KEY)
            for value in runs(messages, RUN_BYTES)
        ]
        await asyncio.gather(*sent)

    def publish(self) -> int:
        """Publish the next batch; returns how many events were published (0: none new)."""
        position = self._tracking.tracked(RELAY) if self._published is None else self._published
        notifications = self._recorder.select_notifications(
            start=position, limit=self._batch_size, inclusive_of_start=False
        )
        if not notifications:
            return 0
        self._published_at = time.monotonic()
        messages, previous = [], position
        for notification in notifications:
            messages.append(EventMessage.of(notification, previous))
            previous = notification.id
        self._call(self._send(messages))
        try:
            self._tracking.track(RELAY, position, previous)
            self._published = previous
        except PositionMoved:
            log.info("another relay published up to here first")
            self._published = None
        if self._on_published is not None:
            self._on_published()
        return len(messages)

    def run(self, stop: threading.Event, wake: threading.Event, interval: float = 0.01) -> None:
        """Publish whenever the store announces new events (API workers in other processes
        write there, and each of their requests waits for the relay); where it announces
        none, or while the relay cannot listen, whenever woken and every ``interval``
        seconds."""
        while not stop.is_set():
            try:
                # A batch short of full took all there was; what is stored after it is
                # announced, or found by the next poll.
                while self.publish() == self._batch_size and not stop.is_set():
                    pass
            except (KafkaError, TimeoutError, OSError) as exc:
                log.warning("the relay waits for Kafka: %s", exc)
                self._reset()
                stop.wait(1.0)
            except Exception:
                # The database is out: nothing moved; publish again from the tracked position.
                log.exception("the relay failed; retrying")
                stop.wait(1.0)
            self._await_events(wake, interval)

    def _await_events(self, wake: threading.Event, interval: float) -> None:
        if self._notices is not None and time.monotonic() >= self._listen_again_at:
            try:
                self._notices.wait(LOOK_ANYWAY_SECONDS)
            except Exception as exc:
                log.warning("the relay cannot hear the store's announcements (%s); it polls", exc)
                self._notices.close()
                self._listen_again_at = time.monotonic() + RELISTEN_PAUSE_SECONDS
            else:
                # At most one batch every ``interval``: writes in quick succession (several
                # clients) go together, as a produce request and a fetch for each event cost
                # the broker and the consumers more than the wait; a write after a quiet
                # spell goes at once.
                rest = self._published_at + interval - time.monotonic()
                if rest > 0:
                    time.sleep(rest)
                return
        wake.wait(interval)
        wake.clear()

    def _reset(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            try:
                self._call(producer.stop(), timeout=10)
            except Exception:
                log.debug("closing the producer failed", exc_info=True)

    def stop(self) -> None:
        """Stop publishing (after ``run`` has returned: the listener is its thread's)."""
        self._reset()
        if self._notices is not None:
            self._notices.close()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self._loop.close()
