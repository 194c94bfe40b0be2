"""Document leaves prepared ahead of their batch's close.

Building and hashing a credential document (its RDF dataset, RDFC-1.0) is the dearest step
of anchoring. Done at batch close, a batch of 10,000 held its anchor back by seconds, in the
same process and under the same interpreter lock as the other consumers. Here documents are
built and hashed while their batch is still filling, in a separate process (it is sent what
each is built from, not the document), and batch close takes what is ready. What a batch
anchors does not change: the same documents in the same order, and none for a learner erased
before the batch is opened.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from anchors.child_process import die_with_parent
from anchors.jsonld import CanonicalizationError
from anchors.log import TransparencyLog
from ledger.application.service import Ledger
from ledger.formats.blockcerts.anchor_batches import (
    DocumentRecipe,
    DocumentSource,
    document_sources,
    place_documents,
)
from ledger.formats.blockcerts.document_quads import document_hash
from ledger.operations import heap

log = logging.getLogger("credledger.anchoring")


def document_hashes(recipes: list[DocumentRecipe]) -> list[bytes]:
    """The Blockcerts hash of each recipe's document, in order (a hashing process's task: it
    builds the documents too)."""
    return [document_hash(recipe.document()) for recipe in recipes]


def _hashing_process_started(parent: int) -> None:
    die_with_parent(signal.SIGKILL, parent)
    heap.settle()


# How many log entries past the last anchored batch are prepared at most: while the chain is
# out, the log keeps growing, and prepared documents are held in memory (a few kB each).
AHEAD_LIMIT = 5_000
# Documents sent to a hashing process at once: one task, one future and one message each
# cost more than hashing a document.
CHUNK = 50


class DocumentLeaves:
    """The document leaves of the log's entries from a start index on, hashed ahead.

    ``processes`` hashing processes (0: hash in the calling thread, as tests and small
    deployments may prefer).
    """

    def __init__(
        self, ledger: Ledger, log_: TransparencyLog, public_url: str, processes: int = 0
    ) -> None:
        self.ledger = ledger
        self.log = log_
        self.public_url = public_url
        self._processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._start: int | None = None  # the log index the prepared documents start from
        self._through = 0  # entries before this index are prepared
        # (log index, source, the future of its chunk's hashes, its place in the chunk)
        self._prepared: list[tuple[int, DocumentSource, Future[list[bytes]], int]] = []
        # The vault's count of erasures before the oldest prepared source was read (see take;
        # None before any was).
        self._erasures_before: int | None = None

    def ahead(self, start: int, end: int, most: int | None = None) -> None:
        """Prepare the documents of entries ``start`` to ``end`` not prepared yet (at most
        :data:`AHEAD_LIMIT` entries past ``start``, and at most ``most`` of them now)."""
        through = self._through if self._start == start else start
        limit = start + AHEAD_LIMIT if most is None else min(start + AHEAD_LIMIT, through + most)
        self._prepare(start, min(end, limit))

    def take(self, start: int, end: int) -> tuple[list[bytes], list[dict[str, Any]]]:
        """The leaves of the batch of entries ``start`` to ``end``, and what each leaf is."""
        self._prepare(start, end)
        batch = [item[1:] for item in self._prepared if item[0] < end]
        self._prepared = [item for item in self._prepared if item[0] >= end]
        self._start = end
        # Erased since it was prepared: the batch gets no leaf for it. The vault is asked
        # which it still holds only if its count of erasures moved since the sources were read.
        before = self._erasures_before
        kept = batch
        if before is None or self.ledger.vault.erasures() != before:
            held = self.ledger.vault.held([source.commitment for source, _, _ in batch])
            kept = [item for item in batch if item[0].commitment in held]
        return place_documents([s for s, _, _ in kept], [self._result(*item) for item in kept])

    def waiting(self) -> int:
        """Documents prepared whose hash is not ready yet."""
        return sum(1 for _, _, hashes, _ in self._prepared if not hashes.done())

    def behind(self, size: int) -> int:
        """How many of the log's first ``size`` entries wait for their documents to be
        hashed, the hashing being what holds them: none once every entry it may prepare now
        is hashed, however many more wait past :data:`AHEAD_LIMIT` for the chain to confirm
        the anchor before them."""
        if self._start is None:
            return 0
        ready = self._through
        for index, _, hashes, _ in self._prepared:
            if not hashes.done():
                ready = index
                break
        if ready >= min(size, self._start + AHEAD_LIMIT):
            return 0
        return size - ready

    def _prepare(self, start: int, end: int) -> None:
        if self._start != start:
            self._start, self._through, self._prepared = start, start, []
        if end <= self._through:
            return
        if not self._prepared:
            # Read before the sources: a count that only grows, so the one read before the
            # oldest prepared source still tells of every erasure since any was read.
            self._erasures_before = self.ledger.vault.erasures()
        positions = self.log.store.positions(self._through, end)
        sources = document_sources(self.ledger, positions, self.public_url)
        for first in range(0, len(sources), CHUNK):
            chunk = sources[first : first + CHUNK]
            hashes = self._hash([source.recipe for source in chunk])
            self._prepared += [
                (self._through + source.entry, source, hashes, offset)
                for offset, source in enumerate(chunk)
            ]
        self._through = end

    def close(self) -> None:
        """Stop the hashing processes."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def _hash(self, recipes: list[DocumentRecipe]) -> Future[list[bytes]]:
        if self._processes == 0:
            done: Future[list[bytes]] = Future()
            done.set_result(document_hashes(recipes))
            return done
        if self._pool is None:
            # Spawned, not forked: the consumer process has threads and open connections.
            # Each worker ends with this process, even one killed with SIGKILL.
            self._pool = ProcessPoolExecutor(
                self._processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_hashing_process_started,
                initargs=(os.getpid(),),
            )
        try:
            return self._pool.submit(document_hashes, recipes)
        except BrokenProcessPool as exc:
            done = Future()
            done.set_exception(exc)
            return done

    def _result(self, source: DocumentSource, hashes: Future[list[bytes]], offset: int) -> bytes:
        try:
            return hashes.result()[offset]
        except CanonicalizationError:
            raise
        except Exception as exc:
            # A hashing process died (killed, out of memory): hash here, start a new pool.
            log.warning("a document hashing process failed (%s); hashing in process", exc)
            self.close()
            return document_hash(source.document())
