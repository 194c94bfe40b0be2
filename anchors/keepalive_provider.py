"""A web3 provider for JSON-RPC over HTTP that keeps its connection open.

web3's own ``HTTPProvider`` goes through ``requests``, which costs some 400 µs of CPU a call
(sessions, adapters, header merging, cookie jars); the anchoring makes a dozen calls a batch,
several batches a second, on the same core as everything else. Here a call is one request on
a kept-alive ``http.client`` connection (~120 µs). Encoding, decoding, the middlewares and
the errors are web3's, as with its own provider. Threads take turns on the one connection
(the anchoring has one thread; a verifier's reads are a few a request).

A connection the node has closed while it was idle is found when it is used again: that
request is sent once more on a fresh connection (every call the anchoring makes can be
repeated: reads, and a raw transaction the node then reports as already known). Any other
failure, and any HTTP status but 200, is a ``ConnectionError``.
"""

from __future__ import annotations

import base64
import http.client
import threading
from typing import Any
from urllib.parse import unquote, urlsplit

from web3.providers import JSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse

_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


class KeepAliveProvider(JSONBaseProvider):
    """JSON-RPC over HTTP(S) to ``endpoint_uri``, ``timeout`` seconds a request."""

    def __init__(self, endpoint_uri: str, timeout: float = 10.0) -> None:
        super().__init__()
        parts = urlsplit(endpoint_uri)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an HTTP(S) JSON-RPC endpoint: {endpoint_uri!r}")
        self.endpoint_uri = endpoint_uri
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._timeout = timeout
        self._headers = dict(_HEADERS)
        if parts.username is not None:
            # Credentials in the URL, as requests would send them.
            user_password = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            token = base64.b64encode(user_password.encode("utf-8")).decode("ascii")
            self._headers["Authorization"] = f"Basic {token}"
        self._lock = threading.Lock()
        self._connection: http.client.HTTPConnection | None = None

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        return self.decode_rpc_response(self._post(self.encode_rpc_request(method, params)))

    def _connect(self) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        return kind(self._host, self._port, timeout=self._timeout)

    def _post(self, body: bytes) -> bytes:
        with self._lock:
            connection = self._connection
            reused = connection is not None
            while True:
                if connection is None:
                    connection = self._connection = self._connect()
                try:
                    connection.request("POST", self._path, body, self._headers)
                    response = connection.getresponse()
                    data = response.read()
                except (OSError, http.client.HTTPException) as exc:
                    connection.close()
                    connection = self._connection = None
                    if reused and not isinstance(exc, TimeoutError):
                        reused = False  # a kept-alive connection the node had closed: again
                        continue
                    raise ConnectionError(f"{self.endpoint_uri}: {exc}") from exc
                if response.will_close:
                    connection.close()
                    self._connection = None
                if response.status != 200:
                    raise ConnectionError(
                        f"{self.endpoint_uri}: HTTP {response.status} {response.reason}"
                    )
                return data

    def close(self) -> None:
        """Close the connection (the next call opens another)."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def __del__(self) -> None:
        connection = self.__dict__.get("_connection")
        if connection is not None:
            connection.close()
