"""A notebook cookbook for Mistral AI's Conversations, Agents and Connectors APIs.

This file is the whole public surface.
"""

from . import tools
from ._client import ClientInfo, make_client, oauth_token, resolve_mode, retry_config
from ._display import RenderedResponse, display_response
from ._errors import ConfigurationError, CookbookError, ReplayMiss
from ._explain import ErrorCard, explain, explained_errors, replay_only
from ._lifecycle import temporary_agent, temporary_connector
from ._mcp import McpPreflightError, McpServerInfo, McpTool, inspect_mcp_server, inspect_mcp_server_sync
from ._snippets import equivalents
from ._stream import ResponseStreamError, StreamInterrupted, display_stream, display_stream_async
from ._tools import InvalidRequest
from ._widgets import Playground, ToolPicker

__version__ = "0.1.0"

__all__ = [
    "ClientInfo", "ConfigurationError", "CookbookError", "ErrorCard", "InvalidRequest", "McpPreflightError",
    "McpServerInfo", "McpTool", "Playground", "RenderedResponse", "ReplayMiss", "ResponseStreamError",
    "StreamInterrupted", "ToolPicker", "__version__", "display_response", "display_stream", "display_stream_async",
    "equivalents", "explain", "explained_errors", "inspect_mcp_server", "inspect_mcp_server_sync", "make_client",
    "oauth_token", "replay_only", "resolve_mode", "retry_config", "temporary_agent", "temporary_connector", "tools",
]
