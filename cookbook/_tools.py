"""Tool specs and request checks: mistakes the recipes' error tables describe, caught before anything is sent.

``web_search()`` and ``connector(...)`` build specs that cannot be invalid; plain dicts and SDK models, as the
recipes write them, are checked the same way by a cookbook client before the SDK builds the request.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from mistralai.client.models import BuiltInConnectors

from ._errors import CookbookError

# Mistral's own tools, as the SDK's schema names them (the names their tool.execution entries carry).
BUILT_IN_TOOLS: tuple[str, ...] = typing.get_args(typing.get_args(BuiltInConnectors)[0])
# What a request's tools=[...] may hold: the built-in tools a request can ask for, connectors and functions.
TOOL_TYPES = (*(t for t in BUILT_IN_TOOLS if t != "mistral_mcp"), "connector", "function")


class InvalidRequest(CookbookError, ValueError):
    """A request the API would refuse, caught before it is sent. The message names the fix."""

    @property
    def card(self) -> Any:
        from ._explain import OTHER, ErrorCard

        return ErrorCard("Refused before sending", type(self).__name__, message=str(self),
                         cause=OTHER["refused"].cause, fix=OTHER["refused"].fix)


def web_search(*, premium: bool = False) -> dict:
    """The built-in web search tool (``premium=True`` for ``web_search_premium``)."""
    return {"type": "web_search_premium" if premium else "web_search"}


def connector(connector_id: str, *, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None,
              authorization: str | None = None) -> dict:
    """A connector tool spec: the connector's name or UUID, at most one filter (``include`` keeps only the listed
    tools, ``exclude`` hides them), an optional OAuth access token (sent as ``{"type": "oauth2-token"}``)."""
    if include is not None and exclude is not None:
        raise InvalidRequest(f"connector({connector_id!r}): give include or exclude, not both. include keeps only "
                             "the listed tools, exclude hides them; pick the one that says what you mean.")
    spec: dict[str, Any] = {"type": "connector", "connector_id": connector_id}
    filters = {key: [names] if isinstance(names, str) else list(names)
               for key, names in (("include", include), ("exclude", exclude)) if names is not None}
    if filters:
        spec["tool_configuration"] = filters
    if authorization is not None:
        spec["authorization"] = {"type": "oauth2-token", "value": authorization}
    _check_connector(f"connector({connector_id!r})", spec, {})
    return spec


def as_dict(tool: Any) -> Any:
    """A tool (or an input entry) as a dict, whether given as a dict or as an SDK model."""
    if hasattr(tool, "model_dump"):
        return tool.model_dump(exclude_none=True, by_alias=True)
    return tool


def _check_connector(where: str, tool: Mapping, seen: dict[str, str]) -> None:
    """Refuse a connector spec without an id, listed twice (``seen``: connector -> where), with a bad filter, or
    with an authorization without a token."""
    connector_id = tool.get("connector_id")
    if not isinstance(connector_id, str) or not connector_id.strip():
        raise InvalidRequest(f"{where}: a connector needs connector_id, its name or UUID, e.g. "
                             "{'type': 'connector', 'connector_id': 'my_deepwiki'}.")
    if connector_id in seen:
        raise InvalidRequest(f"{where}: connector {connector_id!r} is already {seen[connector_id]}. "
                             "List each connector once; put all its settings in that one entry.")
    seen[connector_id] = where
    _check_filters(where, tool.get("tool_configuration") or {})
    auth = tool.get("authorization")
    token = auth.get("value") if isinstance(auth, Mapping) else None
    if auth is not None and (not isinstance(token, str) or not token.strip()):
        raise InvalidRequest(f"{where}: authorization needs a token: {{'type': 'oauth2-token', 'value': <the "
                             "access token>}; read it from an environment variable (cookbook.oauth_token).")


def _check_filters(where: str, config: Any) -> None:
    """Refuse a tool_configuration that is not a dict, gives both include and exclude, or names no real tool."""
    if not isinstance(config, Mapping):
        raise InvalidRequest(f"{where}: tool_configuration must be a dict with include or exclude.")
    filters = {key: config[key] for key in ("include", "exclude") if config.get(key) is not None}
    if len(filters) == 2:
        raise InvalidRequest(f"{where}: tool_configuration has both include and exclude. Use one: include "
                             "keeps only the listed tools, exclude hides the listed tools.")
    for key, names in filters.items():
        if isinstance(names, str) or not isinstance(names, list | tuple):
            raise InvalidRequest(f"{where}: tool_configuration.{key} must be a list of tool names, e.g. [{names!r}].")
        if bad := [name for name in names if not isinstance(name, str) or not name.strip()]:
            raise InvalidRequest(f"{where}: tool_configuration.{key} holds {bad[0]!r}; tool names are non-empty "
                                 "strings, exactly as the MCP server lists them (client.beta.connectors.list_tools).")


def check_tools(tools: Any) -> None:
    """Raise :class:`InvalidRequest` for a tools list the API would refuse: see the recipes' error tables."""
    if tools is None:
        return
    if isinstance(tools, Mapping) or not isinstance(tools, list | tuple):
        raise InvalidRequest("tools must be a list of tool specs, e.g. tools=[{'type': 'web_search'}].")
    seen: dict[str, str] = {}
    for index, raw in enumerate(tools):
        tool, where = as_dict(raw), f"tools[{index}]"
        if not isinstance(tool, Mapping):
            raise InvalidRequest(f"{where} is {tool!r}: each tool is a dict such as {{'type': 'web_search'}}.")
        kind = tool.get("type")
        if kind not in TOOL_TYPES:
            squeezed = re.sub(r"[-_ ]", "", kind).lower() if isinstance(kind, str) else None
            hint = next((f" Did you mean {t!r}?" for t in TOOL_TYPES if t.replace("_", "") == squeezed), "")
            raise InvalidRequest(f"{where} has type {kind!r}, which is not a tool type.{hint} Use one of: "
                                 f"{', '.join(TOOL_TYPES)}.")
        if kind == "connector":
            _check_connector(where, tool, seen)


def user_texts(inputs: Any) -> list[Any]:
    """The contents of the user entries of a conversation's ``inputs`` (a string is one user entry)."""
    if isinstance(inputs, str):
        return [inputs]
    entries = [as_dict(entry) for entry in inputs] if isinstance(inputs, list | tuple) else []
    return [entry["content"] for entry in entries
            if isinstance(entry, Mapping) and entry.get("role", "user") == "user" and "content" in entry]


def check_conversation(arguments: Mapping[str, Any]) -> None:
    """Raise :class:`InvalidRequest` for conversation arguments the API would refuse."""
    if arguments.get("agent_id") and arguments.get("model"):
        raise InvalidRequest("Give agent_id or model, not both: an agent brings its own model, instructions and "
                             "tools. To talk to the agent, drop model=...")
    if not arguments.get("agent_id") and not arguments.get("model"):
        raise InvalidRequest("Say who answers: model='mistral-small-latest' for a model, or agent_id=... for an "
                             "agent.")
    inputs = arguments.get("inputs")
    texts = user_texts(inputs)
    if inputs in (None, "", [], ()) or (texts and all(isinstance(t, str) and not t.strip() for t in texts)):
        raise InvalidRequest("The prompt is empty: pass the user's message, e.g. "
                             "inputs=[{'role': 'user', 'content': 'What is the capital of France?'}].")
    check_tools(arguments.get("tools"))


def check_agent(arguments: Mapping[str, Any]) -> None:
    """Raise :class:`InvalidRequest` for agent arguments the API would refuse."""
    if not arguments.get("model"):
        raise InvalidRequest("An agent needs a model, e.g. model='mistral-small-latest'.")
    if not str(arguments.get("name") or "").strip():
        raise InvalidRequest("An agent needs a name, e.g. name='deepwiki_agent'.")
    check_tools(arguments.get("tools"))
