"""The events a process decoded last are kept, up to a bound, for its other consumers."""

from __future__ import annotations

from consumers.recent_events import RecentEvents


def test_the_latest_events_are_kept_and_older_ones_fall_out() -> None:
    recent = RecentEvents(kept=3)
    for position in range(1, 6):
        recent.add(position, f"event {position}")
    assert [recent.get(position) for position in range(1, 6)] == [
        None,
        None,
        "event 3",
        "event 4",
        "event 5",
    ]
    assert len(recent) == 3


def test_an_event_added_again_keeps_its_place() -> None:
    recent = RecentEvents(kept=2)
    recent.add(1, "first")
    recent.add(2, "second")
    recent.add(1, "first")
    recent.add(3, "third")
    assert (recent.get(1), recent.get(2), recent.get(3)) == (None, "second", "third")
