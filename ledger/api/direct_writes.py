"""The write routes that carry the load, answered straight from ASGI.

Issuing, amending and revoking credentials and the wallets' credential endpoint are what an
issuer's systems and wallets call thousands of times in a row. FastAPI's per-request machinery
(matching every included router, solving dependencies, encoding the answer, its thread hop)
costs several milliseconds of the event loop's time per request on this machine: more than the
write itself. Here those routes keep their declarations and endpoint functions (the OpenAPI
document is made from them), and this layer calls the same functions, binding the parameters
they declare itself: the validated body, the context, the path parameters, a header and the
response whose status and headers the endpoint sets. Statuses, headers, bodies and problem
documents are those FastAPI gives for the same declarations (a test compares them).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, get_args, get_origin, get_type_hints

from fastapi import Response
from fastapi.exceptions import RequestValidationError
from fastapi.params import Body, Header
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from ledger.api.app_context import ApiContext, request_begins
from ledger.api.json_answer import JsonAnswer
from ledger.api.problems import known_problem
from ledger.domain import json_text
from ledger.domain.errors import MalformedRequest

_MISSING = object()


@dataclass(frozen=True)
class _Binding:
    """How one endpoint's parameters are filled from a request."""

    context: str
    body: str | None
    body_type: TypeAdapter[Any] | None
    body_default: Any
    path: tuple[str, ...]
    headers: tuple[tuple[str, bytes], ...]  # (parameter, header name in lower case)
    response: str | None


def _binding(route: APIRoute) -> _Binding:
    """Read the parameters ``route``'s endpoint declares; refuse any this layer cannot fill."""
    endpoint = route.endpoint
    hints = get_type_hints(endpoint, include_extras=True)
    context = body = response = None
    body_type: TypeAdapter[Any] | None = None
    body_default: Any = _MISSING
    path: list[str] = []
    headers: list[tuple[str, bytes]] = []
    for name, parameter in inspect.signature(endpoint).parameters.items():
        hint = hints[name]
        base, extras = (
            (get_args(hint)[0], get_args(hint)[1:]) if get_origin(hint) is Annotated else (hint, ())
        )
        if base is ApiContext:
            context = name
        elif base is Response:
            response = name
        elif any(isinstance(extra, Header) for extra in extras):
            headers.append((name, name.replace("_", "-").encode()))
        elif name in route.param_convertors and not extras:
            path.append(name)
        elif body is None and _is_body(base, extras):
            body, body_type = name, TypeAdapter(base)
            if parameter.default is not inspect.Parameter.empty:
                body_default = parameter.default
        else:
            raise TypeError(f"{route.path}: cannot bind parameter {name!r} directly")
    if context is None:
        raise TypeError(f"{route.path}: the endpoint takes no ApiContext")
    return _Binding(context, body, body_type, body_default, tuple(path), tuple(headers), response)


def _is_body(base: Any, extras: tuple[Any, ...]) -> bool:
    """Whether FastAPI reads the parameter from the body: a model, or declared ``Body()``."""
    if any(isinstance(extra, Body) for extra in extras):
        return True
    return not extras and inspect.isclass(base) and issubclass(base, BaseModel)


def _json_body(raw: bytes, content_type: str | None) -> Any:
    """The body as FastAPI reads it: JSON when declared as such (or ``+json``), else the bytes;
    nothing at all when empty."""
    if not raw:
        return _MISSING
    media = (content_type or "").split(";", 1)[0].strip().lower()
    kind, _, subtype = media.partition("/")
    if kind != "application" or not (subtype == "json" or subtype.endswith("+json")):
        return raw
    try:
        return json_text.loads(raw)
    except json.JSONDecodeError as exc:
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body", exc.pos),
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": exc.msg},
                }
            ]
        ) from None
    except ValueError:  # not UTF-8 (nor UTF-16 or -32): FastAPI's words for it
        raise MalformedRequest("There was an error parsing the body") from None


def _validated(binding: _Binding, received: Any) -> Any:
    if received is _MISSING:
        if binding.body_default is not _MISSING:
            return binding.body_default
        raise RequestValidationError(
            [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
        )
    assert binding.body_type is not None
    try:
        return binding.body_type.validate_python(received)
    except ValidationError as exc:
        errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        raise RequestValidationError(errors) from None


@dataclass(frozen=True)
class DirectRoute:
    """One route answered directly: its declaration and how to call its endpoint."""

    route: APIRoute
    binding: _Binding
    # Written on the event loop's thread while writes come one after another.
    lone_on_loop: bool = False

    @classmethod
    def of(cls, route: APIRoute, *, lone_on_loop: bool = False) -> DirectRoute:
        if route.methods != {"POST"}:
            raise TypeError(f"{route.path}: only POST routes are answered directly")
        return cls(route, _binding(route), lone_on_loop)

    def call(self, ctx: ApiContext, scope: Scope, body: bytes) -> Response:
        """Bind, run the endpoint, and answer as FastAPI would (in a writer thread, or on the
        event loop for a lone write)."""
        binding = self.binding
        headers = dict(scope["headers"])
        arguments: dict[str, Any] = {binding.context: ctx}
        for name in binding.path:
            arguments[name] = scope["path_params"][name]
        for name, header in binding.headers:
            value = headers.get(header)
            arguments[name] = value.decode("latin-1") if value is not None else None
        if binding.body is not None:
            content_type = headers.get(b"content-type")
            received = _json_body(body, content_type.decode("latin-1") if content_type else None)
            arguments[binding.body] = _validated(binding, received)
        response = Response()
        del response.headers["content-length"]
        response.status_code = self.route.status_code or 200
        if binding.response is not None:
            arguments[binding.response] = response
        content = self.route.endpoint(**arguments)
        if isinstance(content, Response):
            return content
        answer = JsonAnswer(content, status_code=response.status_code)
        answer.headers.update(response.headers)
        return answer


class DirectWrites:
    """ASGI middleware answering ``routes`` before FastAPI sees them; every other request goes
    on. It sits inside the request telemetry, error and body-limit layers, so a direct answer
    is counted, logged and limited like any other."""

    def __init__(self, app: ASGIApp, *, ctx: ApiContext, routes: Iterable[DirectRoute]) -> None:
        self.app = app
        self.ctx = ctx
        self._routes = list(routes)
        # Direct writes this process is answering now, and whether the last of them to end
        # (with none left) had the process to itself all along (the event loop's own state).
        self._in_flight = 0
        self._crowded = False
        self._last_alone = False

    def _match(self, scope: Scope) -> tuple[DirectRoute, dict[str, str]] | None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return None
        for direct in self._routes:
            found = direct.route.path_regex.match(scope["path"])
            if found is not None:
                return direct, found.groupdict()
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        matched = self._match(scope)
        if matched is None:
            await self.app(scope, receive, send)
            return
        direct, path_params = matched
        scope["route"] = direct.route  # the template labels the request's log line and metrics
        scope["path_params"] = path_params
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending its body
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        call = functools.partial(direct.call, self.ctx, scope, b"".join(chunks))
        request_begins()
        deferred = self.ctx.deferring_waits()
        alone = self._in_flight == 0 and self._last_alone
        self._crowded = self._crowded or self._in_flight > 0
        self._in_flight += 1
        try:
            # A write the intake would hold goes to a thread even so: held on the loop, it
            # would stall every other request of the process.
            if direct.lone_on_loop and alone and not self.ctx.intake.over_limit():
                # One write after another (a client in sequence): the write has nothing to
                # overlap with, and the hand-over to a thread and back cost it an eighth of
                # the process's CPU. Writes that overlap, and the first after them, go to the
                # pool, where they overlap wherever the store and the signature checks let go
                # of the interpreter; a request arriving meanwhile waits for this write at most.
                answer = contextvars.copy_context().run(call)
            else:
                # The write blocks on the store: a thread of the context's pool, carrying the
                # request's context (its id) so that the lines it logs name the request.
                answer = await asyncio.get_running_loop().run_in_executor(
                    self.ctx.writers, contextvars.copy_context().run, call
                )
            # Read-your-writes: this task waits, not the thread, which a second handoff (to
            # the thread, then back to the loop) would cost every write's answer.
            await self.ctx.reached(deferred)
        except Exception as exc:
            problem = known_problem(exc, scope["method"], scope["path"])
            if problem is None:
                raise
            answer = problem
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._last_alone, self._crowded = not self._crowded, False
        await answer(scope, receive, send)


def direct_routes(
    routes: Iterable[object],
    endpoints: Iterable[Callable[..., Any]],
    *,
    lone_on_loop: Iterable[Callable[..., Any]] = (),
) -> list[DirectRoute]:
    """The declared routes of ``endpoints`` among ``routes``, ready to be answered directly;
    those of ``lone_on_loop`` written on the event loop's thread while direct writes come one
    after another, none overlapping (for short writes to a local store only: the loop waits
    for them)."""
    wanted = list(endpoints)
    on_loop = set(lone_on_loop)
    found = {
        route.endpoint: route
        for route in routes
        if isinstance(route, APIRoute) and route.endpoint in wanted
    }
    missing = [endpoint.__name__ for endpoint in wanted if endpoint not in found]
    if missing:
        raise LookupError(f"no declared route for {', '.join(missing)}")
    return [
        DirectRoute.of(found[endpoint], lone_on_loop=endpoint in on_loop) for endpoint in wanted
    ]
