"""The counting itself, on components as verification found them: what a verdict other than
valid, or a missing learner opening, does to a component."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ledger.domain.codelists import ECTS
from ledger.stacking.evaluation import Component, evaluate
from tests.conftest import content

PATHWAY = {"pathway_id": "p"}
VERSION: dict[str, Any] = {
    "version": 1,
    "target": {"title": "Certificate"},
    "rules": {"credits": [{"framework": ECTS, "minimum": "10"}]},
}
NOW = datetime.now(UTC)


def held(credential_id: str, verdict: str = "valid", learner: str | None = "l-1") -> Component:
    refusal = None if verdict == "valid" else f"{verdict}: the batch is not anchored yet"
    return Component(credential_id, 1, "i-1", "Aran", content(), learner, verdict, refusal)


def test_a_component_not_yet_anchored_counts_for_nothing_and_says_why() -> None:
    answer = evaluate(PATHWAY, VERSION, [held("a"), held("b", "not-anchored")], NOW).as_dict()
    pending = answer["components"][1]
    assert (pending["counts"], pending["verdict"]) == (False, "not-anchored")
    assert pending["reasons"] == ["not-anchored: the batch is not anchored yet"]
    assert answer["totals"] == [{"framework": ECTS, "name": "ECTS", "points": "5"}]
    assert answer["missing"] == ["5 more ECTS."]


def test_the_same_credential_twice_counts_once() -> None:
    answer = evaluate(PATHWAY, VERSION, [held("a"), held("a")], NOW).as_dict()
    assert [c["counts"] for c in answer["components"]] == [True, False]
    assert answer["met"] is False


def test_the_learner_is_the_first_component_that_opened() -> None:
    components = [held("a", learner=None), held("b", learner="l-2"), held("c", learner="l-1")]
    answer = evaluate(PATHWAY, VERSION, components, NOW).as_dict()
    assert [c["counts"] for c in answer["components"]] == [False, True, False]


def test_nothing_counting_says_so_first() -> None:
    answer = evaluate(PATHWAY, VERSION, [held("a", "revoked")], NOW).as_dict()
    assert answer["met"] is False
    assert answer["missing"][0] == "No component counts: see each component's reasons."
