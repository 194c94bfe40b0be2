"""The ledger's Prometheus metrics, counted where things happen.

Counters and histograms live in the process that does the work (API workers count requests
and commands, the consumers count anchors and cosignatures). With several processes
(``serve --workers N``), each writes them to a shared directory (prometheus-client's
multiprocess mode) and ``/metrics`` in any worker sums them; :func:`use_directory` turns that
on, before the first metric is made. What the stores already know (sizes, positions, ages) is
read when Prometheus scrapes, by :class:`ledger.operations.ledger_state.LedgerState`.
"""

from __future__ import annotations

import functools
import os
import shutil
from collections import Counter as Tally
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.registry import Collector

from ledger.domain.errors import LedgerError

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# From a millisecond read to a slow bulk request.
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# From a development chain (a second) to a public one with a slow batch (an hour and more).
ANCHORED_BUCKETS = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 21600)


@dataclass(frozen=True)
class Metrics:
    """Every metric the ledger's processes count."""

    requests: Counter
    request_seconds: Histogram
    commands: Counter
    events_stored: Counter
    anchor_transactions: Counter
    event_to_anchored: Histogram
    cosignatures: Counter
    last_cosignature: Gauge
    document_queue: Gauge
    intake_paused: Counter
    intake_held: Counter


def _made() -> Metrics:
    # A `_created` series beside every counter doubles what Prometheus stores for nothing.
    disable_created_metrics()  # type: ignore[no-untyped-call]
    return Metrics(
        requests=Counter(
            "credledger_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=None,
        ),
        request_seconds=Histogram(
            "credledger_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method.",
            ["route", "method"],
            buckets=REQUEST_BUCKETS,
            registry=None,
        ),
        commands=Counter(
            "credledger_commands",
            "Commands decided, by type and outcome (accepted, replayed, refused) and, when "
            "refused, the problem code.",
            ["type", "outcome", "problem"],
            registry=None,
        ),
        events_stored=Counter(
            "credledger_events_stored",
            "Events written to the event store, by type.",
            ["type"],
            registry=None,
        ),
        anchor_transactions=Counter(
            "credledger_anchor_transactions",
            "Anchoring steps: sent (a batch's first transaction), replaced (re-sent with a "
            "higher fee), confirmed, orphaned (its block re-organised away).",
            ["outcome"],
            registry=None,
        ),
        event_to_anchored=Histogram(
            "credledger_event_to_anchored_seconds",
            "Time from an event being stored to its batch's anchor being recorded.",
            [],
            buckets=ANCHORED_BUCKETS,
            registry=None,
        ),
        cosignatures=Counter(
            "credledger_witness_cosignatures",
            "Cosignatures received from C2SP witnesses, by witness name.",
            ["witness"],
            registry=None,
        ),
        last_cosignature=Gauge(
            "credledger_witness_last_cosignature_timestamp_seconds",
            "When each C2SP witness last cosigned a checkpoint (Unix time).",
            ["witness"],
            multiprocess_mode="max",
            registry=None,
        ),
        document_queue=Gauge(
            "credledger_document_hash_queue",
            "Credential documents waiting to be hashed for the next anchor.",
            [],
            multiprocess_mode="max",
            registry=None,
        ),
        intake_paused=Counter(
            "credledger_intake_paused",
            "Issuer requests refused (503 intake-paused) while the consumers trailed the event "
            "store by more than the intake allows.",
            [],
            registry=None,
        ),
        intake_held=Counter(
            "credledger_intake_held",
            "Issuer requests held while the consumers trailed the event store by more than the "
            "intake allows, then admitted or (after the hold) refused.",
            [],
            registry=None,
        ),
    )


_metrics: Metrics | None = None
_enabled = True


def enable(on: bool) -> None:
    """Count in this process or not (``CREDLEDGER_METRICS``); off, nothing is counted."""
    global _enabled
    _enabled = on


def enabled() -> bool:
    """Whether this process counts."""
    return _enabled


def metrics() -> Metrics:
    """The metrics of this process (made on first use, after :func:`use_directory`)."""
    global _metrics
    if _metrics is None:
        _metrics = _made()
    return _metrics


def use_directory(directory: Path, *, wipe: bool = True) -> None:
    """Share metrics through ``directory`` with the other processes of this deployment.

    ``wipe`` empties it first (files left by a previous run would be summed in); the process
    that starts the deployment does. Worker processes started after this inherit the setting
    through the environment.
    """
    global _metrics
    if wipe and directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROCESS_ENV] = str(directory)
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
    _metrics = None


def exposition(collectors: Iterable[Collector]) -> bytes:
    """This deployment's metrics in Prometheus' text format, with ``collectors`` read now."""
    registry = CollectorRegistry(auto_describe=False)
    if MULTIPROCESS_ENV in os.environ:
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        ProcessCollector(registry=registry)
        counted = metrics()
        for metric in (
            counted.requests,
            counted.request_seconds,
            counted.commands,
            counted.events_stored,
            counted.anchor_transactions,
            counted.event_to_anchored,
            counted.cosignatures,
            counted.last_cosignature,
            counted.document_queue,
            counted.intake_paused,
            counted.intake_held,
        ):
            registry.register(metric)
    for collector in collectors:
        registry.register(collector)
    return generate_latest(registry)


P = ParamSpec("P")
R = TypeVar("R")


def counted_command(command_type: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Count each decision of a command method: accepted, replayed, or refused with its code."""

    def decorate(decide: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(decide)
        def counting(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                result = decide(*args, **kwargs)
            except LedgerError as exc:
                count_command(command_type, exc)
                raise
            count_command(command_type, result)
            return result

        return counting

    return decorate


def count_command(command_type: str, outcome: Any) -> None:
    """Count one decision; ``outcome`` is the result or the :class:`LedgerError` refusal."""
    count_commands(command_type, (outcome,))


def _decision(outcome: Any) -> tuple[str, str]:
    if isinstance(outcome, LedgerError):
        return "refused", outcome.code
    if getattr(outcome, "replayed", False):
        return "replayed", ""
    return "accepted", ""


def count_commands(command_type: str, outcomes: Iterable[Any]) -> None:
    """Count many decisions of one command type (a bulk request's): each counter is
    incremented once, by its share, as each increment writes to a shared file."""
    if not _enabled:
        return
    commands = metrics().commands
    for (decision, code), n in Tally(_decision(o) for o in outcomes).items():
        commands.labels(command_type, decision, code).inc(n)


def count_anchor(outcome: str) -> None:
    """Count one anchoring step: sent, replaced, confirmed or orphaned."""
    if _enabled:
        metrics().anchor_transactions.labels(outcome).inc()


def count_intake_paused() -> None:
    """Count one issuer request refused because the intake was paused."""
    if _enabled:
        metrics().intake_paused.inc()


def count_intake_held() -> None:
    """Count one issuer request held while the intake waited for the consumers."""
    if _enabled:
        metrics().intake_held.inc()


def witness_name(key: str) -> str:
    """A witness as a metric label: a C2SP key's name, or the start of a BLS public key."""
    if "+" in key:
        return key.split("+", 1)[0]
    return f"bls:{key[:16]}"


def count_cosignature(witness: str) -> None:
    """Count a cosignature received from ``witness`` (its public name), and when."""
    if _enabled:
        metrics().cosignatures.labels(witness).inc()
        metrics().last_cosignature.labels(witness).set_to_current_time()


def count_events(event_types: Iterable[str]) -> None:
    """Count events just written to the event store, by type."""
    if not _enabled:
        return
    stored = metrics().events_stored
    for event_type, n in Tally(event_types).items():
        stored.labels(event_type).inc(n)
