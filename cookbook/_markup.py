"""What every display is built from: one Jinja2 environment, one stylesheet, Markdown, JSON and URLs.

Templates (``cookbook/templates/``) autoescape, so text from a model or a server is escaped wherever it lands.
Markdown goes through markdown-it with raw HTML off and only absolute http(s) links; images become links, so an
offline page never shows a broken image. Every display reads correctly without its stylesheet (GitHub, untrusted).
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib.resources import files
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader
from markdown_it import MarkdownIt
from markupsafe import Markup

TEXT_PREVIEW = 8_000  # characters of Markdown shown before "show all"
JSON_PREVIEW_DEPTH, JSON_PREVIEW_CHARS = 4, 1_200
JSON_FULL_DEPTH, JSON_FULL_CHARS = 40, 100_000


def safe_url(url: Any) -> str | None:
    """``url`` when it is an absolute http(s) URL without spaces or control characters, else None."""
    url = url.strip() if isinstance(url, str) else ""
    if not url or len(url) > 8_192 or re.search(r"[\x00-\x20\x7f]", url):
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


def as_json(value: Any) -> Any:
    """A JSON view of an SDK model (or a dict or list of them), as the API sent it."""
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_json(v) for v in value]
    dump = getattr(value, "model_dump", None)
    return dump(mode="json", by_alias=True) if callable(dump) else value


def _cut(value: Any, depth: int) -> Any:
    """``value`` with its non-empty containers ``depth`` levels down replaced by their size."""
    if isinstance(value, dict | list | tuple) and value and depth <= 0:
        return f"{{…{len(value)}}}" if isinstance(value, dict) else f"[…{len(value)}]"
    if isinstance(value, dict):
        return {str(k): _cut(v, depth - 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_cut(v, depth - 1) for v in value]
    return value


def format_json(value: Any, *, indent: int | None = 2, depth: int = JSON_FULL_DEPTH,
                limit: int = JSON_FULL_CHARS) -> str:
    """JSON text of ``value``, bounded in depth and length (cut text ends with "…")."""
    return _clip(json.dumps(_cut(as_json(value), depth), indent=indent, ensure_ascii=False, default=str), limit)


def _clip(text: str, limit: int) -> str:
    """``text``, cut after ``limit`` characters with "…" to say so."""
    return text if len(text) <= limit else text[:limit] + "…"


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


def one_line(value: Any, limit: int = 120) -> str:
    """A short one-line form of a JSON string or value, for text/plain."""
    parsed, is_json = parse_json(value)
    text = format_json(parsed, indent=None, depth=6, limit=limit) if is_json else " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def json_block(value: Any) -> dict[str, Any]:
    """What the ``json`` template macro shows: a preview, and the whole text when the preview is cut."""
    parsed, is_json = parse_json(value)
    if is_json:
        preview = format_json(parsed, depth=JSON_PREVIEW_DEPTH, limit=JSON_PREVIEW_CHARS)
        full, size = format_json(parsed), None
    else:
        text = str(parsed)
        preview, full, size = _clip(text, JSON_PREVIEW_CHARS), _clip(text, JSON_FULL_CHARS), len(text)
    return {"preview": preview, "full": full if full != preview else None, "size": size}


def _link_open(renderer: Any, tokens: list, idx: int, options: Any, env: Any) -> str:
    tokens[idx].attrSet("target", "_blank")
    tokens[idx].attrSet("rel", "noopener noreferrer nofollow")
    return renderer.renderToken(tokens, idx, options, env)


def _image(renderer: Any, tokens: list, idx: int, options: Any, env: Any) -> str:
    """An image is a link to it: nothing loads by itself, and nothing shows broken offline."""
    alt = renderer.renderInlineAsText(tokens[idx].children or [], options, env) or "image"
    return str(macro("link", tokens[idx].attrGet("src"), f"[image: {alt}]"))


@cache
def _engine() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False})
    md.validateLink = lambda url: safe_url(url) is not None  # any other link or image stays text
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("image", _image)
    return md


def markdown(src: str) -> Markup:
    """Markdown as safe HTML; past ``TEXT_PREVIEW`` characters the rest folds under "show all".

    The fold comes at the last blank line (else line end) before the limit, outside code fences."""
    if len(src) <= TEXT_PREVIEW:
        return Markup(_engine().render(src))
    cut = src.rfind("\n\n", 0, TEXT_PREVIEW)
    if cut < TEXT_PREVIEW // 2:
        cut = src.rfind("\n", 0, TEXT_PREVIEW)
    if cut < TEXT_PREVIEW // 2:
        cut = TEXT_PREVIEW
    if src[:cut].count("```") % 2 and src.rfind("```", 0, cut) > 0:
        cut = src.rfind("```", 0, cut)
    head, rest = (Markup(_engine().render(piece)) for piece in (src[:cut], src[cut:]))
    return macro("fold", head, rest, f"{len(src) - cut:,} more characters")


def plain_text(src: str) -> str:
    """The words of a Markdown text without its markup, on one line (for summaries); list items end with ";"."""
    blocks: list[str] = []
    depth = 0  # inside how many list items
    for token in _engine().parse(src):
        if token.type in ("list_item_open", "list_item_close"):
            depth += token.nesting
        elif token.type == "inline":
            pieces = [c.content for c in token.children or [] if c.type in ("text", "code_inline")]
            words = " ".join("".join(pieces).split())
            if words:
                blocks.append(words + (";" if depth and words[-1] not in ".;:!?" else ""))
    return " ".join(blocks)


@cache
def stylesheet() -> Markup:
    """The one stylesheet of every display (package data), put in each output: Jupyter shows it when trusted."""
    css = files("cookbook").joinpath("cookbook.css").read_text(encoding="utf-8")
    return Markup(re.sub(r"\A\s*/\*.*?\*/", "", css, flags=re.S).strip())  # without the file's opening comment


@cache
def _environment() -> Environment:
    env = Environment(loader=PackageLoader("cookbook", "templates"), autoescape=True, trim_blocks=True,
                      lstrip_blocks=True)
    env.filters.update(json_block=json_block, safe_url=safe_url)
    env.globals.update(stylesheet=stylesheet)
    return env


def render(template: str, **context: Any) -> Markup:
    """Render one template of ``cookbook/templates`` (autoescaped)."""
    return Markup(_environment().get_template(template).render(**context))


def macro(name: str, *args: Any) -> Markup:
    """Call one macro of ``templates/macros.html.j2``: the pieces shared by templates and code."""
    return Markup(getattr(_environment().get_template("macros.html.j2").module, name)(*args))
