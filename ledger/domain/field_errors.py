"""Turning schema failures into field errors that name the field and the rule."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ledger.domain.errors import FieldError, InvalidInput

M = TypeVar("M", bound=BaseModel)

_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a known field (check its spelling)",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "model_type": "must be an object",
    "dict_type": "must be an object",
    "too_short": "needs at least one entry",
}


def _path(prefix: str, loc: tuple[int | str, ...]) -> str:
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif path:
            path += f".{part}"
        else:
            path = part
    return path


def field_errors(exc: ValidationError, prefix: str) -> list[FieldError]:
    """One :class:`FieldError` per pydantic error, with a dotted path under ``prefix``."""
    errors = []
    for error in exc.errors(include_url=False):
        kind = error["type"]
        if kind == "value_error":
            message = str(error["ctx"]["error"])
            rule = "invalid-value"
        elif kind == "literal_error":
            message = f"must be {error['ctx']['expected']}"
            rule = "code-list"
        else:
            message = _MESSAGES.get(kind, error["msg"])
            rule = kind.replace("_", "-")
        loc = tuple(part for part in error["loc"] if not str(part).startswith("function-"))
        errors.append(FieldError(_path(prefix, loc), rule, message))
    return errors


def parse(model: type[M], data: Any, prefix: str) -> M:
    """Validate ``data`` as ``model`` or raise :class:`InvalidInput` naming each field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(field_errors(exc, prefix)) from None
