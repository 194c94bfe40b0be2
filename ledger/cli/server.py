"""``credledger init`` and ``credledger serve``: set up and run the embedded ledger."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Literal

import click
import uvicorn

from ledger.api import create_app
from ledger.cli import options
from ledger.operations import heap, logs, metrics
from ledger.runtime.api_worker import WORKER_CHAIN, chain_description
from ledger.runtime.consumer_process import settings_environment
from ledger.runtime.stop_signals import stop_on_signals
from ledger.settings import Settings, create_secrets


@click.command()
@options.data_dir
def init(data_dir: Path) -> None:
    """Create the data directory and its secrets (master key, operator token).

    \b
    Example:
      credledger init --data-dir /var/lib/credledger
    """
    path, created = create_secrets(data_dir)
    if created:
        click.echo(f"Created {path} (owner-only). It holds the master key and the admin token:")
        click.echo("back it up; losing the master key makes learners' data unreadable.")
    else:
        click.echo(f"{path} already exists; nothing changed.")


@click.command()
@options.data_dir
@click.option("--host", envvar="CREDLEDGER_HOST", default="127.0.0.1", show_default=True)
@click.option("--port", envvar="CREDLEDGER_PORT", default=8000, show_default=True, type=int)
@click.option(
    "--tls-cert",
    envvar="CREDLEDGER_TLS_CERTFILE",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM certificate (with its chain): serve HTTPS.",
)
@click.option(
    "--tls-key",
    envvar="CREDLEDGER_TLS_KEYFILE",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM private key of --tls-cert.",
)
@click.option(
    "--public-url",
    envvar="CREDLEDGER_PUBLIC_URL",
    help="Base URL verifiers reach the ledger at (default: http(s)://HOST:PORT).",
)
@click.option(
    "--workers",
    envvar="CREDLEDGER_WORKERS",
    default=1,
    show_default=True,
    type=click.IntRange(1),
    help="API worker processes; with more than one, the consumers run once: in processes of "
    "their own with Kafka on PostgreSQL, else in this process.",
)
@click.option(
    "--consumers",
    envvar="CREDLEDGER_CONSUMERS",
    type=click.Choice(["process", "thread"]),
    default="process",
    show_default=True,
    help="The read model's projector and the log, anchoring and witness consumers (and the "
    "Kafka relay) in two processes of their own (kept running by serve) or in threads of the "
    "serving process (always with --workers above 1 on the embedded transport).",
)
@click.option(
    "--no-consumers",
    is_flag=True,
    help="Serve the API only; run `credledger consume` for the log, anchors and read model.",
)
@options.reporting_errors
def serve(
    data_dir: Path,
    host: str,
    port: int,
    tls_cert: Path | None,
    tls_key: Path | None,
    public_url: str | None,
    workers: int,
    consumers: Literal["process", "thread"],
    no_consumers: bool,
) -> None:
    """Run the HTTP API with the log, anchoring and read-model consumers.

    Blockcerts verifiers fetch issuer profiles and revocation lists over HTTPS only: give a
    certificate, or run behind a reverse proxy that terminates TLS and set --public-url.

    \b
    Examples:
      credledger serve --port 8000
      open http://127.0.0.1:8000/docs for the OpenAPI documentation
      credledger serve --port 8443 --tls-cert cert.pem --tls-key key.pem
      credledger serve --public-url https://ledger.example.eu   # behind a TLS proxy
      credledger serve --consumers thread   # everything in one process (one core)
      CREDLEDGER_STORE=postgres CREDLEDGER_TRANSPORT=kafka credledger serve --workers 2
    """
    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together")
    from ledger.runtime.connection_budget import warn_when_over
    from ledger.runtime.embedded import EmbeddedLedger
    from ledger.runtime.supervised import SupervisedLedger, consumers_apart

    settings = Settings(
        data_dir=data_dir,
        host=host,
        port=port,
        tls_certfile=tls_cert,
        tls_keyfile=tls_key,
        public_url=public_url,
        consumers=consumers,
    )
    logs.configure(settings.log_format, settings.log_level)
    if settings.master_key is None:
        _, created = create_secrets(data_dir)
        if created:
            click.echo(f"Initialised {data_dir} with new secrets (see `credledger init`).")
    served = {
        "host": host,
        "port": port,
        "ssl_certfile": str(tls_cert) if tls_cert else None,
        "ssl_keyfile": str(tls_key) if tls_key else None,
        # Behind a proxy: trust its X-Forwarded-* headers only from loopback.
        "proxy_headers": True,
        "forwarded_allow_ips": "127.0.0.1",
        # Logging is ours (text or JSON, with request ids); each request logs one line.
        "log_config": None,
        "access_log": False,
    }
    warn_when_over(settings, workers, no_consumers, consumers_apart(settings))
    if workers == 1 and not no_consumers and consumers_apart(settings):
        shared_metrics(settings)  # counted in both processes, summed at /metrics
        with SupervisedLedger(settings) as supervised:
            app = create_app(supervised.api_context(), on_shutdown=supervised.stop)
            heap.settle()
            uvicorn.run(app, **served)  # type: ignore[arg-type]
        return
    if workers == 1 and not no_consumers:
        with EmbeddedLedger(settings) as embedded:
            app = create_app(embedded.api_context(), on_shutdown=embedded.stop)
            heap.settle()
            uvicorn.run(app, **served)  # type: ignore[arg-type]
        return
    _share_settings(settings)
    shared_metrics(settings)
    if no_consumers:
        os.environ[WORKER_CHAIN] = chain_description({}, settings.chain_rpc_url)
        uvicorn.run("ledger.runtime.api_worker:app", factory=True, workers=workers, **served)  # type: ignore[arg-type]
        return
    if consumers_apart(settings) and settings.transport == "kafka":
        # The workers hear the read model's positions from PostgreSQL; the read-model
        # process's pipe tells this process only when it has caught up, before they start.
        with SupervisedLedger(settings) as supervised:
            os.environ[WORKER_CHAIN] = chain_description(
                supervised.api_context().chain_info, supervised.chain_url()
            )
            heap.settle()
            uvicorn.run("ledger.runtime.api_worker:app", factory=True, workers=workers, **served)  # type: ignore[arg-type]
        return
    with EmbeddedLedger(settings) as embedded:
        node = embedded.chain.node
        rpc_url = node.url if node is not None else settings.chain_rpc_url
        os.environ[WORKER_CHAIN] = chain_description(embedded.api_context().chain_info, rpc_url)
        heap.settle()
        uvicorn.run("ledger.runtime.api_worker:app", factory=True, workers=workers, **served)  # type: ignore[arg-type]


def shared_metrics(settings: Settings) -> None:
    """Let this deployment's processes count into one directory that any worker's /metrics
    sums: ``PROMETHEUS_MULTIPROC_DIR`` if the operator set it (shared with a separate
    ``credledger consume``), else ``<data dir>/metrics``, emptied at each start."""
    if not settings.metrics:
        return
    given = os.environ.get(metrics.MULTIPROCESS_ENV)
    metrics.use_directory(Path(given) if given else settings.data_dir / "metrics", wipe=not given)


def _share_settings(settings: Settings) -> None:
    """Put what the flags set into the environment the worker processes read theirs from."""
    os.environ.update(settings_environment(settings))


@click.command()
@options.data_dir
@options.reporting_errors
def consume(data_dir: Path) -> None:
    """Run the consumers only: the Kafka relay (transport=kafka), the log and anchor consumers
    and the read-model projector, until stopped (SIGINT or SIGTERM).

    \b
    Example:
      CREDLEDGER_STORE=postgres CREDLEDGER_TRANSPORT=kafka credledger consume
    """
    from ledger.runtime.embedded import EmbeddedLedger

    settings = Settings(data_dir=data_dir)
    logs.configure(settings.log_format, settings.log_level)
    given = os.environ.get(metrics.MULTIPROCESS_ENV)
    if given and settings.metrics:
        metrics.use_directory(Path(given), wipe=False)
    stop = threading.Event()
    stop_on_signals(stop)
    with EmbeddedLedger(settings):
        click.echo("consuming; stop with Ctrl-C", err=True)
        stop.wait()
