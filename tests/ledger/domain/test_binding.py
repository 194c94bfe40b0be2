"""What a signed command binds, re-derived from envelopes alone: one event, no other."""

from __future__ import annotations

import json
import uuid
from typing import Any

from ledger.domain.aggregates import (
    credential_id_for,
    credential_id_text,
    pathway_id_for,
    recognition_id_for,
)
from ledger.domain.binding import Bindings, target_problem
from ledger.domain.jwk import thumbprint

ISSUER = "3f1c2a9e-7b4d-4e8f-9a1b-2c3d4e5f6a7b"


def issued(command_id: str) -> dict[str, Any]:
    return {
        "type": "Credential.Issued",
        "aggregate_id": credential_id_text(ISSUER, command_id),
        "issuer_id": ISSUER,
        "signature": f"sig-{command_id}",
        "content": {"type": "issue", "command_id": command_id, "issuer_id": ISSUER},
    }


def erased(on: str, named: str, version: str = "1") -> dict[str, Any]:
    return {
        "type": "Credential.PersonalDataErased",
        "aggregate_id": on,
        "issuer_id": ISSUER,
        "signature": "sig-erase",
        "content": {
            "type": "erase",
            "command_id": "gdpr-1",
            "issuer_id": ISSUER,
            "credential_id": named,
            "version": version,
        },
    }


def history(*envelopes: dict[str, Any]) -> str | None:
    """The first binding problem of a history, or None."""
    bindings = Bindings()
    for envelope in envelopes:
        problem = bindings.check(envelope)
        if problem is not None:
            return problem
        bindings.apply(envelope)
    return None


def test_the_fast_credential_id_is_the_uuid5_one() -> None:
    for command_id in ("a", "enrolment-2026-17", "ü/ß", str(uuid.uuid4())):
        assert credential_id_text(ISSUER, command_id) == str(credential_id_for(ISSUER, command_id))


def test_an_issue_recorded_under_another_credential_id_is_named() -> None:
    moved = {**issued("a"), "aggregate_id": credential_id_text(ISSUER, "b")}
    assert "creates credential" in str(target_problem(moved))


def test_one_erase_may_mark_every_credential_of_the_learner_once() -> None:
    a, b = issued("a"), issued("b")
    first, second = a["aggregate_id"], b["aggregate_id"]
    assert history(a, b, erased(first, first), erased(second, first)) is None


def test_an_erase_that_marks_another_credential_before_the_one_it_names_is_named() -> None:
    a, b = issued("a"), issued("b")
    first, second = a["aggregate_id"], b["aggregate_id"]
    assert "which it has not erased" in str(history(a, b, erased(second, first)))


def test_an_erase_marking_a_credential_twice_is_named() -> None:
    a = issued("a")
    first = a["aggregate_id"]
    assert "twice" in str(history(a, erased(first, first), erased(first, first)))


def test_a_command_for_a_past_version_is_named() -> None:
    a = issued("a")
    first = a["aggregate_id"]
    assert "acts on version 2" in str(history(a, erased(first, first, version="2")))


JWK = {"kty": "EC", "crv": "P-256", "x": "x-coordinate", "y": "y-coordinate"}


def key_adopted(command_id: str, kid: str | None = None) -> dict[str, Any]:
    return {
        "type": "Issuer.WalletKeyAdopted",
        "aggregate_id": ISSUER,
        "issuer_id": ISSUER,
        "signature": f"sig-{command_id}",
        "content": {
            "type": "adopt-wallet-key",
            "command_id": command_id,
            "issuer_id": ISSUER,
            "wallet_key": {"kid": kid or thumbprint(JWK), "jwk": JWK},
        },
    }


def delivered(offer_id: str, on: str, index: int, kid: str | None = None) -> dict[str, Any]:
    return {
        "type": "Credential.WalletDelivered",
        "aggregate_id": on,
        "issuer_id": ISSUER,
        "signature": f"sig-{offer_id}",
        "content": {
            "type": "offer",
            "command_id": offer_id,
            "issuer_id": ISSUER,
            "credential_id": on,
            "version": "1",
            "delivery": {
                "jwt_sha256": "0" * 64,
                "kid": kid or thumbprint(JWK),
                "status_index": index,
            },
        },
    }


def test_deliveries_under_the_adopted_key_with_their_own_status_entries_are_bound() -> None:
    credential = credential_id_text(ISSUER, "a")
    assert (
        history(
            issued("a"),
            key_adopted("k1"),
            delivered("o1", credential, 0),
            delivered("o2", credential, 1),
        )
        is None
    )


def test_an_adopted_key_whose_kid_is_not_its_thumbprint_is_named() -> None:
    assert "thumbprint" in str(history(key_adopted("k1", kid="chosen-kid")))


def test_a_delivery_signed_with_a_key_not_in_use_is_named() -> None:
    credential = credential_id_text(ISSUER, "a")
    problem = history(issued("a"), key_adopted("k1"), delivered("o1", credential, 0, kid="old"))
    assert "not the key issuer" in str(problem)


def test_a_status_entry_taken_twice_is_named() -> None:
    credential = credential_id_text(ISSUER, "a")
    problem = history(
        issued("a"),
        key_adopted("k1"),
        delivered("o1", credential, 7),
        delivered("o2", credential, 7),
    )
    assert "status list entry 7" in str(problem)


def test_an_offer_delivers_once() -> None:
    credential = credential_id_text(ISSUER, "a")
    problem = history(
        issued("a"),
        key_adopted("k1"),
        delivered("o1", credential, 0),
        delivered("o1", credential, 1),
    )
    assert "was used by an earlier event" in str(problem)


# Pathways, recognitions and stacked credentials -----------------------------------------------

LEAF = "ab" * 32


def published(command_id: str = "pathway-1", issuer: str = ISSUER) -> dict[str, Any]:
    return {
        "type": "Pathway.Published",
        "aggregate_id": str(pathway_id_for(issuer, command_id)),
        "issuer_id": issuer,
        "signature": f"sig-{command_id}",
        "content": {"type": "publish-pathway", "command_id": command_id, "issuer_id": issuer},
    }


def anchored(command_id: str, leaf: str = LEAF) -> dict[str, Any]:
    placed = {"credential_id": credential_id_text(ISSUER, command_id), "version": 1}
    return {
        "type": "BatchAnchor.Anchored",
        "aggregate_id": str(uuid.uuid4()),
        "issuer_id": None,
        "signature": None,
        "content": {"leaves": ["00" * 32, leaf], "documents": [{**placed, "leaf_index": 1}]},
    }


def recognised(
    *components: str, command_id: str = "decision-1", leaf: str = LEAF
) -> dict[str, Any]:
    return {
        "type": "Recognition.Recorded",
        "aggregate_id": str(recognition_id_for(ISSUER, command_id)),
        "issuer_id": ISSUER,
        "signature": f"sig-{command_id}",
        "content": {
            "type": "recognise",
            "command_id": command_id,
            "issuer_id": ISSUER,
            "pathway_id": str(pathway_id_for(ISSUER, "pathway-1")),
            "pathway_version": "1",
            "components": [
                {
                    "credential_id": credential_id_text(ISSUER, c),
                    "version": "1",
                    "document_hash": leaf,
                }
                for c in components
            ],
        },
    }


def revoked(command_id: str) -> dict[str, Any]:
    on = credential_id_text(ISSUER, command_id)
    return {
        "type": "Credential.Revoked",
        "aggregate_id": on,
        "issuer_id": ISSUER,
        "signature": f"sig-revoke-{command_id}",
        "content": {
            "type": "revoke",
            "command_id": f"revoke-{command_id}",
            "issuer_id": ISSUER,
            "credential_id": on,
            "version": "1",
        },
    }


def stacked(command_id: str, recognition: str, *parts: str) -> dict[str, Any]:
    envelope = issued(command_id)
    envelope["content"]["content"] = {
        "has_part": [
            {"credential_id": credential_id_text(ISSUER, p), "version": "1"} for p in parts
        ],
        "recognition_id": str(recognition_id_for(ISSUER, recognition)),
    }
    return envelope


def test_a_recognition_of_anchored_current_components_is_bound() -> None:
    assert history(published(), issued("a"), anchored("a"), recognised("a")) is None


def test_a_recognition_of_a_component_revoked_before_it_is_named() -> None:
    found = history(published(), issued("a"), anchored("a"), revoked("a"), recognised("a"))
    assert "revoked before it" in str(found)


def test_a_recognition_naming_another_document_than_the_anchored_one_is_named() -> None:
    found = history(published(), issued("a"), anchored("a"), recognised("a", leaf="cd" * 32))
    assert "not the one anchored" in str(found)


def test_a_recognition_by_a_pathway_never_published_is_named() -> None:
    found = history(issued("a"), anchored("a"), recognised("a"))
    assert "never published" in str(found)


def test_a_stacked_credential_needs_a_recognition_covering_its_parts() -> None:
    base = (published(), issued("a"), anchored("a"), issued("b"), anchored("b"), recognised("a"))
    assert history(*base, stacked("s", "decision-1", "a")) is None
    assert "did not recognise" in str(history(*base, stacked("s", "decision-1", "a", "b")))
    assert "never recorded" in str(history(*base, stacked("s", "decision-2", "a")))


def test_the_saved_state_restores_every_binding_check() -> None:
    bindings = Bindings()
    for envelope in (published(), issued("a"), anchored("a"), revoked("a")):
        bindings.apply(envelope)
    restored = Bindings.from_saved(json.loads(json.dumps(bindings.saved())))
    assert restored == bindings
    assert "revoked before it" in str(restored.check(recognised("a")))


ANCHOR = str(uuid.uuid4())


def anchored_in_parts(leaf_count: int = 3) -> dict[str, Any]:
    """The first event of an anchor whose leaves take several events: the checkpoint's leaf."""
    return {
        "type": "BatchAnchor.AnchoredInParts",
        "aggregate_id": ANCHOR,
        "issuer_id": None,
        "signature": None,
        "content": {"leaves": ["00" * 32], "documents": [], "leaf_count": leaf_count, "parts": 3},
    }


def placed(first_leaf: int, command_id: str, leaf: str = LEAF) -> dict[str, Any]:
    document = {"credential_id": credential_id_text(ISSUER, command_id), "version": 1}
    return {
        "type": "BatchAnchor.Placed",
        "aggregate_id": ANCHOR,
        "issuer_id": None,
        "signature": None,
        "content": {
            "first_leaf": first_leaf,
            "leaves": [leaf],
            "documents": [{**document, "leaf_index": first_leaf}],
        },
    }


def test_a_recognition_of_a_document_anchored_in_a_later_part_is_bound() -> None:
    parts = (anchored_in_parts(), placed(1, "b", leaf="cd" * 32), placed(2, "a"))
    assert history(published(), issued("a"), issued("b"), *parts, recognised("a")) is None


def test_an_anchors_parts_out_of_order_are_named() -> None:
    found = history(anchored_in_parts(), placed(2, "a"), placed(1, "b"))
    assert "continue at 2, not at 1" in str(found)


def test_leaves_placed_for_an_anchor_no_event_records_are_named() -> None:
    assert "no event records" in str(history(placed(1, "a")))


def test_parts_naming_more_leaves_than_their_anchor_has_are_named() -> None:
    found = history(anchored_in_parts(leaf_count=2), placed(1, "a"), placed(2, "b"))
    assert "more than its 2 leaves" in str(found)


def test_an_anchor_recorded_twice_is_named() -> None:
    assert "recorded twice" in str(history(anchored_in_parts(), anchored_in_parts()))


def test_an_anchor_in_parts_naming_every_leaf_in_its_first_event_is_named() -> None:
    found = history(anchored_in_parts(leaf_count=1))
    assert "names all its leaves in its first event" in str(found)


def test_the_saved_state_is_not_changed_by_the_history_after_it() -> None:
    bindings = Bindings()
    for envelope in (published(), issued("a"), anchored_in_parts(), placed(1, "a")):
        bindings.apply(envelope)
    saved = json.dumps(bindings.saved())
    kept = bindings.saved()
    for envelope in (issued("b"), placed(2, "b"), revoked("a")):
        bindings.apply(envelope)
    assert json.dumps(kept) == saved
