"""`credledger serve` with a certificate answers HTTPS, and names its public URL in profiles."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from ledger.cli.main import cli
from ledger.domain import samples
from ledger.domain.signing import IssuerKey
from ledger.settings import create_secrets
from tests.conftest import free_port
from tests.interop.test_blockcerts_verifier import _self_signed


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, str]]:
    cert, key = _self_signed(tmp_path)
    data_dir = tmp_path / "data"
    create_secrets(data_dir)
    port = free_port()
    command = [sys.executable, "-m", "ledger.cli", "serve", "--data-dir", str(data_dir)]
    command += ["--port", str(port), "--tls-cert", str(cert), "--tls-key", str(key)]
    process = subprocess.Popen(
        command,
        env={**os.environ, "CREDLEDGER_CHAIN": "in-process"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"https://127.0.0.1:{port}"
    context = ssl.create_default_context(cafile=str(cert))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/health", verify=context, timeout=2)
                break
            except httpx.HTTPError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "serve did not answer HTTPS"
                time.sleep(0.2)
        yield url, cert, json.loads((data_dir / "secrets.json").read_text())["admin_token"]
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def test_serve_answers_https_with_the_given_certificate(served: tuple[str, Path, str]) -> None:
    url, cert, _ = served
    context = ssl.create_default_context(cafile=str(cert))
    assert httpx.get(f"{url}/health", verify=context).json()["status"] == "ok"


def test_a_client_that_does_not_trust_the_certificate_is_refused(
    served: tuple[str, Path, str],
) -> None:
    url, _, _ = served
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{url}/health")


def test_profiles_name_the_https_url(served: tuple[str, Path, str]) -> None:
    url, cert, token = served
    context = ssl.create_default_context(cafile=str(cert))
    admin = {"Authorization": f"Bearer {token}"}
    registration = samples.issuer_registration(IssuerKey.generate().address)
    with httpx.Client(base_url=url, verify=context, headers=admin) as http:
        entry = http.post("/issuers", json=registration)
        profile = http.get(f"/issuers/{entry.json()['issuer_id']}/profile").json()
    assert profile["id"].startswith(f"{url}/issuers/")
    assert profile["revocationList"].startswith("https://")


def test_the_cli_without_the_ca_says_how_to_trust_it(served: tuple[str, Path, str]) -> None:
    url, _, _ = served
    result = CliRunner().invoke(
        cli, ["status", "--url", url, "00000000-0000-4000-8000-000000000000"]
    )
    assert result.exit_code == 1
    assert "--ca-file or CREDLEDGER_CA_FILE" in result.output


def test_the_cli_trusts_the_ca_file_it_is_given(served: tuple[str, Path, str]) -> None:
    url, cert, _ = served
    missing = "00000000-0000-4000-8000-000000000000"
    by_flag = CliRunner().invoke(cli, ["--ca-file", str(cert), "status", "--url", url, missing])
    by_variable = CliRunner().invoke(
        cli, ["status", "--url", url, missing], env={"CREDLEDGER_CA_FILE": str(cert)}
    )
    for result in (by_flag, by_variable):
        # Trusted, the request reaches the ledger, which answers that there is no such one.
        assert result.exit_code == 1 and "Not found (404)" in result.output, result.output
