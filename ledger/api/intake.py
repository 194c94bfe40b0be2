"""The intake gate: new issuer commands wait while the consumers trail the event store.

Every stored event must be entered in the log, have its document hashed and anchored, and be
applied to the read model. When issuers send faster than the consumers can follow, nothing
else slows them: a million-credential run stored its last credential at 678 s and anchored it
at 793 s (p99 issue→anchored 160 s). The gate refuses new issues, amendments and revocations
with 503 and ``Retry-After`` while the consumers' backlog is over the limit, so the backlog, and
with it the time from issue to anchor, stays bounded; the refused command is not stored and
may be sent again as it is. Waiting for the chain is not counted: a chain that confirms slowly
(or not at all, for a while) must not stop issuance, which it anchors when it can.

A command that finds the backlog over the limit is first held, for up to the gate's ``hold``,
while the stores are asked again every :data:`HOLD_STEP_SECONDS`: a peak of the backlog drains
in a fraction of a second, and a refused client waits the whole ``Retry-After`` second (the
header counts whole seconds), leaving the cores idle meanwhile. Only a backlog that outlasts the
hold is refused.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from anchors.anchoring import AnchorStore
from anchors.log import TransparencyLog
from ledger.application.service import Ledger
from ledger.domain.errors import IntakePaused
from ledger.operations.metrics import count_intake_held, count_intake_paused
from ledger.persistence.read_model import ReadModel

# The stores are asked at most this often, whatever the request rate: four small reads a
# quarter second, against a backlog that takes seconds to build.
SAMPLE_SECONDS = 0.25
# What a refused client is told to wait: the backlog drains by thousands a second.
RETRY_AFTER_SECONDS = 1
# How often a held command's gate asks the stores again.
HOLD_STEP_SECONDS = 0.05


def consumers_backlog(
    ledger: Ledger, log: TransparencyLog, anchors: AnchorStore, read_model: ReadModel
) -> int:
    """Stored events the consumers have yet to work through: those not in the log yet plus
    the log's entries whose documents are not hashed yet (the anchoring's share of the work),
    or the read model's lag, whichever is more."""
    stored = ledger.recorder.max_notification_id() or 0
    logged = log.store.state()[1]
    anchoring = max(0, stored - logged) + anchors.hashing_backlog()
    return max(anchoring, stored - read_model.position())


@dataclass
class IntakeGate:
    """Admits issuer commands while ``backlog()`` is at most ``limit`` (0: always); a command
    that finds it over waits up to ``hold`` seconds for it to fall back before it is refused."""

    limit: int
    backlog: Callable[[], int]
    hold: float = 0.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _sampled_at: float = field(default=float("-inf"), init=False)
    _last: int = field(default=0, init=False)

    def admit(self) -> None:
        """Return if a command may be stored now (at once, or once the consumers are back
        within the limit during the hold), else raise :class:`IntakePaused`."""
        if self.limit == 0 or self._sample(SAMPLE_SECONDS) <= self.limit:
            return
        # A write run on the event loop's own thread would stall every request of the
        # process while it waited: there it is refused at once.
        hold = 0.0 if _on_event_loop() else self.hold
        if hold > 0:
            count_intake_held()
        deadline = self.clock() + hold
        while (left := deadline - self.clock()) > 0:
            self.sleep(min(HOLD_STEP_SECONDS, left))
            # Half a step: a sample taken a step ago is stale even if the clock says a hair
            # less, and the held requests together still ask at most twice a step.
            if self._sample(HOLD_STEP_SECONDS / 2) <= self.limit:
                return
        count_intake_paused()
        raise IntakePaused(
            f"the consumers are {self._last} events behind the store (allowed "
            f"{self.limit}); nothing was written: send the command again shortly",
            retry_after=RETRY_AFTER_SECONDS,
            backlog_events=self._last,
            allowed_events=self.limit,
        )

    def over_limit(self) -> bool:
        """Whether the consumers are over the limit now (the stores asked as by
        :meth:`admit`): a write that would be held is sent to a thread, not run on the event
        loop, and its :meth:`admit` finds the same sample."""
        return self.limit != 0 and self._sample(SAMPLE_SECONDS) > self.limit

    def _sample(self, max_age: float) -> int:
        """The backlog, asked of the stores if the last answer is older than ``max_age``."""
        now = self.clock()
        if now - self._sampled_at >= max_age:
            # Marked before reading: requests arriving meanwhile use the last sample.
            self._sampled_at = now
            self._last = self.backlog()
        return self._last


def _on_event_loop() -> bool:
    """Whether this thread runs an asyncio event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
