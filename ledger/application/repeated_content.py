"""A credential's content validated once for a cohort, not once a learner.

A bulk request issues one micro-credential to a cohort: every command carries the same content
(title, outcomes, workload, level, quality assurance, dates) but for the learner's commitment.
Validating that content's model was the costliest check of an issue after the signature. So the
content less its learner, as sorted JSON, keys a small cache of the content as validated; a
command whose content is found there has only its learner's commitment and its own fields
validated, and gets the model the full validation gives (the models are frozen, and their
validators depend on nothing but the value). Whatever is not found, and whatever fails here,
takes the full validation, so that an error is named exactly as before.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from ledger.domain import json_text
from ledger.domain.commands import AmendCommand, IssueCommand
from ledger.domain.content import CredentialContent, LearnerCommitment

# Contents kept (a few KB each): the cohorts being issued to at once.
KEPT_CONTENTS = 64

_WITH_CONTENT = (IssueCommand, AmendCommand)
# Stands in for the learner while the rest of a content is validated and kept.
_ANY_LEARNER = {"commitment": "0" * 64}

M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], data: dict[str, Any]) -> M | None:
    """``data`` validated as ``model`` with its content's validation reused, or None where
    the full validation must run (a content not seen, or anything invalid)."""
    content = data.get("content")
    if model not in _WITH_CONTENT or type(content) is not dict:
        return None
    rest = {key: value for key, value in content.items() if key != "learner"}
    try:
        kept = _content_less_learner(orjson.dumps(rest, option=orjson.OPT_SORT_KEYS))
        learner = LearnerCommitment.model_validate(content.get("learner"))
        # A model instance for the content field is taken as it is (not validated again).
        return model.model_validate(
            {**data, "content": kept.model_copy(update={"learner": learner})}
        )
    except (ValidationError, orjson.JSONEncodeError, ValueError, TypeError):
        return None


@lru_cache(maxsize=KEPT_CONTENTS)
def _content_less_learner(rest: bytes) -> CredentialContent:
    """The content whose other members are the JSON ``rest``, validated (raises as the model
    does: a failure is not kept)."""
    # ``rest`` is the bytes of an object (the content's members): it reads back as a dict.
    return CredentialContent.model_validate({**json_text.loads(rest), "learner": _ANY_LEARNER})
