"""Read-your-writes: a request that wrote waits until the read model shows the write.

Where the projectors announce the positions they reach (PostgreSQL's NOTIFY), one thread of
the process listens, and waiting requests wake as soon as their position is announced. Where
they do not, or while the listener cannot listen, every waiting request of a process shares
one poller of the read model's position, so the database sees one query per interval however
many requests wait (with PostgreSQL and several workers, a poll per request was most of the
database's work under load). A request may wait in a thread (``wait``) or as a task of the
event loop (``reached``), which the announcement wakes without a thread of its own. Where
the announcements come down a pipe (the read-model process's), the event loop itself can
watch it (:meth:`PositionWatch.watch_on`), so that a request's answer waits on no other
thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from ledger.persistence.read_model import PositionNotices

log = logging.getLogger("credledger.api")

# How long the listener waits for a notice before it waits again; and how long it pauses
# before listening again after its connection failed (the poller serves meanwhile).
_NOTICE_WAIT = 1.0
_RELISTEN_PAUSE = 1.0


@runtime_checkable
class LoopNotices(Protocol):
    """Notices an event loop can hear itself (the read-model process's pipe,
    :class:`ledger.runtime.consumer_process.PositionPipe`)."""

    def watch(
        self, loop: asyncio.AbstractEventLoop, heard: Callable[[list[int] | None], None]
    ) -> bool:
        """Have ``loop`` call ``heard`` with the positions announced, or with None when the
        announcer went away; whether it is there now."""
        ...


class PositionWatch:
    """Waits for a position to reach a target: told by ``notices`` where there are any,
    otherwise by one thread that polls it while anyone waits."""

    def __init__(
        self,
        position: Callable[[], int],
        interval: float = 0.01,
        notices: PositionNotices | None = None,
    ) -> None:
        self._position = position
        self._interval = interval
        self._notices = notices
        self._changed = threading.Condition()
        self._known = -1
        self._failure: Exception | None = None
        self._waiting = 0
        self._polling = False
        self._listening = False
        self._listener: threading.Thread | None = None
        self._closed = False
        # The event loop's waiting tasks: (target, their loop, the future they await).
        self._tasks: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        # The event loop that hears the notices itself (then no listener thread), and its thread.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0

    def wait(self, target: int, timeout: float) -> bool:
        """Whether the position reached ``target`` within ``timeout`` seconds. Re-raises what
        the poll raised (a database outage) rather than waiting it out."""
        deadline = time.monotonic() + timeout
        with self._changed:
            self._start_listening()
            self._waiting += 1
            try:
                while self._failure is None and self._known < target:
                    self._start_polling()
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._changed.wait(remaining)
                if self._failure is not None and self._known < target:
                    raise self._failure
                return True
            finally:
                self._waiting -= 1

    async def reached(self, target: int, timeout: float) -> bool:
        """As :meth:`wait`, awaited by a task of the running event loop instead of holding a
        thread: the thread that learns the position wakes the loop directly."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        waiter = (target, loop, future)
        with self._changed:
            if self._failure is None and self._known >= target:
                return True
            self._start_listening()
            self._waiting += 1
            self._tasks.append(waiter)
            self._start_polling()
        try:
            await asyncio.wait_for(future, timeout)
            return True
        except TimeoutError:
            return False
        finally:
            with self._changed:
                self._waiting -= 1
                if waiter in self._tasks:
                    self._tasks.remove(waiter)

    def watch_on(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Let ``loop`` (the running one, before any request waits) hear the notices itself
        instead of a listener thread, if they can be heard so; whether they can."""
        notices = self._notices
        if not isinstance(notices, LoopNotices):
            return False
        # What was announced before is not heard: read the position once, as the listener
        # does when it starts.
        position = self._position()
        with self._changed:
            if self._listener is not None or self._closed:
                return False
            self._loop, self._loop_thread = loop, threading.get_ident()
            if notices.watch(loop, self._heard):
                self._listening = True
                self._learn(position)
        return True

    def _heard(self, positions: list[int] | None) -> None:
        """On the watching loop: positions announced, or (None) the announcer went away until
        a new one announces (its first announcement follows its catch-up)."""
        with self._changed:
            if positions is None:
                if self._listening:
                    log.warning("read-your-writes: the read model's announcer went away; polling")
                self._not_listening()
                return
            self._listening = True
            for position in positions:
                self._learn(position)

    def _start_listening(self) -> None:
        """Start the listener if there are notices to hear and none listens; holds the lock."""
        if (
            self._notices is not None
            and self._listener is None
            and self._loop is None
            and not self._closed
        ):
            self._listener = threading.Thread(
                target=self._listen, name="read-your-writes-listener", daemon=True
            )
            self._listener.start()

    def _start_polling(self) -> None:
        """Start the poller if nothing tells the position and no poller runs; holds the
        lock."""
        if not self._listening and not self._polling:
            self._polling = True
            poller = threading.Thread(target=self._poll, name="read-your-writes")
            poller.daemon = True
            poller.start()

    def close(self) -> None:
        """Stop listening (waiting requests fall back to polling)."""
        with self._changed:
            self._closed = True

    def _learn(self, position: int, failure: Exception | None = None) -> None:
        """Record a reading (or why there is none) and wake the waiters; holds the lock."""
        if failure is None:
            changed = position > self._known or self._failure is not None
            self._known, self._failure = max(self._known, position), None
        else:
            changed = self._failure is None
            self._failure = failure
        if changed:
            self._changed.notify_all()
            self._wake_tasks()

    def _wake_tasks(self) -> None:
        """Settle the futures of waiting tasks whose position is reached, or that must hear
        of a failure; holds the lock."""
        waiting = []
        here = threading.get_ident()
        for waiter in self._tasks:
            target, loop, future = waiter
            if self._known >= target:
                failure = None
            elif self._failure is not None:
                failure = self._failure
            else:
                waiting.append(waiter)
                continue
            if loop is self._loop and here == self._loop_thread:
                _settle(future, failure)  # told on the task's own loop: no wake-up to send
            else:
                loop.call_soon_threadsafe(_settle, future, failure)
        self._tasks = waiting

    def _poll(self) -> None:
        while True:
            try:
                position, failure = self._position(), None
            except Exception as exc:
                position, failure = self._known, exc
            with self._changed:
                self._learn(position, failure)
                if self._waiting == 0 or (self._listening and failure is None):
                    self._polling = False
                    return
            time.sleep(self._interval)

    def _listen(self) -> None:
        """Listen for ever: read the position once each time listening (re)starts, as what
        was announced before is not heard; then take each announced position."""
        assert self._notices is not None
        while not self._closed:
            try:
                announced = self._notices.receive(0.0 if not self._listening else _NOTICE_WAIT)
                if not self._listening:
                    announced.append(self._position())
                with self._changed:
                    self._listening = True
                    for position in announced:
                        self._learn(position)
            except Exception as exc:
                with self._changed:
                    if self._listening:
                        log.warning("read-your-writes: not listening (%s); polling", exc)
                    self._not_listening()
                self._notices.close()
                time.sleep(_RELISTEN_PAUSE)
        with self._changed:
            self._not_listening()
        self._notices.close()

    def _not_listening(self) -> None:
        """The listener stopped: waiting threads start the poller themselves, waiting tasks
        have it started for them; holds the lock."""
        self._listening = False
        self._changed.notify_all()
        if self._tasks:
            self._start_polling()


def _settle(future: asyncio.Future[None], failure: Exception | None) -> None:
    """In the future's loop: its waiter's position was reached (or ``failure`` happened)."""
    if future.done():
        return
    if failure is None:
        future.set_result(None)
    else:
        future.set_exception(failure)
