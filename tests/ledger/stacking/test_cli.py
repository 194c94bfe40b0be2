"""``credledger stack``: a learner checks files against a pathway; an institution publishes a
pathway and records a recognition from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from ledger.cli.main import cli
from tests.conftest import store_independent
from tests.ledger.stacking.conftest import MET, TARGET, Holdings, publish, rules

pytestmark = store_independent  # the command line over the API: the SQLite pass runs it


def files(holdings: Holdings, tmp_path: Path, *names: str) -> list[str]:
    paths = []
    for name in names:
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(holdings.documents[name]), encoding="utf-8")
        paths.append(str(path))
    return paths


def test_stack_check_shows_each_component_the_bar_and_the_rules(
    holdings: Holdings, tmp_path: Path
) -> None:
    pathway_id = publish(holdings)
    held = files(holdings, tmp_path, *MET)
    result = CliRunner().invoke(
        cli, ["stack", "check", "--url", holdings.ledger.url, "--pathway", pathway_id, *held]
    )
    assert result.exit_code == 0, result.output
    assert f"{TARGET['title']} (pathway version 1): MET" in result.output
    assert "✓ Statistics (Corrib College): 5 ECTS" in result.output
    assert "[########################] 15 of 15 ECTS" in result.output


def test_stack_check_of_a_short_set_exits_4_and_says_what_is_missing(
    holdings: Holdings, tmp_path: Path
) -> None:
    pathway_id = publish(holdings)
    held = files(holdings, tmp_path, "a1", "b1", "revoked")
    result = CliRunner().invoke(
        cli, ["stack", "check", "--url", holdings.ledger.url, "--pathway", pathway_id, *held]
    )
    assert result.exit_code == 4, result.output
    assert "✗ Networks (Boyne Academy): counts for nothing" in result.output
    assert "[################--------] 10 of 15 ECTS" in result.output
    assert "- 5 more ECTS." in result.output


def test_an_institution_publishes_and_recognises_from_the_command_line(
    holdings: Holdings, tmp_path: Path
) -> None:
    institution = holdings.issuers["a"]
    key_file = tmp_path / "key.json"
    institution.key.save(key_file)
    spec = tmp_path / "pathway.json"
    spec.write_text(json.dumps({"target": TARGET, "rules": rules()}), encoding="utf-8")
    common = ["--url", holdings.ledger.url, "--key", str(key_file)]
    common += ["--issuer-id", institution.issuer_id]
    published = CliRunner().invoke(cli, ["stack", "publish", *common, str(spec)])
    assert published.exit_code == 0, published.output
    pathway_id = json.loads(published.output)["pathway_id"]
    held = files(holdings, tmp_path, *MET)
    recognised = CliRunner().invoke(
        cli, ["stack", "recognise", *common, "--pathway", pathway_id, *held]
    )
    assert recognised.exit_code == 0, recognised.output
    found = holdings.ledger.public.recognition(json.loads(recognised.output)["recognition_id"])
    assert (found["pathway_id"], len(found["components"])) == (pathway_id, 3)
