"""Publishing pathways: signed, versioned, public, refused with the field and the reason."""

from __future__ import annotations

import pytest

from ledger.client import LedgerRequestError
from ledger.domain.codelists import ECTS, ECVET
from tests.ledger.stacking.conftest import MET, TARGET, Holdings, publish, rules


def test_a_published_pathway_is_listed_and_read_by_anyone(holdings: Holdings) -> None:
    pathway_id = publish(holdings, max_component_age_days="730")
    listed = {p["pathway_id"]: p for p in holdings.ledger.public.pathways()}
    assert listed[pathway_id]["title"] == TARGET["title"]
    assert listed[pathway_id]["current_version"] == 1
    found = holdings.ledger.public.pathway(pathway_id)
    assert found["issuer_id"] == holdings.issuers["a"].issuer_id
    (version,) = found["versions"]
    assert version["target"] == TARGET
    assert version["rules"]["max_component_age_days"] == "730"
    assert version["log_position"] > 0


def test_a_revision_is_a_new_version_and_evaluations_name_the_one_they_used(
    holdings: Holdings,
) -> None:
    pathway_id = publish(holdings)
    signer = holdings.issuers["a"].signer
    stricter = rules(credits=[{"framework": ECTS, "minimum": "20"}])
    answer = holdings.ledger.public.revise_pathway(
        signer.revise_pathway(pathway_id, 1, TARGET, stricter)
    )
    assert (answer["pathway_id"], answer["version"]) == (pathway_id, 2)
    assert holdings.ledger.public.pathway(pathway_id)["current_version"] == 2
    documents = holdings.held(*MET)
    now = holdings.ledger.public.evaluate(pathway_id, documents)
    before = holdings.ledger.public.evaluate(pathway_id, documents, version=1)
    assert (now["pathway_version"], now["met"]) == (2, False)
    assert (before["pathway_version"], before["met"]) == (1, True)


def test_only_the_publisher_revises_a_pathway(holdings: Holdings) -> None:
    pathway_id = publish(holdings)
    other = holdings.issuers["b"].signer
    with pytest.raises(LedgerRequestError) as refused:
        holdings.ledger.public.revise_pathway(other.revise_pathway(pathway_id, 1, TARGET, rules()))
    assert (refused.value.status, refused.value.code) == (403, "not-your-pathway")


def test_a_revision_of_a_stale_version_is_a_conflict(holdings: Holdings) -> None:
    pathway_id = publish(holdings)
    signer = holdings.issuers["a"].signer
    holdings.ledger.public.revise_pathway(signer.revise_pathway(pathway_id, 1, TARGET, rules()))
    with pytest.raises(LedgerRequestError) as refused:
        holdings.ledger.public.revise_pathway(signer.revise_pathway(pathway_id, 1, TARGET, rules()))
    assert (refused.value.status, refused.value.code) == (409, "version-mismatch")


def test_a_repeated_publication_is_answered_once(holdings: Holdings) -> None:
    signed = holdings.issuers["a"].signer.publish_pathway(TARGET, rules())
    first = holdings.ledger.public.publish_pathway(signed)
    again = holdings.ledger.public.publish_pathway(signed)
    assert again["pathway_id"] == first["pathway_id"] and again["replayed"] is True


@pytest.mark.parametrize(
    ("changed", "field", "words"),
    [
        (
            {"credits": [{"framework": ECTS, "minimum": "5"}, {"framework": ECTS, "minimum": "9"}]},
            "command.rules",
            "each framework once",
        ),
        (
            {"credits": [{"framework": ECTS, "minimum": "0"}]},
            "command.rules.credits[0].minimum",
            "",
        ),
        (
            {
                "areas": [
                    {"framework": ECVET, "minimum": "5", "thematic_area": TARGET["thematic_area"]}
                ]
            },
            "command.rules",
            "framework the credits rules name",
        ),
        (
            {"areas": [{"framework": ECTS, "minimum": "5"}]},
            "command.rules.areas[0]",
            "exactly one of thematic_area or esco_skill",
        ),
        ({"max_component_age_days": "0"}, "command.rules.max_component_age_days", ""),
        ({"min_component_eqf_level": "level 6"}, "command.rules.min_component_eqf_level", ""),
    ],
)
def test_rules_that_could_never_be_applied_are_refused_naming_the_field(
    holdings: Holdings, changed: dict[str, object], field: str, words: str
) -> None:
    body = {**rules(), **changed}
    with pytest.raises(LedgerRequestError) as refused:
        holdings.ledger.public.publish_pathway(
            holdings.issuers["a"].signer.publish_pathway(TARGET, body)
        )
    assert refused.value.status == 422
    errors = refused.value.problem["errors"]
    assert any(e["field"] == field and words in e["message"] for e in errors), errors


def test_a_pathway_signed_by_another_key_is_refused(holdings: Holdings) -> None:
    signed = holdings.issuers["b"].signer.publish_pathway(TARGET, rules())
    signed["command"]["issuer_id"] = holdings.issuers["a"].issuer_id
    with pytest.raises(LedgerRequestError) as refused:
        holdings.ledger.public.publish_pathway(signed)
    assert refused.value.status == 401
