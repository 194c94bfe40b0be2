"""Evaluating a learner's credentials against a pathway: each component verified, one learner,
every rule with its numbers, and nothing written."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.client import LedgerRequestError
from ledger.domain.codelists import ECTS
from ledger.domain.samples import INSTITUTIONAL_QA
from tests.ledger.stacking.conftest import ICT, MET, Holdings, fresh, publish


def evaluate(holdings: Holdings, pathway_id: str, *names: str) -> dict[str, Any]:
    return holdings.ledger.public.evaluate(pathway_id, holdings.held(*names))


def component(answer: dict[str, Any], index: int) -> dict[str, Any]:
    found: dict[str, Any] = answer["components"][index]
    return found


def rule(answer: dict[str, Any], kind: str) -> dict[str, Any]:
    (found,) = [r for r in answer["rules"] if r["rule"] == kind]
    return found


def test_three_issuers_credentials_meet_a_pathway_exactly(holdings: Holdings) -> None:
    answer = evaluate(holdings, publish(holdings), *MET)
    assert answer["met"] is True
    assert [c["counts"] for c in answer["components"]] == [True, True, True]
    assert {c["provider"] for c in answer["components"]} == {
        "University of Aran",
        "Boyne Academy",
        "Corrib College",
    }
    assert answer["totals"] == [{"framework": ECTS, "name": "ECTS", "points": "15"}]
    credits = rule(answer, "credits")
    assert (credits["met"], credits["required"], credits["counted"]) == (True, "15", "15")
    assert answer["missing"] == []


def test_one_ects_short_says_so(holdings: Holdings) -> None:
    answer = evaluate(holdings, publish(holdings), "a1", "b1", "c4")  # 5 + 5 + 4
    assert answer["met"] is False
    assert rule(answer, "credits")["counted"] == "14"
    assert answer["missing"] == ["1 more ECTS."]


def test_ecvet_points_are_not_added_to_an_ects_rule(holdings: Holdings) -> None:
    answer = evaluate(holdings, publish(holdings), "a1", "b1", "v1")
    assert answer["met"] is False
    assert component(answer, 2)["counts"] is True
    assert component(answer, 2)["contributes"][0]["name"] == "ECVET"
    assert {t["name"]: t["points"] for t in answer["totals"]} == {"ECTS": "10", "ECVET": "5"}
    credits = rule(answer, "credits")
    assert credits["counted"] == "10"
    assert "5 ECVET not added" in credits["text"]


def test_a_component_of_another_learner_counts_for_nothing_and_is_named(
    holdings: Holdings,
) -> None:
    answer = evaluate(holdings, publish(holdings), *MET, "other")
    assert answer["met"] is True  # the three of the learner still meet it
    other = component(answer, 3)
    assert other["counts"] is False
    assert other["credential_id"] == holdings.credential_ids["other"]
    assert other["reasons"] == ["It belongs to another learner than the other components."]
    assert holdings.documents["other"]["credentialSubject"]["fullName"] not in str(answer)


def test_a_document_whose_learner_data_was_changed_does_not_open_its_commitment(
    holdings: Holdings,
) -> None:
    changed = {**holdings.documents["b1"]}
    changed["credentialSubject"] = {**changed["credentialSubject"], "fullName": "Someone Else"}
    answer = holdings.ledger.public.evaluate(
        publish(holdings), [holdings.documents["a1"], changed, holdings.documents["c1"]]
    )
    assert component(answer, 1)["counts"] is False
    assert any("does not open" in r for r in component(answer, 1)["reasons"])


@pytest.mark.parametrize(
    ("name", "verdict", "words"),
    [
        ("revoked", "revoked", "It was revoked"),
        ("superseded", "superseded", "It is superseded by a later version"),
    ],
)
def test_a_revoked_or_superseded_component_counts_for_nothing(
    holdings: Holdings, name: str, verdict: str, words: str
) -> None:
    answer = evaluate(holdings, publish(holdings), "a1", "b1", name)
    refused = component(answer, 2)
    assert (refused["counts"], refused["verdict"]) == (False, verdict)
    assert refused["reasons"][0].startswith(words)
    assert refused["contributes"] == []
    assert rule(answer, "credits")["counted"] == "10"


def test_a_component_from_a_suspended_issuer_counts_for_nothing(holdings: Holdings) -> None:
    answer = evaluate(holdings, publish(holdings), "a1", "b1", "suspended")
    refused = component(answer, 2)
    assert refused["counts"] is False
    assert any("suspended" in r for r in refused["reasons"])
    assert answer["met"] is False


def test_more_than_a_providers_cap_is_refused_with_the_provider_named(
    holdings: Holdings,
) -> None:
    capped = publish(holdings, max_points_per_provider=[{"framework": ECTS, "maximum": "10"}])
    answer = evaluate(holdings, capped, "a1", "a2", "a3", "b1")  # 16 ECTS from Aran
    cap = rule(answer, "provider-cap")
    assert cap["met"] is False
    assert cap["over"] == [
        {
            "issuer_id": holdings.issuers["a"].issuer_id,
            "provider": "University of Aran",
            "points": "16",
        }
    ]
    assert answer["met"] is False
    assert "University of Aran" in " ".join(answer["missing"])
    assert evaluate(holdings, capped, "a1", "a2", "b1")["met"] is True


def test_a_component_older_than_allowed_counts_for_nothing(holdings: Holdings) -> None:
    recent = publish(holdings, max_component_age_days="365")
    answer = evaluate(holdings, recent, "a1", "b1", "old")
    old = component(answer, 2)
    assert old["counts"] is False
    assert "days ago; the pathway accepts components up to 365 days old" in old["reasons"][0]


def test_component_rules_on_level_quality_assurance_and_area(holdings: Holdings) -> None:
    strict = publish(
        holdings,
        min_component_eqf_level="http://data.europa.eu/snb/eqf/6",
        accepted_qa_types=[INSTITUTIONAL_QA],
        areas=[{"framework": ECTS, "minimum": "10", "thematic_area": ICT}],
    )
    answer = evaluate(holdings, strict, "a1", "b1", "c1", "v1")
    assert "EQF level 4" in component(answer, 3)["reasons"][0]
    area = rule(answer, "area")
    assert (area["met"], area["counted"]) == (True, "10")  # c1 is statistics, not ICT


def test_a_required_component_must_be_among_those_that_count(holdings: Holdings) -> None:
    wanted = {"issuer_id": holdings.issuers["c"].issuer_id, "title": "Statistics"}
    required = publish(holdings, required_components=[wanted])
    assert evaluate(holdings, required, *MET)["met"] is True
    answer = evaluate(holdings, required, "a1", "a2", "b1")
    assert rule(answer, "required-component")["met"] is False
    assert answer["missing"] == ["The required component “Statistics”."]


def commands_recorded(holdings: Holdings) -> int:
    """Events stored but anchoring's own (which follow a write on their own time)."""
    recorder = holdings.ledger.embedded.storage.ledger.recorder
    stored = recorder.select_notifications(start=None, limit=1_000_000)
    return len([n for n in stored if ":BatchAnchor." not in n.topic])


def test_an_evaluation_writes_nothing(holdings: Holdings) -> None:
    pathway_id = publish(holdings)
    before = commands_recorded(holdings)
    evaluate(holdings, pathway_id, *MET)
    assert commands_recorded(holdings) == before


def test_an_evaluation_of_too_many_components_is_refused(holdings: Holdings) -> None:
    with pytest.raises(LedgerRequestError) as refused:
        holdings.ledger.public.evaluate(publish(holdings), holdings.held("a1") * 31)
    assert refused.value.status == 422
    assert "documents" in str(refused.value.problem)


def test_an_unknown_pathway_is_not_found(holdings: Holdings) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(LedgerRequestError) as refused:
        holdings.ledger.public.evaluate(missing, holdings.held("a1"))
    assert refused.value.status == 404


def test_a_component_evaluated_before_and_revoked_since_counts_for_nothing(
    holdings: Holdings,
) -> None:
    pathway_id = publish(holdings)
    late = fresh(holdings, "b", "Edge Computing")
    documents = [holdings.documents["a1"], holdings.documents["c1"], late]
    assert evaluate_documents(holdings, pathway_id, documents)["met"] is True
    assert evaluate_documents(holdings, pathway_id, documents)["met"] is True  # kept, unchanged
    signer = holdings.issuers["b"].signer
    holdings.ledger.public.revoke(signer.revoke(late["ledgerCredentialId"], 1, "exam voided"))
    answer = evaluate_documents(holdings, pathway_id, documents)
    assert answer["met"] is False
    assert component(answer, 2)["reasons"][0].startswith("It was revoked")


def evaluate_documents(
    holdings: Holdings, pathway_id: str, documents: list[dict[str, Any]]
) -> dict[str, Any]:
    return holdings.ledger.public.evaluate(pathway_id, documents)
