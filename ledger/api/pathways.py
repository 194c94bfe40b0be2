"""Pathways: recognising institutions publish them (signed), anyone reads them, and a learner's
set of credentials is evaluated against one without anything being written."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi import Path as PathParameter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from starlette.concurrency import run_in_threadpool

from ledger.api.app_context import ApiContext, context
from ledger.api.parameters import INT64_MAX, named_in_path
from ledger.api.verification import held_document_report, presentation_report
from ledger.api.wallets import LocalWalletLedger
from ledger.domain.commands import SignedCommand
from ledger.domain.commitment import matches
from ledger.domain.content import parse_timestamp
from ledger.domain.errors import FieldError, InvalidInput, MalformedRequest, NotFound
from ledger.domain.field_errors import parse
from ledger.formats.blockcerts.document import held_learner
from ledger.formats.sd_jwt.jws import MAX_TOKEN_CHARS
from ledger.formats.sd_jwt.verify import holder_key
from ledger.stacking.evaluation import Component, evaluate
from ledger.stacking.verified import AnchoredAt, Verified
from ledger.verify.combined import quality_assurance_step
from ledger.verify.report import Report

router = APIRouter(tags=["pathways"])
Ctx = Annotated[ApiContext, Depends(context)]
PathwayId = Annotated[
    str,
    PathParameter(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"),
]
MAX_COMPONENTS = 30

# What a verdict other than valid means for a component, in words.
_VERDICT_WORDS = {
    "revoked": "It was revoked",
    "superseded": "It is superseded by a later version",
    "not-anchored": "It is not anchored yet",
    "expired": "It has expired",
    "not-yet-valid": "It is not valid yet",
    "issuer-unknown": "Its issuer is not in the register",
    "status-unknown": "Its status could not be checked",
    "invalid": "It does not verify",
}


class PresentedCredential(BaseModel):
    """A wallet's presentation of an SD-JWT VC, with the nonce and audience it was made for."""

    model_config = ConfigDict(extra="forbid")

    sd_jwt: Annotated[str, StringConstraints(min_length=1, max_length=MAX_TOKEN_CHARS)]
    nonce: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    audience: Annotated[str, StringConstraints(min_length=1, max_length=512)]


class EvaluationRequest(BaseModel):
    """The credentials as the learner holds them, and optionally the pathway version."""

    model_config = ConfigDict(extra="forbid")

    documents: Annotated[list[dict[str, Any]], Field(max_length=MAX_COMPONENTS)] = Field(
        default=[], description="Blockcerts credential documents of this ledger."
    )
    presentations: Annotated[list[PresentedCredential], Field(max_length=MAX_COMPONENTS)] = Field(
        default=[],
        description="SD-JWT VC presentations with key binding, of one holder key (they "
        "cannot be tied to documents, which open to an identifier).",
    )
    version: Annotated[int, Field(ge=1, le=INT64_MAX)] | None = Field(
        default=None, description="The pathway version to apply; default: the current one."
    )

    @model_validator(mode="after")
    def _components(self) -> EvaluationRequest:
        if not 1 <= len(self.documents) + len(self.presentations) <= MAX_COMPONENTS:
            raise ValueError(
                f"give from 1 to {MAX_COMPONENTS} components: documents and presentations"
            )
        return self


def _inlined(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema with its definitions written in place (the OpenAPI document
    has no ``$defs`` of its own; the models here do not nest recursively)."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            reference = node.get("$ref", "")
            if reference.startswith("#/$defs/"):
                return resolve(definitions[reference.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


@router.post(
    "/pathways",
    status_code=201,
    response_model=None,
    summary="Publish a pathway: target and rules (signed)",
)
def publish_pathway(body: SignedCommand, ctx: Ctx, response: Response) -> dict[str, Any]:
    result = ctx.ledger.publish_pathway(body)
    ctx.written()
    response.headers["Location"] = f"/pathways/{result.pathway_id}"
    return result.as_dict()


@router.post(
    "/pathways/{pathway_id}/versions",
    status_code=201,
    response_model=None,
    summary="Publish a new version of a pathway (signed)",
)
def revise_pathway(pathway_id: PathwayId, body: SignedCommand, ctx: Ctx) -> dict[str, Any]:
    named_in_path(body, "pathway_id", pathway_id)
    result = ctx.ledger.revise_pathway(body)
    ctx.written()
    return result.as_dict()


@router.get("/pathways", response_model=None, summary="Every published pathway")
def pathways(
    ctx: Ctx,
    issuer_id: Annotated[str | None, Query(max_length=36)] = None,
) -> dict[str, Any]:
    return {"pathways": ctx.read_model.pathways(issuer_id)}


@router.get("/pathways/{pathway_id}", response_model=None, summary="One pathway, every version")
def pathway(pathway_id: PathwayId, ctx: Ctx) -> dict[str, Any]:
    return _pathway(ctx, pathway_id)


@router.post(
    "/pathways/{pathway_id}/evaluations",
    response_model=None,
    summary="Evaluate credentials as the learner holds them against a pathway (no writes)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _inlined(EvaluationRequest)}},
        }
    },
)
async def evaluation(pathway_id: PathwayId, request: Request, ctx: Ctx) -> JSONResponse:
    """Each component verified in full and shown to be the same learner's; per component its
    verdict and what it contributes, per rule met or not with the numbers, the totals per
    credit system and what is missing."""
    # The body is read as bytes: the same documents presented again are known by its digest
    # alone, without parsing them again.
    raw = await request.body()
    answer = await run_in_threadpool(_evaluate, ctx, pathway_id, raw)
    # Plain JSON already: answered as it is, without FastAPI walking it again.
    return JSONResponse(answer)


def _evaluate(ctx: ApiContext, pathway_id: str, raw: bytes) -> dict[str, Any]:
    found = _pathway(ctx, pathway_id)
    presented = hashlib.sha256(raw).hexdigest()
    lookups = Lookups()
    seen = ctx.verified_components.body(presented)
    components = None if seen is None else _still_standing(ctx, seen[0], lookups)
    if components is not None and seen is not None:
        wanted = seen[1]
    else:
        body = _evaluation_request(raw)
        wanted = body.version
        digests = [_digest(document) for document in body.documents]
        components = [
            held_component(ctx, document, lookups, digest)
            for document, digest in zip(body.documents, digests, strict=True)
        ]
        components += [presented_component(ctx, item) for item in body.presentations]
        if not body.presentations:
            # A presentation is verified every time (its key binding is checked for its nonce).
            ctx.verified_components.presented(presented, digests, wanted)
    number = wanted or found["current_version"]
    version = next((v for v in found["versions"] if v["version"] == number), None)
    if version is None:
        raise InvalidInput(
            [FieldError("version", "unknown-version", f"the pathway has no version {number}")]
        )
    return evaluate(found, version, components, ctx.ledger.clock()).as_dict()


def _evaluation_request(raw: bytes) -> EvaluationRequest:
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MalformedRequest("the request body is not JSON") from None
    if not isinstance(data, dict):
        raise MalformedRequest("the request body is not a JSON object of the expected shape")
    return parse(EvaluationRequest, data, "")


def _still_standing(
    ctx: ApiContext, digests: list[str], lookups: Lookups
) -> list[Component] | None:
    """The components of a body presented a moment ago, each as it was verified, if every
    one of them is still kept and still stands; None otherwise (the body is then read in
    full)."""
    components = []
    now = time.monotonic()
    for digest in digests:
        kept = ctx.verified_components.get(digest, now)
        if kept is None or not _still_stands(ctx, kept, lookups):
            return None
        components.append(kept.component)
    return components


def _digest(document: dict[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


@router.post(
    "/pathways/{pathway_id}/recognitions",
    status_code=201,
    response_model=None,
    summary="Record a recognition decision: components of one learner meet the pathway (signed)",
)
def recognise(
    pathway_id: PathwayId, body: SignedCommand, ctx: Ctx, response: Response
) -> dict[str, Any]:
    """The recognising institution's decision, with the components' documents beside the
    command: each is verified again now, must be the one the command names (id, version,
    hash) and count, and together they must meet the pathway version named; then the
    decision is recorded. The answer carries the evaluation it rests on."""
    named_in_path(body, "pathway_id", pathway_id)
    command = ctx.ledger.authorize_recognition(body)
    documents = body.documents or []
    if len(documents) != len(command.components):
        raise InvalidInput(
            [
                FieldError(
                    "documents",
                    "one-per-component",
                    f"give the {len(command.components)} components' documents, in the "
                    "command's order",
                )
            ]
        )
    found = _pathway(ctx, pathway_id)
    version = next(v for v in found["versions"] if v["version"] == int(command.pathway_version))
    lookups = Lookups()
    components = [held_component(ctx, document, lookups) for document in documents]
    evaluation = evaluate(found, version, components, ctx.ledger.clock())
    errors = []
    for index, (named, held, verdict) in enumerate(
        zip(command.components, components, evaluation.components, strict=True)
    ):
        if (held.credential_id, held.version) != (named.credential_id, int(named.version)):
            errors.append(
                FieldError(
                    f"documents[{index}]",
                    "not-the-component",
                    f"is not version {named.version} of credential {named.credential_id}",
                )
            )
        elif not verdict.counts:
            errors.append(
                FieldError(f"documents[{index}]", "component-refused", " ".join(verdict.reasons))
            )
        elif held.document_hash != named.document_hash:
            errors.append(
                FieldError(
                    f"documents[{index}]",
                    "document-hash",
                    "hashes to another leaf than the command's document_hash",
                )
            )
    if not errors and not evaluation.met:
        errors.append(
            FieldError("command.pathway_version", "pathway-not-met", " ".join(evaluation.missing))
        )
    if errors:
        raise InvalidInput(errors)
    result = ctx.ledger.recognise(body)
    ctx.written()
    response.headers["Location"] = f"/recognitions/{result.recognition_id}"
    return {**result.as_dict(), "evaluation": evaluation.as_dict()}


@router.get(
    "/recognitions/{recognition_id}",
    response_model=None,
    summary="A recorded recognition, with each component's status now",
)
def recognition(recognition_id: PathwayId, ctx: Ctx) -> dict[str, Any]:
    found = ctx.read_model.recognition(recognition_id)
    if found is None:
        raise NotFound(f"no recognition {recognition_id}")
    return found


@dataclass
class Lookups:
    """What one evaluation reads once for all its components: register entries and anchors."""

    issuers: dict[str, Any] = field(default_factory=dict)
    anchors: dict[int, Any] = field(default_factory=dict)

    def issuer(self, ctx: ApiContext, issuer_id: str) -> Any:
        if issuer_id not in self.issuers:
            self.issuers[issuer_id] = ctx.read_model.issuer(issuer_id)
        return self.issuers[issuer_id]

    def anchor(self, ctx: ApiContext, checkpoint_size: int) -> Any:
        if checkpoint_size not in self.anchors:
            self.anchors[checkpoint_size] = ctx.anchors.get(checkpoint_size)
        return self.anchors[checkpoint_size]


def held_component(
    ctx: ApiContext,
    document: dict[str, Any],
    lookups: Lookups | None = None,
    digest: str | None = None,
) -> Component:
    """One presented document as a component: verified against this ledger, its learner
    commitment opened with the identification and salt it carries. The same document verified
    as valid a moment ago is taken from ``ctx.verified_components`` if what can change since
    (its status, its issuer's standing, its validity, its anchor) has not."""
    lookups = lookups or Lookups()
    digest = digest or _digest(document)
    now = time.monotonic()
    kept = ctx.verified_components.get(digest, now)
    if kept is not None:
        if _still_stands(ctx, kept, lookups):
            return kept.component
        ctx.verified_components.forget(digest)
    component = _verified_component(ctx, document)
    anchor = _anchor_of(ctx, component) if component.refusal is None else None
    if anchor is not None and component.learner is not None:
        ctx.verified_components.put(digest, component, anchor, now)
    return component


class _EvaluationWalletLedger(LocalWalletLedger):
    """The ledger's record for presentations in an evaluation, which writes nothing: the key
    binding is checked, but its showing is not spent (an evaluation decides nothing)."""

    def first_showing(self, kb_jwt: str, until: float) -> bool:
        return True


def presented_component(ctx: ApiContext, item: PresentedCredential) -> Component:
    """A wallet's presentation as a component: verified against this ledger (issuer key,
    disclosures, key binding for its nonce and audience, status, the delivery's record and
    anchor); its learner is the holder key the SD-JWT VC is bound to."""
    report = presentation_report(
        ctx, item.sd_jwt, item.nonce, item.audience, _EvaluationWalletLedger(ctx)
    )
    shown = report.credential or {}
    credential_id, version = shown.get("credential_id"), shown.get("credential_version")
    if not isinstance(credential_id, str) or not isinstance(version, int):
        return Component(None, None, None, None, None, None, report.verdict, _refusal(report))
    found = ctx.read_model.version_standing(credential_id, version)
    issuer = ctx.read_model.issuer(found["issuer_id"]) if found else None
    key = holder_key(item.sd_jwt) if report.verdict == "valid" else None
    return Component(
        credential_id=credential_id,
        version=version,
        issuer_id=found["issuer_id"] if found else None,
        provider=issuer["legal_name"] if issuer else None,
        content=found["content"] if found else None,
        learner=None if key is None else f"holder-key:{key}",
        verdict=report.verdict,
        refusal=None if report.verdict == "valid" else _refusal(report),
    )


def _verified_component(ctx: ApiContext, document: dict[str, Any]) -> Component:
    report = held_document_report(ctx, document)
    credential_id = document.get("ledgerCredentialId")
    version = document.get("credentialVersion")
    if not isinstance(credential_id, str) or not isinstance(version, int):
        return Component(None, None, None, None, None, None, report.verdict, _refusal(report))
    record = ctx.read_model.credential(credential_id)
    if record is None:
        refusal = "This ledger holds no such credential."
        return Component(credential_id, version, None, None, None, None, "invalid", refusal)
    content = next((v["content"] for v in record["versions"] if v["version"] == version), None)
    issuer = ctx.read_model.issuer(record["issuer_id"])
    return Component(
        credential_id=credential_id,
        version=version,
        issuer_id=record["issuer_id"],
        provider=issuer["legal_name"] if issuer else None,
        content=content,
        learner=_opened_learner(ctx, document, credential_id, version),
        verdict=report.verdict,
        refusal=None if report.verdict == "valid" else _refusal(report),
        # A valid document's own hash is the leaf the ledger anchored for its version.
        document_hash=report.document_leaf if report.verdict == "valid" else None,
    )


def _anchor_of(ctx: ApiContext, component: Component) -> AnchoredAt | None:
    """Where the recorded anchor of the component's version is."""
    found = ctx.read_model.version_standing(
        str(component.credential_id), int(component.version or 0)
    )
    if found is None:
        return None
    index = ctx.log.store.index_of(int(found["log_position"]))
    anchor = ctx.anchors.covering(index) if index is not None else None
    if anchor is None or anchor.tx_hash is None or anchor.block_hash is None:
        return None
    return AnchoredAt(anchor.checkpoint_size, anchor.tx_hash, anchor.block_hash)


def _still_stands(ctx: ApiContext, kept: Verified, lookups: Lookups) -> bool:
    """Whether what can change about a component verified before has not: the version is
    still current and not revoked, its issuer in good standing with the quality assurance it
    names, it is within its validity, and its batch is still recorded as anchored where it
    was."""
    component = kept.component
    found = ctx.read_model.version_standing(
        str(component.credential_id), int(component.version or 0)
    )
    if found is None or found["status"] != "active":
        return False
    issuer = lookups.issuer(ctx, found["issuer_id"])
    if quality_assurance_step(issuer, found["content"]).passed is not True:
        return False
    valid_until = found["content"].get("valid_until")
    if valid_until is not None and parse_timestamp(valid_until) <= ctx.ledger.clock():
        return False
    anchor = lookups.anchor(ctx, kept.anchor.checkpoint_size)
    return (
        anchor is not None
        and anchor.state == "recorded"
        and (anchor.tx_hash, anchor.block_hash) == (kept.anchor.tx_hash, kept.anchor.block_hash)
    )


def _opened_learner(
    ctx: ApiContext, document: dict[str, Any], credential_id: str, version: int
) -> str | None:
    """The learner identifier whose data and salt, as the document carries them, open the
    commitment the ledger recorded for this version; None if they do not."""
    held = held_learner(document)
    recorded = ctx.read_model.commitment_of(credential_id, version)
    if held is None or recorded is None:
        return None
    learner, commitment, salt = held
    if commitment != recorded or not matches(learner, salt, recorded):
        return None
    return f"identifier:{learner['identifier']}"


def _refusal(report: Report) -> str:
    failed = [s.detail for s in report.steps if s.passed is False]
    if not failed:
        failed = [s.detail for s in report.steps if s.passed is None and s.name != "witnesses"]
    words = _VERDICT_WORDS.get(report.verdict, f"Its verdict is {report.verdict}")
    return f"{words}: {failed[0]}" if failed else f"{words}."


def _pathway(ctx: ApiContext, pathway_id: str) -> dict[str, Any]:
    found = ctx.read_model.pathway(pathway_id)
    if found is None:
        raise NotFound(f"no pathway {pathway_id}")
    return found
