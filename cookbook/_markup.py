"""What every display is built from: one Jinja2 environment, one stylesheet, Markdown, JSON and URLs.

HTML is written by templates (``cookbook/templates/``) with autoescaping, so text that came from a model or a
server is escaped wherever it lands. Markdown goes through markdown-it with raw HTML turned off and a link
validator that lets only absolute ``http``/``https`` URLs through; images become links, so an offline page never
shows a broken image. Every display also reads correctly without its stylesheet (untrusted notebooks, GitHub).
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader
from markdown_it import MarkdownIt
from markupsafe import Markup

__all__ = ["Markup", "format_json", "markdown", "mimebundle", "one_line", "render", "safe_url", "stylesheet"]

TEXT_PREVIEW = 8_000  # characters of Markdown shown before "show all"
JSON_PREVIEW_DEPTH, JSON_PREVIEW_CHARS = 4, 1_200
JSON_FULL_DEPTH, JSON_FULL_CHARS = 40, 100_000
LINE_CHARS = 120  # one-line JSON in text/plain
NEW_TAB = {"target": "_blank", "rel": "noopener noreferrer nofollow"}


def safe_url(url: Any) -> str | None:
    """``url`` when it is an absolute http(s) URL without spaces or control characters, else None."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    if not url or len(url) > 8_192 or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def mimebundle(text: str, html: str, include: Any = None, exclude: Any = None) -> dict[str, str]:
    """A ``_repr_mimebundle_``: plain text and HTML, filtered as IPython asks."""
    bundle = {"text/plain": text, "text/html": html}
    return {k: v for k, v in bundle.items() if (not include or k in include) and (not exclude or k not in exclude)}


# --------------------------------------------------------------------------- JSON


def _cut(value: Any, depth: int, max_depth: int) -> tuple[Any, bool]:
    """``value`` with containers at ``max_depth`` replaced by a count; whether anything was cut."""
    if isinstance(value, dict | list | tuple) and value and depth >= max_depth:
        return (f"{{…{len(value)}}}" if isinstance(value, dict) else f"[…{len(value)}]"), True
    if isinstance(value, dict):
        pairs = [(str(k), _cut(v, depth + 1, max_depth)) for k, v in value.items()]
        return {k: v for k, (v, _) in pairs}, any(cut for _, (_, cut) in pairs)
    if isinstance(value, list | tuple):
        items = [_cut(v, depth + 1, max_depth) for v in value]
        return [v for v, _ in items], any(cut for _, cut in items)
    if value is None or isinstance(value, str | int | float | bool):
        return value, False
    dump = getattr(value, "model_dump", None)
    return _cut(dump(mode="json", by_alias=True) if callable(dump) else str(value), depth, max_depth)


def format_json(value: Any, *, indent: int | None = 2, max_depth: int = JSON_FULL_DEPTH,
                max_chars: int = JSON_FULL_CHARS) -> tuple[str, bool]:
    """JSON text of ``value`` bounded in depth and length; ``(text, complete)``."""
    shown, cut = _cut(value, 0, max_depth)
    text = json.dumps(shown, indent=indent, ensure_ascii=False, separators=None if indent else (", ", ": "))
    if len(text) > max_chars:
        return text[:max_chars] + "…", False
    return text, not cut


def parse_json(text: Any) -> tuple[Any, bool]:
    """``(value, True)`` when ``text`` is a JSON object or array (or not a string at all), else ``(text, False)``."""
    if not isinstance(text, str):
        return text, True
    if not text.strip().startswith(("{", "[")):
        return text, False
    try:
        return json.loads(text), True
    except (ValueError, RecursionError):
        return text, False


def one_line(value: Any, limit: int = LINE_CHARS) -> str:
    """A short one-line form of a JSON string or value, for text/plain."""
    parsed, is_json = parse_json(value)
    if is_json:
        text = format_json(parsed, indent=None, max_depth=6, max_chars=limit)[0]
    else:
        text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def json_block(value: Any) -> dict[str, Any]:
    """What the ``json`` template macro shows: a preview, and the whole text when the preview is cut."""
    parsed, is_json = parse_json(value)
    if not is_json:
        text = str(parsed)
        return {"preview": text[:JSON_PREVIEW_CHARS], "full": text[:JSON_FULL_CHARS] if len(text) > JSON_PREVIEW_CHARS
                else None, "size": len(text)}
    preview, complete = format_json(parsed, max_depth=JSON_PREVIEW_DEPTH, max_chars=JSON_PREVIEW_CHARS)
    return {"preview": preview, "full": None if complete else format_json(parsed)[0], "size": None}


# --------------------------------------------------------------------------- Markdown


def _link_open(renderer: Any, tokens: list, idx: int, options: Any, env: Any) -> str:
    for name, value in NEW_TAB.items():
        tokens[idx].attrSet(name, value)
    return renderer.renderToken(tokens, idx, options, env)


def _image(renderer: Any, tokens: list, idx: int, options: Any, env: Any) -> str:
    """An image is a link to it: nothing loads by itself, and nothing shows broken offline."""
    token = tokens[idx]
    alt = renderer.renderInlineAsText(token.children or [], options, env) or "image"
    return str(Markup('<a href="{}" target="_blank" rel="noopener noreferrer nofollow">[image: {}]</a>')
               .format(token.attrGet("src"), alt))


@cache
def _engine() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False})
    md.validateLink = lambda url: safe_url(url) is not None  # any other link or image stays text
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("image", _image)
    return md


def _cut_point(src: str, limit: int) -> int:
    """Where to split long Markdown: the last blank line (else line end) before ``limit``, outside code fences."""
    cut = src.rfind("\n\n", 0, limit)
    if cut < limit // 2:
        cut = src.rfind("\n", 0, limit)
    if cut < limit // 2:
        cut = limit
    if src[:cut].count("```") % 2 and src.rfind("```", 0, cut) > 0:
        cut = src.rfind("```", 0, cut)
    return cut


def markdown(src: str, *, limit: int = TEXT_PREVIEW) -> Markup:
    """Markdown as safe HTML; past ``limit`` characters the rest folds under "show all"."""
    if len(src) <= limit:
        return Markup(_engine().render(src))
    cut = _cut_point(src, limit)
    rest = src[cut:]
    return render("fold.html.j2", head=markdown(src[:cut], limit=len(src)), rest=markdown(rest, limit=len(rest)),
                  more=f"{len(rest):,} more characters")


def plain_text(src: str) -> str:
    """The words of a Markdown text without its markup, on one line (for summaries); list items end with ";"."""
    blocks: list[str] = []
    depth = 0  # inside how many list items
    for token in _engine().parse(src):
        if token.type == "list_item_open":
            depth += 1
        elif token.type == "list_item_close":
            depth -= 1
        elif token.type == "inline":
            words = " ".join("".join(child.content for child in token.children or []
                                     if child.type in ("text", "code_inline")).split())
            if words:
                blocks.append(words + (";" if depth and words[-1] not in ".;:!?" else ""))
    return " ".join(blocks)


# --------------------------------------------------------------------------- templates


@cache
def stylesheet() -> Markup:
    """The one stylesheet of every display (package data), put in each output: Jupyter shows it when trusted."""
    css = files("cookbook").joinpath("cookbook.css").read_text(encoding="utf-8")
    return Markup(css[css.index("*/") + 2:].strip() if css.startswith("/*") else css)


@cache
def _environment() -> Environment:
    env = Environment(loader=PackageLoader("cookbook", "templates"), autoescape=True, trim_blocks=True,
                      lstrip_blocks=True, keep_trailing_newline=False)
    env.filters.update(md=markdown, json_block=json_block, safe_url=safe_url)
    env.globals.update(stylesheet=stylesheet)
    return env


def render(template: str, **context: Any) -> Markup:
    """Render one template of ``cookbook/templates`` (autoescaped)."""
    return Markup(_environment().get_template(template).render(**context))
