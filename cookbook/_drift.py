"""What ``cookbook record`` and ``cookbook check --live`` say about a cassette.

``record`` counts exchanges added, replaced, kept, and authored ones left. ``check`` compares the shape of each
answer with its recording, never its words: its status, the kind of body (JSON, events, text), and each field's path
and type (``outputs[].usage:dict``); fields that name things (``type``, ``role``, ``name``, ...) keep their value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ._cassette import Request, matches, read

NAMING_FIELDS = frozenset({"type", "object", "role", "name", "function", "event"})
KINDS = {dict: "dict", list: "list", bool: "bool", int: "number", float: "number", type(None): "null"}


def exchanges(path: Path) -> list[dict]:
    """A cassette's exchanges (for one not written yet, those of the bundled cassette it will start from)."""
    return read(path).get("interactions") or []


def _identity(item: dict) -> tuple:
    """What identifies an exchange when :func:`cookbook._cassette.dumps` rewrites it (filling ``capture``, dropping
    other keys): what it rests on, when it was recorded, and its request."""
    provenance = item.get("provenance", "authored")
    return provenance, item.get("recorded") if provenance == "recorded" else None, item["request"]


def changes(before: list[dict], after: list[dict]) -> list[int]:
    """What a recording did to a cassette: exchanges added, replaced and kept, and the authored ones left."""
    old = [Request.of(item["request"]) for item in before]
    known = [_identity(item) for item in before]
    fresh = [Request.of(item["request"]) for item in after if _identity(item) not in known]
    added = sum(not any(matches(request, seen) for seen in old) for request in fresh)
    return [added, len(fresh) - added, len(after) - len(fresh), sum(i.get("provenance") == "authored" for i in after)]


def _facts(value: Any, path: str, out: set[str]) -> None:
    out.add(f"{path}:{KINDS.get(type(value), 'str')}")
    if isinstance(value, list):
        for item in value:
            _facts(item, f"{path}[]", out)
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if key in NAMING_FIELDS and isinstance(item, str):
                out.add(f"{child}={item}")
            else:
                _facts(item, child, out)


def shape(response: dict) -> set[str]:
    """The shape of one recorded answer (a cassette's response)."""
    facts = {f"status={response['status']['code']}"}
    if "event-stream" in response.get("content-type", ""):
        for event in response.get("sse") or []:
            _facts({"event": event.get("event"), "data": event.get("data")}, "events[]", facts)
        return facts | {"body=events"}
    if response.get("text"):
        return facts | {"body=text"}
    _facts(response.get("json"), "", facts)
    return facts | {"body=json"}


def _same_server(live: Request, recorded: Request) -> bool:
    """Mistral API calls go wherever ``--server-url`` points; any other call (an MCP preflight) compares only with
    a recording of the same server."""
    return "/v1/" in live.path or urlsplit(live.uri).netloc == urlsplit(recorded.uri).netloc


def compare(recorded: list[dict], live: list[dict], since: str) -> list[dict[str, Any]]:
    """Each exchange of ``live`` recorded since ``since``, with its drift from the recording of the same request
    in ``recorded`` (``compared`` is false when there is none)."""
    old = [(Request.of(item["request"]), item["response"]) for item in recorded]
    report = []
    for item in live:
        if (item.get("recorded") or "") < since:
            continue
        request = Request.of(item["request"])
        answer = next((response for was, response in old if matches(request, was) and _same_server(request, was)),
                      None)
        before, after = (shape(answer), shape(item["response"])) if answer else (set(), set())
        report.append({"request": f"{request.method} {request.path}", "status": item["response"]["status"]["code"],
                       "missing": sorted(before - after), "new": sorted(after - before),
                       "compared": answer is not None})
    return report


def counts(report: list[dict[str, Any]]) -> tuple[int, int, int]:
    """Of a recipe's compared exchanges: how many, how many had a recording, how many drifted."""
    return len(report), sum(e["compared"] for e in report), sum(bool(e["missing"] or e["new"]) for e in report)


def describe(entry: dict[str, Any]) -> str:
    """An exchange's drift: the request, then a line per fact (``-`` missing, ``+`` new)."""
    facts = [f"  - {fact}" for fact in entry["missing"]] + [f"  + {fact}" for fact in entry["new"]]
    return "\n".join([f"{entry['request']} (status {entry['status']}):", *facts])
