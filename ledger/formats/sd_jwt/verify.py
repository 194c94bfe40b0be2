"""Verifying a presentation of an SD-JWT VC (``<jwt>~<disclosure>~…~<kb-jwt>``), step by step.

Steps: the issuer's signature, by a key the issuer had adopted and not retired at ``iat``; each
disclosure's digest in the signed payload (RFC 9901 section 7.1); the key binding JWT, signed by
the key in ``cnf``, for this verifier's ``aud`` and ``nonce``, over this presentation
(``sd_hash``), recent, and not shown before; validity (``nbf``, ``exp``); the status list entry
of the version; the delivery's record in the log, and that record's anchor. Then the disclosed
claims, and only those: what was not disclosed is neither shown nor guessed.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Protocol

from ledger.domain.content import CLOCK_SKEW
from ledger.domain.jwk import thumbprint
from ledger.formats.sd_jwt import jws
from ledger.formats.sd_jwt.credential import (
    MEDIA_TYPE,
    VISIBLE,
    jwt_sha256,
    labelled,
    status_list_uri,
)
from ledger.formats.sd_jwt.disclosures import DisclosureProblem, SdJwt, parse, read, reveal, sd_hash
from ledger.verify.report import Report

KB_TYPE = "kb+jwt"
_ISSUER = re.compile(r"/issuers/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")


class WalletLedger(Protocol):
    """What the verification asks of the ledger's public record."""

    def wallet_keys(self, issuer_id: str) -> list[dict[str, Any]]: ...
    def wallet_delivery(self, jwt_sha256: str) -> dict[str, Any] | None: ...
    def credential(self, credential_id: str) -> dict[str, Any] | None: ...
    def anchoring(self, position: int, digest: str) -> tuple[bool | None, str]:
        """Whether the delivery record at ``position`` (naming ``digest``) is anchored."""
        ...

    def status_entry(self, issuer_id: str, index: int) -> int:
        """The entry ``index`` of the issuer's Token Status List as served now."""
        ...

    def first_showing(self, kb_jwt: str, until: float) -> bool:
        """False if this key binding JWT was shown here before (a replay)."""
        ...


def _instant(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _numeric(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def verify_presentation(
    text: str,
    *,
    nonce: str,
    audience: str,
    base_url: str,
    ledger: WalletLedger,
    now: datetime,
    max_age: float,
) -> Report:
    """Every check of a presentation; the verdict is ``valid`` only if all pass."""
    report = Report()
    try:
        presented = parse(text)
        jwt = jws.parse(presented.jwt)
    except (DisclosureProblem, jws.JwsError) as exc:
        report.add("format", False, f"This is not an SD-JWT VC presentation: it {exc}.")
        return report
    if jwt.header.get("typ") != MEDIA_TYPE:
        report.add("format", False, f"The issuer-signed JWT's typ is not {MEDIA_TYPE}.")
        return report
    payload = jwt.payload
    issuer_id = _issuer_of(payload, base_url)
    signed = _issuer_step(report, jwt, payload, issuer_id, ledger)
    claims = _disclosure_step(report, presented, payload)
    _key_binding_step(report, presented, payload, nonce, audience, now, max_age, ledger)
    _validity_step(report, payload, now)
    delivery = ledger.wallet_delivery(jwt_sha256(presented.jwt)) if signed else None
    state = _record_steps(report, payload, delivery, issuer_id, base_url, ledger)
    report.verdict = _verdict(report, state)
    if claims is not None:
        visible = {k: payload.get(k) for k in ("credential_id", "credential_version")}
        report.credential = {**visible, "disclosed": labelled(claims)}
    return report


def holder_key(text: str) -> str | None:
    """The thumbprint of the key a presentation's SD-JWT VC is bound to (``cnf.jwk``), read
    without checking anything: ask it of a presentation that verified."""
    try:
        payload = jws.parse(parse(text).jwt).payload
        return thumbprint(payload["cnf"]["jwk"])
    except (DisclosureProblem, jws.JwsError, KeyError, TypeError):
        return None


def _verdict(report: Report, state: str) -> str:
    """``valid`` if every step passes; ``revoked`` or ``superseded`` if only the status
    fails; ``not-anchored`` while only the anchor is pending; ``invalid`` otherwise."""
    others = [s.passed for s in report.steps if s.name not in ("status", "anchor")]
    if False in others or None in others:
        return "invalid"
    if state != "valid":
        return state
    anchor = next((s.passed for s in report.steps if s.name == "anchor"), False)
    if anchor is None:
        return "not-anchored"
    return "valid" if anchor else "invalid"


def _issuer_of(payload: dict[str, Any], base_url: str) -> str | None:
    iss = payload.get("iss")
    if not isinstance(iss, str) or not iss.startswith(f"{base_url}/issuers/"):
        return None
    found = _ISSUER.fullmatch(iss[len(base_url) :])
    return found.group(1) if found else None


def _issuer_step(
    report: Report,
    jwt: jws.CompactJws,
    payload: dict[str, Any],
    issuer_id: str | None,
    ledger: WalletLedger,
) -> bool:
    if issuer_id is None:
        report.add(
            "issuer_signature",
            False,
            f"The issuer {payload.get('iss')!r} is not an issuer of this ledger.",
        )
        return False
    kid = jwt.header.get("kid")
    keys = {key["kid"]: key for key in ledger.wallet_keys(issuer_id)}
    key = keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        report.add(
            "issuer_signature", False, f"Key {kid!r} is not a key issuer {issuer_id} adopted."
        )
        return False
    if not jws.verifies(jwt, jws.public_key(key["jwk"])):
        report.add("issuer_signature", False, "The issuer signature does not verify.")
        return False
    iat = _numeric(payload, "iat")
    adopted, retired = _instant(key["adopted_at"]), key["retired_at"]
    in_use = iat is not None and adopted - CLOCK_SKEW.total_seconds() <= iat
    if in_use and retired is not None:
        in_use = iat is not None and iat < _instant(retired)
    report.add(
        "issuer_signature",
        in_use,
        f"Signed by issuer {issuer_id}'s key {kid}, adopted {key['adopted_at']}"
        + (f", retired {retired}" if retired else ", in use")
        + (", which was its key at iat." if in_use else ": not its key at the JWT's iat."),
    )
    return bool(in_use)


def _disclosure_step(
    report: Report, presented: SdJwt, payload: dict[str, Any]
) -> dict[str, Any] | None:
    try:
        disclosures = [read(encoded) for encoded in presented.disclosures]
        claims = reveal(payload, disclosures)
    except DisclosureProblem as exc:
        report.add("disclosures", False, f"The disclosures do not fit the signed JWT: {exc}.")
        return None
    report.add(
        "disclosures",
        True,
        f"{len(disclosures)} disclosure(s), each matching a digest in the issuer-signed JWT.",
    )
    return {k: v for k, v in claims.items() if k not in VISIBLE}


def _key_binding_step(
    report: Report,
    presented: SdJwt,
    payload: dict[str, Any],
    nonce: str,
    audience: str,
    now: datetime,
    max_age: float,
    ledger: WalletLedger,
) -> None:
    def failed(why: str) -> None:
        report.add("key_binding", False, f"The key binding {why}.")

    if presented.kb_jwt is None:
        return failed("JWT is missing: the presentation does not prove the holder's key")
    try:
        kb = jws.parse(presented.kb_jwt)
        holder = jws.public_key((payload.get("cnf") or {}).get("jwk"))
    except jws.JwsError as exc:
        return failed(f"cannot be checked: {exc.reason}")
    claims = kb.payload
    iat = _numeric(claims, "iat")
    moment = now.timestamp()
    if kb.header.get("typ") != KB_TYPE:
        return failed(f"JWT's typ is not {KB_TYPE}")
    if not jws.verifies(kb, holder):
        return failed("JWT is not signed by the holder key in cnf (another holder's key?)")
    if claims.get("aud") != audience:
        return failed(f"JWT is for audience {claims.get('aud')!r}, not {audience!r}")
    if claims.get("nonce") != nonce:
        return failed("JWT's nonce is not the one this verification asked for")
    if claims.get("sd_hash") != sd_hash(presented):
        return failed("JWT's sd_hash is not this presentation's (disclosures changed)")
    if iat is None or not moment - max_age <= iat <= moment + CLOCK_SKEW.total_seconds():
        return failed(f"JWT's iat is not within the last {int(max_age)} seconds")
    if not ledger.first_showing(presented.kb_jwt, moment + max_age):
        return failed("JWT was shown here before: a replayed presentation")
    report.add(
        "key_binding",
        True,
        "Signed by the holder key in cnf, for this audience and nonce, over exactly these "
        "disclosures, and fresh.",
    )


def _validity_step(report: Report, payload: dict[str, Any], now: datetime) -> None:
    moment = now.timestamp() + CLOCK_SKEW.total_seconds()
    nbf, exp = _numeric(payload, "nbf"), _numeric(payload, "exp")
    if nbf is not None and nbf > moment:
        report.add("validity", False, "The credential is not valid yet (nbf).")
    elif exp is not None and exp <= now.timestamp():
        report.add("validity", False, "The credential has expired (exp).")
    else:
        report.add("validity", True, "Within its validity period.")


def _record_steps(
    report: Report,
    payload: dict[str, Any],
    delivery: dict[str, Any] | None,
    issuer_id: str | None,
    base_url: str,
    ledger: WalletLedger,
) -> str:
    """Add the record, status and anchor steps; the version's state (valid, revoked,
    superseded, or unknown)."""
    status = (payload.get("status") or {}).get("status_list") or {}
    if delivery is None or issuer_id is None:
        report.add("status", None, "Not checked: the ledger has no record of this JWT.")
        report.add(
            "ledger_record", False, "No delivery of this issuer-signed JWT is in the ledger."
        )
        return "unknown"
    found = ledger.credential(delivery["credential_id"])
    names_it = (
        payload.get("credential_id") == delivery["credential_id"]
        and payload.get("credential_version") == delivery["version"]
        and status.get("idx") == delivery["status_index"]
        and status.get("uri") == status_list_uri(base_url, issuer_id)
    )
    state = _status_step(
        report, found, delivery, ledger.status_entry(issuer_id, delivery["status_index"])
    )
    report.add(
        "ledger_record",
        names_it,
        f"Delivered {delivery['delivered_at']} for version {delivery['version']} of credential "
        f"{delivery['credential_id']}, log position {delivery['position']}, status entry "
        f"{delivery['status_index']}."
        if names_it
        else "The JWT's credential, version or status entry is not what the ledger recorded.",
    )
    anchored, detail = ledger.anchoring(int(delivery["position"]), delivery["jwt_sha256"])
    report.add("anchor", anchored, detail)
    return state


def _status_step(
    report: Report, found: dict[str, Any] | None, delivery: dict[str, Any], entry: int
) -> str:
    where = f"Status list entry {delivery['status_index']} is {entry}"
    if found is not None and found["status"] == "revoked":
        revocation = found.get("revocation") or {}
        state, why = "revoked", f"the credential was revoked {revocation.get('at')}"
    elif found is not None and delivery["version"] < found["current_version"]:
        state = "superseded"
        why = f"version {delivery['version']} was superseded by {found['current_version']}"
    else:
        state, why = "valid", "valid"
    report.add("status", entry == 0, f"{where}: {why}.")
    # The list served and the record it is made from must agree.
    return state if (entry == 0) == (state == "valid") else "invalid"
