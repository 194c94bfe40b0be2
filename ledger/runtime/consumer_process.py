"""The log, anchoring and witness consumers in a process of their own, kept running by ``serve``.

The serving process starts it with a pipe on its standard input and keeps the write end: a
byte down the pipe wakes the log consumer after a write (no polling delay), and the end of the
pipe (the serving process stopped, or died) stops it. It also asks the kernel for SIGTERM
when its parent dies. It exits non-zero when one of its consumers stopped, and the serving
process starts it again. Settings come from the environment, as for any ``credledger``
process; the serving process adds what only it knows (the URL of the Anvil node it runs).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from anchors.child_process import die_with_parent
from consumers.anchor_consumer import connect_chain
from ledger.operations import heap, logs, metrics
from ledger.settings import Settings

log = logging.getLogger("credledger.consumers")

NODE_ENV = "CREDLEDGER_CONSUMERS_NODE_URL"
PARENT_ENV = "CREDLEDGER_CONSUMERS_PARENT"
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


class ConsumerProcess:
    """Starts the consumers' process, wakes it after writes, restarts it when it exits
    (1 s, doubling, at most ``max_backoff``), and stops it."""

    def __init__(self, settings: Settings, node_url: str | None, max_backoff: float = 30.0) -> None:
        self._env = {**os.environ, **settings_environment(settings), PARENT_ENV: str(os.getpid())}
        if node_url is not None:
            self._env[NODE_ENV] = node_url
        self._max_backoff = max_backoff
        self._stopping = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(
            target=self._supervise, name="consumers-supervisor", daemon=True
        )
        self.restarts = 0

    def start(self) -> ConsumerProcess:
        self._process = self._spawn()
        self._thread.start()
        return self

    def _spawn(self) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", "ledger.runtime.consumer_process"],
            stdin=subprocess.PIPE,
            env=self._env,
            # Its own session: a Ctrl-C in the terminal reaches the serving process, which
            # then stops this one in order (after the API, before the chain node).
            start_new_session=True,
        )
        assert process.stdin is not None
        os.set_blocking(process.stdin.fileno(), False)
        log.info("consumers (log, anchoring, witnesses) in process %d", process.pid)
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
                "the consumers' process exited with code %s; restarting it in %.0f s",
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
    """The consumers' process (started by ``serve``; not a command of its own)."""
    from ledger.runtime.embedded import EmbeddedLedger

    parent = os.environ.get(PARENT_ENV)
    die_with_parent(parent=int(parent) if parent else None)
    settings = Settings()
    logs.configure(settings.log_format, settings.log_level)
    shared = os.environ.get(metrics.MULTIPROCESS_ENV)
    if shared and settings.metrics:
        metrics.use_directory(Path(shared), wipe=False)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    chain = connect_chain(settings, node_url=os.environ.get(NODE_ENV))
    code = 0
    with EmbeddedLedger(settings, chain=chain, project=False) as embedded:
        heap.settle()
        threading.Thread(
            target=_follow_parent, args=(embedded.wake_log, stop), name="pipe", daemon=True
        ).start()
        while not stop.wait(1.0):
            if down := embedded.consumers_down():
                log.error("consumers stopped: %s; exiting to be restarted", ", ".join(down))
                code = 1
                break
    sys.exit(code)


if __name__ == "__main__":
    main()
