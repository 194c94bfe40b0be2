"""One report from every check a verifier can make, in the order a person reads them.

A Blockcerts document proves its own integrity and anchor; the ledger's record of the same
credential version adds what the document does not carry: the issuer's signature, the issuer's
standing in the register, log inclusion, the signed checkpoint and the witnesses' cosignatures.
The register adds the issuer's quality assurance. The web page, ``POST /verify`` and
``credledger verify`` all show this one report.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ledger.verify.report import Report, Step

# The record's checks that a document does not carry itself.
RECORD_CHECKS = (
    "issuer_signature",
    "issuer_registered",
    "checkpoint_signature",
    "log_inclusion",
    "witnesses",
)
ORDER = (
    "format",
    "bundle",
    "envelope",
    "integrity",
    "ledger_record",
    "anchor_path",
    "document_leaf",
    "issuer_signature",
    "issuer",
    "issuer_registered",
    "quality_assurance",
    "checkpoint_signature",
    "log_inclusion",
    "witnesses",
    "transaction",
    "anchor",
    "validity",
    "status",
    "components",
)
# Worst first: the verdict of a combined report is the worst of its parts.
_SEVERITY = (
    "invalid",
    "revoked",
    "superseded",
    "expired",
    "not-yet-valid",
    "not-anchored",
    "issuer-unknown",
    "component-revoked",
    "status-unknown",
    "valid",
)


def worst(*verdicts: str) -> str:
    return min(verdicts, key=lambda v: _SEVERITY.index(v) if v in _SEVERITY else 0)


def quality_assurance_step(issuer: dict[str, Any] | None, content: dict[str, Any] | None) -> Step:
    """Whether the issuer is registered, in good standing, with evidence of the quality
    assurance the credential names."""
    if issuer is None:
        return Step("quality_assurance", False, "The issuer is not in the register.")
    name = issuer["legal_name"]
    if issuer["status"] != "active":
        return Step("quality_assurance", False, f"{name} is {issuer['status']} in the register.")
    wanted = (content or {}).get("quality_assurance", {}).get("type")
    evidence = [qa for qa in issuer["quality_assurance"] if wanted is None or qa["type"] == wanted]
    if not evidence:
        return Step(
            "quality_assurance",
            False,
            f"{name} has no registered evidence of the quality assurance the credential names.",
        )
    qa = evidence[0]
    reference = f" ({qa['reference']})" if qa.get("reference") else ""
    return Step(
        "quality_assurance",
        True,
        f"{name} is registered with quality-assurance evidence from {qa['body']}{reference}.",
    )


def components_step(
    content: dict[str, Any] | None, component: Callable[[str], dict[str, Any] | None]
) -> Step | None:
    """For a stacked credential, whether its components still stand: each revoked one named,
    with when and why (the issuer decides what follows; the ledger never revokes on its own).

    ``component`` gives a credential's public status by id."""
    parts = (content or {}).get("has_part")
    if not parts:
        return None
    revoked = []
    for part in parts:
        found = component(part["credential_id"])
        if found is not None and found["status"] == "revoked":
            version = next(
                (v for v in found["versions"] if v["version"] == int(part["version"])), None
            )
            title = (version or {}).get("content", {}).get("title", "a component")
            revocation = found["revocation"] or {}
            revoked.append(
                f"“{title}” ({part['credential_id']}) was revoked on {revocation.get('at')}: "
                f"{revocation.get('reason')}"
            )
    recognition = content.get("recognition_id") if content else None
    if revoked:
        return Step(
            "components",
            False,
            f"A component recognised by recognition {recognition} was revoked since: "
            + "; ".join(revoked)
            + ". The issuer of this credential decides what follows.",
        )
    return Step(
        "components",
        True,
        f"All {len(parts)} components recognised by recognition {recognition} still stand.",
    )


def with_components(report: Report, step: Step | None) -> Report:
    """``report`` with the components step, its verdict no better than component-revoked
    when a component was revoked."""
    if step is None:
        return report
    report.steps.append(step)
    if step.passed is False:
        report.verdict = worst(report.verdict, "component-revoked")
    return report


def bundle_content(found: dict[str, Any], bundle: dict[str, Any]) -> dict[str, Any] | None:
    """The content of the version a proof bundle proves, from the credential's public status."""
    try:
        position = json.loads(bundle["event"]["envelope"])["position"]
    except (KeyError, TypeError, ValueError):
        return None
    return next((v["content"] for v in found["versions"] if v["log_position"] == position), None)


def record_leaf_step(document: Report, record: Report) -> Step:
    """Whether the document's hash is the leaf the ledger anchored for its credential version.

    A document can verify on its own (its hash, path and transaction hold) and still not be the
    ledger's: changed, re-hashed and anchored by another transaction. The ledger's record of the
    version names the one leaf that is.
    """
    if record.document_leaf is None:
        return Step(
            "ledger_record",
            False,
            "The ledger anchored no document for this credential version: this document is "
            "not the ledger's record of it.",
        )
    if document.document_leaf != record.document_leaf:
        return Step(
            "ledger_record",
            False,
            "This document is not the one the ledger anchored for this credential version "
            f"(the ledger's leaf is {record.document_leaf[:16]}…).",
        )
    return Step(
        "ledger_record",
        True,
        "The document is the one the ledger anchored for this credential version.",
    )


def combine(
    document: Report | None,
    record: Report | None,
    quality: Step | None,
    record_missing: str | None = None,
) -> Report:
    """The document's checks, the record's (only those a document lacks, when there is a
    document), the quality assurance; sorted for reading, with the worst verdict."""
    combined = Report()
    verdicts = []
    if document is not None:
        combined.document_leaf = document.document_leaf
        combined.steps.extend(document.steps)
        verdicts.append(document.verdict)
    if record is not None:
        if document is None:
            combined.steps.extend(record.steps)
            verdicts.append(record.verdict)
        else:
            # The document answers for status and anchor; the record adds only its own checks,
            # and says whether the document is the one it anchored for that version.
            kept = [s for s in record.steps if s.name in RECORD_CHECKS]
            if any(s.name == "bundle" and s.passed for s in record.steps):
                kept.append(record_leaf_step(document, record))
            combined.steps.extend(kept)
            failed = any(s.passed is False for s in kept)
            unchecked = any(s.passed is None and s.name != "witnesses" for s in kept)
            verdicts.append("invalid" if failed else "status-unknown" if unchecked else "valid")
    if record_missing is not None:
        combined.steps.append(Step("anchor", None, record_missing))
        verdicts.append("not-anchored")
    if quality is not None:
        combined.steps.append(quality)
        outcome = {True: "valid", False: "invalid", None: "status-unknown"}[quality.passed]
        verdicts.append(outcome)
    rank = {name: i for i, name in enumerate(ORDER)}
    combined.steps.sort(key=lambda s: rank.get(s.name, len(ORDER)))
    combined.verdict = worst(*verdicts) if verdicts else "invalid"
    return combined
