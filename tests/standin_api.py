"""A local stand-in for the Mistral API: a real HTTP server on 127.0.0.1 that answers from the cookbook's cassettes.

:class:`StandinAPI` serves a Starlette app with uvicorn in a background thread, on a free port of 127.0.0.1. Point
the SDK at it (``Mistral(api_key=..., server_url=api.url)``) and it answers as the API would, from recordings:

- a request is matched against the cassettes as replay matches it (``cookbook._cassette.matches``: method, path,
  query and JSON body as parsed JSON; headers never), with two loosenings a live run needs: the ``server`` field of
  ``POST /v1/connectors`` is ignored, and so is the ``value`` of any ``authorization`` object in a body (a real token
  against the cassette's ``REDACTED``);
- identical requests are answered in recorded order, and start over once all have been played (as
  ``cookbook._transport.ReplayTransport`` does);
- an answer has the recorded status, content type and body; a server-sent event stream goes out chunked, each event
  in two pieces (cut in the middle of its ``data:``) with a short pause between pieces, so clients parse partial reads;
- a request nothing answers gets a 404 error body whose message names it (``code: "standin_miss"``).

Every request is kept in :attr:`StandinAPI.requests`, and :meth:`StandinAPI.fail` makes the next N requests to a
path fail on purpose (see :data:`FAULTS`). :meth:`StandinAPI.stop` closes the port within a second or so, even with
a client connected or a stream half sent. The server only listens on 127.0.0.1 and never sends a request itself.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request as HTTPRequest
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cookbook import _cassette

FAULTS = ("429", "503", "slow", "drop", "malformed", "echo-401")
_ERRORS = {  # the API's error bodies for the status faults
    "429": {"object": "error", "message": "Rate limit exceeded", "type": "rate_limited", "param": None,
            "code": "1300", "raw_status_code": 429},
    "503": {"object": "error", "message": "Service unavailable", "type": "service_unavailable", "param": None,
            "code": "3505", "raw_status_code": 503},
}
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
_THREAD_PREFIX = "standin-api"


@dataclass
class Seen:
    """A request the stand-in received. Readable as attributes or as keys (``seen.path``, ``seen["path"]``)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names in lower case
    body: bytes
    json: Any  # the parsed body, or None when it is empty or not JSON

    def __getitem__(self, name: str) -> Any:
        return getattr(self, name)


@dataclass
class _Fault:
    method: str
    path_prefix: str
    fault: str
    left: int


@dataclass
class _Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def is_stream(self) -> bool:
        return "event-stream" in self.headers.get("content-type", "")


def _cassette_paths(cassettes: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> list[Path]:
    if isinstance(cassettes, (str, os.PathLike)):
        cassettes = [cassettes]
    paths: list[Path] = []
    for entry in cassettes:
        path = Path(entry)
        paths.extend(sorted(path.glob("*.yaml")) if path.is_dir() else [path])
    return paths


def _loosened(request: _cassette.Request) -> _cassette.Request:
    """The request as the stand-in compares it: no ``authorization.value``, no ``server`` in a connector create."""
    body = request.parsed
    if not isinstance(body, (dict, list)):
        return request
    body = _without_authorization_values(body)
    if request.method == "POST" and request.path.rstrip("/") == "/v1/connectors" and isinstance(body, dict):
        body.pop("server", None)
    return _cassette.Request(request.method, request.uri, json.dumps(body))


def _without_authorization_values(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: ({k: v for k, v in item.items() if k != "value"}
                      if key == "authorization" and isinstance(item, dict) else _without_authorization_values(item))
                for key, item in value.items()}
    if isinstance(value, list):
        return [_without_authorization_values(item) for item in value]
    return value


def _authorization_values(value: Any) -> list[str]:
    """Every string ``authorization.value`` in a parsed JSON body, in order."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "authorization" and isinstance(item, dict) and isinstance(item.get("value"), str):
                found.append(item["value"])
            found.extend(_authorization_values(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_authorization_values(item))
    return found


def _pieces(body: bytes) -> list[bytes]:
    """A server-sent event stream cut into pieces: each event in two, split in the middle of its ``data:``."""
    events = [event + b"\n\n" for event in body.split(b"\n\n") if event.strip()]
    pieces: list[bytes] = []
    for event in events:
        data = max(event.find(b"data:"), 0)
        cut = data + (len(event) - data) // 2
        pieces += [event[:cut], event[cut:]] if 0 < cut < len(event) else [event]
    return pieces


class _QuietDeliberateDrops(logging.Filter):
    """uvicorn logs an error when an app leaves a response unfinished; the stand-in does that on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (threading.current_thread().name.startswith(_THREAD_PREFIX)
                    and record.getMessage().startswith("ASGI callable returned without completing response"))


_QUIET = _QuietDeliberateDrops()


class StandinAPI:
    """The Mistral API answered from cassettes, on ``http://127.0.0.1:<free port>``; a context manager."""

    def __init__(self, cassettes: str | os.PathLike[str] | Iterable[str | os.PathLike[str]] = (), *,
                 slow_seconds: float = 3.0, piece_pause: float = 0.002):
        self.recordings = [_cassette.load_recordings(path) for path in _cassette_paths(cassettes)]
        self._recorded = [(_loosened(request), response) for r in self.recordings for request, response in r.data]
        self._plays: collections.Counter[int] = collections.Counter()
        self.requests: list[Seen] = []
        self.slow_seconds = slow_seconds  # how long the "slow" fault waits before answering
        self.piece_pause = piece_pause  # the pause between two pieces of a stream
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()

        app = Starlette(routes=[Route("/{path:path}", self._endpoint, methods=_METHODS)])
        # IPPROTO_TCP named, so asyncio sets TCP_NODELAY on each connection (with proto 0 it does not, and Nagle's
        # algorithm then holds a response's body until the client's delayed ACK: some 40 ms a request)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(app, log_config=None, log_level="warning", access_log=False, lifespan="off",
                                http="h11", ws="none", timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                        name=f"{_THREAD_PREFIX}-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> StandinAPI:
        logging.getLogger("uvicorn.error").addFilter(_QUIET)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                self.stop()
                raise RuntimeError("the stand-in API did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Stop serving and close the port: streams and slow answers in flight end at once."""
        self._stopping.set()
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=3)
        if self._thread.is_alive():  # a send stuck behind a client that never reads
            self._server.force_exit = True
            self._thread.join(timeout=2)
        self._sock.close()

    def __enter__(self) -> StandinAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget the requests seen, the faults still pending and what was played (for a server shared by tests)."""
        with self._lock:
            self.requests.clear()
            self._faults.clear()
            self._plays.clear()

    # ------------------------------------------------------------------ faults

    def fail(self, method: str, path_prefix: str, fault: str, times: int = 1) -> None:
        """The next ``times`` requests with this method and a path starting with ``path_prefix`` get ``fault``:

        - ``"429"`` / ``"503"``: that status, with the API's error body;
        - ``"slow"``: the normal answer after :attr:`slow_seconds` (sooner if the server stops);
        - ``"drop"``: part of the normal answer (about half a stream, cut mid-event), then the connection closes;
        - ``"malformed"``: 200, ``application/json``, the first half of the normal body;
        - ``"echo-401"``: 401 whose body repeats the credentials the request carried (``Authorization`` header and
          every ``authorization.value`` of the body), with ``www-authenticate: Bearer``.

        A fault does not use up a recording (nor does a slow answer whose client gave up waiting): the request's next
        attempt gets the answer this one would have had.
        """
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {', '.join(FAULTS)}")
        with self._lock:
            self._faults.append(_Fault(method.upper(), path_prefix, fault, times))

    def _take_fault(self, method: str, path: str) -> str | None:
        with self._lock:
            for fault in self._faults:
                if fault.left > 0 and fault.method == method and path.startswith(fault.path_prefix):
                    fault.left -= 1
                    return fault.fault
        return None

    # ------------------------------------------------------------------ answering

    def _answer(self, wanted: _cassette.Request, *, play: bool) -> _Answer:
        """The recording for ``wanted`` (the least played, as replay picks it), or the stand-in's 404."""
        wanted = _loosened(wanted)
        with self._lock:
            hits = [i for i, (recorded, _) in enumerate(self._recorded) if _cassette.matches(wanted, recorded)]
            if not hits:
                message = f"stand-in: no recording answers {wanted.method} {wanted.path}"
                body = {"object": "error", "message": message, "type": "not_found", "param": None,
                        "code": "standin_miss", "raw_status_code": 404}
                return _Answer(404, {"content-type": "application/json"}, json.dumps(body).encode())
            index = min(hits, key=self._plays.__getitem__)  # least played, then first recorded
            if play:
                self._plays[index] += 1
        response = self._recorded[index][1]
        headers = {"content-type": response["content-type"]} if response.get("content-type") else {}
        return _Answer(response["status"]["code"], headers, _cassette.body_bytes(response))

    async def _endpoint(self, request: HTTPRequest) -> Any:
        body = await request.body()
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        method, path = request.method, request.url.path
        self.requests.append(Seen(method, path, dict(parse_qsl(request.url.query)), dict(request.headers), body,
                                  parsed))
        fault = self._take_fault(method, path)
        if fault in _ERRORS:
            return JSONResponse(_ERRORS[fault], status_code=int(fault))
        if fault == "echo-401":
            sent = [request.headers.get("authorization", ""), *_authorization_values(parsed)]
            detail = "Unauthorized: bad credentials " + " and ".join(value for value in sent if value)
            return JSONResponse({"detail": detail}, status_code=401, headers={"www-authenticate": "Bearer"})
        waited = fault != "slow" or await self._wait(self.slow_seconds, request)

        wanted = _cassette.Request(method, str(request.url), body)
        answer = self._answer(wanted, play=waited and fault not in ("drop", "malformed"))
        if fault == "malformed":
            return Response(answer.body[: len(answer.body) // 2], 200, headers={"content-type": "application/json"})
        if answer.is_stream or fault == "drop":
            return _Streamed(self, answer, drop=fault == "drop")
        return Response(answer.body, answer.status, headers=answer.headers)

    async def _wait(self, seconds: float, request: HTTPRequest) -> bool:
        """Sleep ``seconds``, or less if the server stops or the client goes away; whether the client is still there."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self._stopping.is_set():
            if await request.is_disconnected():
                return False
            await anyio.sleep(min(0.02, max(deadline - time.monotonic(), 0)))
        return True


class _Streamed:
    """An ASGI response sent in pieces: a stream event by event, each cut in two; with ``drop``, only part of it,
    after which the connection is closed with the body unfinished."""

    def __init__(self, owner: StandinAPI, answer: _Answer, *, drop: bool):
        self.owner, self.answer, self.drop = owner, answer, drop

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        answer = self.answer
        headers = [(name.encode(), value.encode()) for name, value in answer.headers.items()]
        if answer.is_stream:
            pieces = _pieces(answer.body)
            if self.drop:  # about half the events, then half of the next one
                pieces = pieces[: 2 * (len(pieces) // 4) + 1]
        else:  # a JSON answer: its full length announced, half of it sent
            headers.append((b"content-length", str(len(answer.body)).encode()))
            pieces = [answer.body[: len(answer.body) // 2]]
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        for index, piece in enumerate(pieces):
            if self.owner._stopping.is_set():
                return  # unfinished: uvicorn closes the connection
            if index:
                await anyio.sleep(self.owner.piece_pause)
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        if not self.drop:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
