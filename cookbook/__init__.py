"""A notebook cookbook for Mistral AI's Conversations, Agents and Connectors APIs.

This file is the whole public surface. The MCP preflight and the widgets load the ``mcp`` SDK and ipywidgets:
they are imported when a notebook first asks for one of their names (``dir(cookbook)`` lists them all the same).
"""

from importlib import import_module as _import_module

from . import tools
from ._client import ClientInfo, make_client, oauth_token, resolve_mode, retry_config
from ._display import RenderedResponse, display_response
from ._errors import ConfigurationError, CookbookError, ReplayMiss
from ._explain import ErrorCard, explain, explained_errors, replay_only
from ._lifecycle import temporary_agent, temporary_connector
from ._snippets import equivalents
from ._stream import ResponseStreamError, StreamInterrupted, display_stream, display_stream_async
from ._tools import InvalidRequest

__version__ = "0.1.0"

_LATER = {"McpPreflightError": "._mcp", "McpServerInfo": "._mcp", "McpTool": "._mcp",
          "inspect_mcp_server": "._mcp", "inspect_mcp_server_sync": "._mcp",
          "Playground": "._widgets", "ToolPicker": "._widgets"}

__all__ = [
    "ClientInfo", "ConfigurationError", "CookbookError", "ErrorCard", "InvalidRequest", "RenderedResponse",
    "ReplayMiss", "ResponseStreamError", "StreamInterrupted", "__version__", "display_response", "display_stream",
    "display_stream_async", "equivalents", "explain", "explained_errors", "make_client", "oauth_token",
    "replay_only", "resolve_mode", "retry_config", "temporary_agent", "temporary_connector", "tools", *_LATER,
]


def __getattr__(name: str) -> object:
    if name not in _LATER:
        raise AttributeError(f"module 'cookbook' has no attribute {name!r}")
    return getattr(_import_module(_LATER[name], __name__), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LATER))
