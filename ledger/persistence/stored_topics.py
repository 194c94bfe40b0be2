"""Topics of stored events: every name an event class was ever stored under stays readable.

A stored event names its class by topic: module path and qualified name. The aggregates were
written as ``ledger.domain:<Class>`` until the package was regrouped and they moved to
``ledger.domain.aggregates``. What the store holds is never rewritten (it is anchored), so each
former topic is registered to its class, and a query by topic asks for every name of a class.
"""

from __future__ import annotations

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic, register_topic

from ledger.domain.aggregates import (
    AnchoringKeys,
    BatchAnchor,
    CommandReceipt,
    Credential,
    Issuer,
)

FORMER_MODULE = "ledger.domain"
"""Where the aggregates were defined when the first histories were written."""

_AGGREGATES: tuple[type[Aggregate], ...] = (
    Issuer,
    Credential,
    CommandReceipt,
    BatchAnchor,
    AnchoringKeys,
)


def _stored_classes() -> list[type]:
    """Every aggregate and the events nested in it: the classes a stored topic can name."""
    classes: list[type] = []
    for aggregate in _AGGREGATES:
        classes.append(aggregate)
        for value in vars(aggregate).values():
            if isinstance(value, type) and issubclass(value, Aggregate.Event):
                classes.append(value)
    return classes


def former_topic(cls: type) -> str:
    """The topic ``cls`` was stored under before the aggregates moved."""
    return f"{FORMER_MODULE}:{cls.__qualname__}"


def topics_of(*classes: type) -> tuple[str, ...]:
    """Every topic an event of ``classes`` may be stored under: today's and the former one."""
    return tuple(topic for cls in classes for topic in (get_topic(cls), former_topic(cls)))


def register_former_topics() -> None:
    """Make every former topic resolve to its class (idempotent)."""
    for cls in _stored_classes():
        register_topic(former_topic(cls), cls)
