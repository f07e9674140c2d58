"""A notebook cookbook for Mistral AI's Conversations, Agents and Connectors APIs.

The whole public surface is listed here. Importing ``cookbook`` is cheap: the SDK
and the recorder load on first use of a name that needs them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._errors import ConfigurationError, CookbookError, ReplayMiss

__version__ = "0.1.0"

# public name -> module that defines it (loaded on first access)
_LAZY = {
    "make_client": "._client",
    "resolve_mode": "._client",
    "ClientInfo": "._client",
    "oauth_token": "._client",
    "equivalents": "._snippets",
    "display_response": "._display",
    "RenderedResponse": "._display",
    "display_stream": "._stream",
    "display_stream_async": "._stream",
    "ResponseStreamError": "._stream",
    "explain": "._explain",
    "explained_errors": "._explain",
    "replay_only": "._explain",
    "ErrorCard": "._explain",
    "inspect_mcp_server": "._mcp",
    "inspect_mcp_server_sync": "._mcp",
    "McpServerInfo": "._mcp",
    "McpTool": "._mcp",
    "McpPreflightError": "._mcp",
    "InvalidRequest": "._tools",
    "tools": ".tools",
    "temporary_agent": "._lifecycle",
    "temporary_connector": "._lifecycle",
    "retry_config": "._client",
    "ToolPicker": "._widgets",
    "Playground": "._widgets",
}

__all__ = [
    "ClientInfo",
    "ConfigurationError",
    "CookbookError",
    "ErrorCard",
    "InvalidRequest",
    "McpPreflightError",
    "McpServerInfo",
    "McpTool",
    "Playground",
    "RenderedResponse",
    "ReplayMiss",
    "ResponseStreamError",
    "ToolPicker",
    "__version__",
    "display_response",
    "display_stream",
    "display_stream_async",
    "equivalents",
    "explain",
    "explained_errors",
    "inspect_mcp_server",
    "inspect_mcp_server_sync",
    "make_client",
    "oauth_token",
    "resolve_mode",
    "replay_only",
    "retry_config",
    "temporary_agent",
    "temporary_connector",
    "tools",
]

if TYPE_CHECKING:
    from . import tools
    from ._client import ClientInfo, make_client, oauth_token, resolve_mode, retry_config
    from ._display import RenderedResponse, display_response
    from ._explain import ErrorCard, explain, explained_errors, replay_only
    from ._lifecycle import temporary_agent, temporary_connector
    from ._mcp import McpPreflightError, McpServerInfo, McpTool, inspect_mcp_server, inspect_mcp_server_sync
    from ._snippets import equivalents
    from ._stream import ResponseStreamError, display_stream, display_stream_async
    from ._tools import InvalidRequest
    from ._widgets import Playground, ToolPicker


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = import_module(_LAZY[name], __name__)
        value = module if module.__name__ == f"{__name__}.{name}" else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cookbook' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
