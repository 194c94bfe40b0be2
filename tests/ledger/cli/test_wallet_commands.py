"""Learner wallets on the command line: the issuer has the ledger adopt its SD-JWT VC key and
offers a credential (QR code in the terminal and as PNG, the PIN apart); a verifier checks a
wallet's presentation with its nonce and audience."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner, Result

from ledger.cli.main import cli
from ledger.formats.sd_jwt.holder import Holder
from tests.conftest import RegisteredIssuer, RunningLedger, anchored_everything, issue, wait_for

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run(ledger: RunningLedger, issuer: RegisteredIssuer, tmp: Path, *args: str) -> Result:
    key = tmp / "issuer-key.json"
    if not key.exists():
        issuer.key.save(key)
    common = ["--url", ledger.url, "--key", str(key), "--issuer-id", issuer.issuer_id]
    return CliRunner().invoke(cli, [args[0], *common, *args[1:]])


def test_an_offer_prints_a_qr_code_the_uri_and_the_pin_and_writes_a_png(
    ledger: RunningLedger, issuer: RegisteredIssuer, tmp_path: Path
) -> None:
    adopted = run(ledger, issuer, tmp_path, "wallet-key")
    assert adopted.exit_code == 0, adopted.output
    kid = json.loads(adopted.output)["kid"]
    credential_id = issue(ledger, issuer)
    png = tmp_path / "offer.png"
    offered = run(ledger, issuer, tmp_path, "offer", credential_id, "--png", str(png))
    assert offered.exit_code == 0, offered.output
    assert "█" in offered.output or "▀" in offered.output  # the terminal QR code
    uri = re.search(r"Offer URI: (\S+)", offered.output)
    pin = re.search(r"PIN for the learner \(give it separately\): ([0-9]{6})", offered.output)
    assert uri and pin
    assert png.read_bytes().startswith(PNG_SIGNATURE)
    sd_jwt = Holder().receive(uri.group(1), pin.group(1))
    assert kid in json.dumps(ledger.public.issuer(issuer.issuer_id)["wallet_keys"])
    assert sd_jwt.count("~") > 10


def test_a_presentation_file_verifies_with_its_nonce_and_audience(
    ledger: RunningLedger, issuer: RegisteredIssuer, tmp_path: Path
) -> None:
    run(ledger, issuer, tmp_path, "wallet-key")
    offered = run(ledger, issuer, tmp_path, "offer", issue(ledger, issuer), "--no-qr")
    uri = re.search(r"Offer URI: (\S+)", offered.output)
    pin = re.search(r"separately\): ([0-9]{6})", offered.output)
    assert uri and pin
    holder = Holder()
    sd_jwt = holder.receive(uri.group(1), pin.group(1))
    wait_for(lambda: anchored_everything(ledger))
    shown = tmp_path / "shown.sd-jwt"
    shown.write_text(holder.present(sd_jwt, {"title"}, "cli-nonce", "https://v.example"))
    verified = CliRunner().invoke(
        cli, ["verify", str(shown), "--nonce", "cli-nonce", "--audience", "https://v.example"]
    )
    assert verified.exit_code == 0, verified.output
    assert "verdict: valid" in verified.output
    assert "disclosed: Title:" in verified.output
    assert "Learning outcomes" not in verified.output


def test_a_presentation_without_a_nonce_is_a_usage_error(tmp_path: Path) -> None:
    shown = tmp_path / "shown.sd-jwt"
    shown.write_text("eyJh.eyJi.c2ln~WyJ4Il0~")
    verified = CliRunner().invoke(cli, ["verify", str(shown)])
    assert verified.exit_code == 2
    assert "--nonce and --audience" in verified.output
