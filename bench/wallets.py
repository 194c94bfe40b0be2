"""Learner wallets: SD-JWT VCs issued per second through the OpenID4VCI credential endpoint,
and presentations verified per second by ``POST /verify``, beside the OpenWallet Foundation's
TypeScript library (@sd-jwt/sd-jwt-vc 0.19.0 under Node) verifying the same presentations.

``credledger serve`` runs in its own process, pinned to one core (``taskset``), on the embedded
default (SQLite). Everything a wallet does before the credential request (offer, token, nonce,
proof JWT) is prepared first; then the credential requests are sent over keep-alive
connections and timed, one connection and then several at once. Each issuance verifies the
proof, spends its nonce, takes a status list entry, signs the SD-JWT VC and appends the
delivery event (durably) before it answers. Then every delivered credential is presented with
title, EQF level and credit points disclosed and a key binding JWT, and the presentations are
verified by the ledger (issuer key history, disclosures, key binding, status, the delivery's
record and anchor) and by the library (issuer key, disclosures, key binding, status list),
both one after another.

    .venv/bin/python bench/wallets.py [--credentials 2000] [--connections 8]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
from serve_process import free_port, start_server

from ledger.client import CommandSigner, LedgerClient
from ledger.domain import samples
from ledger.domain.signing import IssuerKey
from ledger.formats.sd_jwt.holder import Holder, read_offer
from ledger.formats.sd_jwt.issuance import PRE_AUTHORIZED_GRANT
from ledger.settings import Settings, create_secrets

ROOT = Path(__file__).resolve().parents[1]
MODULES = ROOT / ".deploy" / "sd-jwt" / "node_modules"
AUDIENCE = "https://employer.example/verifier"
SHOWN = {"title", "eqf_level", "credit_points"}


def prepared_requests(
    client: LedgerClient, signer: CommandSigner, url: str, credential_ids: list[str]
) -> list[tuple[Holder, str, str]]:
    """(holder, access token, proof JWT) per credential: the wallet's side before the request."""
    prepared = []
    with httpx.Client(timeout=30) as http:
        for credential_id in credential_ids:
            offer = client.offer(signer.offer(credential_id, 1))
            code = read_offer(offer["credential_offer_uri"])["grants"][PRE_AUTHORIZED_GRANT]
            token = http.post(
                f"{url}/oid4vci/token",
                data={
                    "grant_type": PRE_AUTHORIZED_GRANT,
                    "pre-authorized_code": code["pre-authorized_code"],
                    "tx_code": offer["tx_code"],
                },
            ).json()["access_token"]
            nonce = http.post(f"{url}/oid4vci/nonce").json()["c_nonce"]
            holder = Holder()
            prepared.append((holder, token, holder.proof(url, nonce)))
    return prepared


Prepared = list[tuple[Holder, str, str]]


def issue_all(
    port: int, prepared: list[tuple[Holder, str, str]], connections: int
) -> tuple[float, list[str]]:
    """Seconds to send every credential request over ``connections`` keep-alive connections."""
    shares = [prepared[i::connections] for i in range(connections)]

    def send(share: list[tuple[Holder, str, str]]) -> list[str]:
        connection = http.client.HTTPConnection("127.0.0.1", port)
        got = []
        for _, token, proof in share:
            body = json.dumps(
                {"credential_configuration_id": "eu-micro-credential", "proofs": {"jwt": [proof]}}
            )
            connection.request(
                "POST",
                "/oid4vci/credential",
                body,
                {"content-type": "application/json", "authorization": f"Bearer {token}"},
            )
            response = connection.getresponse()
            answer = json.loads(response.read())
            assert response.status == 200, answer
            got.append(answer["credentials"][0]["credential"])
        connection.close()
        return got

    started = time.perf_counter()
    with ThreadPoolExecutor(connections) as pool:
        results = list(pool.map(send, shares))
    seconds = time.perf_counter() - started
    by_share = [iter(r) for r in results]
    ordered = [next(by_share[i % connections]) for i in range(len(prepared))]
    return seconds, ordered


def issued_credentials(client: LedgerClient, signer: CommandSigner, count: int) -> list[str]:
    content = samples.credential_content(datetime.now(UTC).replace(microsecond=0))
    learners = [
        {"identifier": f"w{i:06}", "full_name": f"Learner {i}", "date_of_birth": "2000-01-01"}
        for i in range(count)
    ]
    bodies = [signer.issue(content, learner) for learner in learners]
    ids: list[str] = []
    for start in range(0, len(bodies), 500):
        answers = client.bulk_issue(bodies[start : start + 500])
        ids += [answer["result"]["credential_id"] for answer in answers]
    return ids


def presentations(holders: list[Holder], credentials: list[str], tag: str) -> list[dict[str, str]]:
    return [
        {"presentation": holder.present(vc, SHOWN, f"{tag}-{i}", AUDIENCE), "nonce": f"{tag}-{i}"}
        for i, (holder, vc) in enumerate(zip(holders, credentials, strict=True))
    ]


def verify_all(port: int, shown: list[dict[str, str]]) -> float:
    """Seconds for ``POST /verify`` of every presentation, one after another."""
    connection = http.client.HTTPConnection("127.0.0.1", port)
    started = time.perf_counter()
    verdicts = []
    for item in shown:
        body = {"sd_jwt": item["presentation"], "nonce": item["nonce"], "audience": AUDIENCE}
        connection.request(
            "POST", "/verify", json.dumps(body), {"content-type": "application/json"}
        )
        verdicts.append(json.loads(connection.getresponse().read())["verdict"])
    seconds = time.perf_counter() - started
    connection.close()
    assert set(verdicts) == {"valid"}, set(verdicts)
    return seconds


def library_seconds(url: str, issuer_id: str, shown: list[dict[str, str]], tmp: Path) -> float:
    """Seconds for the library to verify every presentation, under Node."""
    jwks = httpx.get(f"{url}/.well-known/jwt-vc-issuer/issuers/{issuer_id}").json()["jwks"]
    status = httpx.get(f"{url}/issuers/{issuer_id}/token-status-list").text
    spec = tmp / "presentations.json"
    spec.write_text(
        json.dumps(
            {"jwks": jwks, "status_list": status, "audience": AUDIENCE, "presentations": shown}
        )
    )
    done = subprocess.run(
        ["node", str(ROOT / "bench" / "sd_jwt_verify.mjs"), str(spec)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "SD_JWT_MODULES": str(MODULES)},
    )
    answer = json.loads(done.stdout)
    assert answer["verified"] == len(shown)
    return float(answer["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--credentials", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    n, connections = args.credentials, args.connections
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        create_secrets(data_dir)
        port = free_port()
        server = start_server(data_dir, port)
        url = f"http://127.0.0.1:{port}"
        try:
            admin = LedgerClient(url, admin_token=Settings(data_dir=data_dir).admin_token_value())
            key = IssuerKey.generate()
            registration = samples.issuer_registration(key.address)
            issuer_id = admin.register_issuer(registration)["issuer_id"]
            signer = CommandSigner(key, issuer_id)
            client = LedgerClient(url, timeout=120)
            client.adopt_wallet_key(signer.adopt_wallet_key())
            ids = issued_credentials(client, signer, 2 * n)
            print(f"preparing {2 * n} offers, tokens and proofs ...", file=sys.stderr)
            first = prepared_requests(client, signer, url, ids[:n])
            second = prepared_requests(client, signer, url, ids[n:])
            print("issuing ...", file=sys.stderr, flush=True)
            one_seconds, credentials = issue_all(port, first, 1)
            many_seconds, _ = issue_all(port, second, connections)
            print(f"credential endpoint, 1 connection:   {n / one_seconds:8.0f} SD-JWT VCs/s")
            print(f"credential endpoint, {connections} connections: {n / many_seconds:7.0f} /s")
            holders = [holder for holder, _, _ in first]
            # Every delivery anchored first, so that the ledger's verdicts are "valid".
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                (probe,) = presentations(holders[-1:], credentials[-1:], f"probe{time.time()}")
                answer = client.verify(
                    sd_jwt=probe["presentation"], nonce=probe["nonce"], audience=AUDIENCE
                )
                if answer["verdict"] != "not-anchored":
                    break
                time.sleep(1)
            ledger_rate = n / verify_all(port, presentations(holders, credentials, "ledger"))
            shown = presentations(holders, credentials, "library")
            library_rate = n / library_seconds(url, issuer_id, shown, Path(tmp))
            print(f"POST /verify (every step):           {ledger_rate:8.0f} presentations/s")
            print(f"@sd-jwt/sd-jwt-vc 0.19.0 (Node):     {library_rate:8.0f} presentations/s")
            print(f"ledger / library:                    {ledger_rate / library_rate:8.2f}")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
