"""The command and learner models admit only text, so their canonical bytes need no walk."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.domain.commands import COMMAND_MODELS, PersonalData


def kinds(schema: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(schema, dict):
        if isinstance(schema.get("type"), str):
            found.add(schema["type"])
        for value in schema.values():
            found |= kinds(value)
    elif isinstance(schema, list):
        for value in schema:
            found |= kinds(value)
    return found


@pytest.mark.parametrize("model", [*COMMAND_MODELS.values(), PersonalData])
def test_no_command_field_is_a_number_or_boolean(model: Any) -> None:
    assert kinds(model.model_json_schema()) <= {"string", "object", "array", "null"}
