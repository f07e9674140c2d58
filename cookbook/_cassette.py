"""Cassettes: the HTTP exchanges behind replay mode, and the one policy for them.

A cassette is a YAML file a person can read and diff. Each interaction keeps the request (method, URL, JSON body)
and the response (status, JSON body, or the server-sent events of a stream, one event per item), and says what it
rests on: ``provenance: recorded`` (and when), or ``provenance: authored`` with the public captures its shape
follows (``capture``). The whole policy lives here:

- where cassettes are read from and recorded into (:func:`resolve`, ``COOKBOOK_CASSETTES``);
- matching: method, path, query and JSON body compared as parsed JSON; headers never take part;
- scrubbing: :class:`Secrets` removes the key and every token a client sent, as whole values, from whatever is
  written or shown;
- recording: :func:`record` merges one exchange into the file under a lock and writes it atomically, so any
  number of clients and processes recording into one cassette keep every exchange they made.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import json
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse, urlsplit, urlunsplit

import yaml

BUNDLED_DIR = Path(__file__).parent / "cassettes"
CASSETTES_VARIABLE = "COOKBOOK_CASSETTES"  # the folder cassettes are read from and recorded into
RECORD_DIR = "cassettes"  # where record mode writes when COOKBOOK_CASSETTES is not set (in the working directory)
SUFFIX = ".yaml"
FORMAT = "cookbook-cassette/1"
PLACEHOLDER = "REDACTED"

AUTHORED_NOTE = (
    "Written by hand to the mistralai SDK schema: this project cannot reach the "
    "Mistral API, so no exchange here was recorded from it. Run the recipe in "
    "record mode with a key to replace it with real recordings."
)
RECORDED_NOTE = "Recorded from the Mistral API by the cookbook's record mode; secrets scrubbed."
MIXED_NOTE = ("Recorded from the Mistral API by the cookbook's record mode (secrets scrubbed), next to exchanges "
              "written by hand that the recording did not replace: each interaction says which it is.")

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


# --------------------------------------------------------------------------- where


def bundled_names() -> list[str]:
    """The names of the cassettes shipped inside the package, sorted."""
    return sorted(p.stem for p in BUNDLED_DIR.glob(f"*{SUFFIX}"))


def cassette_dir() -> Path | None:
    """The folder named by ``COOKBOOK_CASSETTES``, if set."""
    value = os.environ.get(CASSETTES_VARIABLE, "").strip()
    return Path(value).expanduser() if value else None


def _is_path(text: str) -> bool:
    return os.sep in text or "/" in text or text.endswith((".yaml", ".yml"))


def resolve(name_or_path: str | os.PathLike[str], *, must_exist: bool, recording: bool = False) -> Path:
    """A cassette's path from a name (``"02_web_search"``) or a file path.

    A name is looked up in ``COOKBOOK_CASSETTES`` first, then among the bundled cassettes. Recording writes a
    name to ``COOKBOOK_CASSETTES``, else to ``./cassettes/``: never into the installed package unless that
    folder is named.
    """
    text = os.fspath(name_or_path)
    if _is_path(text):
        path = Path(text)
    elif recording:
        path = (cassette_dir() or Path(RECORD_DIR)) / f"{text}{SUFFIX}"
    else:
        folder = cassette_dir()
        path = folder / f"{text}{SUFFIX}" if folder and (folder / f"{text}{SUFFIX}").is_file() else \
            BUNDLED_DIR / f"{text}{SUFFIX}"
    if must_exist and not path.is_file():
        names = ", ".join(bundled_names()) or "none"
        raise FileNotFoundError(
            f"No cassette {text!r} (looked for {path}). Bundled cassettes: {names}. Pass one of those names, a "
            f"path to a cassette file, a folder in ${CASSETTES_VARIABLE}, or record a new one with mode='record'.")
    return path


def seed_for(path: Path) -> Path | None:
    """The cassette a new recording at ``path`` starts from: the bundled one of the same name, if any."""
    bundled = BUNDLED_DIR / path.name
    return bundled if bundled.is_file() and bundled.resolve() != path.resolve() else None


# --------------------------------------------------------------------------- requests


class Request:
    """An HTTP request as a cassette keeps it: method, URI, body (bytes) and headers."""

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


def _secret_values(value: Any) -> Iterator[str]:
    """Token values in a request's JSON: every ``authorization.value`` and secret-named string."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "authorization" and isinstance(item, dict) and isinstance(item.get("value"), str):
                yield item["value"]
            elif isinstance(item, str) and key.lower() in _SECRET_JSON_KEYS:
                yield item
            else:
                yield from _secret_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from _secret_values(item)


class Secrets:
    """The key and the tokens a client sent: removed, as whole values, from anything written or shown.

    A secret is replaced where it stands as a whole token (not inside a longer word), so a short key can never
    corrupt other text: with a key ``k``, "unchecked" stays "unchecked".
    """

    def __init__(self, values: Iterable[str] = ()) -> None:
        self.values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        for value in values:
            self.add(value)

    def add(self, value: Any) -> None:
        if isinstance(value, str) and value.strip() and value != PLACEHOLDER and value not in self.values:
            self.values.add(value)
            self._pattern = None

    def learn(self, method: str, url: str, headers: Any, body: bytes | None) -> None:
        """Note the tokens an outgoing request carries: auth headers, secret query parameters, body tokens."""
        for name, value in (headers.items() if hasattr(headers, "items") else []):
            if _SECRET_NAME.search(name):
                scheme, _, token = value.partition(" ")
                self.add(token if token else scheme)  # "Bearer <token>": the token
        for name, value in parse_qsl(urlsplit(url).query):
            if _SECRET_NAME.search(name):
                self.add(value)
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            return
        for value in _secret_values(parsed):
            self.add(value)

    def _regex(self) -> re.Pattern[str] | None:
        if self._pattern is None and self.values:
            alternatives = "|".join(re.escape(v) for v in sorted(self.values, key=len, reverse=True))
            self._pattern = re.compile(rf"(?<![\w.~+/-])(?:{alternatives})(?![\w.~+/=-])")
        return self._pattern

    def text(self, text: str) -> str:
        pattern = self._regex()
        return pattern.sub(PLACEHOLDER, text) if pattern is not None else text

    def bytes(self, data: bytes) -> bytes:
        if not self.values or not data:
            return data
        return self.text(data.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")

    def json(self, value: Any) -> Any:
        """``value`` with every ``authorization.value``, secret-named string and known secret replaced."""
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if key == "authorization" and isinstance(item, dict) and "value" in item:
                    item = {**item, "value": PLACEHOLDER}
                elif isinstance(item, str) and key.lower() in _SECRET_JSON_KEYS:
                    item = PLACEHOLDER
                out[key] = self.json(item)
            return out
        if isinstance(value, list):
            return [self.json(item) for item in value]
        return self.text(value) if isinstance(value, str) else value

    def body(self, body: bytes | str | None) -> bytes | None:
        """A request or response body, safe to write (JSON re-serialized with its tokens replaced)."""
        if body is None:
            return None
        data = body.encode("utf-8") if isinstance(body, str) else body
        try:
            parsed = json.loads(data)
        except ValueError:
            return self.bytes(data)
        return json.dumps(self.json(parsed), ensure_ascii=False).encode("utf-8")

    def url(self, url: str) -> str:
        parts = urlsplit(url)
        query = [(k, PLACEHOLDER if _SECRET_NAME.search(k) else v)
                 for k, v in parse_qsl(parts.query, keep_blank_values=True)]
        return self.text(urlunsplit(parts._replace(query=urlencode(query))))

    def request(self, request: Request) -> Request:
        """A copy of ``request`` that is safe to write: no key, token or secret header."""
        headers = {name: PLACEHOLDER if _SECRET_NAME.search(name) else self.text(value)
                   for name, value in request.headers.items()
                   if _SECRET_NAME.search(name) or name.lower() in _KEPT_REQUEST_HEADERS}
        return Request(request.method, self.url(request.uri), self.body(request.body), headers)


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


def match_key(request: Request) -> tuple:
    """Equal for requests that match: method, path (empty is "/"), query, and the body as parsed JSON."""
    body = parsed_body(request)
    body_key = ("raw", body) if isinstance(body, str | bytes) else json.dumps(body, sort_keys=True,
                                                                              separators=(",", ":"))
    return request.method, request.path or "/", tuple(request.query), body_key


def matches(r1: Request, r2: Request) -> bool:
    """Same method, path, query and JSON body (1 and 1.0 are the same number; key order never matters)."""
    return (r1.method == r2.method and (r1.path or "/") == (r2.path or "/") and r1.query == r2.query
            and parsed_body(r1) == parsed_body(r2))


# --------------------------------------------------------------------------- file format


def _sse_events(text: str) -> list[dict] | None:
    events = []
    for block in re.split(r"\r?\n\r?\n", text.strip()):
        if not block.strip():
            continue
        event: dict[str, Any] = {}
        data_lines = []
        for line in block.splitlines():
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "event":
                event["event"] = value
            elif name == "data":
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


def _body_to_file(body: str | bytes | None, content_type: str) -> dict:
    if body is None:
        return {}
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
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


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Dumper(yaml.SafeDumper):
    """Block style, multi-line strings as literal blocks, and no anchors or aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


# Line breaks to YAML 1.1 besides \n and \r: in a block, plain or single-quoted scalar they are read back as \n
# (or folded away). Only a double-quoted scalar keeps them, escaped as \N, \L and \P.
_YAML_ONLY_BREAKS = re.compile("[\x85\u2028\u2029]")


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = '"' if _YAML_ONLY_BREAKS.search(value) else "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_presenter)


class serializer:
    """The cookbook's readable cassette format, to and from interactions as dicts.

    An interaction in memory is ``{"request": {"method", "uri", "headers": {name: [value]}, "body": str},
    "response": {"status": {"code", "message"}, "headers": {name: [value]}, "body": {"string": str},
    "provenance": "authored" | "recorded", "capture": ..., "recorded": ...}}``.
    """

    @staticmethod
    def serialize(data: dict) -> str:
        meta = dict(data.get("metadata") or {})
        interactions = []
        for item in data["interactions"]:
            req, resp = item["request"], dict(item["response"])
            req_headers = {k: (v[0] if isinstance(v, list) and len(v) == 1 else v) for k, v in req["headers"].items()}
            request = {"method": req["method"], "uri": req["uri"], **({"headers": req_headers} if req_headers else {})}
            request.update(_body_to_file(req["body"], _one_header(req["headers"], "content-type")))
            content_type = _one_header(resp["headers"], "content-type")
            response = {"status": resp["status"], **({"content-type": content_type} if content_type else {})}
            response.update(_body_to_file(resp["body"]["string"], content_type))
            head = {"provenance": resp.get("provenance", "authored")}
            if head["provenance"] == "authored":
                head["capture"] = resp.get("capture") or "none"
            elif resp.get("recorded"):
                head["recorded"] = resp["recorded"]
            interactions.append({**head, "request": request, "response": response})
        counts = Counter(i["provenance"] for i in interactions)
        meta["provenance"] = next(iter(counts)) if len(counts) == 1 else "mixed" if counts else "recorded"
        meta["exchanges"] = {"recorded": counts["recorded"], "authored": counts["authored"]}
        meta["note"] = {"recorded": RECORDED_NOTE, "mixed": MIXED_NOTE}.get(meta["provenance"], AUTHORED_NOTE)
        doc = {"format": FORMAT, **meta, "interactions": interactions}
        comment = (
            f"# Cassette for recipe {meta.get('recipe', '?')} of the Mistral connectors cookbook.\n"
            f"# provenance: {meta['provenance']} ({counts['recorded']} recorded, {counts['authored']} authored). "
            f"{meta['note']}\n"
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
            response = {
                "status": resp["status"],
                "headers": {"content-type": [resp["content-type"]]} if resp.get("content-type") else {},
                "body": {"string": _body_from_file(resp) or ""},
                "provenance": item.get("provenance", "authored"),
            }
            if response["provenance"] == "authored":
                response["capture"] = item.get("capture") or "none"
            elif item.get("recorded"):
                response["recorded"] = item["recorded"]
            interactions.append({"request": request, "response": response})
        meta = {k: v for k, v in doc.items() if k not in ("format", "interactions", "exchanges", "provenance", "note")}
        return {"interactions": interactions, "metadata": meta}


def _sdk_version() -> str:
    from importlib.metadata import version

    return f"mistralai {version('mistralai')}"


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it: a crash never leaves half a file."""
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


# --------------------------------------------------------------------------- recording


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the cassette's lock (a hidden ``.NAME.lock`` file beside it) for as long as the block runs.

    Under the lock, temporary files left by a writer that was killed mid-write are removed: no other writer can
    be writing while the lock is held.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "a+") as handle:
        try:
            import fcntl
        except ImportError:  # Windows: one writer at a time is up to you
            fcntl = None
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            for stale in path.parent.glob(f".{path.name}.*.tmp"):
                stale.unlink(missing_ok=True)
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _as_request(item: dict) -> Request:
    request = item["request"]
    return Request(request["method"], request["uri"], request["body"], request["headers"])


def record(path: Path, interaction: dict, *, since: str, replaces: Iterable[str] = ()) -> None:
    """Merge one recorded exchange into the cassette at ``path``, under its lock.

    The file is read again under the lock, so exchanges other clients or processes wrote meanwhile are kept. The
    new exchange replaces the ones it matches that are older than this recording session (authored ones, or
    recorded before ``since``), and, of this session's, those whose ``recorded`` stamp is in ``replaces`` (a
    failed attempt the client then retried). Other exchanges keep their place and their provenance. A cassette
    that does not exist yet starts from the bundled one of the same name, if any.
    """
    with locked(path):
        source = path if path.is_file() else seed_for(path)
        data = serializer.deserialize(source.read_text(encoding="utf-8")) if source else {"interactions": [],
                                                                                          "metadata": {}}
        new = _as_request(interaction)
        replaced = set(replaces)

        def stale(item: dict) -> bool:
            response = item["response"]
            stamp = response.get("recorded")
            old = response.get("provenance") != "recorded" or not stamp or stamp < since or stamp in replaced
            return old and matches(new, _as_request(item))

        kept = data["interactions"]
        first = next((i for i, item in enumerate(kept) if stale(item)), len(kept))
        kept = [item for item in kept if not stale(item)]
        kept.insert(min(first, len(kept)), interaction)
        meta = {**data.get("metadata", {}), "recipe": path.stem, "sdk": _sdk_version(),
                "date": dt.date.today().isoformat()}
        write_atomically(path, serializer.serialize({"interactions": kept, "metadata": meta}))


def now_stamp() -> str:
    """A sortable UTC timestamp, to the microsecond."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --------------------------------------------------------------------------- replaying


class Recordings:
    """A cassette loaded for replay: its interactions, in recorded order, and how often each was played."""

    def __init__(self, path: str | os.PathLike[str], data: list[tuple[Request, dict]], metadata: dict):
        self.path = str(path)
        self.data = data
        self.metadata = metadata
        self.play_counts: Counter[int] = Counter()

    @property
    def requests(self) -> list[Request]:
        return [request for request, _ in self.data]



def load_recordings(path: str | os.PathLike[str]) -> Recordings:
    """Read a cassette for replay: requests as :class:`Request`, response bodies as bytes."""
    doc = serializer.deserialize(Path(path).read_text(encoding="utf-8"))
    data = []
    for item in doc["interactions"]:
        response = item["response"]
        if isinstance(response["body"]["string"], str):
            response["body"]["string"] = response["body"]["string"].encode("utf-8")
        data.append((_as_request(item), response))
    return Recordings(path, data, doc.get("metadata") or {})


def recorded_prompts(name_or_path: str | os.PathLike[str]) -> list[str]:
    """The user prompts a cassette can answer: text user inputs of answered conversation requests, in order."""
    data = serializer.deserialize(resolve(name_or_path, must_exist=True).read_text(encoding="utf-8"))
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
        for entry in [{"role": "user", "content": inputs}] if isinstance(inputs, str) else inputs or []:
            text = entry.get("content") if isinstance(entry, dict) and entry.get("role") == "user" else None
            if isinstance(text, str) and text not in prompts:
                prompts.append(text)
    return prompts
