"""Whether a set of micro-credentials, as one learner holds them, meets a pathway's rules.

Pure: the caller verifies each component and opens its learner commitment first, and hands in
what it found; this module only counts. A component counts for nothing unless it verified as
valid, belongs to the same learner as the others, and meets every component rule; the answer
says why for each one. Credit points are added per framework only: ECTS and ECVET never mix.
Nothing here writes or decides: a recognition is a separate, signed decision.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from ledger.domain import codelists
from ledger.domain.codelists import ECTS, ECVET
from ledger.domain.content import parse_timestamp
from ledger.domain.pathways import AreaRule, PathwayRules, eqf_rank

_SHORT_NAMES = {ECTS: "ECTS", ECVET: "ECVET"}


def framework_name(uri: str) -> str:
    """ECTS, ECVET, or the credit system's label."""
    if uri in _SHORT_NAMES:
        return _SHORT_NAMES[uri]
    found = codelists.load("credit-points")
    return found.label(uri) if uri in found else uri


def points_text(amount: Decimal) -> str:
    """A decimal as plain text: 30, 7.5 (never 3E+1)."""
    return format(amount.normalize(), "f")


@dataclass(frozen=True)
class Component:
    """One credential as it was presented and verified, before any rule is applied.

    ``refusal`` says why verification did not find it valid (None: it did); ``learner`` is the
    identifier that opened its version's learner commitment (None: nothing opened it).
    """

    credential_id: str | None
    version: int | None
    issuer_id: str | None
    provider: str | None
    content: dict[str, Any] | None
    learner: str | None
    verdict: str
    refusal: str | None = None
    document_hash: str | None = None


@dataclass
class ComponentVerdict:
    index: int
    component: Component
    reasons: list[str] = field(default_factory=list)
    contributes: dict[str, Decimal] = field(default_factory=dict)

    @property
    def counts(self) -> bool:
        return not self.reasons

    def as_dict(self) -> dict[str, Any]:
        content = self.component.content or {}
        return {
            "index": self.index,
            "credential_id": self.component.credential_id,
            "version": self.component.version,
            "issuer_id": self.component.issuer_id,
            "provider": self.component.provider,
            "title": content.get("title"),
            "verdict": self.component.verdict,
            "counts": self.counts,
            "reasons": self.reasons,
            "contributes": [
                {"framework": f, "name": framework_name(f), "points": points_text(p)}
                for f, p in sorted(self.contributes.items())
            ],
        }


@dataclass(frozen=True)
class RuleOutcome:
    rule: str
    met: bool
    text: str
    figures: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "met": self.met, "text": self.text, **self.figures}


@dataclass
class Evaluation:
    pathway_id: str
    pathway_version: int
    target: dict[str, Any]
    evaluated_at: datetime
    components: list[ComponentVerdict]
    totals: dict[str, Decimal]
    rules: list[RuleOutcome]
    missing: list[str]

    @property
    def met(self) -> bool:
        return all(r.met for r in self.rules) and any(c.counts for c in self.components)

    def as_dict(self) -> dict[str, Any]:
        return {
            "pathway_id": self.pathway_id,
            "pathway_version": self.pathway_version,
            "target": self.target,
            "evaluated_at": self.evaluated_at.isoformat(timespec="seconds"),
            "met": self.met,
            "components": [c.as_dict() for c in self.components],
            "totals": [
                {"framework": f, "name": framework_name(f), "points": points_text(p)}
                for f, p in sorted(self.totals.items())
            ],
            "rules": [r.as_dict() for r in self.rules],
            "missing": self.missing,
        }


def evaluate(
    pathway: dict[str, Any],
    version: dict[str, Any],
    components: list[Component],
    now: datetime,
    learner: str | None = None,
) -> Evaluation:
    """Apply version ``version`` of ``pathway`` (as the read model gives them) to
    ``components``; ``learner`` is the identifier every component must open to (by default,
    the first one that opened)."""
    rules = PathwayRules.model_validate(version["rules"])
    if learner is None:
        learner = next((c.learner for c in components if c.learner is not None), None)
    verdicts = [ComponentVerdict(i, c) for i, c in enumerate(components)]
    seen: dict[str, int] = {}
    for verdict in verdicts:
        _component_reasons(verdict, rules, now, learner, seen)
        if verdict.counts:
            credits = (verdict.component.content or {}).get("workload", {}).get("credit_points")
            for credit in credits or []:
                framework = credit["framework"]
                verdict.contributes[framework] = verdict.contributes.get(
                    framework, Decimal(0)
                ) + Decimal(credit["point"])
    counting = [v for v in verdicts if v.counts]
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for verdict in counting:
        for framework, points in verdict.contributes.items():
            totals[framework] += points
    outcomes = [
        *_credit_rules(rules, totals),
        *_area_rules(rules, counting),
        *_provider_caps(rules, counting),
        *_required_components(rules, counting),
    ]
    missing = [o.figures["missing"] for o in outcomes if not o.met and "missing" in o.figures]
    if not counting:
        missing.insert(0, "No component counts: see each component's reasons.")
    return Evaluation(
        pathway_id=str(pathway["pathway_id"]),
        pathway_version=int(version["version"]),
        target=version["target"],
        evaluated_at=now,
        components=verdicts,
        totals=dict(totals),
        rules=outcomes,
        missing=missing,
    )


def _component_reasons(
    verdict: ComponentVerdict,
    rules: PathwayRules,
    now: datetime,
    learner: str | None,
    seen: dict[str, int],
) -> None:
    component = verdict.component
    reasons = verdict.reasons
    if component.refusal is not None:
        reasons.append(component.refusal)
    if component.credential_id is not None:
        first = seen.setdefault(component.credential_id, verdict.index)
        if first != verdict.index:
            reasons.append(f"The same credential as component {first + 1}: it counts once.")
    if component.learner is None:
        reasons.append(
            "The learner's identification in the document does not open the version's learner "
            "commitment: it cannot be shown to be this learner's."
        )
    elif learner is not None and component.learner != learner:
        reasons.append("It belongs to another learner than the other components.")
    content = component.content
    if content is None:
        return
    if rules.min_component_eqf_level is not None:
        wanted = eqf_rank(rules.min_component_eqf_level)
        level = content.get("eqf_level")
        if level is None:
            reasons.append(f"It names no EQF level; the pathway asks for level {wanted} or above.")
        elif eqf_rank(level) < wanted:
            reasons.append(
                f"It is at EQF level {eqf_rank(level)}; the pathway asks for level {wanted} or "
                "above."
            )
    if rules.accepted_qa_types is not None:
        qa = content.get("quality_assurance", {}).get("type")
        if qa not in rules.accepted_qa_types:
            label = codelists.load("accreditation-types")
            named = label.label(qa) if qa in label else str(qa)
            reasons.append(f"Its quality assurance ({named}) is not one the pathway accepts.")
    if rules.max_component_age_days is not None:
        awarded = parse_timestamp(content.get("awarding_date") or content["issued"])
        age = now - awarded
        if age > timedelta(days=int(rules.max_component_age_days)):
            reasons.append(
                f"It was awarded {age.days} days ago; the pathway accepts components up to "
                f"{rules.max_component_age_days} days old."
            )


def _credit_rules(rules: PathwayRules, totals: dict[str, Decimal]) -> list[RuleOutcome]:
    outcomes = []
    for rule in rules.credits:
        name = framework_name(rule.framework)
        required = Decimal(rule.minimum)
        counted = totals.get(rule.framework, Decimal(0))
        met = counted >= required
        figures: dict[str, Any] = {
            "framework": rule.framework,
            "name": name,
            "required": points_text(required),
            "counted": points_text(counted),
        }
        if not met:
            figures["missing"] = f"{points_text(required - counted)} more {name}."
        others = [f for f in totals if f != rule.framework]
        beside = (
            f" ({', '.join(f'{points_text(totals[f])} {framework_name(f)}' for f in others)} "
            "not added: another credit system)"
            if others
            else ""
        )
        outcomes.append(
            RuleOutcome(
                "credits",
                met,
                f"{points_text(counted)} of the {points_text(required)} {name} required{beside}.",
                figures,
            )
        )
    return outcomes


def _area_rules(rules: PathwayRules, counting: list[ComponentVerdict]) -> list[RuleOutcome]:
    outcomes = []
    for rule in rules.areas:
        name = framework_name(rule.framework)
        if rule.thematic_area is not None:
            isced = codelists.load("isced-f")
            what = isced.label(rule.thematic_area) if rule.thematic_area in isced else "the area"
            subject: dict[str, Any] = {"thematic_area": rule.thematic_area}
        else:
            what = f"the skill {rule.esco_skill}"
            subject = {"esco_skill": rule.esco_skill}
        required = Decimal(rule.minimum)
        counted = sum(
            (
                v.contributes.get(rule.framework, Decimal(0))
                for v in counting
                if _in_area(rule, v.component.content or {})
            ),
            Decimal(0),
        )
        met = counted >= required
        figures: dict[str, Any] = {
            **subject,
            "framework": rule.framework,
            "required": points_text(required),
            "counted": points_text(counted),
        }
        if not met:
            figures["missing"] = f"{points_text(required - counted)} more {name} in {what}."
        outcomes.append(
            RuleOutcome(
                "area",
                met,
                f"{points_text(counted)} of the {points_text(required)} {name} required in {what}.",
                figures,
            )
        )
    return outcomes


def _in_area(rule: AreaRule, content: dict[str, Any]) -> bool:
    if rule.thematic_area is not None:
        return bool(content.get("thematic_area") == rule.thematic_area)
    return any(o.get("esco_skill") == rule.esco_skill for o in content.get("learning_outcomes", []))


def _provider_caps(rules: PathwayRules, counting: list[ComponentVerdict]) -> list[RuleOutcome]:
    outcomes = []
    for cap in rules.max_points_per_provider:
        name = framework_name(cap.framework)
        maximum = Decimal(cap.maximum)
        by_provider: dict[str, Decimal] = defaultdict(Decimal)
        names: dict[str, str] = {}
        for verdict in counting:
            issuer = str(verdict.component.issuer_id)
            by_provider[issuer] += verdict.contributes.get(cap.framework, Decimal(0))
            names[issuer] = verdict.component.provider or issuer
        over = {i: p for i, p in by_provider.items() if p > maximum}
        figures: dict[str, Any] = {
            "framework": cap.framework,
            "maximum": points_text(maximum),
            "over": [
                {"issuer_id": i, "provider": names[i], "points": points_text(p)}
                for i, p in sorted(over.items())
            ],
        }
        if over:
            listed = "; ".join(f"{names[i]} {points_text(p)} {name}" for i, p in over.items())
            text = f"More than {points_text(maximum)} {name} from one provider: {listed}."
            figures["missing"] = (
                f"At most {points_text(maximum)} {name} from one provider: present fewer "
                f"components from {', '.join(names[i] for i in over)}, or others instead."
            )
        else:
            text = f"No provider gives more than {points_text(maximum)} {name}."
        outcomes.append(RuleOutcome("provider-cap", not over, text, figures))
    return outcomes


def _required_components(
    rules: PathwayRules, counting: list[ComponentVerdict]
) -> list[RuleOutcome]:
    outcomes = []
    for required in rules.required_components:
        found = any(
            v.component.issuer_id == required.issuer_id
            and (v.component.content or {}).get("title") == required.title
            for v in counting
        )
        figures: dict[str, Any] = {"issuer_id": required.issuer_id, "title": required.title}
        if not found:
            figures["missing"] = f"The required component “{required.title}”."
        text = (
            f"The required component “{required.title}” is included."
            if found
            else f"The required component “{required.title}” is not among those that count."
        )
        outcomes.append(RuleOutcome("required-component", found, text, figures))
    return outcomes
