"""Recognition is a signed decision, checked again when it is made; a stacked credential
rests on one; a component revoked afterwards is named when the stacked credential is
verified."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ledger.client import LedgerRequestError
from ledger.domain.codelists import ECTS
from ledger.formats.edc.seal import seal
from tests.conftest import content, settled, wait_for
from tests.ledger.stacking.conftest import LEARNER, MET, Holdings, fresh, publish


def recognise(
    holdings: Holdings, pathway_id: str, documents: list[dict[str, Any]], issuer: str = "a"
) -> dict[str, Any]:
    signed = holdings.issuers[issuer].signer.recognise(pathway_id, 1, documents)
    return holdings.ledger.public.recognise(signed)


def refusal(call: Any) -> LedgerRequestError:
    with pytest.raises(LedgerRequestError) as refused:
        call()
    return refused.value


def stacked(recognition: dict[str, Any], documents: list[dict[str, Any]]) -> dict[str, Any]:
    """The content of a credential stacked from ``documents`` under ``recognition``."""
    parts = [
        {"credential_id": d["ledgerCredentialId"], "version": str(d["credentialVersion"])}
        for d in documents
    ]
    return content(
        title="Postgraduate Certificate in Data Science",
        has_part=parts,
        recognition_id=recognition["recognition_id"],
        workload={"credit_points": [{"framework": ECTS, "point": "15"}]},
    )


def test_a_recognition_of_components_that_meet_the_pathway_is_recorded(
    holdings: Holdings,
) -> None:
    pathway_id = publish(holdings)
    answer = recognise(holdings, pathway_id, holdings.held(*MET))
    assert answer["command_type"] == "recognise" and answer["evaluation"]["met"] is True
    found = holdings.ledger.public.recognition(answer["recognition_id"])
    assert (found["pathway_id"], found["pathway_version"]) == (pathway_id, 1)
    assert [c["credential_id"] for c in found["components"]] == [
        holdings.credential_ids[name] for name in MET
    ]
    assert {c["status"] for c in found["components"]} == {"active"}


def test_a_recognition_is_refused_when_a_component_was_revoked_after_its_evaluation(
    holdings: Holdings,
) -> None:
    pathway_id = publish(holdings)
    late = fresh(holdings, "b", "Cloud Security")
    documents = [holdings.documents["a1"], holdings.documents["c1"], late]
    assert holdings.ledger.public.evaluate(pathway_id, documents)["met"] is True
    signer = holdings.issuers["b"].signer
    holdings.ledger.public.revoke(signer.revoke(late["ledgerCredentialId"], 1, "exam voided"))
    refused = refusal(lambda: recognise(holdings, pathway_id, documents))
    assert refused.status == 422
    (error,) = refused.problem["errors"]
    assert error["field"] == "documents[2]" and "revoked" in error["message"]


def test_a_recognition_of_components_short_of_the_pathway_is_refused(holdings: Holdings) -> None:
    pathway_id = publish(holdings)
    refused = refusal(lambda: recognise(holdings, pathway_id, holdings.held("a1", "b1", "c4")))
    (error,) = refused.problem["errors"]
    assert (error["field"], error["rule"]) == ("command.pathway_version", "pathway-not-met")
    assert "1 more ECTS" in error["message"]


def test_a_recognition_naming_another_document_than_the_one_sent_is_refused(
    holdings: Holdings,
) -> None:
    pathway_id = publish(holdings)
    signed = holdings.issuers["a"].signer.recognise(pathway_id, 1, holdings.held(*MET))
    signed["documents"][1] = holdings.documents["a2"]
    refused = refusal(lambda: holdings.ledger.public.recognise(signed))
    assert [e["rule"] for e in refused.problem["errors"]] == ["not-the-component"]


def test_only_the_pathways_institution_recognises_by_it(holdings: Holdings) -> None:
    pathway_id = publish(holdings)
    refused = refusal(lambda: recognise(holdings, pathway_id, holdings.held(*MET), issuer="b"))
    assert (refused.status, refused.code) == (403, "not-your-pathway")


def test_a_stacked_credential_is_refused_without_a_recognition(holdings: Holdings) -> None:
    signer = holdings.issuers["a"].signer
    made_up = {"recognition_id": "00000000-0000-4000-8000-000000000000"}
    body = stacked(made_up, holdings.held(*MET))
    refused = refusal(lambda: holdings.ledger.public.issue(signer.issue(body, LEARNER)))
    assert [e["rule"] for e in refused.problem["errors"]] == ["unknown-recognition"]
    alone = {k: v for k, v in body.items() if k != "recognition_id"}
    refused = refusal(lambda: holdings.ledger.public.issue(signer.issue(alone, LEARNER)))
    assert [e["rule"] for e in refused.problem["errors"]] == ["recognition-required"]


def test_a_stacked_credential_may_only_name_recognised_components(holdings: Holdings) -> None:
    recognition = recognise(holdings, publish(holdings), holdings.held(*MET))
    signer = holdings.issuers["a"].signer
    body = stacked(recognition, holdings.held("a1", "b1", "a2"))
    refused = refusal(lambda: holdings.ledger.public.issue(signer.issue(body, LEARNER)))
    assert [e["rule"] for e in refused.problem["errors"]] == ["not-recognised"]
    other = holdings.issuers["b"].signer
    mine = stacked(recognition, holdings.held(*MET))
    refused = refusal(lambda: holdings.ledger.public.issue(other.issue(mine, LEARNER)))
    assert [e["rule"] for e in refused.problem["errors"]] == ["not-your-recognition"]


def test_a_stacked_credential_names_a_component_revoked_after_the_recognition(
    holdings: Holdings,
) -> None:
    late = fresh(holdings, "c", "Bayesian Statistics")
    documents = [holdings.documents["a1"], holdings.documents["b1"], late]
    recognition = recognise(holdings, publish(holdings), documents)
    signer = holdings.issuers["a"].signer
    ledger = holdings.ledger
    issued = ledger.public.issue(signer.issue(stacked(recognition, documents), LEARNER))
    stacked_id = issued["credential_id"]
    wait_for(lambda: settled(ledger.embedded))
    assert ledger.public.verify(credential_id=stacked_id)["verdict"] == "valid"
    ledger.public.revoke(
        holdings.issuers["c"].signer.revoke(late["ledgerCredentialId"], 1, "plagiarism found")
    )
    wait_for(lambda: settled(ledger.embedded))
    report = ledger.public.verify(credential_id=stacked_id)
    assert report["verdict"] == "component-revoked"
    (step,) = [s for s in report["steps"] if s["name"] == "components"]
    assert step["passed"] is False
    assert late["ledgerCredentialId"] in step["detail"] and "plagiarism found" in step["detail"]
    assert "Bayesian Statistics" in step["detail"]
    found = ledger.public.recognition(recognition["recognition_id"])
    assert [c["status"] for c in found["components"]] == ["active", "active", "revoked"]
    (item,) = ledger.public.documents(signer.read_documents([{"credential_id": stacked_id}]))
    claim = item["document"]["credentialSubject"]["hasClaim"]
    assert [p["ledgerCredentialId"] for p in claim["hasPart"]] == [
        d["ledgerCredentialId"] for d in documents
    ]
    assert claim["recognitionId"] == recognition["recognition_id"]
    by_document = ledger.public.verify(document=item["document"])
    assert by_document["verdict"] == "component-revoked"


def test_a_stacked_credentials_edc_has_its_parts_and_verifies_once_sealed(
    holdings: Holdings,
) -> None:
    ireland = "http://publications.europa.eu/resource/authority/country/IRL"
    documents = [
        fresh(holdings, name, title, awarding_bodies=[{"legal_name": body, "country": ireland}])
        for name, title, body in (
            ("a", "Reinforcement Learning", "University of Aran"),
            ("b", "Data Governance", "Boyne Academy"),
            ("c", "Time Series", "Corrib College"),
        )
    ]
    recognition = recognise(holdings, publish(holdings), documents)
    signer = holdings.issuers["a"].signer
    ledger = holdings.ledger
    stacked_id = ledger.public.issue(signer.issue(stacked(recognition, documents), LEARNER))[
        "credential_id"
    ]
    (item,) = ledger.public.documents(
        signer.read_documents([{"credential_id": stacked_id}], format="edc")
    )
    (claim,) = item["credential"]["credentialSubject"]["hasClaim"]
    parts = claim["hasPart"]
    assert [p["id"] for p in parts] == [
        f"urn:credledger:{d['ledgerCredentialId']}:v1#achievement-1" for d in documents
    ]
    assert [p["title"] for p in parts] == [
        {"en": "Reinforcement Learning"},
        {"en": "Data Governance"},
        {"en": "Time Series"},
    ]
    assert [p["awardedBy"]["awardingBody"][0]["legalName"] for p in parts] == [
        {"en": "University of Aran"},
        {"en": "Boyne Academy"},
        {"en": "Corrib College"},
    ]
    assert any(
        recognition["recognition_id"] in n["noteLiteral"]["en"] for n in claim["additionalNote"]
    )
    sealer = holdings.sealer
    assert sealer is not None
    sealed = seal(item["credential"], sealer.chain, sealer.key, datetime.now(UTC))
    ledger.public.record_seal(signer.record_seal(sealed))
    wait_for(lambda: settled(ledger.embedded))
    report = ledger.public.verify(edc=sealed)
    assert report["verdict"] == "valid", report
