"""The HTTP API: issuer commands in, public status out, problem documents for every error."""

from ledger.api.app import create_app

__all__ = ["create_app"]
