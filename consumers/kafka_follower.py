"""The Kafka transport's consumer side: the events topic read as a consumer group, in order.

It offers what the in-process follower offers (``after(position)``), so the log consumer and
the read-model projector run unchanged on either transport. Events come out strictly in the
store's order: each message names the position before it, so a gap or a reordering is seen and
waited out, never skipped, and a repeat is dropped by its position. A record carries a run of
events; offsets are committed only through what the consumer's own transaction has applied
(``commit_through``), never past a record with an event still waiting; a crash between the two
redelivers, and the repeats are dropped.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from consumers.follower import StoredEvent
from consumers.kafka_connection import client_options
from consumers.kafka_messages import EventMessage, decode_record
from consumers.kafka_relay import ensure_topic
from ledger.settings import Settings

log = logging.getLogger("credledger.kafka")


@dataclass(frozen=True)
class _Received:
    partition: TopicPartition
    offset: int
    message: EventMessage


class KafkaFollower:
    """Follows the events topic for one consumer group."""

    def __init__(
        self, application: Any, settings: Settings, group_id: str, poll_seconds: float = 0.2
    ) -> None:
        self._mapper = application.mapper
        self._settings = settings
        self._group_id = group_id
        self._poll_ms = int(poll_seconds * 1000)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._consumer: AIOKafkaConsumer | None = None
        self._buffer: dict[int, _Received] = {}
        self._fetched: dict[TopicPartition, int] = {}
        self._waiting_since: int | None = None
        self._lock = threading.Lock()

    def start(self) -> KafkaFollower:
        self._thread.start()
        return self

    def _call(self, coroutine: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    async def _consumer_ready(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            await ensure_topic(self._settings)
            consumer = AIOKafkaConsumer(
                self._settings.kafka_topic,
                **client_options(self._settings),
                group_id=self._group_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                isolation_level="read_committed",
            )
            await consumer.start()
            self._consumer = consumer
        return self._consumer

    async def _poll(self) -> list[_Received]:
        consumer = await self._consumer_ready()
        batches = await consumer.getmany(timeout_ms=self._poll_ms, max_records=2000)
        received: list[_Received] = []
        for partition, records in batches.items():
            for record in records:
                assert record.value is not None
                received.extend(
                    _Received(partition, record.offset, message)
                    for message in decode_record(record.value)
                )
                self._fetched[partition] = record.offset + 1
        return received

    def after(self, position: int) -> list[StoredEvent]:
        """The events strictly after ``position``, in order, as far as they are here."""
        with self._lock:
            try:
                for item in self._call(self._poll()):
                    if item.message.position > position:
                        self._buffer.setdefault(item.message.position, item)
            except (KafkaError, TimeoutError, OSError) as exc:
                log.warning("the %s consumer waits for Kafka: %s", self._group_id, exc)
                self._reset()
                return []
            for applied in [p for p in self._buffer if p <= position]:
                del self._buffer[applied]
            following = {item.message.previous: item for item in self._buffer.values()}
            chain: list[StoredEvent] = []
            at = position
            while at in following:
                message = following[at].message
                chain.append(
                    StoredEvent(message.position, self._mapper.to_domain_event(message.stored))
                )
                at = message.position
            if not chain and self._buffer and self._waiting_since != position:
                # Later events are here but not the next one: wait for it, never skip it.
                self._waiting_since = position
                log.warning(
                    "the %s consumer waits for the event after position %d (gap or reordering)",
                    self._group_id,
                    position,
                )
            return chain

    def exhausted(self, batch: list[StoredEvent]) -> bool:
        """Never known: a fetch returns what had arrived, and more may be on its way."""
        return False

    def commit_through(self, position: int) -> None:
        """Commit offsets through the events applied up to ``position``: never past a message
        that is still waiting to be applied."""
        with self._lock:
            for applied in [p for p in self._buffer if p <= position]:
                del self._buffer[applied]
            offsets = dict(self._fetched)
            for item in self._buffer.values():
                offsets[item.partition] = min(offsets[item.partition], item.offset)
            if not offsets or self._consumer is None:
                return
            try:
                self._call(self._consumer.commit(offsets))
            except (KafkaError, TimeoutError, OSError) as exc:
                # Not committed: the next run redelivers, and the repeats are dropped.
                log.warning("the %s consumer could not commit: %s", self._group_id, exc)

    def _reset(self) -> None:
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            self._buffer.clear()
            self._fetched.clear()
            try:
                self._call(consumer.stop(), timeout=10)
            except Exception:
                log.debug("closing the consumer failed", exc_info=True)

    def stop(self) -> None:
        with self._lock:
            self._reset()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self._loop.close()
