"""OpenID4VCI 1.0, pre-authorized code flow: the ledger as credential issuer and authorization
server for learners' wallets.

The issuer asks for an offer with a signed, fresh request; the answer is a credential offer
(a pre-authorized code, and a PIN to hand to the learner separately). The wallet exchanges code
and PIN for an access token, fetches a nonce, proves possession of its key with a proof JWT
over that nonce, and receives the SD-JWT VC of the version offered, bound to that key. Every
delivery is an event carrying the digest of the issuer-signed JWT, so it is logged and
anchored; until that event is stored the wallet gets nothing.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from ledger.application.group_commit import GroupCommit
from ledger.application.service import Delivery, Ledger
from ledger.domain.commands import SignedCommand
from ledger.domain.content import CLOCK_SKEW, utc_now
from ledger.domain.errors import (
    ConcurrentWrite,
    CredentialRequestDenied,
    InvalidCredentialRequest,
    InvalidGrant,
    InvalidNonce,
    InvalidProof,
    InvalidToken,
    LedgerError,
    UnsupportedGrantType,
    WalletRequestRefused,
)
from ledger.formats.sd_jwt import jws
from ledger.formats.sd_jwt.credential import (
    CLAIMS,
    CONFIGURATION_ID,
    MEDIA_TYPE,
    VCT_PATH,
    IssuedVc,
    StatusEntry,
    issue,
    issuer_url,
    status_list_uri,
)
from ledger.persistence.wallet_sessions import SpendRefused, StoredOffer, WalletSessions

PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
PROOF_TYPE = "openid4vci-proof+jwt"
OFFER_SCHEME = "openid-credential-offer://"
PIN_DIGITS = 6
TOKEN_PATH = "/oid4vci/token"
NONCE_PATH = "/oid4vci/nonce"
CREDENTIAL_PATH = "/oid4vci/credential"
_GRANT_REFUSALS = {
    "unknown": "the pre-authorized code is not one this issuer gave",
    "expired": "the offer has expired; ask the issuer for a new one",
    "used": "the offer was used already: an offer delivers once",
    "locked": "the offer is locked after too many wrong PINs; ask the issuer for a new one",
}


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _pin_digest(code: str, pin: str) -> str:
    # Bound to the code: a stolen table of digests gives no PIN without its 256-bit code.
    return _digest(f"{code}\n{pin}")


@dataclass(frozen=True)
class _CredentialRequest:
    """A credential request whose token and proof hold, waiting for its group's delivery."""

    token_hash: str
    offer: StoredOffer
    holder_jwk: dict[str, str]
    nonce: str


@dataclass(frozen=True)
class WalletPolicy:
    """Lifetimes and limits of the issuance flow."""

    offer: timedelta = timedelta(days=1)
    token: timedelta = timedelta(minutes=5)
    nonce: timedelta = timedelta(minutes=5)
    pin_tries: int = 5


@dataclass(frozen=True)
class CredentialOffer:
    """What the issuer gets for a signed offer: the offer (as JSON and as the URI a QR code
    carries), the PIN to give the learner separately, and when the offer expires."""

    offer: dict[str, Any]
    uri: str
    tx_code: str
    expires_at: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "credential_offer": self.offer,
            "credential_offer_uri": self.uri,
            "tx_code": self.tx_code,
            "expires_at": self.expires_at,
        }


class WalletIssuer:
    """The OpenID4VCI endpoints' logic, over the ledger and the issuance state."""

    def __init__(
        self,
        ledger: Ledger,
        sessions: WalletSessions,
        base_url: str,
        policy: WalletPolicy = WalletPolicy(),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._ledger = ledger
        self._sessions = sessions
        self.base_url = base_url.rstrip("/")
        self._policy = policy
        self._clock = clock
        # Concurrent credential requests are delivered in groups: one transaction records
        # their events and spends their nonces and tokens.
        self._deliveries: GroupCommit[_CredentialRequest, IssuedVc] = GroupCommit(self._deliver)

    # Metadata ----------------------------------------------------------------------------

    @property
    def vct(self) -> str:
        return f"{self.base_url}{VCT_PATH}"

    def issuer_metadata(self) -> dict[str, Any]:
        """Credential issuer metadata (OpenID4VCI section 12.2)."""
        return {
            "credential_issuer": self.base_url,
            "credential_endpoint": f"{self.base_url}{CREDENTIAL_PATH}",
            "nonce_endpoint": f"{self.base_url}{NONCE_PATH}",
            "display": [{"name": "credledger", "locale": "en"}],
            "credential_configurations_supported": {
                CONFIGURATION_ID: {
                    "format": MEDIA_TYPE,
                    "vct": self.vct,
                    "scope": CONFIGURATION_ID,
                    "cryptographic_binding_methods_supported": ["jwk"],
                    "credential_signing_alg_values_supported": [jws.ALGORITHM],
                    "proof_types_supported": {
                        "jwt": {"proof_signing_alg_values_supported": [jws.ALGORITHM]}
                    },
                    "credential_metadata": {
                        "display": [{"name": "EU micro-credential", "locale": "en"}],
                        "claims": [
                            {"path": [name], "display": [{"name": label, "locale": "en"}]}
                            for name, (label, _) in CLAIMS.items()
                        ],
                    },
                }
            },
        }

    def authorization_server_metadata(self) -> dict[str, Any]:
        """RFC 8414 metadata: the ledger is its own authorization server, pre-authorized only."""
        return {
            "issuer": self.base_url,
            "token_endpoint": f"{self.base_url}{TOKEN_PATH}",
            "grant_types_supported": [PRE_AUTHORIZED_GRANT],
            "pre-authorized_grant_anonymous_access_supported": True,
            "response_types_supported": [],
            "token_endpoint_auth_methods_supported": ["none"],
        }

    def jwt_vc_issuer_metadata(self, issuer_id: str, keys: list[dict[str, Any]]) -> dict[str, Any]:
        """The issuer's keys for SD-JWT VC verifiers (``/.well-known/jwt-vc-issuer/…``): every
        key it has used, for a retired key still verifies what it signed before."""
        return {
            "issuer": issuer_url(self.base_url, issuer_id),
            "jwks": {
                "keys": [
                    {**key["jwk"], "kid": key["kid"], "use": "sig", "alg": jws.ALGORITHM}
                    for key in keys
                ]
            },
        }

    # The issuer's side -----------------------------------------------------------------------

    def offer(self, signed: SignedCommand) -> CredentialOffer:
        """Open an offer for the credential version a signed, fresh offer command names."""
        command, signer = self._ledger.authorize_offer(signed)
        now = self._clock()
        code = secrets.token_urlsafe(32)
        pin = f"{secrets.randbelow(10**PIN_DIGITS):0{PIN_DIGITS}d}"
        expires = now + self._policy.offer
        stored = StoredOffer(
            command.issuer_id,
            command.credential_id,
            int(command.version),
            signed.command,
            signed.signature,
            signer,
        )
        self._sessions.open_offer(
            _digest(code), _pin_digest(code, pin), stored, now.timestamp(), expires.timestamp()
        )
        offer = {
            "credential_issuer": self.base_url,
            "credential_configuration_ids": [CONFIGURATION_ID],
            "grants": {
                PRE_AUTHORIZED_GRANT: {
                    "pre-authorized_code": code,
                    "tx_code": {
                        "input_mode": "numeric",
                        "length": PIN_DIGITS,
                        "description": "The PIN your issuer gave you with this offer",
                    },
                }
            },
        }
        compact = json.dumps(offer, separators=(",", ":"))
        return CredentialOffer(
            offer,
            f"{OFFER_SCHEME}?credential_offer={quote(compact, safe='')}",
            pin,
            expires.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        )

    # The wallet's side -----------------------------------------------------------------------

    def token(self, form: Mapping[str, str]) -> dict[str, Any]:
        """The token endpoint: a pre-authorized code and its PIN for an access token."""
        if form.get("grant_type") != PRE_AUTHORIZED_GRANT:
            raise UnsupportedGrantType(
                "grant-type", f"only the grant type {PRE_AUTHORIZED_GRANT} is supported"
            )
        code, pin = form.get("pre-authorized_code"), form.get("tx_code")
        if not code or len(code) > 256:
            raise WalletRequestRefused("pre-authorized-code", "pre-authorized_code is required")
        if not pin or len(pin) > 64:
            raise InvalidGrant("tx-code-missing", "tx_code (the PIN) is required for this offer")
        now = self._clock()
        token = secrets.token_urlsafe(32)
        redeemed = self._sessions.redeem(
            _digest(code),
            _pin_digest(code, pin),
            _digest(token),
            now.timestamp(),
            (now + self._policy.token).timestamp(),
            self._policy.pin_tries,
        )
        if redeemed.refusal == "wrong-pin":
            raise InvalidGrant(
                "wrong-pin", f"the PIN (tx_code) is wrong; {redeemed.tries_left} tries left"
            )
        if redeemed.offer is None:
            reason = redeemed.refusal or "unknown"
            raise InvalidGrant(f"offer-{reason}", _GRANT_REFUSALS[reason])
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": int(self._policy.token.total_seconds()),
        }

    def nonce(self) -> dict[str, Any]:
        """A fresh ``c_nonce`` for a key proof (the nonce endpoint)."""
        now = self._clock()
        value = secrets.token_urlsafe(24)
        self._sessions.issue_nonce(value, now.timestamp(), (now + self._policy.nonce).timestamp())
        return {"c_nonce": value}

    def credential(self, authorization: str | None, request: Any) -> IssuedVc:
        """The credential endpoint: the SD-JWT VC of the offered version, bound to the key the
        proof JWT proves; recorded in the log before it is returned."""
        token = _bearer(authorization)
        offer, why = self._sessions.offer_for_token(_digest(token), self._clock().timestamp())
        if offer is None:
            raise InvalidToken(
                f"token-{why}",
                {
                    "unknown": "the access token is not one this issuer gave",
                    "expired": "the access token has expired",
                    "delivered": "the access token was used: its credential was delivered",
                }[why],
            )
        holder_jwk, nonce = self._proved_key(_proof_of(request))
        return self._deliveries.submit(_CredentialRequest(_digest(token), offer, holder_jwk, nonce))

    def _deliver(self, requests: Sequence[_CredentialRequest]) -> list[IssuedVc | LedgerError]:
        """Deliver credential requests together; each gets its SD-JWT VC or its refusal.

        The group's nonces and access tokens are spent in the transaction that records its
        deliveries, so a delivery and what it spends are stored together or not at all. If
        one of them was spent meanwhile (another worker, a request sent twice), the group is
        delivered again one request at a time, each with its own outcome."""
        outcomes: list[IssuedVc | LedgerError] = []
        prepared = self._ledger.prepare_deliveries(
            [(r.offer.command, r.offer.signature, r.offer.signer) for r in requests]
        )
        now = self._clock().timestamp()
        fresh = self._sessions.fresh_nonces(
            [r.nonce for r, d in zip(requests, prepared, strict=True) if isinstance(d, Delivery)],
            now,
        )
        issued: list[tuple[_CredentialRequest, Delivery, IssuedVc, int]] = []
        for request, delivery in zip(requests, prepared, strict=True):
            if not isinstance(delivery, Delivery):
                outcomes.append(CredentialRequestDenied(delivery.code, delivery.detail))
                continue
            if request.nonce not in fresh:
                outcomes.append(_stale_nonce())
                continue
            fresh.discard(request.nonce)  # the same nonce twice in a group: once only
            try:
                index = self._sessions.take_status_entry(delivery.offer.issuer_id)
                vc = self._issue(delivery, request.holder_jwk, index)
            except LedgerError as exc:
                outcomes.append(CredentialRequestDenied(exc.code, exc.detail))
                continue
            outcomes.append(vc)
            issued.append((request, delivery, vc, index))
        spends = self._sessions.delivery_spends(
            [r.nonce for r, _, _, _ in issued], [r.token_hash for r, _, _, _ in issued], now
        )
        try:
            recorded = iter(
                self._ledger.record_deliveries(
                    [(d, vc.jwt_sha256, i) for _, d, vc, i in issued], spends
                )
            )
        except (SpendRefused, ConcurrentWrite):
            return [self._deliver_alone(request) for request in requests]
        for position, outcome in enumerate(outcomes):
            if isinstance(outcome, IssuedVc):
                result = next(recorded)
                if isinstance(result, LedgerError):
                    outcomes[position] = CredentialRequestDenied(result.code, result.detail)
        return outcomes

    def _deliver_alone(self, request: _CredentialRequest) -> IssuedVc | LedgerError:
        """One request, each step in a transaction of its own: its nonce spent (taking a
        status list entry), its delivery recorded, its token spent."""
        (delivery,) = self._ledger.prepare_deliveries(
            [(request.offer.command, request.offer.signature, request.offer.signer)]
        )
        if not isinstance(delivery, Delivery):
            return CredentialRequestDenied(delivery.code, delivery.detail)
        (index,) = self._sessions.spend_nonces(
            [(request.nonce, request.offer.issuer_id)], self._clock().timestamp()
        )
        if index is None:
            return _stale_nonce()
        try:
            vc = self._issue(delivery, request.holder_jwk, index)
        except LedgerError as exc:
            return CredentialRequestDenied(exc.code, exc.detail)
        (result,) = self._ledger.record_deliveries([(delivery, vc.jwt_sha256, index)])
        if isinstance(result, LedgerError):
            return CredentialRequestDenied(result.code, result.detail)
        self._sessions.delivered([request.token_hash], self._clock().timestamp())
        return vc

    def _proved_key(self, proof: str) -> tuple[dict[str, str], str]:
        """The holder key a proof JWT proves possession of, and its nonce (OpenID4VCI
        appendix F.1); the nonce is checked when it is spent."""
        try:
            jwt = jws.parse(proof)
        except jws.JwsError as exc:
            raise InvalidProof("malformed-proof", f"the proof JWT {exc.reason}") from None
        if jwt.header.get("typ") != PROOF_TYPE:
            raise InvalidProof("proof-type", f"the proof JWT's typ must be {PROOF_TYPE}")
        if any(name in jwt.header for name in ("kid", "x5c", "trust_chain")):
            raise InvalidProof("proof-key", "the proof JWT must name its key as a jwk only")
        try:
            key = jws.public_key(jwt.header.get("jwk"))
        except jws.JwsError as exc:
            raise InvalidProof("proof-key", f"the proof JWT's jwk {exc.reason}") from None
        if not jws.verifies(jwt, key):
            raise InvalidProof(
                "proof-signature", "the proof JWT is not signed by the key its jwk names"
            )
        claims = jwt.payload
        if claims.get("aud") != self.base_url:
            raise InvalidProof(
                "proof-audience",
                f"the proof JWT's aud must be the credential issuer {self.base_url}",
            )
        now = self._clock().timestamp()
        iat = claims.get("iat")
        if not isinstance(iat, int | float) or isinstance(iat, bool):
            raise InvalidProof("proof-iat", "the proof JWT has no numeric iat")
        if iat > now + CLOCK_SKEW.total_seconds() or iat < now - self._policy.nonce.total_seconds():
            raise InvalidProof("proof-iat", "the proof JWT's iat is not recent")
        nonce = claims.get("nonce")
        if not isinstance(nonce, str) or not nonce or len(nonce) > 256:
            raise InvalidNonce("stale-nonce", "the proof JWT carries no nonce")
        jwk = dict(jwt.header["jwk"])
        return {name: jwk[name] for name in ("kty", "crv", "x", "y")}, nonce

    def _issue(self, delivery: Delivery, holder_jwk: dict[str, str], index: int) -> IssuedVc:
        offer = delivery.offer
        content = delivery.content
        opened = self._ledger.vault.get(content["learner"]["commitment"])
        if opened is None:
            raise CredentialRequestDenied(
                "personal-data-erased", "the learner's personal data has been erased"
            )
        return issue(
            issuer=issuer_url(self.base_url, offer.issuer_id),
            vct=self.vct,
            credential_id=offer.credential_id,
            version=int(offer.version),
            content=content,
            learner=opened.learner,
            holder_jwk=holder_jwk,
            status=StatusEntry(status_list_uri(self.base_url, offer.issuer_id), index),
            key=delivery.key,
            kid=delivery.kid,
            issued_at=int(self._clock().timestamp()),
        )


def _stale_nonce() -> InvalidNonce:
    return InvalidNonce(
        "stale-nonce", "the proof JWT's nonce is not a fresh one from the nonce endpoint"
    )


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("token-missing", "the credential request needs a Bearer access token")
    return token.strip()


def _proof_of(request: Any) -> str:
    """The one proof JWT of a credential request (``proofs.jwt``, or a draft's ``proof``)."""
    if not isinstance(request, dict):
        raise InvalidCredentialRequest("malformed-request", "the request is not a JSON object")
    wanted = request.get("credential_configuration_id")
    if wanted is not None and wanted != CONFIGURATION_ID:
        raise InvalidCredentialRequest(
            "unknown-credential-configuration",
            f"credential_configuration_id must be {CONFIGURATION_ID}",
        )
    proofs = request.get("proofs")
    if isinstance(proofs, dict) and isinstance(proofs.get("jwt"), list):
        if len(proofs["jwt"]) != 1 or not isinstance(proofs["jwt"][0], str):
            raise InvalidCredentialRequest(
                "one-proof", "proofs.jwt must hold exactly one proof: an offer delivers one"
            )
        return str(proofs["jwt"][0])
    proof = request.get("proof")
    if (
        isinstance(proof, dict)
        and proof.get("proof_type") == "jwt"
        and isinstance(proof.get("jwt"), str)
    ):
        return str(proof["jwt"])
    raise InvalidProof("proof-missing", "the credential request carries no proof JWT")
