"""The Kafka transport's messages on the wire: what is published reads back as it was, a record
carries a run of events within a size, records of one event in the earlier forms still read,
and anything else is refused."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from eventsourcing.persistence import StoredEvent

from consumers.kafka_messages import EventMessage, decode_record, encode_run, runs


def message(
    state: bytes = b'{"title":"Gr\xc3\xbcnd"}\n\x00\xff', position: int = 2**40 + 7
) -> EventMessage:
    return EventMessage(
        position=position,
        previous=position - 4,
        stored=StoredEvent(
            originator_id=uuid.uuid4(),
            originator_version=3,
            topic="ledger.domain.aggregates:Credential.Amended",
            state=state,
        ),
    )


def test_a_published_message_reads_back_as_it_was() -> None:
    sent = message()
    assert EventMessage.decode(sent.encode()) == sent


def test_the_state_travels_as_it_is_stored_not_in_base64() -> None:
    sent = message(state=b"s" * 2000)
    assert len(sent.encode()) < 2100


def test_a_message_published_in_the_earlier_json_form_still_reads() -> None:
    sent = message()
    earlier = json.dumps(
        {
            "position": sent.position,
            "previous": sent.previous,
            "originator_id": str(sent.stored.originator_id),
            "originator_version": sent.stored.originator_version,
            "topic": sent.stored.topic,
            "state": base64.b64encode(sent.stored.state).decode("ascii"),
        },
        separators=(",", ":"),
    ).encode()
    assert EventMessage.decode(earlier) == sent


@pytest.mark.parametrize("value", [b"", b"\x02" + bytes(60), b"\x01" + bytes(10)])
def test_a_value_of_no_known_form_is_refused(value: bytes) -> None:
    with pytest.raises(ValueError, match="event message"):
        EventMessage.decode(value)


def test_a_message_cut_short_in_its_topic_is_refused() -> None:
    value = message().encode()
    header_and_part_of_topic = value[: value.index(b"ledger.domain") + 5]
    with pytest.raises(ValueError, match="cut short"):
        EventMessage.decode(header_and_part_of_topic)


def consecutive(count: int, state_bytes: int = 100) -> list[EventMessage]:
    return [message(state=bytes([i % 256]) * state_bytes, position=10 + i) for i in range(count)]


def test_a_run_of_events_reads_back_as_the_same_events_in_order() -> None:
    sent = consecutive(5)
    assert decode_record(encode_run(sent)) == sent


def test_events_go_in_runs_no_larger_than_the_limit_in_order() -> None:
    sent = consecutive(40, state_bytes=500)
    values = runs(sent, most_bytes=4096)
    assert len(values) > 1
    assert all(len(value) <= 4096 for value in values)
    assert [m for value in values for m in decode_record(value)] == sent


def test_an_event_larger_than_the_limit_is_a_run_of_its_own() -> None:
    small, large, after = message(position=1), message(b"x" * 10_000, 2), message(position=3)
    values = runs([small, large, after], most_bytes=4096)
    assert [decode_record(value) for value in values] == [[small], [large], [after]]


def test_a_run_holds_at_least_one_event() -> None:
    assert runs([], most_bytes=4096) == []
    with pytest.raises(ValueError, match="at least one"):
        encode_run([])


def test_a_record_of_one_event_in_an_earlier_form_still_reads() -> None:
    sent = message()
    assert decode_record(sent.encode()) == [sent]


@pytest.mark.parametrize(
    ("kept", "reason"),
    [(slice(0, 3), "cut short in a length"), (slice(0, -1), "cut short in an event")],
)
def test_a_run_cut_short_is_refused(kept: slice, reason: str) -> None:
    run = encode_run(consecutive(2))
    with pytest.raises(ValueError, match=reason):
        decode_record(run[kept])


def test_a_run_of_no_events_is_refused() -> None:
    with pytest.raises(ValueError, match="holds none"):
        decode_record(b"\x02")
