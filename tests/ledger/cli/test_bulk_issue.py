"""``credledger bulk-issue``: progress, per-line failures, good lines kept, reruns harmless."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ledger.cli.main import cli
from tests.conftest import RegisteredIssuer, RunningLedger, content


@pytest.fixture
def key_file(issuer: RegisteredIssuer, tmp_path: Path) -> Path:
    path = tmp_path / "issuer-key.json"
    issuer.key.save(path)
    return path


def run_bulk(ledger: RunningLedger, issuer: RegisteredIssuer, key_file: Path, *args: str) -> Any:
    return CliRunner().invoke(
        cli,
        [
            "bulk-issue",
            "--url",
            ledger.url,
            "--key",
            str(key_file),
            "--issuer-id",
            issuer.issuer_id,
            *args,
        ],
    )


def test_a_thousand_lines_with_three_bad_ones(
    ledger: RunningLedger, issuer: RegisteredIssuer, key_file: Path, tmp_path: Path
) -> None:
    template = tmp_path / "course.json"
    template.write_text(json.dumps(content()))
    lines = [
        json.dumps({"learner": {"identifier": f"s{i:04}", "full_name": f"Learner {i}"}})
        for i in range(1000)
    ]
    lines[10] = "{this is not json"
    lines[500] = json.dumps({"content": {"title": "no learner here"}})
    lines[999] = json.dumps(
        {
            "learner": {"identifier": "s0999", "full_name": "L"},
            "content": {"eqf_level": "http://data.europa.eu/snb/eqf/11"},
        }
    )
    source = tmp_path / "learners.jsonl"
    source.write_text("\n".join(lines) + "\n")
    report = tmp_path / "failures.jsonl"

    result = run_bulk(
        ledger,
        issuer,
        key_file,
        "--template",
        str(template),
        "--report",
        str(report),
        str(source),
    )

    assert result.exit_code == 1
    assert "997 issued, 0 already issued, 3 failed, of 1000 lines" in result.stdout
    assert "1000/1000" in result.stderr and "line/s" in result.stderr
    assert "line 11: not JSON" in result.stderr
    assert "line 501: the line has no learner" in result.stderr
    assert "line 1000: command.content.eqf_level:" in result.stderr
    failures = [json.loads(line) for line in report.read_text().splitlines()]
    assert [f["line"] for f in failures] == [11, 501, 1000]
    page = ledger.public.credentials(issuer_id=issuer.issuer_id, limit=500)
    assert len(page["items"]) == 500 and page["next"] is not None


def test_running_the_same_file_again_issues_nothing_twice(
    ledger: RunningLedger, issuer: RegisteredIssuer, key_file: Path, tmp_path: Path
) -> None:
    template = tmp_path / "course.json"
    template.write_text(json.dumps(content()))
    source = tmp_path / "learners.jsonl"
    source.write_text(
        "\n".join(
            json.dumps({"learner": {"identifier": f"s{i}", "full_name": f"L {i}"}})
            for i in range(20)
        )
    )
    first = run_bulk(ledger, issuer, key_file, "--template", str(template), str(source))
    again = run_bulk(ledger, issuer, key_file, "--template", str(template), str(source))
    assert first.exit_code == 0 and "20 issued" in first.stdout
    assert again.exit_code == 0 and "0 issued, 20 already issued" in again.stdout


def test_csv_rows_with_dotted_columns(
    ledger: RunningLedger, issuer: RegisteredIssuer, key_file: Path, tmp_path: Path
) -> None:
    template = tmp_path / "course.json"
    template.write_text(json.dumps(content()))
    source = tmp_path / "learners.csv"
    source.write_text(
        "learner.identifier,learner.full_name,content.grade.value\n"
        "s1,Ana Ruiz,B\n"
        ",Missing Identifier,A\n"
        "s3,Ola Nordmann,\n"
    )
    result = run_bulk(ledger, issuer, key_file, "--template", str(template), str(source))
    assert result.exit_code == 1
    assert "2 issued, 0 already issued, 1 failed, of 3 lines" in result.stdout
    assert "line 3: learner.identifier: is required" in result.stderr


def learners_file(tmp_path: Path, count: int) -> Path:
    source = tmp_path / "learners.jsonl"
    source.write_text(
        "\n".join(
            json.dumps({"learner": {"identifier": f"s{i}", "full_name": f"L {i}"}})
            for i in range(count)
        )
    )
    return source


def test_each_issued_line_is_named_with_its_credential_id(
    ledger: RunningLedger, issuer: RegisteredIssuer, key_file: Path, tmp_path: Path
) -> None:
    template = tmp_path / "course.json"
    template.write_text(json.dumps(content()))
    source = learners_file(tmp_path, 3)
    printed = run_bulk(ledger, issuer, key_file, "--template", str(template), str(source))
    rows = [line.split("\t") for line in printed.stdout.splitlines() if "\t" in line]
    assert [number for number, _ in rows] == ["1", "2", "3"]
    for _, credential_id in rows:
        assert ledger.public.status(credential_id)["issuer_id"] == issuer.issuer_id
    ids = tmp_path / "ids.jsonl"
    again = run_bulk(
        ledger, issuer, key_file, "--template", str(template), "--ids", str(ids), str(source)
    )
    written = [json.loads(line) for line in ids.read_text().splitlines()]
    assert [(w["line"], w["credential_id"], w["replayed"]) for w in written] == [
        (int(n), cid, True) for n, cid in rows
    ]
    assert "\t" not in again.stdout


def test_a_template_wrapped_in_content_is_recognised_once(
    ledger: RunningLedger, issuer: RegisteredIssuer, key_file: Path, tmp_path: Path
) -> None:
    template = tmp_path / "course.json"
    template.write_text(json.dumps({"content": content()}))
    result = run_bulk(
        ledger, issuer, key_file, "--template", str(template), str(learners_file(tmp_path, 5))
    )
    assert result.exit_code == 0, result.output
    assert "5 issued" in result.stdout
    assert result.stderr.count('wraps the content in {"content": ...}') == 1


def test_identical_failures_are_grouped(
    ledger: RunningLedger, issuer: RegisteredIssuer, key_file: Path, tmp_path: Path
) -> None:
    template = tmp_path / "course.json"
    template.write_text(json.dumps(content(eqf_level="http://data.europa.eu/snb/eqf/11")))
    result = run_bulk(
        ledger, issuer, key_file, "--template", str(template), str(learners_file(tmp_path, 30))
    )
    assert result.exit_code == 1
    assert "30 lines (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, …): command.content.eqf_level:" in (
        result.stderr
    )
    assert result.stderr.count("eqf_level") == 1
