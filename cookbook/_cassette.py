"""Cassettes: the HTTP exchanges behind replay mode, and the one policy for them.

A cassette is a YAML file a person can read and diff; in memory an exchange keeps the file's shape: a request (method,
URI, JSON body), a response (status, JSON body or a stream's events) and what it rests on (``provenance: recorded``,
or ``authored`` with the public ``capture`` its shape follows). Here: where cassettes are (:func:`resolve`), matching
(headers never take part), scrubbing (:class:`Secrets`), merging a recording into a file under a lock (:func:`record`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from functools import cached_property
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import yaml

from ._tools import user_texts

try:
    import fcntl
except ImportError:  # Windows: one writer at a time is up to you
    fcntl = None

BUNDLED_DIR = Path(__file__).parent / "cassettes"
CASSETTES_VARIABLE = "COOKBOOK_CASSETTES"  # the folder cassettes are read from and recorded into
RECORD_DIR = "cassettes"  # where record mode writes when COOKBOOK_CASSETTES is not set (in the working directory)
FORMAT = "cookbook-cassette/1"
PLACEHOLDER = "REDACTED"

AUTHORED_NOTE = ("Written by hand to the mistralai SDK schema: this project cannot reach the Mistral API, so no "
                 "exchange here was recorded from it. Run the recipe in record mode with a key to replace it with "
                 "real recordings.")
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


def bundled_names() -> list[str]:
    """The names of the cassettes shipped inside the package, sorted."""
    return sorted(p.stem for p in BUNDLED_DIR.glob("*.yaml"))


def resolve(name_or_path: str | os.PathLike[str], *, must_exist: bool, recording: bool = False) -> Path:
    """A cassette's path from a name (``"02_web_search"``) or a file path.

    A name is looked up in ``COOKBOOK_CASSETTES`` first, then among the bundled cassettes. Recording writes a
    name to ``COOKBOOK_CASSETTES``, else to ``./cassettes/``: never into the installed package unless that
    folder is named.
    """
    text, setting = os.fspath(name_or_path), os.environ.get(CASSETTES_VARIABLE, "").strip()
    mine = Path(setting or RECORD_DIR).expanduser() / f"{text}.yaml"
    if "/" in text or os.sep in text or text.endswith((".yaml", ".yml")):
        path = Path(text)
    else:
        path = mine if recording or (setting and mine.is_file()) else BUNDLED_DIR / f"{text}.yaml"
    if must_exist and not path.is_file():
        names = ", ".join(bundled_names()) or "none"
        raise FileNotFoundError(
            f"No cassette {text!r} (looked for {path}). Bundled cassettes: {names}. Pass one of those names, a "
            f"path to a cassette file, a folder in ${CASSETTES_VARIABLE}, or record a new one with mode='record'.")
    return path


def _sse_events(text: str) -> list[dict] | None:
    """A server-sent event stream as ``[{"event": ..., "data": JSON or text}]``; None if it has other fields."""
    events = []
    for block in filter(str.strip, re.split(r"\r?\n\r?\n", text.strip())):
        pairs = (line.partition(":") for line in block.splitlines())
        fields = [(name, value.removeprefix(" ")) for name, _, value in pairs]
        if any(name not in ("event", "data") for name, _ in fields):
            return None
        data = "\n".join(value for name, value in fields if name == "data")
        with suppress(ValueError):
            data = json.loads(data)
        events.append({**{name: value for name, value in fields if name == "event"}, "data": data})
    return events


def body_entry(body: bytes | str | None, content_type: str) -> dict:
    """A body as a cassette keeps it: ``{"json": value}``, ``{"sse": events}``, ``{"text": str}`` or none."""
    if body is None:
        return {}
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    events = _sse_events(text) if text and "event-stream" in content_type else None
    if events is not None:
        return {"sse": events}
    try:
        return {"json": json.loads(text)} if text else {"text": ""}
    except ValueError:
        return {"text": text}


def body_bytes(entry: dict) -> bytes:
    """The body of a cassette's request or response, as it went over the wire."""
    if "json" in entry:
        return json.dumps(entry["json"], ensure_ascii=False).encode("utf-8")
    if "sse" not in entry:
        return (entry.get("text") or "").encode("utf-8")
    out = []
    for event in entry["sse"]:
        data = event.get("data")
        head = f"event: {event['event']}\n" if "event" in event else ""
        out.append(f"{head}data: {data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)}\n\n")
    return "".join(out).encode("utf-8")


def request_entry(method: str, uri: str, headers: dict[str, str], body: bytes | str | None) -> dict:
    """A request as a cassette keeps it."""
    return {"method": method, "uri": uri, **({"headers": headers} if headers else {}),
            **body_entry(body or None, headers.get("content-type", ""))}


def response_entry(code: int, message: str, content_type: str | None, body: bytes | str) -> dict:
    """A response as a cassette keeps it."""
    return {"status": {"code": code, "message": message}, **({"content-type": content_type} if content_type else {}),
            **body_entry(body, content_type or "")}


def _scrub_json(value: Any, leaf: Callable[[str], str], found: list) -> Any:
    """``value`` with every ``authorization.value`` and secret-named string replaced (and noted in ``found``), and
    every other string passed through ``leaf``."""
    if isinstance(value, list):
        return [_scrub_json(item, leaf, found) for item in value]
    if not isinstance(value, dict):
        return leaf(value) if isinstance(value, str) else value
    out = {}
    for key, item in value.items():
        if key == "authorization" and isinstance(item, dict) and "value" in item:
            found.append(item["value"])
            item = {**item, "value": PLACEHOLDER}
        elif isinstance(item, str) and key.lower() in _SECRET_JSON_KEYS:
            found.append(item)
            item = PLACEHOLDER
        out[key] = _scrub_json(item, leaf, found)
    return out


def _parsed(body: bytes | str | None) -> Any:
    """A body as parsed JSON, else as it is (None when empty)."""
    try:
        return json.loads(body) if body else None
    except ValueError:
        return body


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

    def learn(self, request: Any) -> None:
        """Note the tokens an outgoing (httpx) request carries: auth headers, secret query parameters, body tokens."""
        for name, value in request.headers.items():
            if _SECRET_NAME.search(name):
                scheme, _, token = value.partition(" ")
                self.add(token or scheme)  # "Bearer <token>": the token
        for name, value in parse_qsl(urlsplit(str(request.url)).query):
            if _SECRET_NAME.search(name):
                self.add(value)
        found: list = []
        _scrub_json(_parsed(request.content), str, found)
        for value in found:
            self.add(value)

    def text(self, text: str) -> str:
        if not self.values:
            return text
        if self._pattern is None:
            alternatives = "|".join(re.escape(v) for v in sorted(self.values, key=len, reverse=True))
            self._pattern = re.compile(rf"(?<![\w.~+/-])(?:{alternatives})(?![\w.~+/=-])")
        return self._pattern.sub(PLACEHOLDER, text)

    def bytes(self, data: bytes) -> bytes:
        if not self.values or not data:
            return data
        return self.text(data.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")

    def json(self, value: Any) -> Any:
        """``value`` with every ``authorization.value``, secret-named string and known secret replaced."""
        return _scrub_json(value, self.text, [])

    def body(self, body: bytes | None) -> bytes | None:
        """A request or response body, safe to write (JSON re-serialized with its tokens replaced)."""
        if not body:
            return body
        try:
            return json.dumps(self.json(json.loads(body)), ensure_ascii=False).encode("utf-8")
        except ValueError:
            return self.bytes(body)

    def url(self, url: str) -> str:
        parts = urlsplit(url)
        query = [(k, PLACEHOLDER if _SECRET_NAME.search(k) else v)
                 for k, v in parse_qsl(parts.query, keep_blank_values=True)]
        return self.text(urlunsplit(parts._replace(query=urlencode(query))))

    def request(self, method: str, url: str, headers: Any, body: bytes | None) -> dict:
        """A request as a cassette keeps it, safe to write: no key, token or secret header."""
        kept = {name: PLACEHOLDER if _SECRET_NAME.search(name) else self.text(value)
                for name, value in headers.items()
                if _SECRET_NAME.search(name) or name.lower() in _KEPT_REQUEST_HEADERS}
        return request_entry(method, self.url(url), kept, self.body(body))


@dataclass
class Request:
    """A request as matching sees it: method, URI and body (as sent; a str body is kept UTF-8 encoded)."""

    method: str
    uri: str
    body: bytes | str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.body, str):
            self.body = self.body.encode("utf-8")

    @classmethod
    def of(cls, entry: dict) -> Request:
        """The request of a cassette's exchange."""
        return cls(entry["method"], entry["uri"], body_bytes(entry))

    @property
    def path(self) -> str:
        return urlsplit(self.uri).path or "/"

    @cached_property
    def parsed(self) -> Any:
        """The body as parsed JSON, else as sent (None when empty)."""
        return _parsed(self.body)

    @cached_property
    def key(self) -> tuple:
        """What matching compares: method, path, query (in any order) and parsed body."""
        return self.method, self.path, sorted(parse_qsl(urlsplit(self.uri).query)), self.parsed


def matches(r1: Request, r2: Request) -> bool:
    """Same method, path, query and JSON body (1 and 1.0 are the same number; key order never matters)."""
    return r1.key == r2.key


# Line breaks to YAML 1.1 besides \n and \r: in a block, plain or single-quoted scalar they are read back as \n
# (or folded away). Only a double-quoted scalar keeps them, escaped as \N, \L and \P.
_YAML_ONLY_BREAKS = re.compile("[\x85\u2028\u2029]")


class _Dumper(yaml.SafeDumper):
    """Block style, multi-line strings as literal blocks, and no anchors or aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def represent_text(self, value: str) -> yaml.Node:
        style = '"' if _YAML_ONLY_BREAKS.search(value) else "|" if "\n" in value else None
        return self.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _Dumper.represent_text)
_DERIVED = ("format", "provenance", "exchanges", "note", "interactions")  # what dumps() writes itself


def read_yaml(text: str) -> Any:
    """YAML read safely, with libyaml's fast loader when PyYAML has it."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def loads(text: str) -> dict:
    """A cassette file's content: its metadata and ``interactions``, each exchange as the file has it."""
    doc = read_yaml(text) or {}
    if doc.get("format") != FORMAT:
        raise ValueError(f"not a cookbook cassette (format {doc.get('format')!r}, expected {FORMAT!r})")
    return doc


def read(path: Path) -> dict:
    """The cassette at ``path``; for one not written yet, the bundled cassette it starts from (else empty)."""
    source = path if path.is_file() else BUNDLED_DIR / path.name
    return loads(source.read_text(encoding="utf-8")) if source.is_file() else {}


def dumps(doc: dict) -> str:
    """A cassette file's text: metadata (``recipe``, ``sdk``, ...), what its exchanges rest on, the exchanges."""
    interactions = []
    for item in doc.get("interactions") or []:
        head = {"provenance": item.get("provenance", "authored")}
        if head["provenance"] == "authored":
            head["capture"] = item.get("capture") or "none"
        elif item.get("recorded"):
            head["recorded"] = item["recorded"]
        interactions.append({**head, "request": item["request"], "response": item["response"]})
    counts = Counter(i["provenance"] for i in interactions)
    provenance = next(iter(counts)) if len(counts) == 1 else "mixed" if counts else "recorded"
    note = {"recorded": RECORDED_NOTE, "mixed": MIXED_NOTE}.get(provenance, AUTHORED_NOTE)
    meta = {key: value for key, value in doc.items() if key not in _DERIVED}
    out = {"format": FORMAT, **meta, "provenance": provenance,
           "exchanges": {"recorded": counts["recorded"], "authored": counts["authored"]}, "note": note,
           "interactions": interactions}
    comment = (f"# Cassette for recipe {meta.get('recipe', '?')} of the Mistral connectors cookbook.\n"
               f"# provenance: {provenance} ({counts['recorded']} recorded, {counts['authored']} authored). {note}\n")
    return comment + yaml.dump(out, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it: a crash never leaves half a file."""
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


def record(path: Path, interaction: dict, *, since: str, replaces: Iterable[str] = ()) -> None:
    """Merge one recorded exchange into the cassette at ``path``, read again under its lock (``.NAME.lock`` beside it)
    so that what other clients and processes wrote meanwhile is kept. It replaces the exchanges it matches that are
    older than this session (authored, or recorded before ``since``) or whose ``recorded`` stamp is in ``replaces``
    (a failed attempt the client retried)."""
    new, replaced = Request.of(interaction["request"]), set(replaces)

    def stale(item: dict) -> bool:
        stamp = item.get("recorded")
        old = item.get("provenance") != "recorded" or not stamp or stamp < since or stamp in replaced
        return old and matches(new, Request.of(item["request"]))

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "a+") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        for leftover in path.parent.glob(f".{path.name}.*.tmp"):  # from a writer killed mid-write
            leftover.unlink(missing_ok=True)
        doc = read(path)
        items = doc.get("interactions") or []
        gone = [stale(item) for item in items]
        kept = [item for item, out in zip(items, gone, strict=True) if not out]
        kept.insert(gone.index(True) if True in gone else len(kept), interaction)
        doc.update(interactions=kept, recipe=path.stem, sdk=f"mistralai {version('mistralai')}",
                   date=dt.date.today().isoformat())
        write_atomically(path, dumps(doc))


def now_stamp() -> str:
    """A sortable UTC timestamp, to the microsecond."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Recordings:
    """A cassette loaded for replay: its exchanges in recorded order, and how often each was played."""

    def __init__(self, path: str, interactions: list[dict]) -> None:
        self.path, self.interactions = path, interactions
        self.data = [(Request.of(item["request"]), item["response"]) for item in interactions]
        self.requests = [request for request, _ in self.data]
        self.play_counts: Counter[int] = Counter()


def load_recordings(path: str | os.PathLike[str]) -> Recordings:
    """Read a cassette for replay."""
    return Recordings(str(path), loads(Path(path).read_text(encoding="utf-8"))["interactions"])


def answered_bodies(cassettes: Iterable[Recordings], path: str = "/v1/conversations") -> Iterator[dict]:
    """The JSON bodies of the requests to ``path`` that were answered (an error demo's request is no example)."""
    for cassette in cassettes:
        for request, response in cassette.data:
            if request.path == path and response["status"]["code"] < 400 and isinstance(request.parsed, dict):
                yield request.parsed


def prompts(cassettes: Iterable[Recordings], path: str = "/v1/conversations") -> list[str]:
    """The text user inputs of the answered requests to ``path``, once each, in order."""
    texts = (text for body in answered_bodies(cassettes, path) for text in user_texts(body.get("inputs")))
    return list(dict.fromkeys(text for text in texts if isinstance(text, str)))


def recorded_prompts(name_or_path: str | os.PathLike[str]) -> list[str]:
    """The user prompts a cassette can answer: text user inputs of answered conversation requests, in order."""
    return prompts([load_recordings(resolve(name_or_path, must_exist=True))])
