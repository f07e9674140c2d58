"""What ``cookbook check --live`` compares: the shape of an answer, never its words.

An answer's shape is a set of facts: its status code, the kind of body (JSON, events, text), and for every field
its path and the type of its value (``outputs[].usage:dict``, ``outputs[].type=tool.execution``). Fields that name
things, such as ``type``, ``object``, ``role``, ``name`` and a stream event's kind, keep their value, so a renamed
tool or a new entry type shows; every other value (text, ids, timestamps, numbers) keeps only its type.
"""

from __future__ import annotations

import json
from typing import Any

from ._cassette import _sse_events

NAMING_FIELDS = frozenset({"type", "object", "role", "name", "function", "event"})


def _facts(value: Any, path: str, out: set[str]) -> None:
    if isinstance(value, dict):
        out.add(f"{path}:dict")
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if key in NAMING_FIELDS and isinstance(item, str):
                out.add(f"{child}={item}")
            else:
                _facts(item, child, out)
    elif isinstance(value, list):
        out.add(f"{path}:list")
        for item in value:
            _facts(item, f"{path}[]", out)
    else:
        kind = "null" if value is None else "bool" if isinstance(value, bool) else \
            "number" if isinstance(value, int | float) else "str"
        out.add(f"{path}:{kind}")


def shape(response: dict) -> set[str]:
    """The shape of one recorded answer (a cassette's response dict)."""
    status = response["status"]["code"]
    body = response["body"]["string"]
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body or ""
    content_type = (response.get("headers", {}).get("content-type") or [""])[0]
    facts = {f"status={status}"}
    if "event-stream" in content_type:
        facts.add("body=events")
        for event in _sse_events(text) or []:
            _facts({"event": event.get("event"), "data": event.get("data")}, "events[]", facts)
        return facts
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        facts.add("body=text")
        return facts
    facts.add("body=json")
    _facts(parsed, "", facts)
    return facts


def drift(recorded: dict, live: dict) -> tuple[list[str], list[str]]:
    """``(missing, new)``: the facts of the recorded answer the live one lacks, and those only the live one has."""
    before, after = shape(recorded), shape(live)
    return sorted(before - after), sorted(after - before)
