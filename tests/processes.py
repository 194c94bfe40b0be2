"""The processes a process started, read from /proc (Linux): what the tests of `serve`'s
consumers' processes look for."""

from __future__ import annotations

from pathlib import Path

CONSUMERS = "ledger.runtime.consumer_process"


def children(pid: int) -> dict[int, str]:
    """The processes whose parent is ``pid``, with their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid:
            found[int(entry.name)] = command
    return found


def consumers_of(pid: int, role: str | None = None) -> list[int]:
    """The consumers' processes ``pid`` started (of one ``role``: consumers, read-model)."""
    return [
        child
        for child, command in children(pid).items()
        if CONSUMERS in command and (role is None or command.split()[-1] == role)
    ]
