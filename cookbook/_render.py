"""Pure helpers for turning untrusted text into safe HTML and short plain text.

Nothing here knows about the SDK. Every string that came from a model or a
server goes through :func:`esc` (or :func:`markdown`, which renders raw HTML as
text) before it reaches HTML, and every URL through :func:`safe_url`, which lets
only absolute ``http``/``https`` URLs through.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "CSS",
    "esc",
    "safe_url",
    "link",
    "img",
    "plain",
    "parse_json",
    "format_json",
    "one_line",
    "json_block",
    "markdown",
    "strip_markers",
    "MARK_OPEN",
    "MARK_CLOSE",
]

# Citation markers are spliced into Markdown source as private-use characters,
# then swapped for <sup> links after rendering. Model text may not contain them.
MARK_OPEN = "\ue000"
MARK_CLOSE = "\ue001"
_MARKS = re.compile("[\ue000\ue001]")

# Bounds that keep one rendered response small and the renderer fast.
TEXT_PREVIEW = 8_000  # characters of Markdown shown before "show all"
JSON_PREVIEW_DEPTH = 4
JSON_PREVIEW_CHARS = 1_200
JSON_FULL_DEPTH = 40
JSON_FULL_CHARS = 100_000
LINE_CHARS = 120  # one-line JSON in text/plain


def mimebundle(text: str, html: str, include: Any = None, exclude: Any = None) -> dict[str, str]:
    """The ``_repr_mimebundle_`` of an object that displays itself: plain text and HTML, filtered as asked."""
    bundle = {"text/plain": text, "text/html": html}
    if include:
        bundle = {k: v for k, v in bundle.items() if k in include}
    if exclude:
        bundle = {k: v for k, v in bundle.items() if k not in exclude}
    return bundle


def esc(value: Any) -> str:
    """HTML-escape any value, quotes included (safe in text and in attributes): ``html.escape``, inlined."""
    text = value if isinstance(value, str) else str(value)
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#x27;"))


_URL_FORBIDDEN = re.compile(r"[\x00-\x20\x7f]")  # spaces and control characters


def safe_url(url: Any) -> str | None:
    """``url`` if it is an absolute http(s) URL without spaces or control characters, else None."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    if not url or len(url) > 8_192 or _URL_FORBIDDEN.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def link(url: Any, label: str, *, cls: str = "") -> str:
    """An ``<a>`` opening in a new tab when ``url`` is http(s); otherwise the label as plain text."""
    href = safe_url(url)
    klass = f' class="{esc(cls)}"' if cls else ""
    if href is None:
        return f"<span{klass}>{esc(label)}</span>"
    return f'<a{klass} href="{esc(href)}" target="_blank" rel="noopener noreferrer nofollow">{esc(label)}</a>'


def img(url: Any, *, cls: str, alt: str = "", size: int | None = None) -> str:
    """An ``<img>`` for an http(s) URL, or an empty string."""
    src = safe_url(url)
    if src is None:
        return ""
    dims = f' width="{size}" height="{size}"' if size else ""
    return (
        f'<img class="{esc(cls)}" src="{esc(src)}" alt="{esc(alt)}"{dims} loading="lazy" referrerpolicy="no-referrer">'
    )


# --------------------------------------------------------------------------- JSON


class _Full(Exception):
    """Raised inside the formatter when the character budget is spent."""


def plain(value: Any) -> Any:
    """A JSON-like view of an SDK model, an SDK "unknown" wrapper, or a plain value."""
    raw = getattr(value, "raw", None)
    if raw is not None and getattr(value, "is_unknown", False):
        return raw
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return dump(mode="json", by_alias=True)
        except Exception:  # a model that cannot serialise itself still shows up
            return str(value)
    return value


def parse_json(text: Any) -> tuple[Any, bool]:
    """``(value, True)`` when ``text`` is a JSON document, else ``(text, False)``. Never raises."""
    if not isinstance(text, str):
        return text, True
    stripped = text.strip()
    if not stripped or stripped[0] not in "{[":
        return text, False
    try:  # json.loads(stripped), without its wrapper: nothing needs skipping around a stripped document
        value, end = _SCAN(stripped, 0)
    except (StopIteration, ValueError, RecursionError):
        return text, False
    return (value, True) if end == len(stripped) else (text, False)


_SCAN = json.JSONDecoder().scan_once


_ENCODER = json.JSONEncoder(ensure_ascii=False)  # json.dumps(value, ensure_ascii=False), without making one per call
_QUOTE = json.encoder.encode_basestring  # the same, for a str
# Exactly these types are their own plain() view: the formatter skips the call for them.
_JSON_TYPES = frozenset({dict, list, tuple, str, int, float, bool, type(None)})
_INF = float("inf")


def _float_text(v: float) -> str:
    return float.__repr__(v) if -_INF < v < _INF else _ENCODER.encode(v)  # NaN and infinities as json writes them


_SCALARS = {str: _QUOTE, int: int.__repr__, float: _float_text, bool: {True: "true", False: "false"}.__getitem__,
            type(None): lambda _: "null"}.get  # exactly these types: a subclass takes the careful way


class _NotPlain(Exception):
    """Raised by :func:`_layout` for a value that only the careful formatter lays out right."""


def _layout(v: Any, depth: int, pads: tuple[str, ...], sep: str, max_depth: int, left: list[int]) -> str:
    """What :func:`format_json` writes for the container ``v`` when nothing in it is cut: plain JSON types only, no
    non-empty container at ``max_depth`` or deeper, at most ``left[0]`` items in all. Else raises :class:`_NotPlain`
    (or TypeError, for a key that is not a string). ``pads[d]`` starts a line at depth ``d`` (empty on one line)."""
    t = type(v)
    if t is dict:
        n = len(v)
        if not n:
            return "{}"
        if depth >= max_depth or n > left[0]:
            raise _NotPlain
        left[0] -= n
        inner = pads[depth + 1]
        parts = []
        add = parts.append
        for k, x in v.items():
            scalar = _SCALARS(type(x))
            add(f"{inner}{_QUOTE(k)}: {scalar(x) if scalar else _layout(x, depth + 1, pads, sep, max_depth, left)}")
        return "{" + sep.join(parts) + pads[depth] + "}"
    if t is list or t is tuple:
        n = len(v)
        if not n:
            return "[]"
        if depth >= max_depth or n > left[0]:
            raise _NotPlain
        left[0] -= n
        inner = pads[depth + 1]
        parts = []
        add = parts.append
        for x in v:
            scalar = _SCALARS(type(x))
            add(inner + (scalar(x) if scalar else _layout(x, depth + 1, pads, sep, max_depth, left)))
        return "[" + sep.join(parts) + pads[depth] + "]"
    raise _NotPlain


# pads for each depth: none on one line, a new line and the indent otherwise
_LINE_STARTS = {None: ("",) * (JSON_FULL_DEPTH + 1), 2: tuple("\n" + "  " * i for i in range(JSON_FULL_DEPTH + 1))}


def _fast_json(value: Any, indent: int | None, max_depth: int, max_chars: int) -> tuple[str, bool] | None:
    """:func:`format_json` for the usual value, which nothing cuts but the end; None for the others."""
    pads = _LINE_STARTS.get(indent) if max_depth <= JSON_FULL_DEPTH else None
    if pads is None:
        pads = tuple("" if indent is None else "\n" + " " * (indent * i) for i in range(max_depth + 1))
    scalar = _SCALARS(type(value))
    try:
        text = scalar(value) if scalar else _layout(value, 0, pads, ", " if indent is None else ",", max_depth,
                                                    [max_chars])
    except (_NotPlain, TypeError):
        return None
    return (text, True) if len(text) <= max_chars else (text[:max_chars] + "…", False)


def format_json(
    value: Any, *, indent: int | None = 2, max_depth: int = JSON_FULL_DEPTH, max_chars: int = JSON_FULL_CHARS
) -> tuple[str, bool]:
    """Format a JSON-like value with bounded depth and length.

    Returns ``(text, complete)``; ``complete`` is False when something was cut.
    Containers deeper than ``max_depth`` become ``{…N}`` / ``[…N]``. Keys keep
    their order, so the output is as deterministic as the input.
    """
    fast = _fast_json(value, indent, max_depth, max_chars)
    if fast is not None:
        return fast
    out: list[str] = []
    left = max_chars
    cut = False
    sep = ", " if indent is None else ","
    pads: list[str] = []

    def pad(depth: int) -> str:
        if indent is None:
            return ""
        while len(pads) <= depth:
            pads.append("\n" + " " * (indent * len(pads)))
        return pads[depth]

    def put(s: str) -> None:
        nonlocal left, cut
        if len(s) > left:
            out.append(s[: max(left, 0)])
            cut = True
            raise _Full
        out.append(s)
        left -= len(s)

    def walk(v: Any, depth: int) -> None:
        nonlocal cut
        if type(v) not in _JSON_TYPES:
            v = plain(v)
        if isinstance(v, dict):
            if not v:
                put("{}")
                return
            if depth >= max_depth:
                cut = True
                put(f"{{…{len(v)}}}")
                return
            inner = pad(depth + 1)
            opening = "{"
            for k, item in v.items():
                put(opening + inner + _QUOTE(str(k)) + ": ")
                opening = sep
                walk(item, depth + 1)
            put(pad(depth) + "}")
        elif isinstance(v, (list, tuple)):
            if not v:
                put("[]")
                return
            if depth >= max_depth:
                cut = True
                put(f"[…{len(v)}]")
                return
            inner = pad(depth + 1)
            opening = "["
            for item in v:
                put(opening + inner)
                opening = sep
                walk(item, depth + 1)
            put(pad(depth) + "]")
        elif isinstance(v, str):
            put(_QUOTE(v))
        elif v is None or isinstance(v, (bool, int, float)):
            try:
                put(_ENCODER.encode(v))
            except ValueError:  # NaN/inf with allow_nan off never happens, but be safe
                put(str(v))
        else:
            put(_QUOTE(str(v)))

    try:
        walk(value, 0)
    except _Full:
        out.append("…")
    return "".join(out), not cut


# A block's pads, deepest first: in laid-out JSON a newline always starts a pad (strings escape theirs), and a pad is
# never followed by a space. Taking them out leaves the one-line layout.
_BLOCK_PADS = tuple(reversed(_LINE_STARTS[2][: JSON_PREVIEW_DEPTH + 1]))


# The JSON blocks of one rendering, by id of the value each shows, when laid out whole: (value, layout). A value's
# one-line form is its block without the pads, so the text form takes it from there when the HTML made one first.
JsonBlocks = dict[int, tuple[Any, str]]


def one_line(value: Any, limit: int = LINE_CHARS, *, blocks: JsonBlocks | None = None) -> str:
    """A short one-line form of a JSON string or value, for text/plain."""
    block = blocks.get(id(value)) if blocks is not None else None
    if block is not None and block[0] is value:  # laid out whole at a smaller depth: nothing is cut here either
        text = block[1].replace(",\n", ", \n")
        for pad in _BLOCK_PADS:  # deepest first
            text = text.replace(pad, "")
    else:
        parsed, ok = parse_json(value)
        if ok:
            text, _ = format_json(parsed, indent=None, max_depth=6, max_chars=limit)
        else:
            text = " ".join(str(parsed).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def json_block(value: Any, *, cls: str = "cb-json", blocks: JsonBlocks | None = None) -> str:
    """A ``<pre>`` with pretty JSON; long or deep values get a ``<details>`` "show all"."""
    parsed, ok = parse_json(value) if isinstance(value, str) else (value, True)  # parse_json, for a value at once
    if not ok:  # not JSON: show the text as-is, bounded
        text = str(parsed)
        if len(text) <= JSON_PREVIEW_CHARS:
            return f'<pre class="{cls}">{esc(text)}</pre>'
        return (
            f'<pre class="{cls}">{esc(text[:JSON_PREVIEW_CHARS])}…</pre>'
            f'<details class="cb-more"><summary>show all ({len(text):,} characters)</summary>'
            f'<pre class="{cls}">{esc(text[:JSON_FULL_CHARS])}</pre></details>'
        )
    preview, complete = _fast_json(parsed, 2, JSON_PREVIEW_DEPTH, JSON_PREVIEW_CHARS) or format_json(
        parsed, max_depth=JSON_PREVIEW_DEPTH, max_chars=JSON_PREVIEW_CHARS)
    if complete:
        if blocks is not None:
            blocks[id(value)] = (value, preview)
        return f'<pre class="{cls}">{esc(preview)}</pre>'
    full, _ = format_json(parsed)
    return (
        f'<pre class="{cls}">{esc(preview)}</pre>'
        f'<details class="cb-more"><summary>show all</summary><pre class="{cls}">{esc(full)}</pre></details>'
    )


# ----------------------------------------------------------------------- Markdown

# pyromark (pulldown-cmark, compiled) renders CommonMark. It passes raw HTML through, as CommonMark says, so the
# engine never sees a "<" that could open a tag: each becomes _LT, an ordinary character to the engine, and _LT
# becomes "&lt;" in its HTML. Two kinds of "<" stay: one before http:// or https:// (an autolink, or a link
# destination in <>; no tag name is followed by ":"), and an escaped one ("\\<", already a literal character).
# Then every link and image must pass safe_url, and a last check lets through only the tags the engine makes.
_LT = "\x02"
_LT_ANY = re.compile(r"<(?!(?i:https?://))")
_LT_UNESCAPED = re.compile(r"(?<!\\)((?:\\\\)*)<(?!(?i:https?://))")  # slower: only when "\\<" occurs
_IMG = re.compile(r'<img src="([^"]*)" alt="([^"]*)"([^>]*?) />')
_LINK = re.compile(r'<a href="([^"]*)"([^>]*)>(.*?)</a>', re.S)
_LINK_ATTRS = ' target="_blank" rel="noopener noreferrer nofollow"'
_IMG_ATTRS = ' loading="lazy" referrerpolicy="no-referrer"'
# A "<" that does not open one of the tags CommonMark makes (links and images as rewritten here).
_FOREIGN_TAG = re.compile(
    r'<(?!/?(?:p|h[1-6]|em|strong|code|pre|ul|ol|li|blockquote)>|/a>|hr />|br />|ol start="\d+">'
    r'|code class="language-[^"<>]*">'
    rf'|a href="[^"<>]*"(?: title="[^"<>]*")?{_LINK_ATTRS}>'
    rf'|img src="[^"<>]*" alt="[^"<>]*"(?: title="[^"<>]*")?{_IMG_ATTRS} />)'
)
_PYROMARK = None


def _engine():
    global _PYROMARK
    if _PYROMARK is None:
        from pyromark import html as render

        _PYROMARK = render
    return _PYROMARK


def _image(match: re.Match[str]) -> str:
    """An http(s) image loads lazily without a referrer; any other image is its alt text."""
    if safe_url(html.unescape(match.group(1))) is None:
        return match.group(2)
    return match.group(0)[:-3] + _IMG_ATTRS + " />"


def _link(match: re.Match[str]) -> str:
    """An http(s) link opens in a new tab; any other link is its text."""
    if safe_url(html.unescape(match.group(1))) is None:
        return match.group(3)
    return f'<a href="{match.group(1)}"{match.group(2)}{_LINK_ATTRS}>{match.group(3)}</a>'


def strip_markers(text: str) -> str:
    """Remove citation-marker characters from model text so it cannot forge citations."""
    return _MARKS.sub("", text) if MARK_OPEN in text or MARK_CLOSE in text else text


def _cut_point(src: str, limit: int) -> int:
    """Where to split long Markdown: the last blank line before ``limit``, outside code fences."""
    cut = src.rfind("\n\n", 0, limit)
    if cut < limit // 2:
        cut = src.rfind("\n", 0, limit)
    if cut < limit // 2:
        cut = limit
    head = src[:cut]
    if head.count("```") % 2:  # do not split inside a fenced block
        fence = head.rfind("```")
        if fence > 0:
            cut = fence
    return cut


def _render_md(src: str) -> str:
    text = src
    if _LT in text:
        text = text.replace(_LT, "")
    if "<" in text:
        if "\\<" in text:
            text = _LT_UNESCAPED.sub("\\1" + _LT, text)
        else:  # without "://", every "<" goes
            text = _LT_ANY.sub(_LT, text) if "://" in text else text.replace("<", _LT)
    out = _engine()(text)
    if _LT in out:
        out = out.replace(_LT, "&lt;")
    if "]" in src or "://" in src:  # a link or an image needs one or the other
        if "<img " in out:
            out = _IMG.sub(_image, out)
        if "<a " in out:
            out = _LINK.sub(_link, out)
    # The engine made a tag it should not have: show the text, nothing else. Only a "<" or a "&" in its input can
    # make a "<" beyond its own tags, and of those only a link's, an image's, a code block's and a list's carry an
    # attribute (' ="'): without any of the three, there is nothing to check.
    if ("<" in text or "&" in text or '="' in out) and _FOREIGN_TAG.search(out):
        return f"<pre>{esc(src)}</pre>"
    return out


def markdown(src: str, *, limit: int = TEXT_PREVIEW) -> str:
    """Render Markdown safely (raw HTML as text, only http(s) links and images); long text ends in a
    ``<details>`` "show all"."""
    if len(src) <= limit:
        return _render_md(src)
    cut = _cut_point(src, limit)
    rest = src[cut:]
    return (
        _render_md(src[:cut])
        + f'<details class="cb-more"><summary>show all ({len(rest):,} more characters)</summary>'
        + _render_md(rest)
        + "</details>"
    )


# ---------------------------------------------------------------------------- CSS

# Scoped to .cb-resp / .cb-card; JupyterLab variables with fallbacks for other frontends.
CSS = (
    ".cb-resp,.cb-card{font-family:var(--jp-content-font-family,system-ui,sans-serif);"
    "font-size:var(--jp-content-font-size1,14px);color:var(--jp-ui-font-color1,#1f2328);line-height:1.5;"
    "max-width:60rem}"
    ".cb-resp code,.cb-card code,.cb-resp pre,.cb-card pre{"
    "font-family:var(--jp-code-font-family,ui-monospace,monospace);font-size:.9em}"
    ".cb-resp pre,.cb-card pre{background:var(--jp-layout-color2,#f6f8fa);"
    "color:var(--jp-content-font-color1,inherit);padding:.4em .6em;border-radius:4px;overflow-x:auto;"
    "max-height:24em;margin:.3em 0;white-space:pre-wrap;word-break:break-word}"
    ".cb-resp a,.cb-card a{color:var(--jp-content-link-color,#0969da)}"
    ".cb-msg{margin:.2em 0 .6em}"
    ".cb-msg>.cb-md>:first-child{margin-top:0}"
    ".cb-msg>.cb-md>:last-child{margin-bottom:0}"
    ".cb-who{font-size:.8em;color:var(--jp-ui-font-color2,#59636e)}"
    ".cb-step{border:1px solid var(--jp-border-color2,#d1d9e0);border-left-width:4px;border-radius:4px;"
    "padding:.3em .6em;margin:.4em 0;background:var(--jp-layout-color1,transparent)}"
    ".cb-step--builtin{border-left-color:var(--jp-brand-color1,#1976d2)}"
    ".cb-step--connector{border-left-color:var(--jp-warn-color1,#d97706)}"
    ".cb-step--function{border-left-color:var(--jp-accent-color1,#7b1fa2)}"
    ".cb-step--handoff{border-left-color:var(--jp-success-color1,#2e7d32)}"
    ".cb-step--unknown{border-left-color:var(--jp-border-color1,#8c959f);border-style:dashed}"
    ".cb-step--error{border-left-color:var(--jp-error-color1,#d32f2f)}"
    ".cb-badge{display:inline-block;font-size:.75em;font-weight:600;text-transform:uppercase;"
    "letter-spacing:.03em;padding:0 .4em;border-radius:3px;border:1px solid currentColor;margin-right:.4em;"
    "color:var(--jp-ui-font-color2,#59636e)}"
    ".cb-step--connector .cb-badge{color:var(--jp-warn-color1,#b45309)}"
    ".cb-step--builtin .cb-badge{color:var(--jp-brand-color1,#1976d2)}"
    ".cb-step--function .cb-badge{color:var(--jp-accent-color1,#7b1fa2)}"
    ".cb-step--handoff .cb-badge{color:var(--jp-success-color1,#2e7d32)}"
    ".cb-state{font-size:.8em;color:var(--jp-ui-font-color2,#59636e);margin-left:.4em}"
    ".cb-state--error{color:var(--jp-error-color1,#d32f2f)}"
    ".cb-more>summary,.cb-think>summary,.cb-step details>summary{cursor:pointer;"
    "color:var(--jp-ui-font-color2,#59636e);font-size:.85em}"
    ".cb-think{border-left:3px solid var(--jp-border-color2,#d1d9e0);padding-left:.6em;margin:.3em 0;"
    "color:var(--jp-ui-font-color2,#59636e)}"
    ".cb-cite{font-size:.75em;margin-left:.1em}"
    ".cb-sources{margin:.4em 0;padding-left:1.8em;font-size:.9em}"
    ".cb-sources li{margin:.15em 0}"
    ".cb-favicon{vertical-align:-2px;margin-right:.3em}"
    ".cb-desc,.cb-via{color:var(--jp-ui-font-color2,#59636e)}"
    ".cb-img{max-width:100%;max-height:24em;border-radius:4px}"
    ".cb-chip{display:inline-block;padding:.1em .5em;margin:.2em 0;"
    "border:1px solid var(--jp-border-color2,#d1d9e0);border-radius:4px;font-size:.9em}"
    ".cb-foot{border-top:1px solid var(--jp-border-color2,#d1d9e0);margin-top:.5em;padding-top:.3em;"
    "font-size:.8em;color:var(--jp-ui-font-color2,#59636e)}"
    '.cb-foot span+span:before{content:" · "}'
    ".cb-live{font-size:.8em;color:var(--jp-ui-font-color2,#59636e)}"
    ".cb-banner{border:1px solid var(--jp-error-color1,#d32f2f);border-radius:4px;padding:.3em .6em;"
    "margin:.4em 0}"
    ".cb-card{border:1px solid var(--jp-error-color1,#d32f2f);border-left-width:4px;border-radius:4px;"
    "padding:.5em .8em;background:var(--jp-layout-color1,transparent)}"
    ".cb-card--expected{border-color:var(--jp-warn-color1,#d97706)}"
    ".cb-card-head{font-weight:600}"
    ".cb-card-status{color:var(--jp-error-color1,#d32f2f);margin-right:.4em}"
    ".cb-card--expected .cb-card-status{color:var(--jp-warn-color1,#b45309)}"
    ".cb-card dl{margin:.4em 0;display:grid;grid-template-columns:max-content 1fr;gap:.2em .8em}"
    ".cb-card dt{font-weight:600;color:var(--jp-ui-font-color2,#59636e)}"
    ".cb-card dd{margin:0}"
    ".cb-card ul{margin:.2em 0;padding-left:1.4em;overflow-wrap:anywhere}"
)
