"""The consumers in processes of their own, kept running by ``serve``: the read model's
projector in one (``read-model``), the log, anchoring and witness consumers in another
(``consumers``).

The serving process starts each with a pipe on its standard input and keeps the write end: a
byte down the pipe wakes the process after a write (no polling delay), and the end of the
pipe (the serving process stopped, or died) stops it. The read-model process gets a second pipe
running back: its projector writes each position it reaches down it, and the serving
process's requests that wait to read their writes wake on it (:class:`PositionPipe`). Each
process also asks the kernel for SIGTERM when its parent dies, and exits non-zero when one of
its consumers stopped; the serving process then starts it again. Settings come from the
environment, as for any ``credledger`` process; the serving process adds what only it knows
(the URL of the Anvil node it runs, the positions pipe).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from anchors.child_process import die_with_parent
from ledger.operations import heap, logs, metrics
from ledger.runtime.stop_signals import stop_on_signals
from ledger.settings import Settings

log = logging.getLogger("credledger.consumers")

NODE_ENV = "CREDLEDGER_CONSUMERS_NODE_URL"
PARENT_ENV = "CREDLEDGER_CONSUMERS_PARENT"
POSITIONS_ENV = "CREDLEDGER_CONSUMERS_POSITIONS_FD"
# What a process started here runs.
CONSUMERS = "consumers"
READ_MODEL = "read-model"
# A process that ran this long before it exited was healthy: restart it without delay growth.
HEALTHY_AFTER_SECONDS = 60.0


def settings_environment(settings: Settings) -> dict[str, str]:
    """What flags set in ``settings``, as the environment another process reads them from."""
    env = {
        "CREDLEDGER_DATA_DIR": str(settings.data_dir),
        "CREDLEDGER_HOST": settings.host,
        "CREDLEDGER_PORT": str(settings.port),
        # Documents name the URL verifiers reach the ledger at: the same in every process.
        "CREDLEDGER_PUBLIC_URL": settings.public_url_value(),
    }
    if settings.tls_certfile is not None:
        env["CREDLEDGER_TLS_CERTFILE"] = str(settings.tls_certfile)
    if settings.tls_keyfile is not None:
        env["CREDLEDGER_TLS_KEYFILE"] = str(settings.tls_keyfile)
    return env


class PositionPipe:
    """The positions the read-model process announces, read from its pipe
    (:class:`ledger.persistence.read_model.PositionNotices`). Each process started gets a
    pipe of its own; while none is open (a restart), ``receive`` raises, and requests waiting
    to read their writes poll the read model instead.

    Read by a thread (``receive``), or, once :meth:`watch` is called, by an event loop: then
    the loop alone reads, closes and replaces the pipe's end, so that it never watches a file
    descriptor another thread closed (and the kernel gave to something else)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._read: int | None = None
        self._pending = b""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._heard: Callable[[list[int] | None], None] = lambda _: None

    def open(self) -> int:
        """A new pipe for the process about to start; returns the end it writes to."""
        read, write = os.pipe()
        self._on_loop(lambda: self._replace(read))
        return write

    def receive(self, timeout: float) -> list[int]:
        with self._lock:
            read = self._read
        if read is None:
            raise ConnectionError("the read-model process is not running")
        ready, _, _ = select.select([read], [], [], timeout)
        if not ready:
            return []
        data = os.read(read, 65536)
        if not data:
            raise ConnectionError("the read-model process stopped")
        return self._positions(data)

    def watch(
        self, loop: asyncio.AbstractEventLoop, heard: Callable[[list[int] | None], None]
    ) -> bool:
        """From now on ``loop`` reads the pipe, calling ``heard`` (on the loop) with each read's
        positions, or with None when the process's end closed; the pipe of a restarted
        process is handed to the loop. Called on ``loop``; whether a pipe is open now."""
        with self._lock:
            self._loop, self._heard = loop, heard
            if self._read is not None:
                loop.add_reader(self._read, self._readable, self._read)
            return self._read is not None

    def first(self, timeout: float) -> bool:
        """Wait until the process announces a position (it has started and caught up);
        whether it did within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                if self.receive(remaining):
                    return True
            except OSError:
                time.sleep(min(0.1, max(remaining, 0)))
        return False

    def close(self) -> None:
        """Nothing to do: the pipe belongs to the process; a new one comes with a restart."""

    def shut(self) -> None:
        """Close the reading end (the process is stopped for good)."""
        self._on_loop(lambda: self._replace(None))

    def _on_loop(self, change: Callable[[], None]) -> None:
        """Make ``change`` to the reading end where it is safe: on the watching loop's thread
        (now, if this is it), or here if no loop watches or the loop has closed."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is not loop:
                with contextlib.suppress(RuntimeError):  # closed since: change it here
                    loop.call_soon_threadsafe(change)
                    return
        change()

    def _replace(self, read: int | None) -> None:
        with self._lock:
            loop, old = self._loop, self._read
            if old is not None:
                if loop is not None and not loop.is_closed():
                    loop.remove_reader(old)
                os.close(old)
            self._read, self._pending = read, b""
            if read is not None and loop is not None and not loop.is_closed():
                loop.add_reader(read, self._readable, read)

    def _readable(self, read: int) -> None:
        """On the watching loop: take what the process wrote, or its end's closing."""
        try:
            data = os.read(read, 65536)
        except BlockingIOError:
            return
        if data:
            self._heard(self._positions(data))
            return
        with self._lock:
            assert self._loop is not None
            self._loop.remove_reader(read)
            if self._read == read:
                os.close(read)
                self._read, self._pending = None, b""
        self._heard(None)

    def _positions(self, data: bytes) -> list[int]:
        *lines, self._pending = (self._pending + data).split(b"\n")
        return [int(line) for line in lines]


_DESCRIBED = {
    CONSUMERS: "consumers (log, anchoring, witnesses)",
    READ_MODEL: "the read model's projector",
}


class ConsumerProcess:
    """Starts a consumers' process (``role``: :data:`CONSUMERS` or :data:`READ_MODEL`), wakes
    it after writes, hears the read-model positions it reaches (:attr:`positions`, for the
    read-model process), restarts it when it exits (1 s, doubling, at most ``max_backoff``),
    and stops it."""

    def __init__(
        self,
        settings: Settings,
        node_url: str | None,
        role: str = CONSUMERS,
        max_backoff: float = 30.0,
    ) -> None:
        self.role = role
        self._env = {**os.environ, **settings_environment(settings), PARENT_ENV: str(os.getpid())}
        if node_url is not None:
            self._env[NODE_ENV] = node_url
        self._max_backoff = max_backoff
        self._stopping = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(
            target=self._supervise, name="consumers-supervisor", daemon=True
        )
        self.positions = PositionPipe() if role == READ_MODEL else None
        self.restarts = 0

    def start(self) -> ConsumerProcess:
        self._process = self._spawn()
        self._thread.start()
        return self

    def _spawn(self) -> subprocess.Popen[bytes]:
        positions = self.positions.open() if self.positions is not None else None
        extra = {POSITIONS_ENV: str(positions)} if positions is not None else {}
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "ledger.runtime.consumer_process", self.role],
                stdin=subprocess.PIPE,
                env={**self._env, **extra},
                pass_fds=(positions,) if positions is not None else (),
                # Its own session: a Ctrl-C in the terminal reaches the serving process, which
                # then stops this one in order (after the API, before the chain node).
                start_new_session=True,
            )
        finally:
            # The child holds its own copy: the pipe ends when the child does.
            if positions is not None:
                os.close(positions)
        assert process.stdin is not None
        os.set_blocking(process.stdin.fileno(), False)
        log.info("%s in process %d", _DESCRIBED[self.role], process.pid)
        return process

    def _supervise(self) -> None:
        backoff = 1.0
        while self._process is not None:
            started = time.monotonic()
            code = self._process.wait()
            if self._stopping.is_set():
                return
            if time.monotonic() - started > HEALTHY_AFTER_SECONDS:
                backoff = 1.0
            log.error(
                "the %s process exited with code %s; restarting it in %.0f s",
                self.role,
                code,
                backoff,
            )
            if self._stopping.wait(backoff):
                return
            backoff = min(backoff * 2, self._max_backoff)
            self._process = self._spawn()
            self.restarts += 1

    def wake(self) -> None:
        """Tell the consumers there is something new (never blocks; a full pipe wakes too)."""
        process = self._process
        if process is None or process.stdin is None:
            return
        # A full pipe: already woken. Closed or gone: it is being restarted or stopped.
        with contextlib.suppress(OSError, ValueError):
            os.write(process.stdin.fileno(), b"\n")

    def running(self) -> bool:
        """Whether the consumers' process runs now."""
        return self._process is not None and self._process.poll() is None

    def stop(self, timeout: float = 30.0) -> None:
        """End the pipe (the process finishes its step and exits), then wait for it."""
        self._stopping.set()
        process = self._process
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log.error("the consumers' process did not stop in %.0f s; killing it", timeout)
            process.kill()
            process.wait()
        self._thread.join(timeout=5)
        if self.positions is not None:
            self.positions.shut()


def _announcer(fd: int) -> Callable[[int], None]:
    """Writes each position reached down the serving process's pipe, never blocking: a full
    pipe drops it (the projector says its position again at its next interval)."""
    os.set_blocking(fd, False)

    def announce(position: int) -> None:
        with contextlib.suppress(BlockingIOError, BrokenPipeError):
            os.write(fd, b"%d\n" % position)

    return announce


def _follow_parent(wake: Callable[[], None], stop: threading.Event) -> None:
    """Wake on every byte from the serving process; stop when its end of the pipe closes."""
    while True:
        try:
            data = os.read(sys.stdin.fileno(), 4096)
        except OSError:
            data = b""
        if not data:
            stop.set()
            return
        wake()


def main() -> None:
    """A consumers' process (started by ``serve``; not a command of its own): its role is
    the one argument."""
    from ledger.runtime.read_model_keeper import PipeWake, keep_read_model

    role = sys.argv[1] if len(sys.argv) > 1 else CONSUMERS
    parent = os.environ.get(PARENT_ENV)
    die_with_parent(parent=int(parent) if parent else None)
    settings = Settings()
    logs.configure(settings.log_format, settings.log_level)
    shared = os.environ.get(metrics.MULTIPROCESS_ENV)
    if shared and settings.metrics:
        metrics.use_directory(Path(shared), wipe=False)
    stop = threading.Event()
    stop_on_signals(stop)
    if role == READ_MODEL:
        positions = os.environ.get(POSITIONS_ENV)
        announce = _announcer(int(positions)) if positions else lambda _: None
        keep_read_model(settings, PipeWake(sys.stdin.fileno(), stop), stop, announce)
        sys.exit(0)
    # Only this role signs anchors and runs the log: the read-model process (on the path of
    # every write's answer, and of a start) loads neither the chain client nor the API, whose
    # imports were most of its start.
    from consumers.anchor_consumer import connect_chain
    from ledger.runtime.embedded import EmbeddedLedger

    chain = connect_chain(settings, node_url=os.environ.get(NODE_ENV))
    code = 0
    with EmbeddedLedger(settings, chain=chain, project=False) as embedded:
        heap.settle()
        threading.Thread(
            target=_follow_parent, args=(embedded.wake_consumers, stop), name="pipe", daemon=True
        ).start()
        while not stop.wait(1.0):
            if down := embedded.consumers_down():
                log.error("consumers stopped: %s; exiting to be restarted", ", ".join(down))
                code = 1
                break
    sys.exit(code)


if __name__ == "__main__":
    main()
