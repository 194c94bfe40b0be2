"""What Blockcerts verifiers fetch: issuer profiles, revocation lists, status lists; and the
signed route through which issuers collect their learners' credential documents."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from anchors import data_integrity, status_list
from ledger.api.app_context import ApiContext, context
from ledger.api.parameters import INT64_MAX
from ledger.domain.commands import SignedCommand
from ledger.domain.errors import LedgerError, NotFound
from ledger.formats.blockcerts.anchor_batches import DocumentReader, issuer_profile_url
from ledger.formats.blockcerts.verify import Unreachable
from ledger.formats.edc.credential import credential_reference
from ledger.formats.edc.records import EdcReader
from ledger.persistence.read_model import STATUS_LIST_SIZE

router = APIRouter(tags=["blockcerts"])
Ctx = Annotated[ApiContext, Depends(context)]

OPEN_BADGES_V2 = "https://w3id.org/openbadges/v2"
BLOCKCERTS_V3 = "https://w3id.org/blockcerts/v3"
# The register data a profile adds to Blockcerts' fields, defined so the profile stays
# well-formed JSON-LD.
_REGISTER_TERMS = {
    "cl": "urn:credledger:vocab:",
    "elm": "http://data.europa.eu/snb/model/elm/",
    "countryCode": {"@id": "elm:countryCode", "@type": "@id"},
    "spatialCode": {"@id": "elm:spatialCode"},
    "accreditation": {"@id": "elm:accreditation"},
    "registerStatus": {"@id": "cl:registerStatus"},
    "statusListCredential": {"@id": "cl:statusListCredential", "@type": "@id"},
}
# Public lists change with every revocation; verifiers may cache them this long.
_LIST_MAX_AGE = "public, max-age=30"


def _issuer(ctx: ApiContext, issuer_id: str) -> dict[str, Any]:
    entry = ctx.read_model.issuer(issuer_id)
    if entry is None:
        raise NotFound(f"no issuer {issuer_id}")
    return entry


def revocation_list_url(public_url: str, issuer_id: str) -> str:
    return f"{public_url}/issuers/{issuer_id}/revocation-list"


def status_list_url(public_url: str, issuer_id: str, list_no: int) -> str:
    return f"{public_url}/issuers/{issuer_id}/status-lists/{list_no}"


@router.get(
    "/issuers/{issuer_id}/profile",
    response_model=None,
    summary="The issuer's Blockcerts profile: anchoring keys, revocation list, register data",
)
def profile(issuer_id: str, ctx: Ctx) -> dict[str, Any]:
    return issuer_profile(ctx, issuer_id)


def issuer_profile(ctx: ApiContext, issuer_id: str) -> dict[str, Any]:
    """The Blockcerts ``Profile`` of a registered issuer."""
    entry = _issuer(ctx, issuer_id)
    public_url = ctx.settings.public_url_value()
    keys = []
    for key in ctx.read_model.anchoring_keys():
        listed = {"id": f"ecdsa-koblitz-pubkey:{key['address']}", "created": key["created"]}
        if key["revoked"] is not None:
            listed["revoked"] = key["revoked"]
        keys.append(listed)
    location: dict[str, Any] = {"countryCode": entry["country"]}
    if entry["region"]:
        location["spatialCode"] = entry["region"]
    return {
        "@context": [OPEN_BADGES_V2, BLOCKCERTS_V3, _REGISTER_TERMS],
        "type": "Profile",
        "id": issuer_profile_url(public_url, issuer_id),
        "name": entry["legal_name"],
        "publicKey": keys,
        "revocationList": revocation_list_url(public_url, issuer_id),
        **location,
        "accreditation": entry["quality_assurance"],
        "registerStatus": entry["status"],
    }


@router.get(
    "/issuers/{issuer_id}/revocation-list",
    response_model=None,
    summary="Documents of this issuer that no longer stand (Open Badges RevocationList)",
)
def revocation_list(
    issuer_id: str,
    ctx: Ctx,
    response: Response,
    assertion_id: Annotated[
        str | None,
        Query(alias="assertionId", description="One document id: answered in constant time"),
    ] = None,
) -> dict[str, Any]:
    response.headers["Cache-Control"] = _LIST_MAX_AGE
    return issuer_revocation_list(ctx, issuer_id, assertion_id)


def issuer_revocation_list(
    ctx: ApiContext, issuer_id: str, assertion_id: str | None
) -> dict[str, Any]:
    """The Open Badges ``RevocationList`` of an issuer (one entry's worth with an id)."""
    _issuer(ctx, issuer_id)
    public_url = ctx.settings.public_url_value()
    return {
        "@context": OPEN_BADGES_V2,
        "id": revocation_list_url(public_url, issuer_id),
        "type": "RevocationList",
        "issuer": issuer_profile_url(public_url, issuer_id),
        "revokedAssertions": ctx.read_model.revoked_documents(issuer_id, assertion_id),
    }


@router.get(
    "/issuers/{issuer_id}/status-lists/{list_no}",
    response_model=None,
    summary="A W3C Bitstring Status List credential of this issuer's credentials",
)
def bitstring_status_list(
    issuer_id: str,
    list_no: Annotated[int, Path(ge=0, le=INT64_MAX)],
    ctx: Ctx,
    response: Response,
) -> Any:
    _issuer(ctx, issuer_id)
    revoked = ctx.read_model.revoked_status_indexes(issuer_id, list_no)
    if revoked is None:
        raise NotFound(f"issuer {issuer_id} has no status list {list_no}")
    url = status_list_url(ctx.settings.public_url_value(), issuer_id, list_no)
    key = ctx.status_list_key()
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": data_integrity.did_key(key.public_key()),
        "validFrom": now,
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": status_list.encode(revoked, STATUS_LIST_SIZE),
        },
    }
    response.headers["Cache-Control"] = _LIST_MAX_AGE
    return data_integrity.sign(credential, key, now)


def credential_status(ctx: ApiContext, credential_id: str) -> dict[str, Any] | None:
    """A credential's ``BitstringStatusListEntry``, for verifiers that use status lists."""
    entry = ctx.read_model.status_entry(credential_id)
    if entry is None:
        return None
    url = status_list_url(ctx.settings.public_url_value(), entry["issuer_id"], entry["list_no"])
    return {
        "id": f"{url}#{entry['index']}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": str(entry["index"]),
        "statusListCredential": url,
    }


@router.post(
    "/documents",
    response_model=None,
    summary="Credential documents with their proofs (signed by the credentials' issuer, fresh)",
)
def documents(body: SignedCommand, ctx: Ctx) -> dict[str, Any]:
    read = ctx.ledger.authorize_document_read(body)
    reader = DocumentReader(ctx.ledger, ctx.read_model, ctx.anchors)
    edc = EdcReader(ctx.ledger)
    results: list[dict[str, Any]] = []
    for wanted in read.documents:
        item: dict[str, Any] = {"credential_id": wanted.credential_id, "version": wanted.version}
        try:
            if read.format == "edc":
                # Unsealed: the issuer seals it on its side, then records the seal.
                item["credential"] = edc.credential(wanted.credential_id, wanted.version)
                reference = credential_reference(item["credential"]["id"])
                item["version"] = None if reference is None else reference[1]
            else:
                item["document"] = reader.document(wanted.credential_id, wanted.version)
                item["version"] = item["document"]["credentialVersion"]
        except LedgerError as exc:
            item["problem"] = exc.problem()
        results.append(item)
    return {"format": read.format, "documents": results}


class LocalResolver:
    """Resolves this ledger's own profile and revocation-list URLs from its read model; never
    fetches another host (a verification request must not make the server a proxy)."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx
        self._issuers = f"{ctx.settings.public_url_value()}/issuers/"

    def _issuer_id(self, url: str, suffix: str) -> str:
        if not (url.startswith(self._issuers) and url.endswith(suffix)):
            raise Unreachable(
                f"{url} is not served by this ledger; verify documents of other ledgers with "
                "`credledger verify`"
            )
        return url.removeprefix(self._issuers).removesuffix(suffix)

    def profile(self, url: str) -> dict[str, Any]:
        try:
            return issuer_profile(self._ctx, self._issuer_id(url, "/profile"))
        except LedgerError as exc:
            raise Unreachable(exc.detail) from exc

    def revoked(self, list_url: str, document_id: str) -> list[dict[str, Any]]:
        try:
            found = issuer_revocation_list(
                self._ctx, self._issuer_id(list_url, "/revocation-list"), document_id
            )
        except LedgerError as exc:
            raise Unreachable(exc.detail) from exc
        entries: list[dict[str, Any]] = found["revokedAssertions"]
        return entries
