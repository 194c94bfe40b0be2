"""The JSON-RPC transport of the anchoring: one kept-alive connection, web3's own semantics."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from anchors.anvil import ManagedAnvil
from anchors.chain import ChainUnavailable
from anchors.ethereum import Web3Chain
from anchors.keepalive_provider import KeepAliveProvider
from tests.conftest import free_port


class _Node(BaseHTTPRequestHandler):
    """Answers eth_blockNumber with 7; the server's switches make it misbehave."""

    protocol_version = "HTTP/1.1"
    server: _NodeServer

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.connections.add(self.client_address)
        self.server.authorizations.append(self.headers.get("Authorization"))
        if self.server.status != 200:
            self.send_response(self.server.status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        answer = json.dumps({"jsonrpc": "2.0", "id": body["id"], "result": "0x7"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
        if self.server.drop_after_answer:
            # Closed without saying so, as a node does with a connection left idle too long.
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _NodeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Node)
        self.connections: set[tuple[str, int]] = set()
        self.authorizations: list[str | None] = []
        self.status = 200
        self.drop_after_answer = False


@pytest.fixture
def node() -> Iterator[_NodeServer]:
    server = _NodeServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _url(server: _NodeServer, userinfo: str = "") -> str:
    return f"http://{userinfo}127.0.0.1:{server.server_address[1]}/"


def test_calls_share_one_connection(node: _NodeServer) -> None:
    chain = Web3Chain.connect(_url(node))
    assert [chain.head() for _ in range(5)] == [7] * 5
    assert len(node.connections) == 1


def test_a_connection_the_node_closed_is_replaced_and_the_call_answered(
    node: _NodeServer,
) -> None:
    node.drop_after_answer = True
    chain = Web3Chain.connect(_url(node))
    assert [chain.head() for _ in range(3)] == [7, 7, 7]
    assert len(node.connections) == 3


def test_an_http_error_status_is_the_chain_being_unavailable(node: _NodeServer) -> None:
    node.status = 503
    with pytest.raises(ChainUnavailable, match="HTTP 503"):
        Web3Chain.connect(_url(node)).head()


def test_nothing_listening_is_the_chain_being_unavailable() -> None:
    with pytest.raises(ChainUnavailable):
        Web3Chain.connect(f"http://127.0.0.1:{free_port()}/", timeout=2).head()


def test_credentials_in_the_url_are_sent_as_basic_authentication(node: _NodeServer) -> None:
    Web3Chain.connect(_url(node, "ops:s%40cret@")).head()
    assert node.authorizations == ["Basic " + base64.b64encode(b"ops:s@cret").decode()]


def test_an_endpoint_that_is_not_http_is_refused_when_configured() -> None:
    with pytest.raises(ValueError, match="not an HTTP"):
        KeepAliveProvider("ws://127.0.0.1:8546")


def test_a_real_node_answers_through_it(anvil: ManagedAnvil) -> None:
    chain = Web3Chain.connect(anvil.url)
    assert chain.chain_id() == 31337
    before = chain.head()
    assert chain.mine(2)
    assert chain.head() == before + 2
    assert chain.block(before + 2) is not None
