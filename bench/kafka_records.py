"""Kafka records: a run of events a record (what the relay publishes) against one event a
record (what earlier relays published), through deploy/'s broker, alternating, as a ratio.

Each round publishes the same stored credential events (a real ``Credential.Issued`` event's
state, ~2.3 KB, from a ledger made for the run) to a topic of its own with the relay's producer
settings, in the relay's batches of 500, then reads them back as a consumer group does (the
follower's ``getmany`` and decoding). It reports the CPU a published event costs the producer
and the consumer (this process, measured apart) and the broker (its process, from ``/proc``:
the broker's work of both halves together).

    .venv/bin/python bench/kafka_records.py [--events 40000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from e2e import services
from eventsourcing.persistence import StoredEvent

from consumers.kafka_messages import EventMessage, decode_record, runs
from consumers.kafka_relay import PRODUCE_BATCH_BYTES, RUN_BYTES, STREAM_KEY
from ledger.application.storage import open_storage
from ledger.client import CommandSigner
from ledger.domain import samples
from ledger.domain.commands import IssuerRegistration, SignedCommand
from ledger.domain.signing import IssuerKey
from ledger.settings import Settings, create_secrets

BROKER = "127.0.0.1:29092"
RELAY_BATCH = 500
TICKS = os.sysconf("SC_CLK_TCK")

Encoding = Callable[[list[EventMessage]], list[bytes]]
ENCODINGS: dict[str, Encoding] = {
    "a run a record": lambda batch: runs(batch, RUN_BYTES),
    "an event a record": lambda batch: [m.encode() for m in batch],
}


def issued_event() -> StoredEvent:
    """A credential's ``Issued`` event as a store holds it."""
    with tempfile.TemporaryDirectory() as tmp:
        create_secrets(Path(tmp))
        storage = open_storage(Settings(data_dir=Path(tmp)))
        try:
            key = IssuerKey.generate()
            issuer = storage.ledger.register_issuer(
                IssuerRegistration(**samples.issuer_registration(key.address))
            )
            signer = CommandSigner(key, str(issuer.id))
            content = samples.credential_content(datetime.now(UTC).replace(microsecond=0))
            learner = {"identifier": "s0000001", "full_name": "Learner One"}
            storage.ledger.issue(SignedCommand(**signer.issue(content, learner)))
            stored = storage.ledger.recorder.select_notifications(start=None, limit=10)
            issued = next(n for n in stored if n.topic.endswith("Credential.Issued"))
            return StoredEvent(issued.originator_id, 1, issued.topic, issued.state)
        finally:
            storage.close()


def broker_seconds() -> float:
    """CPU seconds the broker's process has used."""
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"kafka.Kafka" in command:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / TICKS
    raise RuntimeError("no Kafka broker is running")


async def one_round(encoding: Encoding, stored: StoredEvent, events: int) -> dict[str, float]:
    """CPU µs an event: producer, consumer, broker."""
    topic = f"bench-records-{uuid.uuid4().hex[:10]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=BROKER)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    messages = [EventMessage(i + 1, i, stored) for i in range(events)]
    producer = AIOKafkaProducer(
        bootstrap_servers=BROKER,
        enable_idempotence=True,
        acks="all",
        linger_ms=0,
        max_batch_size=PRODUCE_BATCH_BYTES,
    )
    await producer.start()
    broker_at = broker_seconds()
    cpu_at = time.process_time()
    try:
        for start in range(0, events, RELAY_BATCH):
            batch = messages[start : start + RELAY_BATCH]
            sent = [await producer.send(topic, v, key=STREAM_KEY) for v in encoding(batch)]
            await asyncio.gather(*sent)
    finally:
        await producer.stop()
    produced = time.process_time() - cpu_at
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=BROKER,
        group_id=f"bench-{topic}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    await consumer.start()
    cpu_at = time.process_time()
    received = 0
    try:
        while received < events:
            batches = await consumer.getmany(timeout_ms=200, max_records=2000)
            for records in batches.values():
                for record in records:
                    assert record.value is not None
                    received += len(decode_record(record.value))
    finally:
        consumed = time.process_time() - cpu_at
        await consumer.stop()
    broker = broker_seconds() - broker_at
    return {
        "producer": produced / events * 1e6,
        "consumer": consumed / events * 1e6,
        "broker": broker / events * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    stored = issued_event()
    print(f"a credential's Issued event: {len(stored.state)} bytes of state", flush=True)
    results: dict[str, list[dict[str, float]]] = {name: [] for name in ENCODINGS}
    with services(("kafka",)):
        # The broker's JIT compiles its paths in the first round: one of each, not counted.
        for encoding in ENCODINGS.values():
            asyncio.run(one_round(encoding, stored, args.events // 4))
        for round_no in range(args.rounds):
            for name, encoding in ENCODINGS.items():
                measured = asyncio.run(one_round(encoding, stored, args.events))
                results[name].append(measured)
                shown = ", ".join(f"{part} {us:.1f}" for part, us in measured.items())
                print(f"round {round_no + 1}, {name}: CPU µs an event: {shown}", flush=True)
    medians = {
        name: {part: statistics.median(r[part] for r in rounds) for part in rounds[0]}
        for name, rounds in results.items()
    }
    runs_, singles = medians["a run a record"], medians["an event a record"]
    print(json.dumps({"events": args.events, "medians_us_an_event": medians}, indent=2))
    for part in runs_:
        print(
            f"{part}: {runs_[part]:.1f} against {singles[part]:.1f} µs an event, "
            f"{runs_[part] / singles[part]:.2f}x"
        )
    total_runs, total_singles = sum(runs_.values()), sum(singles.values())
    print(
        f"in all: {total_runs:.1f} against {total_singles:.1f} µs an event, "
        f"{total_runs / total_singles:.2f}x"
    )


if __name__ == "__main__":
    main()
