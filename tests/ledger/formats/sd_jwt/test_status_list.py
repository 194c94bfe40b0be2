"""The Token Status List encoding against the draft's example, and the signed list token."""

from __future__ import annotations

import zlib

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from ledger.domain.jwk import public_jwk, thumbprint
from ledger.formats.sd_jwt import jws, status_list

# draft-ietf-oauth-status-list, "Status List" example: 16 one-bit statuses.
DRAFT_STATUSES = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]
DRAFT_LST = "eNrbuRgAAhcBXQ"


def test_the_drafts_example_encodes_to_the_drafts_lst() -> None:
    invalid = [i for i, status in enumerate(DRAFT_STATUSES) if status]
    assert status_list.encode(invalid, 16) == DRAFT_LST


def test_the_drafts_example_reads_back_entry_by_entry() -> None:
    claim = {"bits": 1, "lst": DRAFT_LST}
    assert [status_list.status_at(claim, i) for i in range(16)] == DRAFT_STATUSES


def test_a_list_is_never_shorter_than_the_herd_privacy_minimum() -> None:
    assert status_list.list_size(-1) == status_list.MIN_ENTRIES
    assert status_list.list_size(200_000) == 200_008


def test_an_index_outside_the_list_is_an_error_not_valid() -> None:
    with pytest.raises(status_list.StatusListError):
        status_list.status_at({"bits": 1, "lst": DRAFT_LST}, 16)


def test_a_list_inflating_beyond_the_limit_is_refused() -> None:
    bomb = jws.b64url(zlib.compress(bytes(status_list.MAX_ENTRIES // 8 + 64), 9))
    with pytest.raises(status_list.StatusListError, match="longer"):
        status_list.status_at({"bits": 1, "lst": bomb}, 0)


def test_the_token_is_a_signed_statuslist_jwt_for_its_uri() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    kid = thumbprint(public_jwk(key.public_key()))
    token = status_list.token("https://l.example/s", [3], 16, key, kid, 1_700_000_000, 300)
    parsed = jws.parse(token)
    assert jws.verifies(parsed, key.public_key())
    assert parsed.header == {"typ": "statuslist+jwt", "kid": kid, "alg": "ES256"}
    assert parsed.payload["sub"] == "https://l.example/s"
    assert parsed.payload["ttl"] == 300
    assert status_list.status_at(parsed.payload["status_list"], 3) == 1
    assert status_list.status_at(parsed.payload["status_list"], 2) == 0
