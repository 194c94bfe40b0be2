"""The Kafka transport's message on the wire: what is published reads back as it was, messages
in the earlier JSON form still read, and anything else is refused."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from eventsourcing.persistence import StoredEvent

from consumers.kafka_messages import EventMessage


def message(state: bytes = b'{"title":"Gr\xc3\xbcnd"}\n\x00\xff') -> EventMessage:
    return EventMessage(
        position=2**40 + 7,
        previous=2**40 + 3,
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
