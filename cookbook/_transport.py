"""HTTP transports handed to the SDK's clients: one answers from cassettes, one talks to the API (and records).

Each class serves both the sync and the async client (like ``httpx.MockTransport``), so one object backs
``Mistral(client=..., async_client=...)``; only the client given a transport is affected.
"""

from __future__ import annotations

import contextlib
import difflib
import json
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from . import _cassette
from ._cassette import Recordings, Request, Secrets
from ._errors import ReplayMiss
from ._http import httpx

PROVENANCE_HEADER = "cookbook-provenance"
RETRIED = frozenset({429, 500, 502, 503, 504})  # the statuses live clients retry (cookbook.retry_config)


def provenance_of(item: dict) -> str:
    """What a replayed answer rests on, as the ``cookbook-provenance`` header tells it: ``recorded``,
    ``authored; capture=braintrust-2026,mistral-cookbook`` or ``authored; capture=none``."""
    if item.get("provenance") == "recorded":
        return "recorded"
    capture = item.get("capture") or "none"
    return "authored; capture=" + (capture if isinstance(capture, str) else ",".join(capture))


class ReplayTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Answers every request from recordings; never opens a socket.

    Identical requests replay in recorded order; once all of a request's recordings have been played, they play
    again from the first, so re-running a notebook cell works.
    """

    def __init__(self, cassettes: Sequence[Recordings]):
        self.cassettes = tuple(cassettes)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        return self._answer(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return self._answer(request)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        # Scrubbed as recordings are, so a real token matches its placeholder and never shows in a miss.
        secrets = Secrets()
        wanted = Request(request.method, secrets.url(str(request.url)), secrets.body(request.content))
        hits = [(cassette, index) for cassette in self.cassettes
                for index, recorded in enumerate(cassette.requests) if _cassette.matches(wanted, recorded)]
        if not hits:
            raise _miss(wanted, self.cassettes)
        cassette, index = min(hits, key=lambda hit: hit[0].play_counts[hit[1]])  # least played, then first recorded
        cassette.play_counts[index] += 1
        item = cassette.interactions[index]
        response, headers = item["response"], {PROVENANCE_HEADER: provenance_of(item)}
        if response.get("content-type"):
            headers["content-type"] = response["content-type"]
        message = response["status"].get("message")
        return httpx.Response(response["status"]["code"], headers=headers, request=request,
                              stream=httpx.ByteStream(_cassette.body_bytes(response)),
                              extensions={"reason_phrase": message.encode("ascii")} if message else {})


def _clip(lines: list[str], most: int) -> str:
    """The first ``most`` lines, each cut at 160 characters, and how many more there are."""
    shown = [line if len(line) <= 160 else line[:160] + "…" for line in lines[:most]]
    return "\n".join(shown + ([f"… ({len(lines) - most} more lines)"] if len(lines) > most else []))


def _json_lines(value: Any) -> list[str]:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str).splitlines()


def _diff(new: Request, recorded: Request) -> list[str]:
    """A unified diff of two bodies, pretty-printed with sorted keys."""
    return list(difflib.unified_diff(_json_lines(recorded.parsed), _json_lines(new.parsed), "recorded",
                                     "this request", n=1, lineterm=""))


def _miss(wanted: Request, cassettes: Sequence[Recordings]) -> ReplayMiss:
    """The error for a request no recording answers: the nearest recording (same method and path first, then the
    smallest diff), what differs, and the prompts recorded for that endpoint."""
    names = tuple(Path(c.path).stem for c in cassettes)
    lines = [f"No recording answers {wanted.method} {wanted.path} in cassette{'s' if len(names) != 1 else ''} "
             f"{', '.join(names) or '(none)'}."]
    recorded = [(Path(c.path).stem, r) for c in cassettes for r in c.requests]
    if recorded:
        tier = min((r.method != wanted.method, r.path != wanted.path) for _, r in recorded)
        diffs = [(_diff(wanted, r), name, r) for name, r in recorded
                 if (r.method != wanted.method, r.path != wanted.path) == tier]
        diff, name, nearest = min(diffs, key=lambda candidate: len(candidate[0]))
        lines.append(f"Nearest recording ({nearest.method} {nearest.path} in {name}), diff:\n" + _clip(diff, 16))
        prompts = _cassette.prompts(cassettes, nearest.path)
        if prompts:
            lines.append("Recorded prompts for this endpoint:\n" + "\n".join(f"  - {p!r}" for p in prompts[:12]))
    elif wanted.parsed is not None:
        lines.append("Request body:\n" + _clip(["  " + line for line in _json_lines(wanted.parsed)], 24))
    lines.append("To run it for real, set MISTRAL_API_KEY (or pass mode='live'); to add it to the cassette, "
                 "run with mode='record' (COOKBOOK_MODE=record) and a key.")
    return ReplayMiss("\n".join(lines), method=wanted.method, path=wanted.path, cassettes=names)


class _Passing(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body on its way to the client, scrubbed line by line as it arrives (a secret never spans a line;
    a stream shows live while it is recorded). ``done(body)`` runs once with what went out, unless the connection
    failed (a client that stops reading, as an MCP client does, has what it wanted)."""

    def __init__(self, stream: Any, secrets: Secrets, done: Callable[[bytes], None] | None) -> None:
        self.stream, self.secrets, self.done = stream, secrets, done
        self.kept: list[bytes] = []
        self.pending = b""

    def _pass(self, chunk: bytes, last: bool = False) -> bytes:
        data = self.pending + chunk
        cut = len(data) if last else data.rfind(b"\n") + 1
        self.pending = data[cut:]
        out = self.secrets.bytes(data[:cut])
        self.kept.append(out)
        return out

    def _end(self, complete: bool) -> None:
        done, self.done = self.done, None
        if done is not None and complete:
            done(b"".join(self.kept))

    @contextlib.contextmanager
    def _reading(self) -> Any:
        """Around the reading of the body: it ended, or the client stopped reading (complete), or it failed."""
        try:
            yield
        except GeneratorExit:  # the client stopped reading
            self._end(True)
            raise
        except BaseException:
            self._end(False)
            raise
        self._end(True)

    def __iter__(self) -> Any:
        with self._reading():
            for chunk in self.stream:
                yield self._pass(chunk)
            yield self._pass(b"", last=True)

    async def __aiter__(self) -> Any:
        with self._reading():
            async for chunk in self.stream:
                yield self._pass(chunk)
            yield self._pass(b"", last=True)

    def close(self) -> None:
        self._end(True)
        self.stream.close()

    async def aclose(self) -> None:
        self._end(True)
        await self.stream.aclose()


class LiveTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Sends each request to the server; what comes back has every secret the client sent taken out.

    The key and every token a request carries are learnt before it is sent, so an answer that echoes them (a 401,
    say) reaches neither the SDK, nor an error message, nor the file. Given a cassette path, each complete exchange
    is also recorded there, scrubbed, once its body has been read (:func:`cookbook._cassette.record`).
    """

    def __init__(self, secrets: Secrets, cassette: Path | None = None) -> None:
        self.secrets, self.cassette = secrets, cassette
        self.since = _cassette.now_stamp()  # this recording session: older exchanges are replaced, not its own
        self._retried: dict[str, str] = {}  # a request -> the stamp of this session's last failed attempt at it
        self._sync, self._async = httpx.HTTPTransport(retries=0), httpx.AsyncHTTPTransport(retries=0)

    def _prepare(self, request: httpx.Request) -> None:
        request.headers["accept-encoding"] = "identity"  # plain bytes, which can be scrubbed
        self.secrets.learn(request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self._prepare(request)
        return self._passed_on(request, self._sync.handle_request(request))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self._prepare(request)
        return self._passed_on(request, await self._async.handle_async_request(request))

    def _passed_on(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        done = partial(self._record, request, response) if self.cassette is not None else None
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() != "content-length"]
        return httpx.Response(response.status_code, headers=headers, request=request,
                              stream=_Passing(response.stream, self.secrets, done), extensions=response.extensions)

    def _record(self, request: httpx.Request, response: httpx.Response, body: bytes) -> None:
        """Write one exchange; an earlier failed attempt of this session at the same request gives way to it."""
        entry = self.secrets.request(request.method, str(request.url).split("#", 1)[0], request.headers,
                                     request.content)
        stamp, attempt = _cassette.now_stamp(), json.dumps(entry, sort_keys=True)
        replaces = [self._retried.pop(attempt)] if attempt in self._retried else []
        if response.status_code in RETRIED:
            self._retried[attempt] = stamp
        answer = _cassette.response_entry(response.status_code, response.reason_phrase,
                                          response.headers.get("content-type"), self.secrets.body(body))
        _cassette.record(self.cassette, {"provenance": "recorded", "recorded": stamp, "request": entry,
                                         "response": answer}, since=self.since, replaces=replaces)

    def close(self) -> None:
        self._sync.close()

    async def aclose(self) -> None:
        await self._async.aclose()
