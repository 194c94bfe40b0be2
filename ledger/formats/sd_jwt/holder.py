"""A holder's side of the flow: what a learner's wallet does, for the demo and for tests.

It takes a credential offer with its PIN through the pre-authorized code flow (metadata, token,
nonce, proof JWT, credential), and makes presentations that disclose a chosen set of claims
with a key binding JWT. Independent wallets (the OpenWallet Foundation's libraries) are tested
against the ledger separately; this one is the ledger's own demonstration.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from ledger.domain.jwk import public_jwk
from ledger.formats.sd_jwt import jws
from ledger.formats.sd_jwt.disclosures import Disclosure, SdJwt, parse, read, sd_hash
from ledger.formats.sd_jwt.issuance import OFFER_SCHEME, PRE_AUTHORIZED_GRANT, PROOF_TYPE
from ledger.formats.sd_jwt.verify import KB_TYPE


class OfferRefused(Exception):
    """The issuer refused a step of the flow; ``answer`` is its error document."""

    def __init__(self, step: str, answer: dict[str, Any]) -> None:
        super().__init__(f"{step}: {answer.get('error')}: {answer.get('error_description')}")
        self.step = step
        self.answer = answer


def read_offer(uri: str) -> dict[str, Any]:
    """The credential offer in an ``openid-credential-offer://`` URI."""
    if not uri.startswith(OFFER_SCHEME):
        raise ValueError(f"not a credential offer URI ({OFFER_SCHEME}…)")
    values = parse_qs(urlsplit(uri).query).get("credential_offer")
    if not values:
        raise ValueError("the URI carries no credential_offer")
    offer: dict[str, Any] = json.loads(values[0])
    return offer


@dataclass
class Holder:
    """A wallet's key pair (P-256)."""

    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    @property
    def jwk(self) -> dict[str, str]:
        return public_jwk(self.key.public_key())

    def receive(self, offer_uri: str, pin: str, client: httpx.Client | None = None) -> str:
        """Run the pre-authorized code flow for the offer; the SD-JWT VC it delivers."""
        offer = read_offer(offer_uri)
        issuer = offer["credential_issuer"]
        own = client is None
        http = client or httpx.Client(timeout=30)
        try:
            metadata = _json(http.get(f"{issuer}/.well-known/openid-credential-issuer"), "metadata")
            server = _json(http.get(f"{issuer}/.well-known/oauth-authorization-server"), "metadata")
            code = offer["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"]
            token = _json(
                http.post(
                    server["token_endpoint"],
                    data={
                        "grant_type": PRE_AUTHORIZED_GRANT,
                        "pre-authorized_code": code,
                        "tx_code": pin,
                    },
                ),
                "token",
            )
            nonce = _json(http.post(metadata["nonce_endpoint"]), "nonce")["c_nonce"]
            proof = self.proof(issuer, nonce)
            answer = _json(
                http.post(
                    metadata["credential_endpoint"],
                    headers={"Authorization": f"Bearer {token['access_token']}"},
                    json={
                        "credential_configuration_id": offer["credential_configuration_ids"][0],
                        "proofs": {"jwt": [proof]},
                    },
                ),
                "credential",
            )
        finally:
            if own:
                http.close()
        return str(answer["credentials"][0]["credential"])

    def proof(self, audience: str, nonce: str, issued_at: int | None = None) -> str:
        """A key proof JWT (``openid4vci-proof+jwt``) for the credential endpoint."""
        claims = {"aud": audience, "nonce": nonce, "iat": issued_at or int(time.time())}
        return jws.sign({"typ": PROOF_TYPE, "jwk": self.jwk}, claims, self.key)

    def present(
        self,
        sd_jwt: str,
        claims: set[str],
        nonce: str,
        audience: str,
        issued_at: int | None = None,
    ) -> str:
        """A presentation disclosing only ``claims`` (an array claim with all its elements),
        with a key binding JWT for ``audience`` and ``nonce``."""
        issued = parse(sd_jwt)
        every = [read(encoded) for encoded in issued.disclosures]
        kept = [d for d in every if d.name in claims]
        for disclosure in list(kept):
            kept.extend(_elements_of(disclosure, every))
        presented = SdJwt(issued.jwt, tuple(d.encoded for d in kept))
        binding = {
            "aud": audience,
            "nonce": nonce,
            "iat": issued_at or int(time.time()),
            "sd_hash": sd_hash(presented),
        }
        kb = jws.sign({"typ": KB_TYPE}, binding, self.key)
        return presented.without_key_binding() + kb


def _elements_of(claim: Disclosure, every: list[Disclosure]) -> list[Disclosure]:
    if not isinstance(claim.value, list):
        return []
    wanted = {item["..."] for item in claim.value if isinstance(item, dict) and "..." in item}
    return [d for d in every if d.name is None and d.digest in wanted]


def _json(response: httpx.Response, step: str) -> dict[str, Any]:
    answer: dict[str, Any] = response.json()
    if response.status_code >= 400:
        raise OfferRefused(step, answer)
    return answer
