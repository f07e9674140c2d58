"""What ``cookbook record`` and ``cookbook check --live`` say about a cassette.

``record`` counts what a recording did to a cassette: exchanges added, replaced, kept, and authored ones left.
``check`` compares the shape of each answer with its recording, never its words. An answer's shape is a set of facts:
its status code, the kind of body (JSON, events, text), and for every field its path and the type of its value
(``outputs[].usage:dict``, ``outputs[].type=tool.execution``). Fields that name things, such as ``type``, ``object``,
``role``, ``name`` and a stream event's kind, keep their value, so a renamed tool or a new entry type shows; every
other value (text, ids, timestamps, numbers) keeps only its type.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ._cassette import Request, _sse_events, match_key, matches, seed_for, serializer

NAMING_FIELDS = frozenset({"type", "object", "role", "name", "function", "event"})
KINDS = {dict: "dict", list: "list", bool: "bool", int: "number", float: "number", type(None): "null"}


def exchanges(path: Path) -> list[dict]:
    """A cassette's exchanges (for one not written yet, those of the bundled cassette it will start from)."""
    source = path if path.is_file() else seed_for(path)
    return serializer.deserialize(source.read_text(encoding="utf-8"))["interactions"] if source else []


def _request(item: dict) -> Request:
    return Request(item["request"]["method"], item["request"]["uri"], item["request"]["body"])


def changes(before: list[dict], after: list[dict]) -> list[int]:
    """What a recording did to a cassette: exchanges added, replaced and kept, and the authored ones left."""
    def stamp(item: dict) -> tuple:
        return match_key(_request(item)), item["response"].get("provenance"), item["response"].get("recorded")

    old, new = {stamp(item) for item in before}, [stamp(item) for item in after]
    fresh = [key for key, provenance, recorded in new if (key, provenance, recorded) not in old]
    added = sum(key not in {key for key, _, _ in old} for key in fresh)
    return [added, len(fresh) - added, len(new) - len(fresh), sum(p == "authored" for _, p, _ in new)]


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
    """The shape of one recorded answer (a cassette's response dict)."""
    body = response["body"]["string"]
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body or ""
    facts = {f"status={response['status']['code']}"}
    if "event-stream" in (response.get("headers", {}).get("content-type") or [""])[0]:
        for event in _sse_events(text) or []:
            _facts({"event": event.get("event"), "data": event.get("data")}, "events[]", facts)
        return facts | {"body=events"}
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        return facts | {"body=text"}
    _facts(parsed, "", facts)
    return facts | {"body=json"}


def drift(recorded: dict, live: dict) -> tuple[list[str], list[str]]:
    """``(missing, new)``: the facts of the recorded answer the live one lacks, and those only the live one has."""
    before, after = shape(recorded), shape(live)
    return sorted(before - after), sorted(after - before)


def _same_server(live: Request, recorded: Request) -> bool:
    """Mistral API calls go wherever ``--server-url`` points; any other call (an MCP preflight) compares only with
    a recording of the same server."""
    return "/v1/" in live.path or urlsplit(live.uri).netloc == urlsplit(recorded.uri).netloc


def compare(recorded: list[dict], live: list[dict], since: str) -> list[dict[str, Any]]:
    """Each exchange of ``live`` recorded since ``since``, with its drift from the recording of the same request
    in ``recorded`` (``compared`` is false when there is none)."""
    report = []
    for item in live:
        if (item["response"].get("recorded") or "") < since:
            continue
        request = _request(item)
        old = next((o for o in recorded if _same_server(request, _request(o)) and matches(request, _request(o))), None)
        missing, new = drift(old["response"], item["response"]) if old else ([], [])
        report.append({"request": f"{request.method} {request.path}", "status": item["response"]["status"]["code"],
                       "missing": missing, "new": new, "compared": old is not None})
    return report


def counts(report: list[dict[str, Any]]) -> tuple[int, int, int]:
    """Of a recipe's compared exchanges: how many, how many had a recording, how many drifted."""
    return len(report), sum(e["compared"] for e in report), sum(bool(e["missing"] or e["new"]) for e in report)


def describe(entry: dict[str, Any]) -> str:
    """An exchange's drift: the request, then a line per fact (``-`` missing, ``+`` new)."""
    facts = [f"  - {fact}" for fact in entry["missing"]] + [f"  + {fact}" for fact in entry["new"]]
    return "\n".join([f"{entry['request']} (status {entry['status']}):", *facts])
