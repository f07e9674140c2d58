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
}

__all__ = [
    "ClientInfo",
    "ConfigurationError",
    "CookbookError",
    "ReplayMiss",
    "__version__",
    "equivalents",
    "make_client",
    "oauth_token",
    "resolve_mode",
]

if TYPE_CHECKING:
    from ._client import ClientInfo, make_client, oauth_token, resolve_mode
    from ._snippets import equivalents


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cookbook' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
