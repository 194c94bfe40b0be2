"""The audit's read-model replay alone, with the status lists' places kept in memory (as the
audit replays) and asked of the scratch model (as any other writer does), alternating.

Each round runs both ways, each in a fresh process: the first ``--entries`` events of a kept
store (``bench/million.py --keep DIR``) are read and decoded before the clock starts, then
replayed into a scratch model in batches of 1,000, as the audit's replay process does. It
prints the replay's µs an entry, and the share of that spent placing new credentials.

    .venv/bin/python bench/audit_replay.py --data-dir DIR [--entries 300000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

KEPT, ASKED = "kept", "asked"


def replay_once(data_dir: Path, entries: int, places: str) -> dict[str, float]:
    """Replay the store's first ``entries`` events; µs an entry in all and placing."""
    from anchors.sqlite import read_through_map

    read_through_map()
    from consumers.audit_replay import ScratchReplay, Taken
    from consumers.envelope import StoredEnvelopes
    from ledger.application.storage import open_storage
    from ledger.domain import json_text
    from ledger.operations import heap
    from ledger.persistence import read_model
    from ledger.settings import Settings

    storage = open_storage(Settings(data_dir=data_dir))
    stored = StoredEnvelopes(storage.ledger)
    batches: list[list[dict[str, Any]]] = []
    read = 0
    while read < entries:
        got = stored.decoded(read, min(1000, entries - read))
        if not got:
            break
        read += len(got)
        batches.append(
            [json_text.loads(entry) if known is None else known for _, entry, known in got]
        )
    heap.settle()
    placing = 0.0
    place = read_model.ReadModelWriter._places

    def timed(writer: read_model.ReadModelWriter, wanted: list[tuple[str, str]]) -> Any:
        nonlocal placing
        started = time.perf_counter()
        try:
            return place(writer, wanted)
        finally:
            placing += time.perf_counter() - started

    read_model.ReadModelWriter._places = timed  # type: ignore[method-assign,assignment]
    replay = ScratchReplay(Taken(2**62, ""), None)
    if places == ASKED:
        replay._scratch._kept_places = None
    started = time.perf_counter()
    for batch in batches:
        replay.feed(batch)
    seconds = time.perf_counter() - started
    replay.close()
    return {"replay_us": seconds / read * 1e6, "placing_us": placing / read * 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--entries", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--places", choices=[KEPT, ASKED], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.places:
        print(json.dumps(replay_once(args.data_dir, args.entries, args.places)))
        return
    for round_no in range(1, args.rounds + 1):
        for places in (ASKED, KEPT):
            command = [sys.executable, __file__, "--data-dir", str(args.data_dir)]
            command += ["--entries", str(args.entries), "--places", places]
            result = json.loads(subprocess.run(command, check=True, capture_output=True).stdout)
            print(
                f"round {round_no}, places {places}: replay {result['replay_us']:.1f} µs an"
                f" entry, placing {result['placing_us']:.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
