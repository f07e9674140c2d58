"""Cassettes: the recorded HTTP exchanges behind replay mode, and the policy for them.

A cassette is a YAML file a person can read and diff. Each interaction keeps the
request (method, URL, JSON body) and the response (status, JSON body, or the
server-sent events of a stream, one event per item).

Replay reads cassettes itself (``load_recordings``), so a kernel that replays
never imports vcrpy, whose import pulls in requests, httpx and tornado (0.15 to
0.3 s in every recipe's kernel). Record mode hands the bookkeeping to vcrpy
(``open_cassette``), and this module supplies its extension points:

- ``serializer``: the structured YAML format above;
- ``persister``: atomic writes (temporary file, then rename) with a header
  (recipe, SDK version, date, provenance);
- ``MATCH_ON``: method, path, query and JSON body compared as parsed JSON;
  headers never take part (replay matches with the same functions);
- ``scrub_request`` / ``scrub_response``: secrets are replaced before anything
  is written.

The whole policy lives here, in one place.
"""

from __future__ import annotations

import collections
import copy
import datetime as _dt
import difflib
import json
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlparse, urlsplit, urlunsplit

import yaml

if TYPE_CHECKING:
    from vcr.cassette import Cassette

BUNDLED_DIR = Path(__file__).parent / "cassettes"
SUFFIX = ".yaml"
FORMAT = "cookbook-cassette/1"
PLACEHOLDER = "REDACTED"

AUTHORED_NOTE = (
    "Written by hand to the mistralai SDK schema: this project cannot reach the "
    "Mistral API, so no exchange here was recorded from it. Run the recipe in "
    "record mode with a key to replace it with real recordings."
)
RECORDED_NOTE = "Recorded from the Mistral API by the cookbook's record mode; secrets scrubbed."

# Public recordings of the real API that authored exchanges are modelled on. An authored interaction names the ones
# its shape follows in ``capture`` (a list of these keys), or says ``capture: none`` when no public capture of such
# an answer exists and its shape is a guess.
CAPTURES = {
    "braintrust-2026": "VCR recordings of the real API (2026) in braintrustdata/braintrust-sdk-python, "
                       "py/src/braintrust/integrations/mistral/cassettes/latest/",
    "mistral-cookbook": "stored outputs of mistralai/cookbook's connectors notebooks, mistral/connectors/"
                        "01-build-a-database-advisor-agent.ipynb and 02-build-a-quickstart-generator.ipynb",
}

_SECRET_NAME = re.compile(r"authorization|api[-_]?key|apikey|token|secret|password|cookie|signature|^key$", re.I)
_SECRET_JSON_KEYS = {"api_key", "apikey", "access_token", "refresh_token", "id_token", "client_secret", "password"}
_KEPT_REQUEST_HEADERS = {"content-type", "accept"}
_KEPT_RESPONSE_HEADERS = {"content-type"}


# --------------------------------------------------------------------------- names


def bundled_names() -> list[str]:
    """The names of the cassettes shipped inside the package, sorted."""
    return sorted(p.stem for p in BUNDLED_DIR.glob(f"*{SUFFIX}"))


def resolve(name_or_path: str | os.PathLike[str], *, must_exist: bool) -> Path:
    """A cassette's path from a bundled name (``"02_web_search"``) or a file path."""
    text = os.fspath(name_or_path)
    looks_like_path = os.sep in text or "/" in text or text.endswith((".yaml", ".yml"))
    path = Path(text) if looks_like_path else BUNDLED_DIR / f"{text}{SUFFIX}"
    if must_exist and not path.is_file():
        names = ", ".join(bundled_names()) or "none"
        raise FileNotFoundError(
            f"No cassette {text!r} (looked for {path}). Bundled cassettes: {names}. "
            "Pass one of those names, a path to a cassette file, or record a new one "
            "with mode='record'."
        )
    return path


# --------------------------------------------------------------------------- requests


class Request:
    """An HTTP request as a cassette keeps it: method, URI, body (bytes) and headers.

    Replay builds these. Record mode gets vcrpy's ``Request`` instead, which has
    the same attributes (``path`` and ``query`` computed as here), and every
    function of this module takes either.
    """

    def __init__(self, method: str, uri: str, body: bytes | str | None, headers: dict | None = None):
        self.method = method
        self.uri = uri
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.headers = {k: (v[0] if isinstance(v, list) and v else v) for k, v in (headers or {}).items()}

    @property
    def path(self) -> str:
        return urlparse(self.uri).path

    @property
    def query(self) -> list[tuple[str, str]]:
        return sorted(parse_qsl(urlparse(self.uri).query))

    def __repr__(self) -> str:
        return f"<Request ({self.method}) {self.uri}>"


# --------------------------------------------------------------------------- scrubbing


def _scrub_text(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, PLACEHOLDER)
    return text


def _scrub_json(value: Any) -> Any:
    """Replace every ``authorization.value`` (OAuth tokens in tool specs) and secret-named string."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "authorization" and isinstance(item, dict):
                item = {**item, **({"value": PLACEHOLDER} if "value" in item else {})}
            elif isinstance(item, str) and key.lower() in _SECRET_JSON_KEYS:
                item = PLACEHOLDER
            out[key] = _scrub_json(item)
        return out
    if isinstance(value, list):
        return [_scrub_json(item) for item in value]
    return value


def scrub_body(body: bytes | str | None, secrets: Iterable[str] = ()) -> bytes | None:
    if body is None or body == b"" or body == "":
        return body if body is None else b""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        parsed = json.loads(text)
    except ValueError:
        return _scrub_text(text, secrets).encode()
    return _scrub_text(json.dumps(_scrub_json(parsed), ensure_ascii=False), secrets).encode()


def scrub_url(url: str, secrets: Iterable[str] = ()) -> str:
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = [(k, PLACEHOLDER if _SECRET_NAME.search(k) else v) for k, v in pairs]
    url = urlunsplit(parts._replace(query=urlencode(query)))
    return _scrub_text(url, secrets)


def scrub_request(request: Request, secrets: Iterable[str] = ()) -> Request:
    """A copy of ``request`` that is safe to write: no key, token or secret header."""
    secrets = tuple(secrets)
    headers = {}
    for name, value in request.headers.items():
        if _SECRET_NAME.search(name):
            headers[name] = PLACEHOLDER
        elif name.lower() in _KEPT_REQUEST_HEADERS:
            headers[name] = _scrub_text(value, secrets)
    # the same class back: vcrpy's own when recording, this module's when replaying
    return type(request)(request.method, scrub_url(request.uri, secrets), scrub_body(request.body, secrets), headers)


def scrub_response(response: dict, secrets: Iterable[str] = ()) -> dict:
    """A copy of a vcrpy response dict that is safe to write, marked as recorded."""
    response = copy.deepcopy(response)
    response["headers"] = {k: v for k, v in response["headers"].items() if k.lower() in _KEPT_RESPONSE_HEADERS}
    response["body"] = {"string": scrub_body(response["body"]["string"], secrets)}
    response["provenance"] = "recorded"
    return response


# --------------------------------------------------------------------------- matching


def parsed_body(request: Request) -> Any:
    body = request.body
    if body in (None, b"", ""):
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body


def body_diff(new: Any, recorded: Any, *, max_lines: int = 16) -> str:
    """A short unified diff of two bodies, pretty-printed with sorted keys."""

    def lines(value: Any) -> list[str]:
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str).splitlines()

    diff = list(difflib.unified_diff(lines(recorded), lines(new), "recorded", "this request", n=1, lineterm=""))
    shown = [line if len(line) <= 160 else line[:160] + "…" for line in diff[:max_lines]]
    if len(diff) > max_lines:
        shown.append(f"… ({len(diff) - max_lines} more lines)")
    return "\n".join(shown)


# Matchers as vcrpy calls them: silent when the two requests agree, AssertionError saying how they differ.


def same_method(r1: Request, r2: Request) -> None:
    if r1.method != r2.method:
        raise AssertionError(f"{r1.method} != {r2.method}")


def same_path(r1: Request, r2: Request) -> None:
    if (r1.path or "/") != (r2.path or "/"):  # an empty path is "/" (RFC 3986, 6.2.3)
        raise AssertionError(f"{r1.path} != {r2.path}")


def same_query(r1: Request, r2: Request) -> None:
    if r1.query != r2.query:
        raise AssertionError(f"{r1.query} != {r2.query}")


def json_body(r1: Request, r2: Request) -> None:
    """Bodies equal as parsed JSON (key order and whitespace never matter)."""
    b1, b2 = parsed_body(r1), parsed_body(r2)
    if b1 != b2:
        raise AssertionError(body_diff(b1, b2))


MATCH_ON = (same_method, same_path, same_query, json_body)


def match_key(request: Request) -> tuple:
    """A hashable key equal for requests that ``MATCH_ON`` matches (for lookups in large cassettes)."""
    body = parsed_body(request)
    body_key = json.dumps(body, sort_keys=True, separators=(",", ":")) if not isinstance(body, (str, bytes)) \
        else ("raw", body)
    return request.method, request.path or "/", tuple(request.query), body_key


def matches(r1: Request, r2: Request) -> bool:
    try:
        for matcher in MATCH_ON:
            matcher(r1, r2)
    except AssertionError:
        return False
    return True


# --------------------------------------------------------------------------- file format


def _sse_events(text: str) -> list[dict] | None:
    events = []
    for block in re.split(r"\r?\n\r?\n", text.strip()):
        if not block.strip():
            continue
        event: dict[str, Any] = {}
        data_lines = []
        for line in block.splitlines():
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                event["event"] = value
            elif field == "data":
                data_lines.append(value)
            else:
                return None  # not the simple shape we can round-trip: keep it as text
        data = "\n".join(data_lines)
        try:
            event["data"] = json.loads(data)
        except ValueError:
            event["data"] = data
        events.append(event)
    return events


def _sse_text(events: list[dict]) -> str:
    out = []
    for event in events:
        data = event.get("data")
        data_text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
        head = f"event: {event['event']}\n" if "event" in event else ""
        out.append(f"{head}data: {data_text}\n\n")
    return "".join(out)


def _body_to_file(body: str | None, content_type: str) -> dict:
    if body is None:
        return {}
    if body == "":
        return {"text": ""}
    if "event-stream" in content_type:
        events = _sse_events(body)
        if events is not None:
            return {"sse": events}
    try:
        return {"json": json.loads(body)}
    except ValueError:
        return {"text": body}


def _body_from_file(entry: dict) -> str | None:
    if "json" in entry:
        return json.dumps(entry["json"], ensure_ascii=False)
    if "sse" in entry:
        return _sse_text(entry["sse"])
    return entry.get("text")


def _one_header(headers: dict, name: str) -> str:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value[0] if isinstance(value, list) else value
    return ""


# libyaml's loader when PyYAML was built with it: the same documents, about ten times faster than the pure one.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Dumper(yaml.SafeDumper):
    """Block style, long strings folded as literal blocks when they span lines.

    The pure-Python dumper, not libyaml's: libyaml escapes every character beyond U+FFFF (emoji) even with
    ``allow_unicode``, which turns a model's multi-line answer into one double-quoted line. Writing happens
    only in record mode, once per exchange, where the network dominates.
    """


# Line breaks to YAML 1.1 besides \n and \r: in a block, plain or single-quoted scalar they are read back as \n
# (or folded away). Only a double-quoted scalar keeps them, escaped as \N, \L and \P.
_YAML_ONLY_BREAKS = re.compile("[\x85\u2028\u2029]")


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if _YAML_ONLY_BREAKS.search(value):
        style = '"'
    else:
        style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_presenter)


class serializer:
    """vcrpy serializer for the cookbook's readable cassette format."""

    @staticmethod
    def serialize(data: dict) -> str:
        meta = dict(data.get("metadata") or {})
        interactions = []
        for item in data["interactions"]:
            req, resp = item["request"], dict(item["response"])
            req_headers = {k: (v[0] if isinstance(v, list) and len(v) == 1 else v) for k, v in req["headers"].items()}
            request = {"method": req["method"], "uri": req["uri"]}
            if req_headers:
                request["headers"] = req_headers
            request.update(_body_to_file(req["body"], _one_header(req["headers"], "content-type")))
            content_type = _one_header(resp["headers"], "content-type")
            response = {"status": resp["status"]}
            if content_type:
                response["content-type"] = content_type
            response.update(_body_to_file(resp["body"]["string"], content_type))
            item = {"provenance": resp.get("provenance", "authored")}
            if item["provenance"] == "authored":
                item["capture"] = resp.get("capture") or "none"
            interactions.append({**item, "request": request, "response": response})
        kinds = {i["provenance"] for i in interactions}
        meta["provenance"] = kinds.pop() if len(kinds) == 1 else "mixed"
        meta["note"] = RECORDED_NOTE if meta["provenance"] == "recorded" else AUTHORED_NOTE
        doc = {"format": FORMAT, **meta, "interactions": interactions}
        comment = (
            f"# Cassette for recipe {meta.get('recipe', '?')} of the Mistral connectors cookbook.\n"
            f"# provenance: {meta['provenance']}. {meta['note']}\n"
        )
        return comment + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)

    @staticmethod
    def deserialize(text: str) -> dict:
        doc = yaml.load(text, Loader=_Loader) or {}
        if doc.get("format") != FORMAT:
            raise ValueError(f"not a cookbook cassette (format {doc.get('format')!r}, expected {FORMAT!r})")
        interactions = []
        for item in doc.get("interactions") or []:
            req, resp = item["request"], item["response"]
            headers = {k: [v] for k, v in (req.get("headers") or {}).items()}
            request = {"method": req["method"], "uri": req["uri"], "headers": headers, "body": _body_from_file(req)}
            resp_headers = {"content-type": [resp["content-type"]]} if resp.get("content-type") else {}
            response = {
                "status": resp["status"],
                "headers": resp_headers,
                "body": {"string": _body_from_file(resp) or ""},
                "provenance": item.get("provenance", "authored"),
            }
            if response["provenance"] == "authored":
                response["capture"] = item.get("capture") or "none"
            interactions.append({"request": request, "response": response})
        meta = {k: v for k, v in doc.items() if k not in ("format", "interactions")}
        return {"version": 1, "interactions": interactions, "metadata": meta}


def _sdk_version() -> str:
    from importlib.metadata import version

    return f"mistralai {version('mistralai')}"


class persister:
    """vcrpy persister: atomic writes, header filled in at every save."""

    @staticmethod
    def load_cassette(path: str | os.PathLike[str], serializer: Any) -> tuple:
        from vcr.persisters.filesystem import CassetteNotFoundError
        from vcr.serialize import deserialize

        path = Path(path)
        if not path.is_file():
            raise CassetteNotFoundError()
        return deserialize(path.read_text(encoding="utf-8"), serializer)

    @staticmethod
    def save_cassette(path: str | os.PathLike[str], cassette_dict: dict, serializer: Any) -> None:
        from vcr.serialize import serialize

        path = Path(path)
        meta = dict(cassette_dict.get("metadata") or {})
        meta.update(recipe=path.stem, sdk=_sdk_version(), date=_dt.date.today().isoformat())
        text = serialize({**cassette_dict, "metadata": meta}, serializer)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


# --------------------------------------------------------------------------- opening


class Recordings:
    """A cassette loaded for replay: its interactions, in recorded order, and how often each was played."""

    def __init__(self, path: str | os.PathLike[str], data: list[tuple[Request, dict]], metadata: dict):
        self.path = str(path)
        self.data = data
        self.metadata = metadata
        self.play_counts: collections.Counter[int] = collections.Counter()

    @property
    def requests(self) -> list[Request]:
        return [request for request, _ in self.data]

    def rewind(self) -> None:
        """Forget what was played: the next request plays its first recording again."""
        self.play_counts.clear()


def load_recordings(path: str | os.PathLike[str]) -> Recordings:
    """Read a cassette for replay (without vcrpy): requests as :class:`Request`, response bodies as bytes."""
    doc = serializer.deserialize(Path(path).read_text(encoding="utf-8"))
    data = []
    for item in doc["interactions"]:
        response = item["response"]
        if isinstance(response["body"]["string"], str):
            response["body"]["string"] = response["body"]["string"].encode("utf-8")
        data.append((Request(**item["request"]), response))
    return Recordings(path, data, doc.get("metadata") or {})


def open_cassette(path: Path, *, secrets: Iterable[str] = ()) -> Cassette:
    """Load a cassette for recording with vcrpy: new exchanges replace old ones; secrets never reach the file."""
    from vcr.cassette import Cassette
    from vcr.record_mode import RecordMode

    secrets = tuple(s for s in secrets if s)
    return Cassette.load(
        path=str(path),
        serializer=serializer,
        persister=persister,
        record_mode=RecordMode.ALL,
        match_on=MATCH_ON,
        before_record_request=lambda request: scrub_request(request, secrets),
        before_record_response=lambda response: scrub_response(response, secrets),
    )


def save(cassette: Cassette) -> None:
    """Write a recording cassette now (vcrpy itself only saves when a context exits)."""
    cassette._save(force=True)


def recorded_prompts(name_or_path: str | os.PathLike[str]) -> list[str]:
    """The user prompts a cassette can answer: text user inputs of successful conversation requests, in order."""
    path = resolve(name_or_path, must_exist=True)
    data = serializer.deserialize(path.read_text(encoding="utf-8"))
    prompts: list[str] = []
    for item in data["interactions"]:
        request, status = item["request"], item["response"]["status"]["code"]
        if request["method"] != "POST" or urlsplit(request["uri"]).path != "/v1/conversations" or status >= 400:
            continue
        try:
            body = json.loads(request["body"] or "null")
        except ValueError:
            continue
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if isinstance(inputs, str):
            inputs = [{"role": "user", "content": inputs}]
        for entry in inputs or []:
            text = entry.get("content") if isinstance(entry, dict) and entry.get("role") == "user" else None
            if isinstance(text, str) and text not in prompts:
                prompts.append(text)
    return prompts
