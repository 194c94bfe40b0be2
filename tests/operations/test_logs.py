"""Log lines of a real `credledger serve`: one JSON object a line, each request's lines under
its request id, followed to its event and its anchor; and, in a whole run that issued,
amended, revoked and erased, no learner's data and no secret in any line or metric."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger.client import CommandSigner, LedgerClient
from ledger.domain import samples
from ledger.domain.signing import IssuerKey
from tests.conftest import content, serving, store_independent

pytestmark = store_independent

LEARNER = {"identifier": "ops-learner-5519", "full_name": "Wilhelmina Quarterbridge-Ó Dálaigh"}


@dataclass
class Run:
    """What a run of `serve` wrote and answered, and the secrets it held."""

    lines: list[str]
    metrics: str
    secrets: dict[str, str]
    issued: httpx.Response


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    work = tmp_path_factory.mktemp("json-logs")
    data_dir = work / "data"
    env = {
        "CREDLEDGER_CHAIN": "in-process",
        "CREDLEDGER_BATCH_AGE_SECONDS": "0.5",
        "CREDLEDGER_LOG_FORMAT": "json",
    }
    with (work / "serve.log").open("wb") as log, serving(data_dir, env, log) as (_, url, token):
        secrets: dict[str, str] = json.loads((data_dir / "secrets.json").read_text())
        key = IssuerKey.generate()
        with LedgerClient(url, admin_token=token) as admin:
            entry = admin.register_issuer(samples.issuer_registration(key.address))
        signer = CommandSigner(key, entry["issuer_id"])
        with LedgerClient(url) as client:
            issued = httpx.post(
                f"{url}/credentials",
                json=signer.issue(content(), LEARNER),
                headers={"x-request-id": "ops-issue-1"},
            )
            credential_id = issued.json()["credential_id"]
            client.amend(signer.amend(credential_id, 1, content(title="Renamed"), LEARNER))
            client.revoke(signer.revoke(credential_id, 2, "issued in error"))
            client.erase(signer.erase(credential_id, 2))
        # Until the batch of the last request's event is anchored (a slow machine may close the
        # registration's batch alone first).
        deadline = time.monotonic() + 60
        while not _everything_anchored((work / "serve.log").read_text("utf-8").splitlines()):
            assert time.monotonic() < deadline, "the history was not anchored"
            time.sleep(0.2)
        metrics = httpx.get(f"{url}/metrics").text
    secrets["issuer_key"] = key.secret_hex()[2:]
    lines = (work / "serve.log").read_text("utf-8").splitlines()
    yield Run(lines, metrics, secrets, issued)


def _everything_anchored(lines: list[str]) -> bool:
    records = [json.loads(line) for line in lines if line.startswith("{")]
    stored = [
        r["last_position"]
        for r in records
        if r["message"].startswith("stored ") and r.get("request_id")  # not the anchors' own
    ]
    anchored = [r["last_position"] for r in records if r["message"].startswith("anchored ")]
    return bool(stored) and bool(anchored) and max(anchored) >= max(stored)


def _records(run: Run) -> list[dict[str, Any]]:
    return [json.loads(line) for line in run.lines]


def test_every_line_is_one_json_object_with_time_level_logger_and_message(run: Run) -> None:
    assert len(run.lines) > 10
    for record in _records(run):
        assert {"time", "level", "logger", "message"} <= record.keys()
        assert record["level"] in {"debug", "info", "warning", "error", "critical"}


def test_a_request_is_followed_by_its_id_to_its_event_and_its_anchor(run: Run) -> None:
    assert run.issued.headers["x-request-id"] == "ops-issue-1"
    own = [r for r in _records(run) if r.get("request_id") == "ops-issue-1"]
    answered = [r for r in own if r.get("route") == "/credentials"]
    assert [(r["method"], r["status"]) for r in answered] == [("POST", 201)]
    (stored,) = [r for r in own if r["message"].startswith("stored ")]
    position = stored["first_position"]
    anchors = [r for r in _records(run) if r["message"].startswith("anchored checkpoint")]
    assert any(a["first_position"] <= position <= a["last_position"] for a in anchors)


def test_no_learner_data_in_any_log_line_or_metric(run: Run) -> None:
    for text in [*run.lines, run.metrics]:
        readable = json.dumps(json.loads(text), ensure_ascii=False) if text.startswith("{") else ""
        for value in LEARNER.values():
            assert value not in text and value not in readable
        assert "Quarterbridge" not in text and "Quarterbridge" not in readable


def test_no_secret_in_any_log_line_or_metric(run: Run) -> None:
    names = ("master_key", "admin_token", "log_key", "issuer_key")
    held = [run.secrets[name] for name in names]
    assert all(len(secret) >= 32 for secret in held)
    for text in [*run.lines, run.metrics]:
        for secret in held:
            assert secret not in text


def test_api_workers_log_each_request_once(tmp_path: Path) -> None:
    env = {"CREDLEDGER_CHAIN": "in-process", "CREDLEDGER_WORKERS": "2"}
    log = tmp_path / "serve.log"
    with log.open("wb") as output, serving(tmp_path / "data", env, output) as (_, url, _token):
        for n in range(3):
            httpx.get(f"{url}/health", headers={"x-request-id": f"once-{n}"}, timeout=10)
    lines = log.read_text().splitlines()
    for n in range(3):
        assert len([line for line in lines if f"once-{n}" in line]) == 1, lines
