"""The single-credential commands, as an issuer and a verifier use them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anchors.checkpoint import NoteSigner
from ledger.application.storage import open_log, open_storage
from ledger.cli.main import COMMANDS, cli
from ledger.settings import Settings
from tests.conftest import LEARNER, RegisteredIssuer, RunningLedger, content, modules_loaded


def test_keygen_writes_an_owner_only_key_and_prints_its_address(tmp_path: Path) -> None:
    out = tmp_path / "k.json"
    result = CliRunner().invoke(cli, ["keygen", "--out", str(out)])
    assert result.exit_code == 0
    assert result.stdout.strip() == json.loads(out.read_text())["address"]
    assert out.stat().st_mode & 0o077 == 0
    assert CliRunner().invoke(cli, ["keygen", "--out", str(out)]).exit_code != 0


def test_issue_then_revoke_then_status(
    ledger: RunningLedger, issuer: RegisteredIssuer, tmp_path: Path
) -> None:
    key = tmp_path / "key.json"
    issuer.key.save(key)
    request = tmp_path / "credential.json"
    request.write_text(json.dumps({"content": content(), "learner": LEARNER}))
    common = ["--url", ledger.url, "--key", str(key), "--issuer-id", issuer.issuer_id]
    runner = CliRunner()

    issued = runner.invoke(cli, ["issue", *common, str(request)])
    assert issued.exit_code == 0, issued.output
    credential_id = json.loads(issued.stdout)["credential_id"]
    revoked = runner.invoke(cli, ["revoke", *common, credential_id, "--reason", "error"])
    assert revoked.exit_code == 0, revoked.output
    shown = runner.invoke(cli, ["status", "--url", ledger.url, credential_id])
    assert "status: revoked" in shown.stdout
    assert "revoked at" in shown.stdout and ": error" in shown.stdout


def test_a_refusal_prints_the_reasons_not_a_traceback(
    ledger: RunningLedger, issuer: RegisteredIssuer, tmp_path: Path
) -> None:
    key = tmp_path / "key.json"
    issuer.key.save(key)
    request = tmp_path / "credential.json"
    request.write_text(json.dumps({"content": content(eqf_level="9"), "learner": LEARNER}))
    result = CliRunner().invoke(
        cli,
        [
            "issue",
            "--url",
            ledger.url,
            "--key",
            str(key),
            "--issuer-id",
            issuer.issuer_id,
            str(request),
        ],
    )
    assert result.exit_code == 1
    assert "Invalid input (422)" in result.output
    assert "command.content.eqf_level" in result.output
    assert "Traceback" not in result.output


def test_every_command_has_help_with_an_example() -> None:
    top = subprocess.run(
        [sys.executable, "-m", "ledger.cli", "--help"], capture_output=True, text=True, check=True
    )
    for name in COMMANDS:
        command = cli.get_command(click.Context(cli), name)
        assert name in top.stdout
        if isinstance(command, click.Group):
            for sub in command.commands:
                shown = CliRunner().invoke(cli, [name, sub, "--help"]).stdout
                assert "Example" in shown, f"{name} {sub}"
        else:
            assert "Example" in CliRunner().invoke(cli, [name, "--help"]).stdout, name


def test_every_command_is_the_one_its_name_loads() -> None:
    context = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(context, name)
        assert command is not None and command.name == name


def test_an_issuers_command_starts_without_the_chain_client_the_api_or_the_auditor() -> None:
    statements = (
        "from ledger.cli.main import cli\ncli.main(['status', '--help'], standalone_mode=False)\n"
    )
    heavy = ("web3", "eth_account", "fastapi", "uvicorn", "ledger.audit")
    assert modules_loaded(statements, heavy) == []


def test_verify_colours_its_steps_on_a_terminal_and_not_when_piped(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps({"format": "not a proof bundle"}))
    piped = CliRunner().invoke(cli, ["verify", str(bundle)])
    terminal = CliRunner().invoke(cli, ["verify", str(bundle)], color=True)
    assert "FAIL" in piped.stdout and "\x1b[" not in piped.stdout
    assert "FAIL" in terminal.stdout and "\x1b[" in terminal.stdout


def _store_env(settings: Settings) -> dict[str, str]:
    return {
        "CREDLEDGER_STORE": settings.store,
        "CREDLEDGER_POSTGRES_PORT": str(settings.postgres_port),
        "CREDLEDGER_POSTGRES_DBNAME": settings.postgres_dbname,
        "CREDLEDGER_POSTGRES_USER": settings.postgres_user,
        "CREDLEDGER_POSTGRES_PASSWORD": settings.postgres_password.get_secret_value(),
    }


def test_rebuilding_the_read_model_shows_progress_and_gives_the_same_digest(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    for _ in range(3):
        ledger.public.issue(issuer.signer.issue(content(), LEARNER))
    settings = ledger.embedded.settings
    ledger.stop_http()
    ledger.embedded.stop()
    storage = open_storage(settings)
    before, _ = storage.read_model.digest()
    storage.close()
    result = CliRunner().invoke(
        cli, ["rebuild-read-model", "--data-dir", str(settings.data_dir)], env=_store_env(settings)
    )
    assert result.exit_code == 0, result.output
    assert "rebuilding" in result.stderr and "event/s" in result.stderr
    assert f"digest {before}" in result.stdout


def test_tiles_export_writes_the_published_checkpoint_and_its_tiles(
    settings: Settings, tmp_path: Path
) -> None:
    log = open_log(settings)
    log.append([b"first entry", b"second entry", b"third"], [1, 2, 3])
    origin = settings.log_origin_value()
    _, note = log.sign_checkpoint(NoteSigner(origin, Ed25519PrivateKey.generate()), origin)
    log.store.close()
    out = tmp_path / "www" / "tlog"
    result = CliRunner().invoke(
        cli,
        ["tiles", "export", str(out), "--data-dir", str(settings.data_dir)],
        env=_store_env(settings),
    )
    assert result.exit_code == 0, result.output
    assert "exported a checkpoint of 3 entries" in result.stdout
    assert (out / "checkpoint").read_text() == note
    assert len((out / "tile/0/000.p/3").read_bytes()) == 32 * 3
    assert (out / "tile/entries/000.p/3").read_bytes().startswith(b"\x00\x0bfirst entry")
