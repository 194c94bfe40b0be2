"""Child processes that end with the process that started them.

The ledger starts helpers (an Anvil node, document-hashing workers). If the ledger is killed
with SIGKILL it cannot stop them, so each asks the kernel to signal it when its parent dies.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent(signum: int = signal.SIGTERM, parent: int | None = None) -> None:
    """In a child process: be sent ``signum`` when the parent dies (Linux; elsewhere nothing).

    ``parent`` is the pid the child was started by, where this runs late (a spawned worker
    runs it only once it has imported everything): if the parent died before, the child has
    been adopted by another process already, and it exits now.
    """
    if not sys.platform.startswith("linux"):
        return
    expected = os.getppid() if parent is None else parent
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signum))
    if os.getppid() != expected:
        os._exit(1)
