"""HTTP transports handed to the SDK's clients: one answers from cassettes, one talks to the API (and records).

Each class serves both the sync and the async client (like ``httpx.MockTransport``), so one object backs
``Mistral(client=..., async_client=...)``. Nothing is patched globally: only the client that was given a
transport is affected.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import _cassette
from ._cassette import Recordings, Request, Secrets
from ._errors import ReplayMiss
from ._http import httpx

PROVENANCE_HEADER = "cookbook-provenance"


def provenance_of(response: dict) -> str:
    """What a replayed answer rests on, as the transport tells it in the ``cookbook-provenance`` header:
    ``recorded``, ``authored; capture=braintrust-2026,mistral-cookbook`` or ``authored; capture=none``."""
    if response.get("provenance") == "recorded":
        return "recorded"
    capture = response.get("capture") or "none"
    return "authored; capture=" + (capture if isinstance(capture, str) else ",".join(capture))


def _httpx_response(response: dict, request: httpx.Request) -> httpx.Response:
    headers = [(name, value) for name, values in response["headers"].items() for value in values]
    headers.append((PROVENANCE_HEADER, provenance_of(response)))
    body = response["body"]["string"] or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    message = response["status"].get("message")
    return httpx.Response(
        response["status"]["code"],
        headers=headers,
        stream=httpx.ByteStream(body),
        request=request,
        extensions={"reason_phrase": message.encode("ascii")} if message else {},
    )


class ReplayTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Answers every request from recordings; never opens a socket.

    Identical requests replay in recorded order. When all of a request's
    recordings have been played, they play again from the first, so re-running
    a notebook cell works.
    """

    def __init__(self, cassettes: Sequence[Recordings]):
        self.cassettes = tuple(cassettes)
        # Every recording by match key, in cassette then recorded order: a lookup is a dict access.
        self._index: dict[tuple, list[tuple[Recordings, int]]] = {}
        for cassette in self.cassettes:
            for index, (recorded, _) in enumerate(cassette.data):
                self._index.setdefault(_cassette.match_key(recorded), []).append((cassette, index))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        return self._answer(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return self._answer(request)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        # Scrubbed as recordings are, so a real token matches its placeholder and never shows in a miss.
        wanted = Secrets().request(Request(request.method, str(request.url), request.content, dict(request.headers)))
        hits = self._index.get(_cassette.match_key(wanted)) or self._equal_by_rules(wanted)
        if not hits:
            raise _miss(wanted, self.cassettes)
        unplayed = [(c, i) for c, i in hits if not c.play_counts[i]]
        if not unplayed:  # all played: start over
            for cassette, index in hits:
                cassette.play_counts[index] = 0
            unplayed = hits
        cassette, index = unplayed[0]
        cassette.play_counts[index] += 1
        return _httpx_response(cassette.data[index][1], request)

    def _equal_by_rules(self, wanted: Request) -> list[tuple[Recordings, int]]:
        """Recordings the matching rules accept although their key differs (1 and 1.0 are equal JSON numbers)."""
        return [(cassette, index) for cassette in self.cassettes
                for index, (recorded, _) in enumerate(cassette.data) if _cassette.matches(wanted, recorded)]


def _names(cassettes: Sequence[Recordings]) -> tuple[str, ...]:
    return tuple(Path(c.path).stem for c in cassettes)


def _miss(wanted: Request, cassettes: Sequence[Recordings]) -> ReplayMiss:
    body = _cassette.parsed_body(wanted)
    names = _names(cassettes)
    lines = [
        f"No recording answers {wanted.method} {wanted.path} in cassette{'s' if len(names) != 1 else ''} "
        f"{', '.join(names) or '(none)'}.",
    ]
    nearest = _nearest(wanted, cassettes)
    if nearest is None and body is not None:
        lines.append("Request body:\n" + _indent(json.dumps(body, indent=2, ensure_ascii=False, default=str), 24))
    if nearest is not None:
        name, recorded = nearest
        diff = _cassette.body_diff(body, _cassette.parsed_body(recorded))
        lines.append(f"Nearest recording ({recorded.method} {recorded.path} in {name}), diff:\n{diff}")
        prompts = _recorded_prompts(recorded.path, cassettes)
        if prompts:
            lines.append("Recorded prompts for this endpoint:\n" + "\n".join(f"  - {p!r}" for p in prompts[:12]))
    lines.append(
        "To run it for real, set MISTRAL_API_KEY (or pass mode='live'); to add it to the cassette, "
        "run with mode='record' (COOKBOOK_MODE=record) and a key."
    )
    return ReplayMiss("\n".join(lines), method=wanted.method, path=wanted.path, cassettes=names)


def _indent(text: str, max_lines: int) -> str:
    lines = text.splitlines()
    shown = lines[:max_lines] + ([f"… ({len(lines) - max_lines} more lines)"] if len(lines) > max_lines else [])
    return "\n".join("  " + line for line in shown)


def _nearest(wanted: Request, cassettes: Sequence[Recordings]) -> tuple[str, Request] | None:
    """The recorded request most like ``wanted``: same method and path first, then the smallest diff."""
    body = _cassette.parsed_body(wanted)
    best, best_score = None, None
    for cassette in cassettes:
        for recorded in cassette.requests:
            diff = _cassette.body_diff(body, _cassette.parsed_body(recorded), max_lines=10**6)
            score = (recorded.method != wanted.method, recorded.path != wanted.path, diff.count("\n"))
            if best_score is None or score < best_score:
                best, best_score = (Path(cassette.path).stem, recorded), score
    return best


def _recorded_prompts(path: str, cassettes: Sequence[Recordings]) -> list[str]:
    """The user prompts of the recordings for ``path`` that were answered (an error demo's prompt is no prompt to
    try)."""
    prompts: list[str] = []
    for cassette in cassettes:
        for recorded, response in cassette.data:
            body = _cassette.parsed_body(recorded)
            if recorded.path != path or not isinstance(body, dict) or response["status"]["code"] >= 400:
                continue
            for item in body.get("inputs") or []:
                if isinstance(item, dict) and item.get("role") == "user" and isinstance(item.get("content"), str):
                    if item["content"] not in prompts:
                        prompts.append(item["content"])
    return prompts


RETRIED = frozenset({429, 500, 502, 503, 504})  # the statuses live clients retry (cookbook.retry_config)


class _Passing(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body on its way to the client: scrubbed line by line, kept, and handed to ``done`` at its end.

    Lines go out as they arrive (a stream is shown live while it is recorded); a secret never spans a line, so
    scrubbing by lines misses none. ``done(body, complete)`` runs once, with what went out: complete when the
    body ended or when the client stopped reading (an MCP client closes a stream once it has its answer), not
    when the connection failed.
    """

    def __init__(self, stream: Any, secrets: Secrets, done: Any) -> None:
        self.stream, self.secrets, self.done = stream, secrets, done
        self.kept: list[bytes] = []
        self.pending = b""
        self.finished = False

    def _pass(self, chunk: bytes, last: bool = False) -> bytes:
        data = self.pending + chunk
        cut = len(data) if last else data.rfind(b"\n") + 1
        self.pending = data[cut:]
        out = self.secrets.bytes(data[:cut])
        self.kept.append(out)
        return out

    def _end(self, complete: bool) -> None:
        if not self.finished:
            self.finished = True
            self.done(b"".join(self.kept), complete)

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

    Given a cassette path, each complete exchange is also recorded there, scrubbed, as soon as its body has been
    read (:func:`cookbook._cassette.record` merges it under the cassette's lock). A response is passed on as it
    arrives, so a recorded stream is shown live. The API key and every token a request carries (auth headers,
    ``authorization.value`` in the body, secret query parameters) are learnt before it is sent, so an answer
    that echoes them (a 401, say) reaches neither the SDK, nor an error message, nor the file.
    """

    def __init__(self, secrets: Secrets, cassette: Path | None = None, *,
                 sync: httpx.BaseTransport | None = None, async_: httpx.AsyncBaseTransport | None = None) -> None:
        self.secrets = secrets
        self.cassette = cassette
        self.since = _cassette.now_stamp()  # this recording session: older exchanges are replaced, not its own
        self._retried: dict[tuple, str] = {}  # match key -> stamp of this session's last failed attempt
        self._sync = sync or httpx.HTTPTransport(retries=0)
        self._async = async_ or httpx.AsyncHTTPTransport(retries=0)

    def _prepare(self, request: httpx.Request) -> None:
        request.headers["accept-encoding"] = "identity"  # plain bytes, which can be scrubbed
        self.secrets.learn(request.method, str(request.url), request.headers, request.content)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self._prepare(request)
        return self._passed_on(request, self._sync.handle_request(request))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self._prepare(request)
        return self._passed_on(request, await self._async.handle_async_request(request))

    def _passed_on(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        def done(body: bytes, complete: bool) -> None:
            if complete and self.cassette is not None:
                self._record(request, response, body)

        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() != "content-length"]
        return httpx.Response(response.status_code, headers=headers, request=request,
                              stream=_Passing(response.stream, self.secrets, done), extensions=response.extensions)

    def _record(self, request: httpx.Request, response: httpx.Response, body: bytes) -> None:
        """Write one exchange; an earlier failed attempt of this session at the same request gives way to it."""
        scrubbed = self.secrets.request(Request(request.method, str(request.url).split("#", 1)[0], request.content,
                                                dict(request.headers)))
        stamp = _cassette.now_stamp()
        key = _cassette.match_key(scrubbed)
        replaces = [self._retried.pop(key)] if key in self._retried else []
        if response.status_code in RETRIED:
            self._retried[key] = stamp
        content_type = response.headers.get("content-type", "")
        interaction = {
            "request": {"method": scrubbed.method, "uri": scrubbed.uri, "headers": {k: [v] for k, v in
                                                                                    scrubbed.headers.items()},
                        "body": scrubbed.body.decode("utf-8", "replace") if scrubbed.body else None},
            "response": {"status": {"code": response.status_code, "message": response.reason_phrase},
                         "headers": {"content-type": [content_type]} if content_type else {},
                         "body": {"string": self.secrets.body(body).decode("utf-8", "replace")},
                         "provenance": "recorded", "recorded": stamp},
        }
        _cassette.record(self.cassette, interaction, since=self.since, replaces=replaces)

    def close(self) -> None:
        self._sync.close()

    async def aclose(self) -> None:
        await self._async.aclose()
