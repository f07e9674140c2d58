"""The same requests in curl and in the TypeScript SDK, generated from what the client actually sent.

Generated from ``client.cookbook.sent`` (already scrubbed), so the snippets can never drift from the Python cells
above them and never contain a secret. Both are programs to copy as they stand:

- the key, and an OAuth token, are read from the environment variables the notebook reads
  (``$MISTRAL_API_KEY``, the variable given to :func:`cookbook.oauth_token`), never written out;
- an agent or connector created in the snippet is the one the later requests use and delete: curl reads its id
  from the create answer (with ``jq``), TypeScript from the create call's result (``agent.id``, ``connectorId``);
  and the TypeScript deletes it in a ``finally`` block, as the notebooks do;
- the TypeScript is an ``async function main()`` called at the end, so it compiles in a default (CommonJS) npm
  project as well as in an ES module, and a streamed answer is read event by event;
- fields the SDK fills in with the API's defaults (``"stream": false``, an input's ``"object": "entry"``,
  ``"type": "message.input"``, ``"prefix": false``) are left out, as a person would write the request.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ._cassette import PLACEHOLDER
from ._client import KEY_VARIABLE, SentRequest

API_URL = "https://api.mistral.ai"
# The variable an OAuth token is read from when the client noted none (the token was not read with oauth_token).
DEFAULT_TOKEN_VARIABLE = "OAUTH_TOKEN"

# Fields the SDKs fill in by themselves with the API's defaults, in a conversation's inputs and at its top level:
# left out of both snippets (tests/test_snippets.py checks, through the SDK's request models, that the request
# means the same without them).
_INPUT_DEFAULTS = {"object": "entry", "type": "message.input", "prefix": False}
_CONVERSATION_DEFAULTS = {"stream": False}

# Objects whose keys are data, not SDK field names: their keys stay as they are.
_FREE_FORM = {"metadata", "parameters", "input_schema", "json_schema", "schema", "headers", "arguments"}

# (method, path pattern, TypeScript call, name of its result): path groups become the call's parameters.
_TS_CALLS = [
    ("POST", r"/v1/conversations", "client.beta.conversations.{stream}({body})", "{stream_name}"),
    ("POST", r"/v1/agents", "client.beta.agents.create({body})", "agent"),
    ("DELETE", r"/v1/agents/(?P<agentId>[^/?]+)", "client.beta.agents.delete({params})", ""),
    ("POST", r"/v1/connectors", "client.beta.connectors.create({body})", "connector"),
    ("GET", r"/v1/connectors", "client.beta.connectors.list()", "connectors"),
    ("GET", r"/v1/connectors/(?P<connectorIdOrName>[^/?]+)/tools", "client.beta.connectors.listTools({params})",
     "tools"),
    ("DELETE", r"/v1/connectors/(?P<connectorId>[^/?]+)", "client.beta.connectors.delete({params})", "deleted"),
]

# What a program does with each result, so none is left unread ({name}: the result's constant).
_TS_USES = {
    "response": ["console.log({name}.outputs);"],
    "stream": [
        "for await (const event of {name}) {{",
        '  if (event.data.type === "message.output.delta") {{',
        "    const content = event.data.content;  // text, or a chunk (text, a reference to a source, ...)",
        '    process.stdout.write(typeof content === "string" ? content : "text" in content ? content.text : "");',
        "  }}",
        "}}",
        'process.stdout.write("\\n");',
    ],
    "agent": ["console.log(`Created agent ${{{name}.id}}`);"],
    # the SDK reads the answer as an MCP or HTTP connector, or keeps the JSON (`raw`) of one it cannot parse
    "connector": ['const {name}Id = "id" in {name} ? {name}.id : ({name}.raw as {{ id: string }}).id;',
                  "console.log(`Created connector ${{{name}Id}}`);"],
    "connectors": ["console.log({name}.items);"],
    "tools": ["console.log({name});"],
    "deleted": ["console.log({name}.message);"],
}

# Requests that create something with an id, by kind, and the requests that delete one.
_CREATES = {("POST", "/v1/agents"): "agent", ("POST", "/v1/connectors"): "connector"}
_DELETES = {"agent": re.compile(r"/v1/agents/([^/?]+)"), "connector": re.compile(r"/v1/connectors/([^/?]+)")}


class _Code(str):
    """TypeScript code to write as it is (an expression such as ``agent.id``), not as a string literal."""


def _env(variable: str) -> str:
    """A stand-in for ``$variable`` in a JSON body: after ``json.dumps``, :func:`_shell_json` makes it a splice."""
    return f"\x00env:{variable}\x00"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _camel_variable(variable: str) -> str:
    """``GOOGLE_OAUTH_TOKEN`` -> ``googleOauthToken``."""
    return _camel(variable.lower())


def _path(request: SentRequest) -> str:
    return urlsplit(request.url).path.rstrip("/") or "/"


def _base_url(request: SentRequest) -> str:
    parts = urlsplit(request.url)
    prefix = parts.path.split("/v1/", 1)[0] if "/v1/" in parts.path else ""
    return f"{parts.scheme}://{parts.netloc}{prefix}"


def shortened(request: SentRequest) -> Any:
    """The request's body without the fields the SDK filled in with the API's defaults (see ``_INPUT_DEFAULTS``)."""
    body = request.body
    if request.method != "POST" or not _path(request).startswith("/v1/conversations") or not isinstance(body, dict):
        return body
    body = {k: v for k, v in body.items() if not (k in _CONVERSATION_DEFAULTS and _CONVERSATION_DEFAULTS[k] == v)}
    if isinstance(body.get("inputs"), list):
        body["inputs"] = [
            {k: v for k, v in item.items() if not (k in _INPUT_DEFAULTS and _INPUT_DEFAULTS[k] == v)}
            if isinstance(item, dict) else item
            for item in body["inputs"]
        ]
    return body


def _strings(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set().union(*(_strings(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value)) if value else set()
    return {value} if isinstance(value, str) else set()


def _mentions(request: SentRequest) -> set[str]:
    """The values a request names: its path's segments and the strings of its body."""
    return set(_path(request).split("/")) | _strings(request.body)


def _uses_token(value: Any) -> bool:
    if isinstance(value, dict):
        auth = value.get("authorization")
        if isinstance(auth, dict) and auth.get("value") == PLACEHOLDER:
            return True
        return any(_uses_token(v) for v in value.values())
    if isinstance(value, list):
        return any(_uses_token(v) for v in value)
    return False


@dataclass
class _Created:
    """Something a request of the snippet created: its kind, the id the API gave it, and the names that hold it."""

    kind: str  # "agent" or "connector"
    id: str
    index: int  # of its create request
    ts: str  # the TypeScript expression of its id: agent.id, connectorId
    shell: str  # the shell variable holding the id: AGENT_ID
    deleted_at: int | None = None  # the request that deletes it, when that closes a try/finally around its use


@dataclass
class _Plan:
    """How the requests of one snippet refer to each other: result names, created ids, the token variable."""

    requests: tuple[SentRequest, ...]
    agents: tuple[str, ...] = ()  # the ids of agents the client learnt from the API's answers
    connectors: dict[str, str] = field(default_factory=dict)  # id -> name, likewise
    token_variable: str | None = None
    names: dict[int, str] = field(default_factory=dict)  # request index -> its result's TypeScript constant
    created: dict[int, _Created] = field(default_factory=dict)  # create request index -> what it created

    def __post_init__(self) -> None:
        taken: set[str] = set()
        for index, request in enumerate(self.requests):
            name = _result_name(request)
            if name:
                self.names[index] = _unique(name, taken)
        self._match_created()
        self._pair_deletes()

    # --------------------------------------------------------------- which later values are a created id

    def _match_created(self) -> None:
        """For each successful create, the id the API answered: an id the client learnt (``info.agents`` /
        ``info.connectors``) that a later request of the snippet names and no earlier one did."""
        claimed: set[str] = set()
        shells: set[str] = set()
        for index, request in enumerate(self.requests):
            kind = _CREATES.get((request.method, _path(request)))
            if kind is None or not request.ok:
                continue
            known = self.agents if kind == "agent" else tuple(self.connectors)
            before = set().union(*(_mentions(r) for r in self.requests[:index])) if index else set()
            name = request.body.get("name") if isinstance(request.body, dict) else None
            for later in self.requests[index + 1:]:
                mentioned = _mentions(later)
                hits = [i for i in known if i in mentioned and i not in before and i not in claimed
                        and (kind != "connector" or name is None or self.connectors.get(i) in (None, name))]
                if hits:
                    claimed.add(hits[0])
                    shell = _unique(f"{kind.upper()}_ID", shells, sep="_")
                    ts = f"{self.names[index]}.id" if kind == "agent" else f"{self.names[index]}Id"
                    self.created[index] = _Created(kind, hits[0], index, ts, shell)
                    break

    def _pair_deletes(self) -> None:
        """A created thing deleted later in the snippet: the requests between use it in ``try``, the delete goes in
        ``finally``. Only pairs that nest (and whose inner creations are not used after the delete) are kept."""
        pairs = []
        for created in self.created.values():
            for index in range(created.index + 1, len(self.requests)):
                match = _DELETES[created.kind].fullmatch(_path(self.requests[index]))
                if self.requests[index].method == "DELETE" and match and match.group(1) == created.id:
                    pairs.append((created.index, index))
                    break
        kept: list[tuple[int, int]] = []
        for start, end in sorted(pairs):
            crosses = any(s < start < e < end or start < s < end < e for s, e in kept)
            inner = [c for c in self.created.values() if start < c.index < end]
            escapes = any(c.id in _mentions(r) for c in inner for r in self.requests[end + 1:])
            if not crosses and not escapes:
                kept.append((start, end))
                self.created[start].deleted_at = end

    def ids_before(self, index: int) -> dict[str, _Created]:
        """The created ids a request at ``index`` may refer to: those created by earlier requests."""
        return {c.id: c for c in self.created.values() if c.index < index}

    @property
    def uses_token(self) -> bool:
        return any(_uses_token(r.body) for r in self.requests)

    @property
    def token(self) -> str:
        return self.token_variable or DEFAULT_TOKEN_VARIABLE


def _unique(name: str, taken: set[str], sep: str = "") -> str:
    unique = next(c for n in range(1, len(taken) + 3) if (c := name if n == 1 else f"{name}{sep}{n}") not in taken)
    taken.add(unique)
    return unique


def _result_name(request: SentRequest) -> str:
    path = _path(request)
    for method, pattern, _template, name in _TS_CALLS:
        if method == request.method and re.fullmatch(pattern, path):
            stream = isinstance(request.body, dict) and request.body.get("stream") is True
            return name.format(stream_name="stream" if stream else "response")
    return ""


def _substituted(value: Any, ids: dict[str, Any], token: Any, key: str = "") -> Any:
    """``value`` with created ids and the OAuth token replaced by references (``ids[id]``, ``token``), and any other
    scrubbed secret by a placeholder to fill in."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "authorization" and isinstance(v, dict) and v.get("value") == PLACEHOLDER:
                v = {**v, "value": token}
            out[k] = _substituted(v, ids, token, k)
        return out
    if isinstance(value, list):
        return [_substituted(v, ids, token, key) for v in value]
    if isinstance(value, str) and value in ids:
        return ids[value]
    if value == PLACEHOLDER and not isinstance(value, _Code):
        return f"<your-{key or 'secret'}>"
    return value


# --------------------------------------------------------------------------- TypeScript


def _ts_literal(value: Any, indent: int = 0, *, free: bool = False, width: int = 72) -> str:
    """A TypeScript object literal: camelCase field names, one line when it fits, else one item a line."""
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(value, _Code):
        return str(value)
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


def _ts_statements(plan: _Plan, index: int) -> list[str]:
    """The TypeScript lines of one request: the SDK call, then what is done with its result."""
    request = plan.requests[index]
    path = _path(request)
    ids = {i: _Code(c.ts) for i, c in plan.ids_before(index).items()}
    token = _Code(_camel_variable(plan.token))
    body = shortened(request)
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k != "stream"}  # the method says it: start or startStream
    body = _substituted(body, ids, token)
    for method, pattern, template, _name in _TS_CALLS:
        match = re.fullmatch(pattern, path)
        if method == request.method and match:
            stream = isinstance(request.body, dict) and request.body.get("stream") is True
            params = {k: ids.get(v, v) for k, v in match.groupdict().items()}
            call = template.format(
                stream="startStream" if stream else "start",
                body=_ts_literal(body),
                params=_ts_literal(params, free=True),
            )
            name = plan.names.get(index)
            if not name:
                return f"await {call};".split("\n")
            use = _TS_USES[name.rstrip("0123456789")]
            return f"const {name} = await {call};".split("\n") + [line.format(name=name) for line in use]
    return [f"// No TypeScript SDK call is mapped for {request.method} {path}; see the curl command."]


def typescript(request: SentRequest, taken: set[str] | None = None) -> str:
    """The TypeScript SDK call (``@mistralai/mistralai``) for one request, and what is done with its result.

    ``taken`` holds the constant names already used in the same snippet, so several calls in a row declare
    distinct names.
    """
    taken = set() if taken is None else taken
    plan = _Plan((request,))
    name = plan.names.get(0)
    if name:
        plan.names[0] = _unique(name, taken)
    return "\n".join(_ts_statements(plan, 0))


def _ts_program(plan: _Plan) -> str:
    """The whole TypeScript program: imports, checked reads of the environment, the calls in ``main()``."""
    lines = [f"const apiKey = process.env.{KEY_VARIABLE};",
             f'if (!apiKey) throw new Error("Set {KEY_VARIABLE} in the environment.");']
    if plan.uses_token:
        token = _camel_variable(plan.token)
        lines += [f"const {token} = process.env.{plan.token};",
                  f'if (!{token}) throw new Error("Set {plan.token} in the environment: an OAuth access token.");']
    base = _base_url(plan.requests[0]) if plan.requests else API_URL
    server = f", serverURL: {json.dumps(base)}" if base != API_URL else ""
    lines += [f"const client = new Mistral({{ apiKey{server} }});"]

    depth = 0
    closing: list[int] = []  # the delete indexes of the try blocks open, innermost last
    for index in range(len(plan.requests)):
        if closing and closing[-1] == index:
            closing.pop()
            depth -= 1
            lines.append("  " * depth + "} finally {")
            lines += ["  " * (depth + 1) + line for line in _ts_statements(plan, index)]
            lines.append("  " * depth + "}")
            continue
        if not lines[-1].endswith("{"):
            lines.append("")
        lines += ["  " * depth + line for line in _ts_statements(plan, index)]
        created = plan.created.get(index)
        if created is not None and created.deleted_at is not None:
            lines.append("  " * depth + "try {")
            depth += 1
            closing.append(created.deleted_at)
    body = "\n".join(f"  {line}".rstrip() for line in lines)
    return (
        'import { Mistral } from "@mistralai/mistralai";\n\n'
        "// main() rather than top-level await, so this compiles in a CommonJS project (npm's default) too.\n"
        f"async function main(): Promise<void> {{\n{body}\n}}\n\n"
        "main().catch((error: unknown) => {\n"
        "  console.error(error);\n"
        "  process.exitCode = 1;\n"
        "});\n"
    )


# --------------------------------------------------------------------------- curl


def _shell_json(value: Any) -> str:
    """``value`` as JSON inside single quotes for the shell, each :func:`_env` stand-in spliced in as ``"$VAR"``."""
    text = value if isinstance(value, str) and not isinstance(value, _Code) else json.dumps(
        value, indent=2, ensure_ascii=False)
    text = text.replace("'", "'\\''")
    text = re.sub(r'"\\u0000env:(\w+)\\u0000"', lambda m: '"\'"${' + m.group(1) + '}"\'"', text)
    return "'" + text + "'"


def _curl_command(plan: _Plan, index: int) -> str:
    request = plan.requests[index]
    ids = plan.ids_before(index)
    parts = urlsplit(request.url)
    path = "/".join("${" + ids[s].shell + "}" if s in ids else s for s in parts.path.split("/"))
    url = parts._replace(path=path).geturl()
    created = plan.created.get(index)
    lines = [f'curl {"-sS " if created else ""}-X {request.method} "{url}"',
             f'-H "Authorization: Bearer ${{{KEY_VARIABLE}}}"']
    body = _substituted(shortened(request), {i: _env(c.shell) for i, c in ids.items()}, _env(plan.token))
    if isinstance(request.body, dict) and request.body.get("stream") is True:
        lines.insert(1, "-N")
        lines.append('-H "Accept: text/event-stream"')
    if body is not None:
        lines.append('-H "Content-Type: application/json"')
        lines.append("-d " + _shell_json(body))
    command = " \\\n  ".join(lines)
    if created is None:
        return command
    return (f"# jq reads the new {created.kind}'s id from the answer\n"
            f"{created.shell}=$({command} | jq -r .id)\n"
            f'echo "Created {created.kind} ${{{created.shell}}}"')


def curl(request: SentRequest) -> str:
    """The curl command for one request, with the key read from ``$MISTRAL_API_KEY``."""
    return _curl_command(_Plan((request,)), 0)


def _curl_script(plan: _Plan) -> str:
    variables = [KEY_VARIABLE] + ([plan.token] if plan.uses_token else [])
    head = [f"# Reads {' and '.join(f'${v}' for v in variables)} from the environment."]
    if plan.created:
        head.append("# Needs jq (Debian/Ubuntu: apt install jq; macOS: brew install jq) to read created ids.")
    return "\n".join(head) + "\n\n" + "\n\n".join(_curl_command(plan, i) for i in range(len(plan.requests)))


# --------------------------------------------------------------------------- both


@dataclass(frozen=True)
class Equivalents:
    """curl commands and a TypeScript program for a list of sent requests; displays itself.

    ``agents`` and ``connectors`` are the ids the client learnt from the API's answers (``client.cookbook``), so a
    later request that names what an earlier one created refers to the create's answer, not to a recorded id.
    ``token_variable`` is the environment variable the OAuth token was read from.
    """

    requests: tuple[SentRequest, ...]
    agents: tuple[str, ...] = ()
    connectors: tuple[tuple[str, str], ...] = ()
    token_variable: str | None = None

    @property
    def _plan(self) -> _Plan:
        return _Plan(self.requests, self.agents, dict(self.connectors), self.token_variable)

    @property
    def curl(self) -> str:
        return _curl_script(self._plan)

    @property
    def typescript(self) -> str:
        return _ts_program(self._plan)

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
    info = client.cookbook
    sent = [r for r in info.sent if failed or r.ok]
    if not sent:
        raise ValueError("This client has sent no successful request yet: run the recipe cell first.")
    variables = list(getattr(info, "token_variables", None) or [])
    return Equivalents(
        tuple(sent[-last:]),
        agents=tuple(getattr(info, "agents", None) or ()),
        connectors=tuple((str(k), str(v)) for k, v in (getattr(info, "connectors", None) or {}).items()),
        token_variable=variables[0] if len(set(variables)) == 1 else None,
    )
