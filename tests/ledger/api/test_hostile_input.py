"""Hostile input is refused with a problem naming the limit, and the service keeps answering."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.api.body_limits import MAX_JSON_DEPTH, nesting_depth_exceeds
from tests.conftest import RunningLedger

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def http(ledger: RunningLedger) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ledger.url, timeout=30) as client:
        yield client


def post_paths(http: httpx.Client) -> list[str]:
    """Every POST operation the service documents, with a made-up id in its path."""
    paths = [
        re.sub(r"\{[a-z_]+\}", "00000000", path)
        for path, item in http.get("/openapi.json").json()["paths"].items()
        if "post" in item
    ]
    assert "/verify" in paths and "/credentials" in paths
    return paths


def test_no_library_leaves_the_recursion_limit_raised() -> None:
    probe = (
        "import sys; before = sys.getrecursionlimit();"
        "import ledger.cli.main, ledger.api.app, ledger.runtime.embedded;"
        "import web3, eth_account, py_ecc;"
        "import anchors.witness; print(before, sys.getrecursionlimit())"
    )
    before, after = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert before == after


def test_a_body_nested_100000_deep_is_refused_on_every_post_and_the_service_answers_on(
    http: httpx.Client,
) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    for path in post_paths(http):
        response = http.post(path, content=deep, headers={"content-type": "application/json"})
        assert response.status_code == 400, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert f"more than {MAX_JSON_DEPTH} deep" in response.json()["detail"]
    assert http.get("/health").json()["status"] == "ok"


def test_nesting_inside_strings_does_not_count() -> None:
    quoted = b'{"a": "' + b"[" * 10_000 + b'\\"{{{"}'
    assert not nesting_depth_exceeds(quoted)
    assert nesting_depth_exceeds(b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1))
    assert not nesting_depth_exceeds(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH)


def test_escapes_in_strings_do_not_move_the_strings_bounds() -> None:
    # After "\\n" the next quote closes the string: the brackets after it are a string's.
    flat = json.dumps({"a": "line\nnext", "b": "[" * 100}).encode()
    assert not nesting_depth_exceeds(flat)
    deep: Any = "x"
    for _ in range(MAX_JSON_DEPTH):
        deep = [deep]
    assert nesting_depth_exceeds(json.dumps({"a": "tab\there", "b": deep}).encode())


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth(item) for item in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(item) for item in value.values()), default=0)
    return 0


# Text rich in what a depth scan can stumble on: brackets, quotes, backslashes, controls.
tricky_text = st.text(alphabet=st.sampled_from('[]{}"\\\n\tab/ë\u2028'), max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | tricky_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(tricky_text, inner, max_size=3),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(value=json_values, ascii_only=st.booleans(), spaced=st.booleans())
def test_the_depth_scan_agrees_with_a_parser_on_any_json(
    value: Any, ascii_only: bool, spaced: bool
) -> None:
    separators = (", ", ": ") if spaced else (",", ":")
    body = json.dumps(value, ensure_ascii=ascii_only, separators=separators).encode()
    actual = depth(value)
    for limit in {0, 1, max(actual - 1, 0), actual, actual + 1}:
        assert nesting_depth_exceeds(body, limit) == (actual > limit), (body, limit)


@pytest.mark.parametrize(
    "path",
    [
        "/log/entries?start=9223372036854775808",
        "/log/anchors?after_size=9223372036854775808",
        "/log/checkpoints?after_size=99999999999999999999999",
        "/issuers/history?after_position=9223372036854775808",
        "/issuers/00000000-0000-4000-8000-000000000000/status-lists/9223372036854775808",
        "/log/proof/inclusion?index=0&size=9223372036854775808",
        "/log/proof/consistency?old_size=1&new_size=9223372036854775808",
        "/credentials/00000000-0000-4000-8000-000000000000/proof?version=9223372036854775808",
    ],
)
def test_an_integer_of_2_to_the_63_or_more_is_a_422(http: httpx.Client, path: str) -> None:
    response = http.get(path)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["rule"] == "less-than-equal"


def test_a_wrong_method_answers_405_with_allow(http: httpx.Client) -> None:
    response = http.delete("/credentials")
    assert response.status_code == 405
    assert set(response.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


@pytest.mark.parametrize("path", ["/", "/issuer", "/overview", "/docs"])
def test_head_on_a_page_answers_like_get(http: httpx.Client, path: str) -> None:
    got, head = http.get(path), http.head(path)
    assert got.status_code == head.status_code == 200
    assert head.content == b""
    assert head.headers["content-security-policy"] == got.headers["content-security-policy"]


def test_the_api_documentation_loads_nothing_from_elsewhere(http: httpx.Client) -> None:
    page = http.get("/docs")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "http" not in page.text.replace('href="/', "").replace('src="/', "")
    for asset in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"):
        assert http.get(asset).status_code == 200


def test_every_operation_documents_its_problem_responses(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            problems = {
                code: response
                for code, response in operation["responses"].items()
                if code[0] in "45"
            }
            assert problems, f"{method.upper()} {path} documents no error response"
            for response in problems.values():
                assert "application/problem+json" in response["content"], (method, path)


def test_the_labels_of_one_code_list_can_be_asked_for(http: httpx.Client) -> None:
    modes = http.get("/codelists/labels", params={"list": "modes"}).json()
    assert modes["http://data.europa.eu/snb/learning-assessment/920fbb3cbe"] == "Online"
    assert len(modes) < len(http.get("/codelists/labels").json())
    assert http.get("/codelists/labels", params={"list": "nonsense"}).status_code == 422


def test_an_unexpected_error_is_a_500_problem_and_logs_only_its_type(
    ledger: RunningLedger, http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise ValueError("learner Siobhán Ó Súilleabháin, born 2001-02-03")

    assert ledger.server is not None
    ledger.server.config.app.add_api_route("/broken", broken)
    # uvicorn's own loggers do not propagate to the root: listen to them directly.
    server_log = logging.getLogger("uvicorn")
    server_log.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.DEBUG):
            response = http.get("/broken")
            # The server logs after it has answered: give it the moment to do so.
            time.sleep(1)
    finally:
        server_log.removeHandler(caplog.handler)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "Siobhán" not in response.text
    logged = "\n".join(
        record.getMessage() + (record.exc_text or "") + str(record.exc_info or "")
        for record in caplog.records
    )
    assert "unexpected ValueError during GET /broken" in logged
    assert "Siobhán" not in logged and "Traceback" not in logged
    assert not any(record.exc_info for record in caplog.records)
