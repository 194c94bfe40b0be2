"""SIGINT and SIGTERM as a stop event, set from a thread rather than from the handler.

A handler that set the event itself runs in the main thread, between any two bytecodes: if
the main thread was inside the event's own ``set`` (a consumers' process sets it when the
serving process's end of its pipe closes, at the moment the kernel sends it SIGTERM because
that process died), the handler waited for the lock its own thread held, for ever. The
handler here only writes a byte to a pipe; a thread reads it and sets the event.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType


def stop_on_signals(stop: threading.Event) -> None:
    """Set ``stop`` when the process gets SIGINT or SIGTERM (call from the main thread)."""
    received, notify = os.pipe()

    def handle(signum: int, frame: FrameType | None) -> None:
        os.write(notify, b"\0")

    def watch() -> None:
        os.read(received, 1)
        stop.set()

    threading.Thread(target=watch, name="stop-signals", daemon=True).start()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, handle)
