"""Asks the configured C2SP witnesses to cosign the log's latest checkpoint, at most once per
witness per cadence, and keeps each verified cosignature line beside the checkpoint, where the
tiles, the API and the proof bundles publish it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

import httpx

from anchors.log import TransparencyLog
from anchors.tlog_witness import WitnessClient, WitnessRefused
from ledger.operations.metrics import count_cosignature, witness_name

log = logging.getLogger("credledger.witnesses")


class WitnessSubmitter:
    """One step: each witness due gets the latest checkpoint, with a proof from its size."""

    def __init__(
        self,
        transparency_log: TransparencyLog,
        witnesses: Sequence[WitnessClient],
        cadence: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.log = transparency_log
        self.witnesses = list(witnesses)
        self.cadence = cadence
        self._clock = clock
        self._asked: dict[str, tuple[int, float]] = {}  # vkey -> (size, when) last cosigned

    def step(self) -> None:
        """Submit the latest checkpoint to every witness that is due; never raises for a
        witness that is down or refuses (the next step tries again)."""
        latest = self.log.store.latest_checkpoint()
        if latest is None:
            return
        size, note = latest
        for witness in self.witnesses:
            key = witness.verifier.vkey
            cosigned_size, when = self._asked.get(key, (0, float("-inf")))
            if cosigned_size >= size or self._clock() - when < self.cadence:
                continue
            try:
                cosignature = witness.cosign(note, self._proof)
            except (WitnessRefused, httpx.HTTPError) as exc:
                log.warning("witness %s did not cosign size %d: %s", witness.url, size, exc)
                self._asked[key] = (cosigned_size, self._clock())
                continue
            self.log.store.add_cosignature(size, key, cosignature.line())
            count_cosignature(witness_name(key))
            self._asked[key] = (size, self._clock())

    def _proof(self, old: int, new: int) -> Sequence[bytes]:
        return self.log.consistency_proof(old, new).hashes

    def run(self, stop: threading.Event, wake: threading.Event, interval: float = 1.0) -> None:
        while not stop.is_set():
            try:
                self.step()
            except Exception:
                log.exception("witness submission failed; retrying")
            wake.wait(interval)
            wake.clear()

    def close(self) -> None:
        for witness in self.witnesses:
            witness.close()
