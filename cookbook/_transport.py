"""HTTP transports handed to the SDK's clients: one answers from cassettes, one records.

Each class serves both the sync and the async client (like ``httpx.MockTransport``),
so one object backs ``Mistral(client=..., async_client=...)``. Nothing is patched
globally: only the client that was given a transport is affected.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import _cassette
from ._cassette import Recordings, Request
from ._errors import ReplayMiss
from ._http import httpx

if TYPE_CHECKING:
    from vcr.cassette import Cassette


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
        wanted = _cassette.scrub_request(Request(request.method, str(request.url), request.content,
                                                 dict(request.headers)))
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


class RecordTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Sends each request to the real server and writes the exchange, scrubbed, to the cassette.

    The cassette file is rewritten atomically after every exchange, so a crash
    mid-run keeps everything recorded so far and never leaves a broken file.
    Responses (streams included) are read whole before they are returned.
    """

    def __init__(self, cassette: Cassette, *, sync: httpx.BaseTransport | None = None,
                 async_: httpx.AsyncBaseTransport | None = None):
        self.cassette = cassette
        self._sync_real = sync or httpx.HTTPTransport(retries=0)
        self._async_real = async_ or httpx.AsyncHTTPTransport(retries=0)
        from vcr.stubs.httpx_stubs import vcr_handle_async_request, vcr_handle_request

        self._sync = vcr_handle_request(cassette, type(self._sync_real).handle_request, httpx)
        self._async = vcr_handle_async_request(cassette, type(self._async_real).handle_async_request, httpx)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._sync(self._sync_real, request)
        self._keep_last_attempt()
        _cassette.save(self.cassette)
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._async(self._async_real, request)
        self._keep_last_attempt()
        _cassette.save(self.cassette)
        return response

    def _keep_last_attempt(self) -> None:
        """Drop an earlier answer of 429/5xx to the same request: it was a failed attempt the client retried.

        Otherwise replay, which plays identical requests in recorded order, would answer with the failure.
        """
        data = self.cassette.data
        if len(data) < 2:
            return
        request, _ = data[-1]
        for index in range(len(data) - 2, self.cassette._loaded_count - 1, -1):
            earlier, response = data[index]
            if _cassette.matches(request, earlier):
                if response["status"]["code"] in RETRIED:
                    del data[index]
                return

    def close(self) -> None:
        self._sync_real.close()

    async def aclose(self) -> None:
        await self._async_real.aclose()
