"""Typed configuration, from ``CREDLEDGER_*`` environment variables and CLI flags.

Secrets (the master key that wraps learners' data keys, and the operator's admin token) come
from the environment or from ``<data dir>/secrets.json``, which ``credledger init`` creates with
owner-only permissions. They are never in the repository.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ledger.domain import codelists
from ledger.domain.content import ContentRules
from ledger.domain.errors import LedgerError

SECRETS_FILE = "secrets.json"


class ConfigurationError(LedgerError):
    code = "configuration-error"
    title = "Configuration error"


# Events a batch may hold: one anchor transaction, and a tree of proofs of up to 14 steps.
MAX_BATCH_SIZE = 10_000


class Settings(BaseSettings):
    """Everything the ledger can be configured with; each field is ``CREDLEDGER_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="CREDLEDGER_", extra="ignore")

    data_dir: Path = Field(
        default=Path("credledger-data"),
        description="Where the embedded stores (SQLite) and secrets.json live.",
    )
    store: Literal["sqlite", "postgres"] = Field(
        default="sqlite", description="Storage backend for the event store and read model."
    )
    postgres_host: str = Field(
        default="127.0.0.1",
        description="PostgreSQL host, or the directory of its Unix socket (an absolute path).",
    )
    postgres_port: int = Field(default=5432, description="PostgreSQL port.")
    postgres_dbname: str = Field(default="credledger", description="PostgreSQL database.")
    postgres_user: str = Field(default="credledger", description="PostgreSQL user.")
    postgres_password: SecretStr = Field(default=SecretStr(""), description="PostgreSQL password.")
    postgres_pool_size: int = Field(default=5, description="Connections per pool.")
    postgres_timeout_seconds: int = Field(
        default=2,
        ge=1,
        description="How long one attempt waits for a connection (the event store retries a "
        "few times, riding out a short restart) before the API answers 503.",
    )
    master_key: SecretStr | None = Field(
        default=None,
        description="Base64 of 32 bytes that wrap learners' data keys; else from secrets.json.",
    )
    admin_token: SecretStr | None = Field(
        default=None, description="The operator's bearer token; else from secrets.json."
    )
    host: str = Field(default="127.0.0.1", description="Address `serve` listens on.")
    port: int = Field(default=8000, description="Port `serve` listens on.")
    public_url: str | None = Field(
        default=None,
        max_length=2048,
        description="The ledger's public base URL, as verifiers reach it (issuer profiles and "
        "revocation lists are served under it and named in documents). Default: "
        "http(s)://HOST:PORT.",
    )
    tls_certfile: Path | None = Field(
        default=None, description="PEM certificate (chain) `serve` presents: serves HTTPS."
    )
    tls_keyfile: Path | None = Field(
        default=None, description="PEM private key of the TLS certificate."
    )
    max_request_bytes: int = Field(
        default=1_048_576, description="Largest request body accepted (413 beyond)."
    )
    max_bulk_items: int = Field(
        default=1000, description="Most commands in one bulk request (413 beyond)."
    )
    page_size_limit: int = Field(default=500, description="Largest page a listing returns.")
    edc_trust_anchors: Path | None = Field(
        default=None,
        description="PEM file of the CA certificates an EDC seal certificate's chain must lead "
        "to when a sealed credential is verified here (none: the chain is reported unchecked).",
    )
    supervision_values: tuple[str, ...] = Field(
        default=codelists.SUPERVISION_VALUES,
        description="Accepted supervision and identity-verification values (JSON list).",
    )
    max_credit_points: Decimal = Field(
        default=ContentRules.max_credit_points,
        gt=0,
        le=240,
        description="Most credit points (ECTS or ECVET) one credential may carry.",
    )
    max_volume_hours: int = Field(
        default=ContentRules.max_volume_hours,
        gt=0,
        le=10_000,
        description="Longest volume of learning one credential may state, in hours.",
    )
    log_origin: str | None = Field(
        default=None,
        description="The transparency log's origin line; else from secrets.json.",
    )
    log_key: SecretStr | None = Field(
        default=None,
        description="Base64 Ed25519 seed that signs checkpoints; else from secrets.json.",
    )
    transport: Literal["embedded", "kafka"] = Field(
        default="embedded",
        description="How events reach the log and the read model: embedded (followed in "
        "process) or kafka (a relay publishes them to Apache Kafka; consumer groups read them).",
    )
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:29092", description="Kafka brokers (transport=kafka)."
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT",
        description="How clients talk to the brokers (SASL_SSL for most managed clusters).",
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        default="SCRAM-SHA-512", description="SASL mechanism (SASL_* protocols)."
    )
    kafka_sasl_username: str | None = Field(default=None, description="SASL user name.")
    kafka_sasl_password: SecretStr | None = Field(default=None, description="SASL password.")
    kafka_ssl_cafile: Path | None = Field(
        default=None,
        description="CA bundle that signs the brokers' certificates (default: the system's).",
    )
    kafka_ssl_certfile: Path | None = Field(
        default=None, description="Client certificate, for brokers that require one."
    )
    kafka_ssl_keyfile: Path | None = Field(default=None, description="Its private key.")
    kafka_topic: str = Field(default="credledger.events", description="The events topic.")
    kafka_partitions: int = Field(
        default=1, ge=1, description="Partitions of the events topic (one key keeps the order)."
    )
    kafka_replication_factor: int = Field(
        default=1, ge=1, description="Replicas of the events topic (3 in production)."
    )
    kafka_projector_group: str = Field(
        default="credledger-read-model", description="Consumer group of the read-model projector."
    )
    batch_size: int = Field(
        default=1000,
        ge=1,
        le=MAX_BATCH_SIZE,
        description="Events per batch at most (up to 10,000): each batch is one anchor "
        "transaction. A batch's documents are named by its anchor's events, 160 an event, so "
        "that every log entry fits a tlog-tiles entry bundle.",
    )
    metrics: bool = Field(
        default=True, description="Count metrics and serve them at /metrics (Prometheus)."
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="Log lines as plain text, or one JSON object a line."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="The least severe log lines written."
    )
    ready_max_lag_events: int = Field(
        default=1000,
        ge=0,
        description="/health/ready answers 503 while the read model is further behind the "
        "event store than this.",
    )
    intake_max_backlog_events: int = Field(
        default=5_000,
        ge=0,
        le=100_000_000,
        description="New issues, amendments and revocations are held, then answered 503 with "
        "Retry-After, while the consumers are more than this many events behind the event "
        "store (events not yet in the log or with documents not yet hashed, or the read "
        "model's lag; waiting for the chain does not count). 0: never.",
    )
    intake_hold_seconds: float = Field(
        default=1.0,
        ge=0,
        le=30,
        description="An issuer command that finds the consumers over the intake's limit waits "
        "up to this long for them to come back within it before it is refused with 503. "
        "0: refused at once.",
    )
    batch_age_seconds: float = Field(
        default=10.0, gt=0, description="A batch with events closes after this long."
    )
    anchoring_stall_batches: float = Field(
        default=30.0,
        gt=0,
        description="Anchoring counts as stalled (an error line, and the metric the "
        "AnchoringStalled alert compares with) once a log entry waits this many batch ages.",
    )
    consumers: Literal["process", "thread"] = Field(
        default="process",
        description="Where `serve` runs the read model's projector and the log, anchoring and "
        "witness consumers (and the Kafka relay): in two processes of their own that it keeps "
        "running (on the other core), or in threads of the serving process. A chain other than "
        "in-process is needed for processes, and with transport=kafka PostgreSQL; with "
        "transport=embedded and more than one API worker, threads.",
    )
    hash_processes: int = Field(
        default=1,
        ge=0,
        description="Processes that build and hash credential documents while their batch "
        "fills (0: in the anchoring thread).",
    )
    chain: Literal["anvil", "rpc", "in-process"] = Field(
        default="anvil",
        description="anvil: a local node the ledger runs, state in the data directory; "
        "rpc: any EVM JSON-RPC endpoint; in-process: eth-tester (tests only).",
    )
    chain_rpc_url: str | None = Field(
        default=None, pattern=r"^https?://", description="JSON-RPC URL, http(s) (chain=rpc)."
    )
    chain_private_key: SecretStr | None = Field(
        default=None,
        description="Hex key of the anchoring account (else `anchoring_key` in secrets.json; "
        "chain=anvil falls back to the node's first development account).",
    )
    chain_id: int | None = Field(
        default=None, description="The chain id the node must report (refused otherwise)."
    )
    confirmations: int = Field(
        default=1,
        ge=0,
        le=1000,
        description="Blocks mined after the including block before an anchor counts, as block "
        "explorers and the Blockcerts verifier count them (a development node is asked to mine "
        "them).",
    )
    anchor_replace_after_seconds: float = Field(
        default=60.0, gt=0, description="Re-send a waiting anchor with a higher fee after."
    )
    anvil_port: int | None = Field(
        default=None, description="Port of the Anvil node chain=anvil runs (default: a free one)."
    )
    anvil_chain_id: int = Field(
        default=31337,
        description="Chain id of the Anvil node chain=anvil runs (11155111 makes local anchors "
        "name Sepolia, which the Blockcerts verifier's keymap knows).",
    )
    anvil_path: Path | None = Field(
        default=None, description="The anvil binary (default: .deploy/anvil or PATH)."
    )
    witnesses: list[dict[str, str]] = Field(
        default_factory=list,
        description='Trusted witnesses, a JSON list of {"key": hex, "proof": hex} '
        "(BLS12-381 public key and proof of possession).",
    )
    witness_quorum: int = Field(
        default=0, ge=0, description="Cosignatures a checkpoint needs (0: not required)."
    )
    tlog_witnesses: list[dict[str, str]] = Field(
        default_factory=list,
        description="C2SP tlog-witness witnesses the log asks for cosignatures, a JSON list of "
        '{"url": "<prefix of its add-checkpoint>", "key": "<its cosignature/v1 verifier key>"}.',
    )
    tlog_witness_seconds: float = Field(
        default=60.0,
        ge=0,
        le=86_400,
        description="At most one checkpoint a witness per this many seconds (witness networks "
        "admit logs that ask rarely).",
    )
    read_freshness_seconds: int = Field(
        default=300, description="How old a signed read request may be."
    )
    wallet_offer_seconds: int = Field(
        default=86_400,
        ge=60,
        le=30 * 86_400,
        description="How long a credential offer to a learner's wallet stays open.",
    )
    wallet_pin_tries: int = Field(
        default=5, ge=1, le=20, description="Wrong PINs after which an offer is locked."
    )
    wallet_token_seconds: int = Field(
        default=300, ge=30, le=3600, description="How long an OpenID4VCI access token lasts."
    )
    wallet_nonce_seconds: int = Field(
        default=300,
        ge=30,
        le=3600,
        description="How long a key-proof nonce, and a presentation's key binding, stay fresh.",
    )
    status_list_ttl_seconds: int = Field(
        default=300,
        ge=10,
        le=86_400,
        description="How long verifiers may cache a Token Status List (its ttl and max-age).",
    )

    @property
    def content_rules(self) -> ContentRules:
        """The configured rules for credential content."""
        return ContentRules(
            supervision_values=self.supervision_values,
            max_credit_points=self.max_credit_points,
            max_volume_hours=self.max_volume_hours,
        )

    @property
    def events_db(self) -> Path:
        return self.data_dir / "events.sqlite"

    @property
    def read_model_db(self) -> Path:
        return self.data_dir / "read-model.sqlite"

    def master_key_bytes(self) -> bytes:
        value = self._secret("master_key", self.master_key)
        try:
            key = base64.b64decode(value, validate=True)
        except ValueError:
            raise ConfigurationError("CREDLEDGER_MASTER_KEY is not valid base64") from None
        if len(key) != 32:
            raise ConfigurationError("CREDLEDGER_MASTER_KEY must decode to 32 bytes")
        return key

    def anchoring_stall_seconds(self) -> float:
        """How long a log entry may wait for its anchor before anchoring counts as stalled."""
        return self.anchoring_stall_batches * self.batch_age_seconds

    def public_url_value(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        scheme = "https" if self.tls_certfile else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def anchoring_key_value(self) -> str | None:
        """The anchoring account's hex key, if configured or rotated to."""
        if self.chain_private_key is not None:
            return self.chain_private_key.get_secret_value()
        return read_secrets(self.data_dir).get("anchoring_key")

    def admin_token_value(self) -> str:
        return self._secret("admin_token", self.admin_token)

    def log_key_seed(self) -> bytes:
        seed = base64.b64decode(self._secret("log_key", self.log_key))
        if len(seed) != 32:
            raise ConfigurationError("the log key must decode to a 32-byte Ed25519 seed")
        return seed

    def log_origin_value(self) -> str:
        if self.log_origin is not None:
            return self.log_origin
        return self._secret("log_origin", None)

    @property
    def log_db(self) -> Path:
        return self.data_dir / "log.sqlite"

    def _secret(self, name: str, value: SecretStr | None) -> str:
        if value is not None:
            return value.get_secret_value()
        stored = read_secrets(self.data_dir)
        if name not in stored:
            raise ConfigurationError(
                f"no {name} configured: run `credledger init` or set CREDLEDGER_{name.upper()}"
            )
        return stored[name]


def read_secrets(data_dir: Path) -> dict[str, str]:
    path = data_dir / SECRETS_FILE
    if not path.exists():
        return {}
    data: dict[str, str] = json.loads(path.read_text("utf-8"))
    return data


def _new_secrets() -> dict[str, str]:
    return {
        "master_key": base64.b64encode(secrets.token_bytes(32)).decode("ascii"),
        "admin_token": secrets.token_urlsafe(32),
        "log_key": base64.b64encode(secrets.token_bytes(32)).decode("ascii"),
        "log_origin": f"credledger.local/{secrets.token_hex(4)}",
    }


def create_secrets(data_dir: Path) -> tuple[Path, bool]:
    """Create ``secrets.json`` (master key, admin token, log signing key and origin), or add
    what an older one lacks; never replaces a value. Returns the path and whether it changed.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SECRETS_FILE
    existing = read_secrets(data_dir)
    content = {**_new_secrets(), **existing}
    if content == existing:
        return path, False
    _write_secrets(path, content)
    return path, True


def store_secret(data_dir: Path, name: str, value: str) -> None:
    """Set one value in ``secrets.json`` (owner-only, replaced atomically)."""
    path = data_dir / SECRETS_FILE
    _write_secrets(path, {**read_secrets(data_dir), name: value})


def _write_secrets(path: Path, content: dict[str, str]) -> None:
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(content, handle, indent=2)
        handle.write("\n")
    os.replace(temporary, path)
