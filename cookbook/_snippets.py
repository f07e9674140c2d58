"""The same request in curl and in the TypeScript SDK, generated from what the client actually sent.

Generated from ``client.cookbook.sent`` (already scrubbed), so the snippets can
never drift from the Python cell above them and never contain a secret.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from typing import Any

from ._cassette import PLACEHOLDER
from ._client import SentRequest

TOKEN_PLACEHOLDER = "<your-oauth-token>"

# Inputs the SDKs fill in by themselves: left out of the TypeScript call, as a person would write it.
_INPUT_DEFAULTS = {"object": "entry", "type": "message.input", "prefix": False}

# Objects whose keys are data, not SDK field names: their keys stay as they are.
_FREE_FORM = {"metadata", "parameters", "input_schema", "json_schema", "schema", "headers", "arguments"}

# (method, path pattern, TypeScript call, name of its result): path groups become the call's parameters.
_TS_CALLS = [
    ("POST", r"/v1/conversations", "client.beta.conversations.{stream}({body})", "response"),
    ("POST", r"/v1/agents", "client.beta.agents.create({body})", "agent"),
    ("DELETE", r"/v1/agents/(?P<agentId>[^/?]+)", "client.beta.agents.delete({params})", ""),
    ("POST", r"/v1/connectors", "client.beta.connectors.create({body})", "connector"),
    ("GET", r"/v1/connectors", "client.beta.connectors.list()", "connectors"),
    ("GET", r"/v1/connectors/(?P<connectorIdOrName>[^/?]+)/tools", "client.beta.connectors.listTools({params})",
     "tools"),
    ("DELETE", r"/v1/connectors/(?P<connectorId>[^/?]+)", "client.beta.connectors.delete({params})", "deleted"),
]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _unsecret(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (TOKEN_PLACEHOLDER if v == PLACEHOLDER else _unsecret(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_unsecret(v) for v in value]
    return value


def _ts_literal(value: Any, indent: int = 0, *, free: bool = False, width: int = 72) -> str:
    """A TypeScript object literal: camelCase field names, one line when it fits, else one item a line."""
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(value, dict) and value:
        pairs = []
        for key, item in value.items():
            name = key if free else _camel(key)
            shown = name if re.fullmatch(r"[A-Za-z_$][\w$]*", name) else json.dumps(name)
            pairs.append((shown, item, free or key in _FREE_FORM))
        flat = "{ " + ", ".join(f"{k}: {_ts_literal(v, free=f, width=10**6)}" for k, v, f in pairs) + " }"
        if len(pad) + len(flat) <= width:
            return flat
        items = [f"{inner}{k}: {_ts_literal(v, indent + 1, free=f, width=width)}" for k, v, f in pairs]
        return "{\n" + ",\n".join(items) + f",\n{pad}}}"
    if isinstance(value, list) and value:
        flat = "[" + ", ".join(_ts_literal(v, free=free, width=10**6) for v in value) + "]"
        if len(pad) + len(flat) <= width:
            return flat
        items = [f"{inner}{_ts_literal(v, indent + 1, free=free, width=width)}" for v in value]
        return "[\n" + ",\n".join(items) + f",\n{pad}]"
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return json.dumps(value, ensure_ascii=False)


def _ts_body(body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    body = {k: v for k, v in body.items() if not (k == "stream")}
    if isinstance(body.get("inputs"), list):
        body["inputs"] = [
            {k: v for k, v in item.items() if _INPUT_DEFAULTS.get(k, object()) != v} if isinstance(item, dict) else item
            for item in body["inputs"]
        ]
    return body


def typescript(request: SentRequest, taken: set[str] | None = None) -> str:
    """The TypeScript SDK call (``@mistralai/mistralai``) for one request.

    ``taken`` holds the constant names already used in the same snippet, so
    several calls in a row declare distinct names.
    """
    taken = set() if taken is None else taken
    path = request.path.split("?", 1)[0]
    body = _unsecret(request.body)
    for method, pattern, template, name in _TS_CALLS:
        match = re.fullmatch(pattern, path)
        if method == request.method and match:
            stream = isinstance(body, dict) and body.get("stream") is True
            call = template.format(
                stream="startStream" if stream else "start",
                body=_ts_literal(_ts_body(body)),
                params=_ts_literal(match.groupdict(), free=True),
            )
            if not name:
                return f"await {call};"
            unique = next(c for n in range(1, len(taken) + 3) if (c := name if n == 1 else f"{name}{n}") not in taken)
            taken.add(unique)
            return f"const {unique} = await {call};"
    return f"// No TypeScript SDK call is mapped for {request.method} {path}; see the curl command."


def curl(request: SentRequest) -> str:
    """The curl command for one request, with the key read from ``$MISTRAL_API_KEY``."""
    lines = [f'curl -X {request.method} "{request.url}"', '-H "Authorization: Bearer ${MISTRAL_API_KEY}"']
    body = _unsecret(request.body)
    if isinstance(body, dict) and body.get("stream") is True:
        lines.insert(1, "-N")
        lines.append('-H "Accept: text/event-stream"')
    if body is not None:
        text = json.dumps(body, indent=2, ensure_ascii=False) if not isinstance(body, str) else body
        lines.append('-H "Content-Type: application/json"')
        lines.append("-d '" + text.replace("'", "'\\''") + "'")
    return " \\\n  ".join(lines)


_TS_HEADER = (
    'import { Mistral } from "@mistralai/mistralai";\n\n'
    "const client = new Mistral({ apiKey: process.env.MISTRAL_API_KEY });\n"
)


@dataclass(frozen=True)
class Equivalents:
    """curl commands and TypeScript calls for a list of sent requests; displays itself."""

    requests: tuple[SentRequest, ...]

    @property
    def curl(self) -> str:
        return "\n\n".join(curl(r) for r in self.requests)

    @property
    def typescript(self) -> str:
        taken: set[str] = set()
        return _TS_HEADER + "\n" + "\n\n".join(typescript(r, taken) for r in self.requests)

    def __str__(self) -> str:
        return f"# curl\n{self.curl}\n\n// TypeScript\n{self.typescript}"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        def block(title: str, code: str) -> str:
            return (
                f'<details open><summary style="font-weight:600">{title}</summary>'
                f'<pre style="margin:.3em 0;padding:.5em;overflow-x:auto;'
                f"font-family:var(--jp-code-font-family,ui-monospace,monospace);font-size:90%;"
                f'background:var(--jp-cell-editor-background,#f7f7f7);'
                f'color:var(--jp-content-font-color1,inherit)">{html.escape(code)}</pre></details>'
            )

        page = block("curl", self.curl) + block("TypeScript", self.typescript)
        return {"text/plain": str(self), "text/html": f"<div>{page}</div>"}


def equivalents(client: Any, last: int = 1, *, failed: bool = False) -> Equivalents:
    """curl and TypeScript for the ``last`` requests ``client`` sent (from ``client.cookbook.sent``).

    Requests the API answered with an error are left out unless ``failed=True``,
    so a cell that demonstrates an error does not replace the recipe's request.
    """
    if last < 1:
        raise ValueError("last must be 1 or more.")
    sent = [r for r in client.cookbook.sent if failed or r.ok]
    if not sent:
        raise ValueError("This client has sent no successful request yet: run the recipe cell first.")
    return Equivalents(tuple(sent[-last:]))
