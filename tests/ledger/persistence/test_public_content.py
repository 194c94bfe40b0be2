"""A credential version's content as the read model keeps it for anyone to read: the issuer's
content without the learner, written as the standard library writes it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from ledger.domain import json_text, samples
from ledger.persistence.read_model import public_content

CONTENT = {
    **samples.credential_content(datetime(2026, 3, 1, tzinfo=UTC)),
    "title": "Données de recherche — gestion et éthique",
    "learner": {"commitment": "ab" * 32},
}


def test_the_public_content_leaves_the_learner_out() -> None:
    public = public_content(CONTENT)

    assert "learner" not in public
    assert public == {k: v for k, v in CONTENT.items() if k != "learner"}


def test_the_public_content_is_written_as_the_standard_library_writes_it() -> None:
    plain = {k: v for k, v in CONTENT.items() if k != "learner"}
    expected = json.dumps(plain, separators=(",", ":"), ensure_ascii=False, sort_keys=True)

    assert json_text.dumps(public_content(CONTENT), sort_keys=True) == expected.encode()
