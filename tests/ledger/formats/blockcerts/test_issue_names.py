"""An issue's learner commitment and issuer, read from its stored event without decoding it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import Mapper
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain import samples
from ledger.domain.aggregates import Credential
from ledger.formats.blockcerts.anchor_batches import issue_names
from ledger.persistence.event_transcoder import stored_event_transcoder

ISSUER = "3b0c8c6e-8d43-4a5e-9a34-2f3f1f0d6a11"
COMMITMENT = "ab" * 32
# Text that looks like the keys searched for, with quotes and backslashes around them.
TRICKY = st.lists(
    st.sampled_from(['"commitment":"', '"issuer_id":"', '"', "\\", ":", "{", "x", "é", "\n"]),
    max_size=12,
).map("".join)


def _stored_issue(title: str, outcome: str, body: str) -> bytes:
    content: dict[str, Any] = samples.credential_content(datetime(2026, 3, 1, tzinfo=UTC))
    content["title"] = title
    content["learning_outcomes"][1]["text"] = outcome
    content["quality_assurance"]["body"] = body
    content["learner"] = {"commitment": COMMITMENT}
    command = {
        "type": "issue",
        "command_id": "62c7692a-29be-41f6-85f7-f77eef6942b1",
        "issuer_id": ISSUER,
        "signed_at": "2026-03-01T09:00:00+00:00",
        "content": content,
    }
    credential = Credential(issuer_id=ISSUER, command=command, signature="0x" + "11" * 65)
    (issued,) = credential.collect_events()
    return Mapper(transcoder=stored_event_transcoder()).to_stored_event(issued).state


def test_a_stored_issue_names_its_commitment_and_issuer() -> None:
    assert issue_names(_stored_issue("Data", "Explain it.", "QQI")) == (COMMITMENT, ISSUER)


@settings(max_examples=300, deadline=None)
@given(TRICKY, TRICKY, TRICKY)
def test_text_that_looks_like_the_keys_never_changes_what_is_named(
    title: str, outcome: str, body: str
) -> None:
    assert issue_names(_stored_issue(title, outcome, body)) == (COMMITMENT, ISSUER)


def test_a_state_naming_two_commitments_is_left_to_the_decoder() -> None:
    state = _stored_issue("Data", "Explain it.", "QQI")
    twice = state.replace(b'"title":"Data"', b'"commitment":"' + b"cd" * 32 + b'"', 1)
    assert issue_names(twice) is None


def test_a_state_naming_two_issuers_is_left_to_the_decoder() -> None:
    state = _stored_issue("Data", "Explain it.", "QQI")
    other = state.replace(ISSUER.encode(), b"another-issuer", 1)
    assert issue_names(other) is None
