"""The auditor's read-model replay: the audited envelopes into a scratch read model, in the
audit's process or, for a long audit, in a process of its own."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import tempfile
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from anchors.child_process import die_with_parent
from consumers.projector import replay_envelopes
from ledger.client import LedgerClient
from ledger.domain import json_text
from ledger.operations import heap
from ledger.persistence.read_model import ReadModel
from ledger.persistence.sqlite import SQLiteReadModel

# What a replay is compared with: the live read model's (position, digest).
Target = tuple[int, str]
# Below this many entries, starting a process costs more than it saves.
WORTH_A_PROCESS = 50_000


def local_target(live: ReadModel) -> Target:
    """A read model read directly, at the position it has when the audit begins."""
    digest, position = live.digest()
    return position, digest


def remote_target(client: LedgerClient) -> Target:
    """The digest the API publishes when the audit begins."""
    published = client._call("GET", "/state/digest")
    return int(published["position"]), str(published["digest"])


class ScratchReplay:
    """Replays envelopes up to the target's position into a scratch SQLite read model, kept
    at ``keep`` for the next incremental audit, or in a temporary directory."""

    def __init__(self, target: Target, keep: Path | None = None) -> None:
        self._directory = None if keep else tempfile.TemporaryDirectory()
        path = keep or Path(self._directory.name if self._directory else ".") / "replay.sqlite"
        self._scratch = SQLiteReadModel(path, durable=False, temporary=keep is None)
        self._position, self._live = target

    def feed(self, envelopes: list[dict[str, Any]], entries: list[bytes] | None = None) -> None:
        """Replay ``envelopes`` (in this process they are already read: ``entries`` is not)."""
        done = self._scratch.position()
        wanted = [e for e in envelopes if done < int(e["position"]) <= self._position]
        if wanted:
            replay_envelopes(self._scratch, wanted)

    def digests(self) -> tuple[str, str]:
        try:
            return self._live, self._scratch.digest()[0]
        finally:
            self.close()

    def close(self) -> None:
        """Drop the scratch model, unless it is kept."""
        if self._directory is not None:
            self._directory.cleanup()
            self._directory = None


class ReplayProcess:
    """A :class:`ScratchReplay` in a process of its own, on the other core: each batch the
    audit checked is handed over as it is fed (the replay follows behind, the pipe holding the
    audit back if it falls too far), and the digests wait for the replay to finish."""

    def __init__(self, target: Target, keep: Path | None = None) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(
            target=_replay_in_child,
            args=(child, target, keep, os.getpid()),
            name="audit-replay",
            daemon=True,
        )
        self._process.start()
        child.close()

    def feed(self, envelopes: list[dict[str, Any]], entries: list[bytes]) -> None:
        # The entries, not the envelopes, cross: pickling bytes is a copy, pickling the
        # envelopes' dicts cost the audit a quarter of its time, and the replay's core reads
        # them again. Sent from the audit's own thread: a thread of its own to pickle and send
        # cost the audit more (in the interpreter's lock) than the pipe's waits it saved.
        try:
            self._pipe.send_bytes(pickle.dumps(entries, protocol=pickle.HIGHEST_PROTOCOL))
        except (BrokenPipeError, ConnectionResetError):
            raise RuntimeError(self._why_stopped()) from None

    def digests(self) -> tuple[str, str]:
        try:
            self._pipe.send_bytes(b"")
            answer = self._pipe.recv()
        except (BrokenPipeError, ConnectionResetError, EOFError):
            raise RuntimeError(self._why_stopped()) from None
        finally:
            self.close()
        if isinstance(answer, str):
            raise RuntimeError(f"the audit's replay process failed: {answer}")
        live, replayed = answer
        return str(live), str(replayed)

    def close(self) -> None:
        """Stop the process (it has finished, or the audit stopped early)."""
        self._pipe.close()
        self._process.join(timeout=30)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=5)

    def _why_stopped(self) -> str:
        self._process.join(timeout=5)
        return f"the audit's replay process stopped (exit code {self._process.exitcode})"


def _replay_in_child(pipe: Connection, target: Target, keep: Path | None, parent: int) -> None:
    die_with_parent(parent=parent)
    heap.settle()
    replay = ScratchReplay(target, keep)
    try:
        while batch := pipe.recv_bytes():
            replay.feed([json_text.loads(entry) for entry in pickle.loads(batch)])
        pipe.send(replay.digests())
    except EOFError:
        replay.close()  # the audit stopped early: nothing to answer
    except Exception:
        pipe.send(traceback.format_exc(limit=5))


def replay_for(target: Target, keep: Path | None, entries: int) -> ScratchReplay | ReplayProcess:
    """The replay for an audit of ``entries`` log entries: in a process of its own where that
    pays (enough entries, and a second core), else in the audit's."""
    if entries >= WORTH_A_PROCESS and (os.cpu_count() or 1) > 1:
        return ReplayProcess(target, keep)
    return ScratchReplay(target, keep)


class LocalReplay(ScratchReplay):
    """Compared with a read model read directly, at the position it had when the audit began."""

    def __init__(self, live: ReadModel, keep: Path | None = None) -> None:
        super().__init__(local_target(live), keep)


class RemoteReplay(ScratchReplay):
    """Compared with the digest the API published when the audit began."""

    def __init__(self, client: LedgerClient, keep: Path | None = None) -> None:
        super().__init__(remote_target(client), keep)
