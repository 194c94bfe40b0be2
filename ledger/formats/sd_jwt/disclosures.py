"""Selective disclosure as RFC 9901 defines it: disclosures, their digests, and the processing
a verifier runs to turn an issuer-signed payload and the disclosures shown into claims.

A disclosure is base64url of the JSON array ``[salt, name, value]`` (an object property) or
``[salt, value]`` (an array element); its digest, base64url SHA-256 over the disclosure's ASCII
text, takes the claim's place in the signed payload: in an ``_sd`` array, or as
``{"...": digest}`` in place of the array element.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ledger.formats.sd_jwt.jws import JwsError, b64url, b64url_decode

SD_ALG = "sha-256"
_SALT_BYTES = 16  # 128 bits, as RFC 9901 section 9.3 recommends
_RESERVED = frozenset({"_sd", "...", "_sd_alg"})
# An SD-JWT this ledger would ever see has some tens of disclosures; bounds before any work.
MAX_DISCLOSURES = 256
MAX_DEPTH = 16


class DisclosureProblem(ValueError):
    """Why the disclosures do not fit the signed payload (RFC 9901 section 7.1 refuses it)."""


def digest(encoded: str) -> str:
    """The digest of a disclosure: base64url SHA-256 of its US-ASCII text."""
    return b64url(hashlib.sha256(encoded.encode("ascii")).digest())


@dataclass(frozen=True)
class Disclosure:
    """One disclosure; ``name`` is None for an array element."""

    encoded: str
    salt: str
    name: str | None
    value: Any

    @cached_property
    def digest(self) -> str:
        return digest(self.encoded)


def _encode(parts: list[Any]) -> str:
    return b64url(json.dumps(parts, separators=(",", ":"), ensure_ascii=False).encode())


def new_salt() -> str:
    """A fresh random salt: the same claim never gets the same digest twice."""
    return b64url(secrets.token_bytes(_SALT_BYTES))


def property_disclosure(name: str, value: Any, salt: str | None = None) -> Disclosure:
    """The disclosure of object property ``name``."""
    if name in _RESERVED:
        raise ValueError(f"{name!r} cannot be a disclosed claim name")
    salt = new_salt() if salt is None else salt
    return Disclosure(_encode([salt, name, value]), salt, name, value)


def element_disclosure(value: Any, salt: str | None = None) -> Disclosure:
    """The disclosure of one array element."""
    salt = new_salt() if salt is None else salt
    return Disclosure(_encode([salt, value]), salt, None, value)


def read(encoded: str) -> Disclosure:
    """A disclosure as a holder presented it (its own bytes are kept: they are what is hashed)."""
    try:
        parts = json.loads(b64url_decode(encoded))
    except (JwsError, ValueError, RecursionError):
        raise DisclosureProblem("a disclosure is not base64url JSON") from None
    if not isinstance(parts, list) or len(parts) not in (2, 3) or not isinstance(parts[0], str):
        raise DisclosureProblem("a disclosure is not a [salt, name, value] or [salt, value] array")
    if len(parts) == 2:
        return Disclosure(encoded, parts[0], None, parts[1])
    if not isinstance(parts[1], str) or parts[1] in _RESERVED:
        raise DisclosureProblem(f"a disclosure names the claim {parts[1]!r}, which it may not")
    return Disclosure(encoded, parts[0], parts[1], parts[2])


def conceal(
    claims: dict[str, Any], visible: Collection[str]
) -> tuple[dict[str, Any], list[Disclosure]]:
    """The payload with every claim not in ``visible`` made selectively disclosable.

    A claim whose value is an array has each element disclosable on its own, and then the claim
    itself (its value then holds the elements' digests): a holder shows the claim with any
    subset of its elements. ``_sd`` is sorted, so it says nothing of the claims' order.
    """
    payload: dict[str, Any] = {}
    disclosures: list[Disclosure] = []
    hidden: list[str] = []
    # Every salt at once: one call to the system's random source instead of one a claim.
    count = sum(1 + (len(v) if isinstance(v, list) else 0) for v in claims.values())
    randomness = secrets.token_bytes(_SALT_BYTES * count)
    salts = iter(
        b64url(randomness[i : i + _SALT_BYTES]) for i in range(0, len(randomness), _SALT_BYTES)
    )
    for name, value in claims.items():
        if name in visible:
            payload[name] = value
            continue
        if isinstance(value, list):
            elements = [element_disclosure(item, next(salts)) for item in value]
            disclosures.extend(elements)
            value = [{"...": element.digest} for element in elements]
        claim = property_disclosure(name, value, next(salts))
        disclosures.append(claim)
        hidden.append(claim.digest)
    payload["_sd"] = sorted(hidden)
    payload["_sd_alg"] = SD_ALG
    return payload, disclosures


@dataclass(frozen=True)
class SdJwt:
    """An SD-JWT as serialised (RFC 9901 section 4): ``<jwt>~<disclosure>~…~[<kb-jwt>]``."""

    jwt: str
    disclosures: tuple[str, ...]
    kb_jwt: str | None = None

    def without_key_binding(self) -> str:
        """The text the key binding JWT's ``sd_hash`` is taken over (ends in ``~``)."""
        return "".join(f"{part}~" for part in (self.jwt, *self.disclosures))

    def serialize(self) -> str:
        return self.without_key_binding() + (self.kb_jwt or "")


def parse(text: str) -> SdJwt:
    """Split an SD-JWT or SD-JWT+KB into its parts (nothing is verified here)."""
    parts = text.split("~")
    if len(parts) < 2:
        raise DisclosureProblem("is not an SD-JWT: no '~' after the issuer-signed JWT")
    if len(parts) - 2 > MAX_DISCLOSURES:
        raise DisclosureProblem(f"has more than {MAX_DISCLOSURES} disclosures")
    disclosures = tuple(parts[1:-1])
    if any(not d for d in disclosures):
        raise DisclosureProblem("has an empty disclosure ('~~')")
    return SdJwt(parts[0], disclosures, parts[-1] or None)


def sd_hash(presented: SdJwt) -> str:
    """The ``sd_hash`` a key binding JWT must carry for this presentation."""
    return digest(presented.without_key_binding())


def _digests(value: Any, depth: int = 0) -> Iterator[str]:
    if depth > MAX_DEPTH:
        raise DisclosureProblem(f"the payload nests deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        listed = value.get("_sd", [])
        if not isinstance(listed, list) or not all(isinstance(d, str) for d in listed):
            raise DisclosureProblem("an _sd member is not an array of digests")
        yield from listed
        for key, item in value.items():
            if key != "_sd":
                yield from _digests(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and "..." in item:
                if set(item) != {"..."} or not isinstance(item["..."], str):
                    raise DisclosureProblem("an array element digest has other members than '...'")
                yield item["..."]
            else:
                yield from _digests(item, depth + 1)


def reveal(payload: dict[str, Any], disclosures: list[Disclosure]) -> dict[str, Any]:
    """The processed payload (RFC 9901 section 7.1, steps 3 to 5): every disclosure put in its
    digest's place, every digest without one removed, ``_sd_alg`` dropped.

    Refused: another hash algorithm than SHA-256, a digest that occurs twice, a disclosure no
    digest refers to, a property disclosure where an element is, or the reverse, and a
    disclosed name that is already a claim of the same object.
    """
    algorithm = payload.get("_sd_alg", SD_ALG)
    if algorithm != SD_ALG:
        raise DisclosureProblem(f"_sd_alg is {algorithm!r}; only {SD_ALG} is accepted")
    by_digest: dict[str, Disclosure] = {}
    for disclosure in disclosures:
        if disclosure.digest in by_digest:
            raise DisclosureProblem("the same disclosure is presented twice")
        by_digest[disclosure.digest] = disclosure
    everywhere = list(_digests(payload))
    for disclosure in disclosures:
        everywhere.extend(_digests(disclosure.value))
    if len(everywhere) != len(set(everywhere)):
        raise DisclosureProblem("a digest occurs more than once in the SD-JWT")
    used: set[str] = set()
    claims: dict[str, Any] = _replace(payload, by_digest, used, 0)
    unused = set(by_digest) - used
    if unused:
        raise DisclosureProblem(
            f"{len(unused)} disclosure(s) match no digest in the issuer-signed JWT "
            "(changed, or from another credential)"
        )
    claims.pop("_sd_alg", None)
    return claims


def _replace(value: Any, by_digest: dict[str, Disclosure], used: set[str], depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise DisclosureProblem(f"the claims nest deeper than {MAX_DEPTH} levels")
    if isinstance(value, list):
        out = []
        for item in value:
            if isinstance(item, dict) and set(item) == {"..."}:
                found = by_digest.get(item["..."])
                if found is None:
                    continue
                if found.name is not None:
                    raise DisclosureProblem("a property disclosure stands where an element is")
                used.add(item["..."])
                out.append(_replace(found.value, by_digest, used, depth + 1))
            else:
                out.append(_replace(item, by_digest, used, depth + 1))
        return out
    if not isinstance(value, dict):
        return value
    result = {
        key: _replace(item, by_digest, used, depth + 1)
        for key, item in value.items()
        if key != "_sd"
    }
    for hidden in value.get("_sd", []):
        found = by_digest.get(hidden)
        if found is None:
            continue
        if found.name is None:
            raise DisclosureProblem("an element disclosure stands where a claim is")
        if found.name in result:
            raise DisclosureProblem(f"the disclosed claim {found.name!r} is already a claim")
        used.add(hidden)
        result[found.name] = _replace(found.value, by_digest, used, depth + 1)
    return result
