"""Options shared by the subcommands, each also read from a CREDLEDGER_* variable."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import httpx

from anchors.merkle import VerificationError
from ledger.client import LedgerClient, LedgerRequestError
from ledger.domain.errors import LedgerError

F = TypeVar("F", bound=Callable[..., Any])

data_dir = click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="CREDLEDGER_DATA_DIR",
    default=Path("credledger-data"),
    show_default=True,
    help="Where the embedded stores and secrets live.",
)

url = click.option(
    "--url",
    envvar="CREDLEDGER_URL",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="The ledger API.",
)


class RpcUrl(click.ParamType[str]):
    """A chain's JSON-RPC endpoint: an http:// or https:// URL."""

    name = "url"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if not text.startswith(("http://", "https://")):
            self.fail(f"{text!r} is not an http:// or https:// JSON-RPC URL", param, ctx)
        return text


key = click.option(
    "--key",
    "key_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    envvar="CREDLEDGER_ISSUER_KEY",
    required=True,
    help="The issuer's key file (from `credledger keygen`).",
)

issuer_id = click.option(
    "--issuer-id",
    envvar="CREDLEDGER_ISSUER_ID",
    required=True,
    help="The issuer's id in the register.",
)


confirmations = click.option(
    "--confirmations",
    default=1,
    show_default=True,
    type=click.IntRange(0),
    help="Blocks after the including block (as block explorers count).",
)

ca_file = click.option(
    "--ca-file",
    type=click.Path(dir_okay=False, exists=True),
    envvar="CREDLEDGER_CA_FILE",
    help="A PEM file of the CA (or self-signed certificate) to trust for the ledger's HTTPS.",
    expose_value=False,
    is_eager=True,
    callback=lambda ctx, _, value: ctx.ensure_object(dict).update(ca_file=value),
)


def trusted_ca() -> str | None:
    """The --ca-file (or CREDLEDGER_CA_FILE) given to the command line, if any."""
    context = click.get_current_context(silent=True)
    found = (context.find_root().obj or {}).get("ca_file") if context else None
    return str(found) if found else os.environ.get("CREDLEDGER_CA_FILE") or None


def _unreachable(exc: httpx.TransportError) -> str:
    if "CERTIFICATE_VERIFY_FAILED" in str(exc):
        return (
            f"the ledger's TLS certificate is not trusted ({exc}); give the CA that signed it "
            "(or the self-signed certificate) with --ca-file or CREDLEDGER_CA_FILE"
        )
    return f"cannot reach the ledger: {exc}"


def reporting_errors(function: F) -> F:
    """Turn a refused request into its explanation and exit status 1, not a traceback."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except (LedgerRequestError, LedgerError) as exc:
            raise click.ClickException(exc.diagnostics()) from None
        except httpx.TransportError as exc:
            raise click.ClickException(_unreachable(exc)) from None

    return wrapper  # type: ignore[return-value]


def client(base_url: str, admin_token: str | None = None, timeout: float = 30.0) -> LedgerClient:
    """A client of the ledger at ``base_url``, trusting --ca-file where one was given."""
    return LedgerClient(base_url, admin_token=admin_token, timeout=timeout, ca_file=trusted_ca())


def tile_mirror(prefix: str) -> Callable[[str], bytes]:
    """Reads paths below a tile mirror's prefix (C2SP tlog-tiles), trusting --ca-file."""
    http = httpx.Client(timeout=30, verify=trusted_ca() or True)

    def fetch(path: str) -> bytes:
        answer = http.get(f"{prefix.rstrip('/')}/{path}")
        if answer.status_code != 200:
            raise VerificationError(f"{path}: the mirror answered {answer.status_code}")
        return answer.content

    return fetch
