"""What the API checks of its parameters before anything else: bounds of the integers it takes
in paths, queries and bodies, and that a signed command names what its URL names.

Every position, size, index and version is stored as a signed 64-bit integer (SQLite's and
PostgreSQL's ``bigint``); a larger one is refused with 422 before any store sees it.
"""

from ledger.domain.commands import SignedCommand
from ledger.domain.errors import FieldError, InvalidInput

INT64_MAX = 2**63 - 1


def named_in_path(body: SignedCommand, name: str, value: str) -> None:
    """Refuse (422) a signed command whose ``name`` is not the one in the URL."""
    if body.command.get(name) != value:
        raise InvalidInput(
            [FieldError(f"command.{name}", "path-mismatch", f"must be the {name} in the URL")]
        )
