"""curl and TypeScript SDK equivalents of the requests a client sent (``client.cookbook.sent``, already scrubbed).

Both are programs to copy as they stand: the key and an OAuth token come from the notebook's environment variables;
what a snippet creates, its later requests use and delete (curl reads the id with ``jq``, TypeScript from the create's
result, deleting it in ``finally``); the TypeScript runs in ``async function main()``, so it compiles as CommonJS or
as an ES module; a stream is read event by event; fields the SDK fills in with the API's defaults are left out."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader

from . import _markup
from ._cassette import PLACEHOLDER
from ._client import KEY_VARIABLE, SentRequest

API_URL = "https://api.mistral.ai"
# Fields the SDKs fill in with the API's defaults in a conversation's inputs (and "stream": false at its top level);
# tests/test_snippets.py checks, through the SDK's request models, that the request means the same without them.
_INPUT_DEFAULTS = {"object": "entry", "type": "message.input", "prefix": False}
# Objects whose keys are data, not SDK field names: their keys stay as they are.
_FREE_FORM = {"metadata", "parameters", "input_schema", "json_schema", "schema", "headers", "arguments"}
_REF = re.compile(r'"\\u0000(.+?)\\u0000"')  # a _ref() stand-in, in JSON
# The TypeScript program's template: plain text, so nothing in it is escaped.
_TEXT = Environment(loader=PackageLoader("cookbook", "templates"), keep_trailing_newline=True, trim_blocks=True)


class _Call(NamedTuple):
    """An SDK method and the requests it sends: ``path``'s groups are its parameters, else the body is its argument;
    ``use`` is what the program does with the ``result`` constant and ``id`` a created id (``RESULT``: the constant)."""

    method: str
    path: str
    sdk: str
    result: str = ""
    use: str = ""
    id: str = ""
    stream: bool = False


_READ_STREAM = """for await (const event of RESULT) {
  if (event.data.type === "message.output.delta") {
    const content = event.data.content;  // text, or a chunk (text, a reference to a source, ...)
    process.stdout.write(typeof content === "string" ? content : "text" in content ? content.text : "");
  }
}
process.stdout.write("\\n");"""
# The SDK reads a created connector as an MCP or HTTP one, or keeps the JSON (`raw`) of one it cannot parse.
_CONNECTOR_ID = 'const RESULTId = "id" in RESULT ? RESULT.id : (RESULT.raw as { id: string }).id;\n'
_CALLS = (
    _Call("POST", "/v1/conversations", "conversations.start", "response", "console.log(RESULT.outputs);"),
    _Call("POST", "/v1/conversations", "conversations.startStream", "stream", _READ_STREAM, stream=True),
    _Call("POST", "/v1/agents", "agents.create", "agent", "console.log(`Created agent ${RESULT.id}`);", "RESULT.id"),
    _Call("DELETE", "/v1/agents/(?P<agentId>[^/]+)", "agents.delete"),
    _Call("POST", "/v1/connectors", "connectors.create", "connector",
          _CONNECTOR_ID + "console.log(`Created connector ${RESULTId}`);", "RESULTId"),
    _Call("GET", "/v1/connectors", "connectors.list", "connectors", "console.log(RESULT.items);"),
    _Call("GET", "/v1/connectors/(?P<connectorIdOrName>[^/]+)/tools", "connectors.listTools", "tools",
          "console.log(RESULT);"),
    _Call("DELETE", "/v1/connectors/(?P<connectorId>[^/]+)", "connectors.delete", "deleted",
          "console.log(RESULT.message);"),
)


def _ref(name: str) -> str:
    """A stand-in for a variable in a body: once the body is JSON, ``_REF`` finds it and writes the reference."""
    return f"\x00{name}\x00"


def _camel(name: str) -> str:
    return re.sub(r"_([^_]?)", lambda match: match[1].upper(), name)


def _path(request: SentRequest) -> str:
    return urlsplit(request.url).path.rstrip("/") or "/"


def _streamed(request: SentRequest) -> bool:
    return isinstance(request.body, dict) and request.body.get("stream") is True


def _call(request: SentRequest) -> tuple[_Call | None, dict[str, str]]:
    """The SDK call that sends ``request``, and its parameters (from the path)."""
    for call in _CALLS:
        match = re.fullmatch(call.path, _path(request))
        if match and call.method == request.method and call.stream == _streamed(request):
            return call, match.groupdict()
    return None, {}


def _without(mapping: dict, defaults: dict) -> dict:
    return {k: v for k, v in mapping.items() if (k, v) not in defaults.items()}


def shortened(request: SentRequest) -> Any:
    """The request's body without the fields the SDK filled in with the API's defaults (see ``_INPUT_DEFAULTS``)."""
    body = request.body
    if request.method != "POST" or not _path(request).startswith("/v1/conversations") or not isinstance(body, dict):
        return body
    body = _without(body, {"stream": False})
    if isinstance(body.get("inputs"), list):
        body["inputs"] = [_without(i, _INPUT_DEFAULTS) if isinstance(i, dict) else i for i in body["inputs"]]
    return body


def _strings(value: Any) -> set[str]:
    if isinstance(value, dict | list):
        return set().union(*map(_strings, value.values() if isinstance(value, dict) else value))
    return {value} if isinstance(value, str) else set()


def _mentions(*requests: SentRequest) -> set[str]:
    """The values requests name: their paths' segments and the strings of their bodies."""
    return set().union(*(set(_path(r).split("/")) | _strings(r.body) for r in requests))


def _substituted(value: Any, ids: dict[str, Any], token: Any, key: str = "") -> Any:
    """``value`` with created ids and the OAuth token (an ``authorization``'s scrubbed ``value``) replaced by
    references (``ids[id]``, ``token``), and any other scrubbed secret by a placeholder to fill in."""
    if isinstance(value, dict):
        return {k: token if (key, k, v) == ("authorization", "value", PLACEHOLDER)
                else _substituted(v, ids, token, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_substituted(v, ids, token, key) for v in value]
    if isinstance(value, str) and value in ids:
        return ids[value]
    return f"<your-{key or 'secret'}>" if value == PLACEHOLDER else value


def _ts_key(key: str, free: bool) -> str:
    name = key if free else _camel(key)
    return (name if re.fullmatch(r"[A-Za-z_$][\w$]*", name) else json.dumps(name)) + ": "


def _indented(code: str) -> str:
    """``code`` two spaces deeper: its non-blank lines split on "\\n" only, as str.splitlines (and so textwrap.indent)
    would also split inside a string literal holding U+2028, U+2029 or U+0085, which json.dumps leaves raw."""
    return "\n".join("  " + line if line.strip() else line for line in code.split("\n"))


def _ts_literal(value: Any, indent: int = 0, *, free: bool = False, width: float = 72) -> str:
    """A TypeScript literal (camelCase keys, but in free-form objects): flat if it fits ``width``, else one a line."""
    if not value or not isinstance(value, dict | list):
        return _REF.sub(r"\1", json.dumps(value, ensure_ascii=False))
    if isinstance(value, dict):
        items = [(_ts_key(k, free), v, free or k in _FREE_FORM) for k, v in value.items()]
        opening, closing = "{ ", " }"
    else:
        items = [("", v, free) for v in value]
        opening, closing = "[", "]"
    flat = opening + ", ".join(k + _ts_literal(v, free=f, width=math.inf) for k, v, f in items) + closing
    if 2 * indent + len(flat) <= width:
        return flat
    lines = ["  " * (indent + 1) + k + _ts_literal(v, indent + 1, free=f, width=width) for k, v, f in items]
    return opening.strip() + "\n" + ",\n".join(lines) + ",\n" + "  " * indent + closing.strip()


@dataclass
class _Created:
    """Something a request of the snippet created, and the names that hold its id."""

    kind: str  # "agent" or "connector"
    id: str  # the id the API gave it
    index: int  # of its create request
    ts: str  # the TypeScript expression of its id: agent.id, connectorId
    shell: str  # the shell variable holding the id: AGENT_ID
    deleted_at: int | None = None  # the request that deletes it, when that closes a try/finally around its use


class Equivalents:
    """curl commands and a TypeScript program for a list of sent requests; displays itself.

    ``agents`` and ``connectors`` (id, name) are the ids the client learnt from the API's answers, so a request that
    names what an earlier one created refers to the create's answer; ``token_variable`` holds the OAuth token.
    """

    def __init__(self, requests: tuple[SentRequest, ...], agents: tuple[str, ...] = (),
                 connectors: tuple[tuple[str, str], ...] = (), token_variable: str | None = None) -> None:
        self.requests, self.token_variable = tuple(requests), token_variable
        self.token = token_variable or "OAUTH_TOKEN"  # a token not read with oauth_token: a variable to set
        self.token_ts = _camel(self.token.lower())  # GOOGLE_OAUTH_TOKEN -> googleOauthToken
        self.uses_token = _ref(self.token) in _strings(_substituted([r.body for r in requests], {}, _ref(self.token)))
        self.calls = [_call(r) for r in self.requests]
        results = [call.result if call else "" for call, _ in self.calls]
        self.names = {i: f"{r}{results[:i].count(r) + 1}" if r in results[:i] else r  # response, response2, ...
                      for i, r in enumerate(results) if r}
        self.created: dict[int, _Created] = {}
        learnt = {"agent": dict.fromkeys(agents), "connector": dict(connectors)}
        for index, (call, _) in enumerate(self.calls):
            if call and call.id and self.requests[index].ok:
                self._note_created(index, call, learnt[call.result])
        self.ids = {c.id: c for c in self.created.values()}  # no request before a create names its id
        for created in self.created.values():
            self._pair_delete(created)

    def _note_created(self, index: int, call: _Call, learnt: dict[str, str | None]) -> None:
        """What the create at ``index`` created: of the ids the client learnt (of its kind; a connector's by its
        name), the first a later request names that no earlier request named nor an earlier create claimed."""
        body = self.requests[index].body
        name = body.get("name") if isinstance(body, dict) else None
        taken = _mentions(*self.requests[:index]) | {c.id for c in self.created.values()}
        candidates = [i for i, n in learnt.items() if (None in (name, n) or n == name) and i not in taken]
        named = next((i for r in self.requests[index + 1:] for i in candidates if i in _mentions(r)), None)
        if named is not None:
            result = self.names[index]
            self.created[index] = _Created(call.result, named, index, call.id.replace("RESULT", result),
                                           f"{result.upper()}_ID")

    def _pair_delete(self, created: _Created) -> None:
        """A created thing deleted later in the snippet: the requests between use it in ``try``, the delete goes in
        ``finally``, unless something created inside the block is used after it (TypeScript's block scope; so the
        blocks nest too: the delete of a thing created inside names it)."""
        delete = ("DELETE", f"/v1/{created.kind}s/{created.id}")
        end = next((i for i, r in enumerate(self.requests) if i > created.index and (r.method, _path(r)) == delete), 0)
        inner = {c.id for c in self.created.values() if created.index < c.index < end}
        if end and not inner & _mentions(*self.requests[end + 1:]):
            created.deleted_at = end

    def _ts_statements(self, index: int) -> str:
        """The TypeScript of one request: the SDK call, then what is done with its result."""
        request, (call, params) = self.requests[index], self.calls[index]
        if call is None:
            return f"// No TypeScript SDK call is mapped for {request.method} {_path(request)}; see the curl command."
        argument = params or shortened(request)
        if isinstance(argument, dict):  # the method says whether it streams: start or startStream
            argument = {k: v for k, v in argument.items() if k != "stream"}
        ids = {i: _ref(c.ts) for i, c in self.ids.items()}
        argument = "" if argument is None else _ts_literal(_substituted(argument, ids, _ref(self.token_ts)))
        name = self.names.get(index, "")
        call_line = f"{f'const {name} = ' if name else ''}await client.beta.{call.sdk}({argument});"
        return "\n".join(filter(None, [call_line, call.use.replace("RESULT", name)]))

    def _ts_block(self, start: int, stop: int) -> str:
        """Requests ``start`` to ``stop``: those that use a created thing in ``try``, its delete in ``finally``."""
        parts, index = [], start
        while index < stop:
            part = self._ts_statements(index)
            end = self.created[index].deleted_at if index in self.created else None
            if end is not None:
                part += (f"\ntry {{\n{_indented(self._ts_block(index + 1, end))}\n"
                         f"}} finally {{\n{_indented(self._ts_statements(end))}\n}}")
                index = end
            parts.append(part)
            index += 1
        return "\n\n".join(parts)

    @cached_property
    def typescript(self) -> str:
        """The program: checked reads of the environment, then the statements in ``async function main()``."""
        base = self.requests[0].url.split("/v1/", 1)[0] if self.requests else API_URL
        return _TEXT.get_template("snippets.ts.j2").render(
            key=KEY_VARIABLE, token=self.token if self.uses_token else None, token_ts=self.token_ts,
            server=json.dumps(base) if base != API_URL else None,
            body=_indented(self._ts_block(0, len(self.requests))))

    def _curl_command(self, index: int) -> str:
        """One request's curl command; a create's is wrapped to read the new id from the answer."""
        request, created = self.requests[index], self.created.get(index)
        parts = urlsplit(request.url)
        path = "/".join(f"${{{self.ids[s].shell}}}" if s in self.ids else s for s in parts.path.split("/"))
        lines = [f'curl {"-sS " if created else ""}-X {request.method} "{parts._replace(path=path).geturl()}"',
                 f'-H "Authorization: Bearer ${{{KEY_VARIABLE}}}"']
        if _streamed(request):  # the events as they come
            lines.insert(1, "-N")
            lines.append('-H "Accept: text/event-stream"')
        body = _substituted(shortened(request), {i: _ref(c.shell) for i, c in self.ids.items()}, _ref(self.token))
        if body is not None:
            # JSON in single quotes; a reference closes the quote, expands "${VAR}" in double quotes and reopens it
            text = body if isinstance(body, str) else json.dumps(body, indent=2, ensure_ascii=False)
            lines += ['-H "Content-Type: application/json"',
                      "-d '" + _REF.sub("\"'\"${\\1}\"'\"", text.replace("'", "'\\''")) + "'"]
        command = " \\\n  ".join(lines)
        if created is None:
            return command
        return (f"# jq reads the new {created.kind}'s id from the answer\n{created.shell}=$({command} | jq -r .id)\n"
                f'echo "Created {created.kind} ${{{created.shell}}}"')

    @cached_property
    def curl(self) -> str:
        """The commands, after a comment naming the environment variables they read (and jq, if they need it)."""
        variables = [KEY_VARIABLE] + ([self.token] if self.uses_token else [])
        head = [f"# Reads {' and '.join(f'${v}' for v in variables)} from the environment."]
        if self.created:
            head.append("# Needs jq (Debian/Ubuntu: apt install jq; macOS: brew install jq) to read created ids.")
        return "\n".join(head) + "\n\n" + "\n\n".join(self._curl_command(i) for i in range(len(self.requests)))

    def __str__(self) -> str:
        return f"# curl\n{self.curl}\n\n// TypeScript\n{self.typescript}"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        page = _markup.render("snippets.html.j2", blocks=[("curl", self.curl), ("TypeScript", self.typescript)])
        return _markup.mimebundle(str(self), page, include, exclude)


def equivalents(client: Any, last: int = 1, *, failed: bool = False) -> Equivalents:
    """curl and TypeScript for the ``last`` requests ``client`` sent; requests the API answered with an error are
    left out unless ``failed=True``, so a cell that demonstrates an error does not replace the recipe's request."""
    if last < 1:
        raise ValueError("last must be 1 or more.")
    info = client.cookbook
    sent = [r for r in info.sent if failed or r.ok]
    if not sent:
        raise ValueError("This client has sent no successful request yet: run the recipe cell first.")
    variables = set(info.token_variables)
    return Equivalents(tuple(sent[-last:]), agents=tuple(info.agents), connectors=tuple(info.connectors.items()),
                       token_variable=variables.pop() if len(variables) == 1 else None)
