"""Learner wallets: the issuer's SD-JWT VC keys, offers, the OpenID4VCI endpoints a wallet
talks to, the SD-JWT VC type metadata, and each issuer's Token Status List."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Body, Depends, Header, Request, Response
from starlette.concurrency import run_in_threadpool

from ledger.api.app_context import ApiContext, context
from ledger.api.log_records import anchored_record
from ledger.api.parameters import named_in_path
from ledger.domain.commands import SignedCommand
from ledger.domain.errors import NotFound, WalletRequestRefused
from ledger.formats.sd_jwt import status_list
from ledger.formats.sd_jwt.credential import VCT_PATH, status_list_uri, type_metadata
from ledger.formats.sd_jwt.issuance import (
    CREDENTIAL_PATH,
    NONCE_PATH,
    TOKEN_PATH,
    WalletIssuer,
)

router = APIRouter(tags=["wallets"])
Ctx = Annotated[ApiContext, Depends(context)]
_NO_STORE = {"Cache-Control": "no-store"}
_MAX_FORM_BYTES = 4096


def wallet_issuer(ctx: ApiContext) -> WalletIssuer:
    """The OpenID4VCI issuer over this context's ledger."""
    return ctx.wallet


def _known_issuer(ctx: ApiContext, issuer_id: str) -> None:
    if ctx.read_model.issuer(issuer_id) is None:
        raise NotFound(f"no issuer {issuer_id}")


# The issuer's side ----------------------------------------------------------------------------


@router.post(
    "/issuers/{issuer_id}/wallet-keys",
    status_code=201,
    response_model=None,
    summary="Adopt a new key for the issuer's SD-JWT VCs (signed; retires the one before)",
)
def adopt_wallet_key(issuer_id: str, body: SignedCommand, ctx: Ctx) -> dict[str, Any]:
    named_in_path(body, "issuer_id", issuer_id)
    result = ctx.ledger.adopt_wallet_key(body)
    ctx.written()
    return result.as_dict()


@router.post(
    "/credentials/{credential_id}/offers",
    status_code=201,
    response_model=None,
    summary="Offer the current version to the learner's wallet (signed, fresh; OpenID4VCI)",
)
def make_offer(credential_id: str, body: SignedCommand, ctx: Ctx) -> dict[str, Any]:
    """The credential offer, its ``openid-credential-offer://`` URI (for a QR code), and the
    PIN (``tx_code``) to give the learner by another channel. Single use; it expires."""
    named_in_path(body, "credential_id", credential_id)
    return wallet_issuer(ctx).offer(body).as_dict()


# Metadata --------------------------------------------------------------------------------------


@router.get("/.well-known/openid-credential-issuer", response_model=None)
def issuer_metadata(ctx: Ctx) -> dict[str, Any]:
    """OpenID4VCI credential issuer metadata."""
    return wallet_issuer(ctx).issuer_metadata()


@router.get("/.well-known/oauth-authorization-server", response_model=None)
def authorization_server_metadata(ctx: Ctx) -> dict[str, Any]:
    """OAuth 2.0 authorization server metadata (RFC 8414) for the pre-authorized code flow."""
    return wallet_issuer(ctx).authorization_server_metadata()


@router.get("/.well-known/jwt-vc-issuer/issuers/{issuer_id}", response_model=None)
def jwt_vc_issuer(issuer_id: str, ctx: Ctx) -> dict[str, Any]:
    """The keys that sign the issuer's SD-JWT VCs (SD-JWT VC issuer metadata)."""
    _known_issuer(ctx, issuer_id)
    return wallet_issuer(ctx).jwt_vc_issuer_metadata(
        issuer_id, ctx.read_model.wallet_keys(issuer_id)
    )


@router.get(VCT_PATH, response_model=None)
def credential_type(ctx: Ctx) -> dict[str, Any]:
    """SD-JWT VC type metadata of the EU micro-credential."""
    return type_metadata(wallet_issuer(ctx).vct)


# The wallet's side -----------------------------------------------------------------------------


@router.post(TOKEN_PATH, response_model=None, summary="OAuth token endpoint (pre-authorized code)")
async def token(request: Request, response: Response, ctx: Ctx) -> dict[str, Any]:
    """Form-encoded ``grant_type``, ``pre-authorized_code`` and ``tx_code`` (the PIN)."""
    body = await request.body()
    if len(body) > _MAX_FORM_BYTES:
        raise WalletRequestRefused(
            "request-too-large", f"the token request is longer than {_MAX_FORM_BYTES} bytes"
        )
    try:
        form = dict(parse_qsl(body.decode("ascii"), strict_parsing=True))
    except (UnicodeDecodeError, ValueError):
        raise WalletRequestRefused(
            "malformed-request", "the token request is not application/x-www-form-urlencoded"
        ) from None
    answer = await run_in_threadpool(wallet_issuer(ctx).token, form)
    response.headers.update(_NO_STORE)
    return answer


@router.post(NONCE_PATH, response_model=None, summary="A fresh nonce for a key proof")
def nonce(response: Response, ctx: Ctx) -> dict[str, Any]:
    response.headers.update(_NO_STORE)
    return wallet_issuer(ctx).nonce()


@router.post(CREDENTIAL_PATH, response_model=None, summary="The credential endpoint")
def credential(
    response: Response,
    ctx: Ctx,
    body: Annotated[Any, Body()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """The SD-JWT VC of the offered version, bound to the key the proof JWT proves."""
    issued = wallet_issuer(ctx).credential(authorization, body)
    ctx.written()
    response.headers.update(_NO_STORE)
    return {"credentials": [{"credential": issued.sd_jwt}]}


# Status ----------------------------------------------------------------------------------------


@router.get(
    "/issuers/{issuer_id}/token-status-list",
    response_model=None,
    summary="The issuer's Token Status List for its SD-JWT VCs (statuslist+jwt)",
)
def token_status_list(issuer_id: str, ctx: Ctx) -> Response:
    _known_issuer(ctx, issuer_id)
    kid, key = ctx.ledger.wallet_signing_key(issuer_id)
    invalid, highest = ctx.read_model.wallet_status(issuer_id)
    ttl = ctx.settings.status_list_ttl_seconds
    signed = status_list.token(
        status_list_uri(ctx.settings.public_url_value(), issuer_id),
        invalid,
        status_list.list_size(highest),
        key,
        kid,
        int(ctx.ledger.clock().timestamp()),
        ttl,
    )
    return Response(
        signed,
        media_type=f"application/{status_list.MEDIA_TYPE}",
        headers={"Cache-Control": f"public, max-age={ttl}"},
    )


class LocalWalletLedger:
    """The ledger's public record, as presentation verification asks it."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx
        self.wallet_keys = ctx.read_model.wallet_keys
        self.wallet_delivery = ctx.read_model.wallet_delivery
        self.credential = ctx.read_model.credential

    def anchoring(self, position: int, digest: str) -> tuple[bool | None, str]:
        return anchored_record(
            self._ctx,
            position,
            lambda envelope: (
                envelope.get("type") == "Credential.WalletDelivered"
                and ((envelope.get("content") or {}).get("delivery") or {}).get("jwt_sha256")
                == digest
            ),
            "delivery",
        )

    def status_entry(self, issuer_id: str, index: int) -> int:
        # The entry the served list holds: both are made from the same rows.
        return self._ctx.read_model.wallet_status_entry(issuer_id, index)

    def first_showing(self, kb_jwt: str, until: float) -> bool:
        digest = hashlib.sha256(kb_jwt.encode()).hexdigest()
        now = self._ctx.ledger.clock().timestamp()
        return self._ctx.ledger.vault.spend_read(f"kb-jwt/{digest}", now, until)
