"""RFC 9901 selective disclosure, checked against the specification's own examples: the digest
of its example disclosure, and its example issuer-signed SD-JWT (Example 1 of the drafts that
became the RFC, signed with the example key of the RFC's appendix), processed to the claims the
specification lists. Then the refusals of section 7.1."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ledger.formats.sd_jwt import jws
from ledger.formats.sd_jwt.disclosures import (
    DisclosureProblem,
    SdJwt,
    conceal,
    digest,
    element_disclosure,
    parse,
    property_disclosure,
    read,
    reveal,
)

# RFC 9901 section 4.2.3 (the family_name disclosure) and section 4.2.4.1 (its digest).
RFC_DISCLOSURE = "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0"
RFC_DIGEST = "X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0"
# The array element disclosure of section 4.2.4 ("FR" of nationalities).
RFC_ELEMENT = "WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIkZSIl0"
# RFC 9901 appendix A.5: the public key that verifies the examples' issuer signatures.
EXAMPLE_KEY = {
    "kty": "EC",
    "crv": "P-256",
    "x": "b28d4MwZMjw8-00CG4xfnn9SLMVMM19SlqZpVb_uNtQ",
    "y": "Xv5zWwuoaTgdS6hV43yI6gBwTnjukmFQQnJ_kCxzqk8",
}
# Example 1 of draft-ietf-oauth-selective-disclosure-jwt-05 (IETF Trust; code components under
# the Revised BSD licence): issuer-signed JWT and every disclosure.
EXAMPLE_1 = (
    "eyJhbGciOiAiRVMyNTYifQ.eyJfc2QiOiBbIkNyUWU3UzVrcUJBSHQtbk1ZWGdjNmJkdDJTSDVhVFkxc1VfTS1QZ2tq"
    "UEkiLCAiSnpZakg0c3ZsaUgwUjNQeUVNZmVadTZKdDY5dTVxZWhabzdGN0VQWWxTRSIsICJQb3JGYnBLdVZ1Nnh5bUph"
    "Z3ZrRnNGWEFiUm9jMkpHbEFVQTJCQTRvN2NJIiwgIlRHZjRvTGJnd2Q1SlFhSHlLVlFaVTlVZEdFMHc1cnREc3JaemZV"
    "YW9tTG8iLCAiWFFfM2tQS3QxWHlYN0tBTmtxVlI2eVoyVmE1TnJQSXZQWWJ5TXZSS0JNTSIsICJYekZyendzY002R242"
    "Q0pEYzZ2Vks4QmtNbmZHOHZPU0tmcFBJWmRBZmRFIiwgImdiT3NJNEVkcTJ4Mkt3LXc1d1BFemFrb2I5aFYxY1JEMEFU"
    "TjNvUUw5Sk0iLCAianN1OXlWdWx3UVFsaEZsTV8zSmx6TWFTRnpnbGhRRzBEcGZheVF3TFVLNCJdLCAiaXNzIjogImh0"
    "dHBzOi8vZXhhbXBsZS5jb20vaXNzdWVyIiwgImlhdCI6IDE2ODMwMDAwMDAsICJleHAiOiAxODgzMDAwMDAwLCAic3Vi"
    "IjogInVzZXJfNDIiLCAibmF0aW9uYWxpdGllcyI6IFt7Ii4uLiI6ICJwRm5kamtaX1ZDem15VGE2VWpsWm8zZGgta284"
    "YUlLUWM5RGxHemhhVllvIn0sIHsiLi4uIjogIjdDZjZKa1B1ZHJ5M2xjYndIZ2VaOGtoQXYxVTFPU2xlclAwVmtCSnJX"
    "WjAifV0sICJfc2RfYWxnIjogInNoYS0yNTYiLCAiY25mIjogeyJqd2siOiB7Imt0eSI6ICJFQyIsICJjcnYiOiAiUC0y"
    "NTYiLCAieCI6ICJUQ0FFUjE5WnZ1M09IRjRqNFc0dmZTVm9ISVAxSUxpbERsczd2Q2VHZW1jIiwgInkiOiAiWnhqaVdX"
    "YlpNUUdIVldLVlE0aGJTSWlyc1ZmdWVjQ0U2dDRqVDlGMkhaUSJ9fX0.kmx687kUBiIDvKWgo2Dub-TpdCCRLZwtD7TOj"
    "4RoLsUbtFBI8sMrtH2BejXtm_P6fOAjKAVc_7LRNJFgm3PJhg~WyIyR0xDNDJzS1F2ZUNmR2ZyeU5STjl3IiwgImdpdm"
    "VuX25hbWUiLCAiSm9obiJd~WyJlbHVWNU9nM2dTTklJOEVZbnN4QV9BIiwgImZhbWlseV9uYW1lIiwgIkRvZSJd~WyI2"
    "SWo3dE0tYTVpVlBHYm9TNXRtdlZBIiwgImVtYWlsIiwgImpvaG5kb2VAZXhhbXBsZS5jb20iXQ~WyJlSThaV205UW5LU"
    "HBOUGVOZW5IZGhRIiwgInBob25lX251bWJlciIsICIrMS0yMDItNTU1LTAxMDEiXQ~WyJRZ19PNjR6cUF4ZTQxMmExMD"
    "hpcm9BIiwgInBob25lX251bWJlcl92ZXJpZmllZCIsIHRydWVd~WyJBSngtMDk1VlBycFR0TjRRTU9xUk9BIiwgImFkZ"
    "HJlc3MiLCB7InN0cmVldF9hZGRyZXNzIjogIjEyMyBNYWluIFN0IiwgImxvY2FsaXR5IjogIkFueXRvd24iLCAicmVnaW"
    "9uIjogIkFueXN0YXRlIiwgImNvdW50cnkiOiAiVVMifV0~WyJQYzMzSk0yTGNoY1VfbEhnZ3ZfdWZRIiwgImJpcnRoZG"
    "F0ZSIsICIxOTQwLTAxLTAxIl0~WyJHMDJOU3JRZmpGWFE3SW8wOXN5YWpBIiwgInVwZGF0ZWRfYXQiLCAxNTcwMDAwMD"
    "AwXQ~WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIlVTIl0~WyJuUHVvUW5rUkZxM0JJZUFtN0FuWEZBIiwgIkRFIl0~"
)
EXAMPLE_1_CLAIMS = {
    "iss": "https://example.com/issuer",
    "iat": 1683000000,
    "exp": 1883000000,
    "sub": "user_42",
    "nationalities": ["US", "DE"],
    "cnf": {
        "jwk": {
            "kty": "EC",
            "crv": "P-256",
            "x": "TCAER19Zvu3OHF4j4W4vfSVoHIP1ILilDls7vCeGemc",
            "y": "ZxjiWWbZMQGHVWKVQ4hbSIirsVfuecCE6t4jT9F2HZQ",
        }
    },
    "updated_at": 1570000000,
    "email": "johndoe@example.com",
    "phone_number": "+1-202-555-0101",
    "family_name": "Doe",
    "phone_number_verified": True,
    "address": {
        "street_address": "123 Main St",
        "locality": "Anytown",
        "region": "Anystate",
        "country": "US",
    },
    "birthdate": "1940-01-01",
    "given_name": "John",
}


def example() -> tuple[dict[str, Any], list[str]]:
    sd_jwt = parse(EXAMPLE_1)
    return jws.parse(sd_jwt.jwt).payload, list(sd_jwt.disclosures)


def test_the_digest_of_the_rfcs_disclosure_is_the_rfcs() -> None:
    assert digest(RFC_DISCLOSURE) == RFC_DIGEST


def test_the_rfcs_disclosures_read_as_their_salt_name_and_value() -> None:
    assert read(RFC_DISCLOSURE).value == "Möbius"
    assert read(RFC_DISCLOSURE).name == "family_name"
    assert read(RFC_ELEMENT).name is None and read(RFC_ELEMENT).value == "FR"


def test_a_disclosure_made_here_reads_back_and_hashes_as_its_text() -> None:
    made = property_disclosure("family_name", "Möbius", salt="_26bc4LT-ac6q2KI6cBW5es")
    assert json.loads(jws.b64url_decode(made.encoded)) == [
        "_26bc4LT-ac6q2KI6cBW5es",
        "family_name",
        "Möbius",
    ]
    assert made.digest == digest(made.encoded)


def test_the_example_sd_jwt_verifies_with_the_example_key() -> None:
    assert jws.verifies(jws.parse(parse(EXAMPLE_1).jwt), jws.public_key(EXAMPLE_KEY))


def test_the_example_processes_to_the_claims_the_specification_lists() -> None:
    payload, disclosures = example()
    assert reveal(payload, [read(d) for d in disclosures]) == EXAMPLE_1_CLAIMS


def test_undisclosed_claims_and_elements_are_left_out_not_guessed() -> None:
    payload, disclosures = example()
    kept = [
        read(d) for d in disclosures if read(d).name in ("given_name",) or read(d).value == "DE"
    ]
    claims = reveal(payload, kept)
    assert claims["given_name"] == "John"
    assert claims["nationalities"] == ["DE"]
    assert "family_name" not in claims and "birthdate" not in claims


def test_a_disclosure_the_jwt_does_not_reference_is_refused() -> None:
    payload, disclosures = example()
    stranger = property_disclosure("family_name", "Forged")
    with pytest.raises(DisclosureProblem, match="match no digest"):
        reveal(payload, [read(d) for d in disclosures[:1]] + [stranger])


def test_the_same_disclosure_twice_is_refused() -> None:
    payload, disclosures = example()
    with pytest.raises(DisclosureProblem, match="twice"):
        reveal(payload, [read(disclosures[0]), read(disclosures[0])])


def test_an_element_disclosure_where_a_claim_is_is_refused() -> None:
    element = element_disclosure("Doe")
    payload = {"_sd": [element.digest], "_sd_alg": "sha-256"}
    with pytest.raises(DisclosureProblem, match="element disclosure stands where a claim is"):
        reveal(payload, [element])


def test_a_disclosed_name_that_is_already_a_claim_is_refused() -> None:
    claim = property_disclosure("iss", "https://attacker.example")
    payload = {"iss": "https://example.com", "_sd": [claim.digest]}
    with pytest.raises(DisclosureProblem, match="already a claim"):
        reveal(payload, [claim])


def test_a_digest_that_occurs_twice_is_refused() -> None:
    claim = property_disclosure("name", "A")
    payload = {"_sd": [claim.digest, claim.digest]}
    with pytest.raises(DisclosureProblem, match="more than once"):
        reveal(payload, [claim])


def test_another_hash_algorithm_is_refused() -> None:
    with pytest.raises(DisclosureProblem, match="sha-256"):
        reveal({"_sd": [], "_sd_alg": "md5"}, [])


@pytest.mark.parametrize("name", ["_sd", "..."])
def test_a_disclosure_of_a_reserved_name_is_refused(name: str) -> None:
    encoded = jws.b64url(json.dumps(["salt", name, "x"]).encode())
    with pytest.raises(DisclosureProblem, match="may not"):
        read(encoded)


def test_conceal_hides_every_claim_but_the_visible_and_salts_afresh() -> None:
    claims = {"iss": "https://i.example", "title": "T", "outcomes": ["a", "b"]}
    first, disclosures = conceal(claims, {"iss"})
    second, _ = conceal(claims, {"iss"})
    assert set(first) == {"iss", "_sd", "_sd_alg"}
    assert first["_sd"] == sorted(first["_sd"]) and first["_sd"] != second["_sd"]
    assert reveal(first, disclosures) == claims


def test_array_elements_are_disclosable_one_by_one() -> None:
    payload, disclosures = conceal({"outcomes": ["a", "b", "c"]}, set())
    chosen = [d for d in disclosures if d.name == "outcomes" or d.value == "b"]
    assert reveal(payload, chosen) == {"outcomes": ["b"]}


def test_the_key_binding_text_ends_with_a_tilde() -> None:
    assert SdJwt("h.p.s", ("d1", "d2")).without_key_binding() == "h.p.s~d1~d2~"
    assert parse("h.p.s~d1~kb").kb_jwt == "kb"
    assert parse("h.p.s~d1~").kb_jwt is None
