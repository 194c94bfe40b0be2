"""``credledger bulk-issue``: many credentials from a JSONL or CSV file, with progress.

Each line becomes one signed issue command. Lines go to the ledger in bulk requests; a bad line
is reported with its line number and reasons, and never stops the good ones. Command ids are
derived from the line's content, so running the same file again issues nothing twice.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import click
from pydantic import ValidationError
from tqdm import tqdm

from ledger.cli import options
from ledger.client import CommandSigner, LedgerClient
from ledger.domain.canonical import canonical_bytes
from ledger.domain.field_errors import field_errors
from ledger.domain.signing import IssuerKey


@dataclass
class Line:
    """One input line: its number, and either a request body or why it could not be read."""

    number: int
    body: dict[str, Any] | None = None
    problem: dict[str, Any] | None = None


@dataclass
class Tally:
    issued: int = 0
    replayed: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    # (line number, credential id, replayed) of every line the ledger took
    credentials: list[tuple[int, str, bool]] = field(default_factory=list)


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for name, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(name), dict):
            merged[name] = _merge(merged[name], value)
        else:
            merged[name] = value
    return merged


def _nest(row: dict[str, str]) -> dict[str, Any]:
    """``{"learner.full_name": "x"}`` to ``{"learner": {"full_name": "x"}}``; blanks dropped."""
    nested: dict[str, Any] = {}
    for column, value in row.items():
        if column is None or value is None or value.strip() == "":
            continue
        target = nested
        *parents, leaf = column.strip().split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value.strip()
    return nested


def _records(handle: TextIO, csv_format: bool) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, record or the reason it is unreadable) for each input line."""
    if csv_format:
        for row in csv.DictReader(handle):
            yield 0, _nest(row)
        return
    for number, text in enumerate(handle, start=1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            yield number, f"not JSON: {exc.msg} at column {exc.colno}"
            continue
        yield number, record if isinstance(record, dict) else "not a JSON object"


def read_lines(path: Path, template: dict[str, Any], signer: CommandSigner) -> list[Line]:
    """Every line of ``path`` as a signed issue request, or a local problem."""
    csv_format = path.suffix.lower() == ".csv"
    lines = []
    with path.open(encoding="utf-8", newline="") as handle:
        for index, (number, record) in enumerate(_records(handle, csv_format), start=1):
            line_number = index + 1 if csv_format else number
            if isinstance(record, str):
                lines.append(Line(line_number, problem={"detail": record}))
                continue
            content = _merge(template, record.get("content", {}))
            learner = record.get("learner")
            if not isinstance(learner, dict):
                lines.append(Line(line_number, problem={"detail": "the line has no learner"}))
                continue
            command_id = (
                record.get("command_id")
                or "bulk-"
                + hashlib.sha256(
                    canonical_bytes({"content": content, "learner": learner})
                ).hexdigest()[:40]
            )
            try:
                body = signer.issue(content, learner, command_id=command_id)
            except ValidationError as exc:
                errors = [e.as_dict() for e in field_errors(exc, "learner")]
                lines.append(Line(line_number, problem={"detail": "bad learner", "errors": errors}))
                continue
            lines.append(Line(line_number, body=body))
    return lines


def send(client: LedgerClient, lines: list[Line], batch_size: int, progress: tqdm[Any]) -> Tally:
    """Send the readable lines in bulk requests and tally what happened to each."""
    tally = Tally()
    for line in lines:
        if line.problem is not None:
            tally.failures.append({"line": line.number, **line.problem})
            progress.update(1)
    readable = [line for line in lines if line.body is not None]
    for start in range(0, len(readable), batch_size):
        batch = readable[start : start + batch_size]
        results = client.bulk_issue([line.body for line in batch if line.body is not None])
        for line, outcome in zip(batch, results, strict=True):
            if not outcome["ok"]:
                tally.failures.append({"line": line.number, **outcome["problem"]})
                continue
            result = outcome["result"]
            tally.credentials.append((line.number, result["credential_id"], result["replayed"]))
            if result["replayed"]:
                tally.replayed += 1
            else:
                tally.issued += 1
        progress.update(len(batch))
    tally.failures.sort(key=lambda failure: int(failure["line"]))
    return tally


def _reasons(failure: dict[str, Any]) -> str:
    reasons = [f"{e['field']}: {e['message']}" for e in failure.get("errors", [])]
    return "; ".join(reasons) or str(failure.get("detail"))


def describe_failures(failures: list[dict[str, Any]]) -> list[str]:
    """One line per distinct reason, with the lines that share it (first ten named)."""
    grouped: dict[str, list[int]] = {}
    for failure in failures:
        grouped.setdefault(_reasons(failure), []).append(int(failure["line"]))
    described = []
    for reasons, numbers in grouped.items():
        shown = ", ".join(str(n) for n in numbers[:10]) + (", …" if len(numbers) > 10 else "")
        where = f"line {shown}" if len(numbers) == 1 else f"{len(numbers)} lines ({shown})"
        described.append(f"{where}: {reasons}")
    return described


def read_template(path: Path) -> dict[str, Any]:
    """The shared content; a template wrapped as {"content": {...}} is recognised and unwrapped
    (the template is the content itself), with a note."""
    try:
        template = json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{path}: not JSON ({exc})") from None
    if not isinstance(template, dict):
        raise click.ClickException(f"{path}: the template must be a JSON object (the content)")
    if set(template) == {"content"} and isinstance(template["content"], dict):
        click.echo(
            f'note: {path} wraps the content in {{"content": ...}}; the template is the '
            "content itself, so its inner object is used",
            err=True,
        )
        return dict(template["content"])
    return template


@click.command("bulk-issue")
@options.url
@options.key
@options.issuer_id
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option(
    "--template",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="JSON content shared by every line; a line's own content overrides it.",
)
@click.option("--batch-size", default=100, show_default=True, type=click.IntRange(1, 1000))
@click.option(
    "--report",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write each failed line and its reasons here as JSON lines.",
)
@click.option(
    "--ids",
    "ids_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write each issued line's credential id here as JSON lines (else they are printed).",
)
@options.reporting_errors
def bulk_issue(
    url: str,
    key_file: Path,
    issuer_id: str,
    file: Path,
    template: Path | None,
    batch_size: int,
    report: Path | None,
    ids_file: Path | None,
) -> None:
    """Issue a credential for every line of FILE (.jsonl or .csv).

    \b
    JSONL: one {"learner": {...}, "content": {...}, "command_id": "..."} per line
           (content and command_id optional with --template).
    CSV:   a header row of dotted names, e.g. learner.identifier,learner.full_name,content.title

    Prints each issued line's credential id ("line<TAB>id", or --ids FILE), then the counts;
    failures are grouped by reason with their line numbers. Exits 1 if any line failed.

    \b
    Example:
      credledger bulk-issue --key issuer-key.json --issuer-id 1f0e... \\
        --template course.json learners.csv --report failures.jsonl
    """
    shared = read_template(template) if template else {}
    signer = CommandSigner(IssuerKey.load(key_file), issuer_id)
    lines = read_lines(file, shared, signer)
    with (
        options.client(url) as client,
        tqdm(total=len(lines), unit="line", desc="issuing", file=sys.stderr) as progress,
    ):
        tally = send(client, lines, batch_size, progress)
    if ids_file is not None:
        with ids_file.open("w", encoding="utf-8") as handle:
            for number, credential_id, replayed in tally.credentials:
                entry = {"line": number, "credential_id": credential_id, "replayed": replayed}
                handle.write(json.dumps(entry) + "\n")
    else:
        for number, credential_id, _ in tally.credentials:
            click.echo(f"{number}\t{credential_id}")
    click.echo(
        f"{tally.issued} issued, {tally.replayed} already issued, "
        f"{len(tally.failures)} failed, of {len(lines)} lines"
    )
    for described in describe_failures(tally.failures):
        click.echo(described, err=True)
    if report is not None:
        with report.open("w", encoding="utf-8") as handle:
            for failure in tally.failures:
                handle.write(json.dumps(failure, ensure_ascii=False) + "\n")
    if tally.failures:
        sys.exit(1)
