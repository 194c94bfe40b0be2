"""Bulk requests: a bounded number of items, each answered on its own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledger.api.app_context import ApiContext
from ledger.application.service import CommandResult
from ledger.domain.errors import LedgerError, TooLarge


def within_limit(ctx: ApiContext, count: int) -> None:
    """Refuse a bulk request of more items than configured (413)."""
    if count > ctx.settings.max_bulk_items:
        raise TooLarge(f"at most {ctx.settings.max_bulk_items} items fit in one bulk request")


def answer(outcomes: Sequence[CommandResult | LedgerError]) -> dict[str, Any]:
    """Each item's result or problem, in order, with the counts of both."""
    results: list[dict[str, Any]] = []
    for index, outcome in enumerate(outcomes):
        if isinstance(outcome, LedgerError):
            results.append({"index": index, "ok": False, "problem": outcome.problem()})
        else:
            results.append({"index": index, "ok": True, "result": outcome.as_dict()})
    failed = sum(1 for r in results if not r["ok"])
    return {"results": results, "succeeded": len(results) - failed, "failed": failed}
