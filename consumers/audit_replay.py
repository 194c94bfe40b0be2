"""The auditor's read-model replay: the audited envelopes into a scratch read model, in the
audit's process or, for a long audit, in a process of its own."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import tempfile
import traceback
from collections.abc import Callable, Collection
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Protocol

from anchors.child_process import die_with_parent
from anchors.sqlite import read_through_map
from consumers.projector import replay_envelopes
from ledger.application.storage import open_read_model
from ledger.client import LedgerClient
from ledger.domain import json_text
from ledger.operations import heap
from ledger.persistence.read_model import DIGEST_TABLES, ReadModel, combined_digest
from ledger.persistence.sqlite import SQLiteReadModel
from ledger.settings import Settings

# Below this many entries, starting a process costs more than it saves.
WORTH_A_PROCESS = 50_000
# The tables the audit's own process digests while the replay's process digests the rest,
# once the replay is done: about half the work each at a million credentials.
AUDIT_DIGESTS = frozenset({"rm_credentials", "rm_documents"})


def _spawn(
    target: Callable[..., None], *args: Any, name: str, duplex: bool = True
) -> tuple[Connection, BaseProcess]:
    """A process of the audit's running ``target(its end of a pipe, *args, the audit's pid)``
    (it dies with the audit), and the audit's end of the pipe."""
    context = multiprocessing.get_context("spawn")
    mine, theirs = context.Pipe(duplex=duplex)
    process = context.Process(
        target=target, args=(theirs, *args, os.getpid()), name=name, daemon=True
    )
    process.start()
    theirs.close()
    return mine, process


def _stop(pipe: Connection, process: BaseProcess, wait: float) -> None:
    """Close the pipe and wait ``wait`` seconds for the process to end, then end it."""
    pipe.close()
    process.join(timeout=wait)
    if process.is_alive():
        process.terminate()
        process.join(timeout=5)


class Target(Protocol):
    """What a replay is compared with: the live read model's position and its digest there."""

    @property
    def position(self) -> int: ...

    def digest(self) -> str: ...


@dataclass(frozen=True)
class Taken:
    """A digest already taken: read directly, or published by the API."""

    position: int
    value: str

    def digest(self) -> str:
        return self.value


def local_target(live: ReadModel) -> Taken:
    """A read model read directly, at the position it has when the audit begins."""
    digest, position = live.digest()
    return Taken(position, digest)


def remote_target(client: LedgerClient) -> Taken:
    """The digest the API publishes when the audit begins."""
    published = client._call("GET", "/state/digest")
    return Taken(int(published["position"]), str(published["digest"]))


class LiveDigest:
    """The live read model's digest, taken in a process of its own while the audit runs (in
    one snapshot, as :func:`local_target`): its position is known once the snapshot is open,
    its digest only when the audit ends, and the rows are read meanwhile on whichever core is
    free (a million credentials' rows took the audit ~10 s before its first entry)."""

    def __init__(self, settings: Settings) -> None:
        self._pipe, self._process = _spawn(
            _digest_in_child, settings, name="audit-live-digest", duplex=False
        )
        self._position: int | None = None
        self._digest: str | None = None

    @property
    def position(self) -> int:
        if self._position is None:
            self._position = int(self._receive("position"))
        return self._position

    def digest(self) -> str:
        if self._digest is None:
            self.position  # noqa: B018 (the position comes first down the pipe)
            self._digest = str(self._receive("digest"))
            self.close()
        return self._digest

    def close(self) -> None:
        """Stop the process (it has finished, or the audit stopped early)."""
        _stop(self._pipe, self._process, wait=5)

    def _receive(self, wanted: str) -> int | str:
        try:
            kind, value = self._pipe.recv()
        except (EOFError, OSError):
            self._process.join(timeout=5)
            raise RuntimeError(
                f"the audit's live digest process stopped (exit code {self._process.exitcode})"
            ) from None
        if kind != wanted:
            raise RuntimeError(f"the audit's live digest process failed: {value}")
        result: int | str = value
        return result


def _digest_in_child(pipe: Connection, settings: Settings, parent: int) -> None:
    die_with_parent(parent=parent)
    read_through_map()

    def started(position: int) -> None:
        pipe.send(("position", position))
        # The digest is wanted only when the audit ends: the audit's own processes first.
        os.nice(10)

    try:
        live = open_read_model(settings)
        try:
            digest, _ = live.digest(at=started)
        finally:
            live.close()
        pipe.send(("digest", digest))
    except Exception:
        pipe.send(("failed", traceback.format_exc(limit=5)))


class ScratchReplay:
    """Replays envelopes up to the target's position into a scratch SQLite read model, kept
    at ``keep`` for the next incremental audit, or in a temporary directory."""

    def __init__(self, target: Target, keep: Path | None = None) -> None:
        self._directory = None if keep else tempfile.TemporaryDirectory()
        self.path = keep or Path(self._directory.name if self._directory else ".") / "replay.sqlite"
        # Without the secondary indexes: each row's entries in them, at random places (the
        # keys are UUIDs), were a third of the replay's time, and the digest reads none.
        self._scratch = SQLiteReadModel(
            self.path, durable=False, temporary=keep is None, indexed=False
        )
        # The replay is the model's only writer: status-list places are asked in memory (a
        # quarter of the replay's time went on reading them).
        self._scratch.keep_places()
        self._target = target

    def feed(self, envelopes: list[dict[str, Any]], entries: list[bytes] | None = None) -> None:
        """Replay ``envelopes`` (in this process they are already read: ``entries`` is not)."""
        done = self._scratch.position()
        last = self._target.position
        wanted = [e for e in envelopes if done < int(e["position"]) <= last]
        if wanted:
            replay_envelopes(self._scratch, wanted)

    def finish(self) -> None:
        """No more envelopes come (nothing to do in the audit's own process)."""

    def table_digests(self, tables: Collection[str]) -> dict[str, str]:
        """The replayed model's digests of the named tables."""
        return self._scratch.table_digests(tables)

    def digests(self) -> tuple[str, str]:
        try:
            return self._target.digest(), self._scratch.digest()[0]
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
    audit back if it falls too far). At the end the two processes digest the replayed model's
    tables in halves, at the same time."""

    def __init__(self, target: Target, keep: Path | None = None) -> None:
        self._pipe, self._process = _spawn(_replay_in_child, keep, name="audit-replay")
        self._target = target
        self._started = False
        self._finished = False

    def feed(self, envelopes: list[dict[str, Any]], entries: list[bytes]) -> None:
        # The entries, not the envelopes, cross: pickling bytes is a copy, pickling the
        # envelopes' dicts cost the audit a quarter of its time, and the replay's core reads
        # them again. Sent from the audit's own thread: a thread of its own to pickle and send
        # cost the audit more (in the interpreter's lock) than the pipe's waits it saved.
        try:
            self._start()
            self._pipe.send_bytes(pickle.dumps(entries, protocol=pickle.HIGHEST_PROTOCOL))
        except (BrokenPipeError, ConnectionResetError):
            raise RuntimeError(self._why_stopped()) from None

    def finish(self) -> None:
        """No more envelopes come: the process digests its half of the replayed tables while
        the audit checks the anchors."""
        if self._finished:
            return
        try:
            self._start()
            self._pipe.send_bytes(b"")
        except (BrokenPipeError, ConnectionResetError):
            raise RuntimeError(self._why_stopped()) from None
        self._finished = True

    def digests(self) -> tuple[str, str]:
        try:
            self.finish()
            path = self._answer()
            mine = SQLiteReadModel(Path(path), durable=False, indexed=False)
            try:
                tables = mine.table_digests(AUDIT_DIGESTS)
            finally:
                mine.close()
            tables.update(self._answer())
            return self._target.digest(), combined_digest(tables)
        except (BrokenPipeError, ConnectionResetError, EOFError):
            raise RuntimeError(self._why_stopped()) from None
        finally:
            self.close()

    def close(self) -> None:
        """Stop the process (it has finished, or the audit stopped early)."""
        _stop(self._pipe, self._process, wait=30)

    def _start(self) -> None:
        # The replay stops at the target's position, which a live digest learns as it starts.
        if not self._started:
            self._pipe.send(self._target.position)
            self._started = True

    def _answer(self) -> Any:
        kind, value = self._pipe.recv()
        if kind == "failed":
            raise RuntimeError(f"the audit's replay process failed: {value}")
        return value

    def _why_stopped(self) -> str:
        self._process.join(timeout=5)
        return f"the audit's replay process stopped (exit code {self._process.exitcode})"


def _replay_in_child(pipe: Connection, keep: Path | None, parent: int) -> None:
    die_with_parent(parent=parent)
    read_through_map()
    heap.settle()
    try:
        replay = ScratchReplay(Taken(int(pipe.recv()), ""), keep)
    except EOFError:
        return  # the audit stopped before its first batch
    try:
        while batch := pipe.recv_bytes():
            replay.feed([json_text.loads(entry) for entry in pickle.loads(batch)])
        # Every batch is committed: the audit opens the model and digests its half (once it
        # has checked the anchors) while this process digests the other.
        pipe.send(("replayed", str(replay.path)))
        pipe.send(("digests", replay.table_digests(set(DIGEST_TABLES) - AUDIT_DIGESTS)))
        pipe.recv_bytes()  # the model stays until the audit, having read its half, closes
    except EOFError:
        pass  # the audit closed the pipe: it stopped early, or it has the digests
    except Exception:
        pipe.send(("failed", traceback.format_exc(limit=5)))
    finally:
        replay.close()


def target_for(settings: Settings, live: ReadModel, entries: int) -> Taken | LiveDigest:
    """The live read model's digest for an audit of ``entries`` log entries: taken in a
    process of its own where that pays, else read now."""
    if entries >= WORTH_A_PROCESS and (os.cpu_count() or 1) > 1:
        return LiveDigest(settings)
    return local_target(live)


def replay_for(target: Target, keep: Path | None, entries: int) -> ScratchReplay | ReplayProcess:
    """The replay for an audit of ``entries`` log entries: in a process of its own where that
    pays (enough entries, and a second core), else in the audit's."""
    if entries >= WORTH_A_PROCESS and (os.cpu_count() or 1) > 1:
        return ReplayProcess(target, keep)
    return ScratchReplay(target, keep)
