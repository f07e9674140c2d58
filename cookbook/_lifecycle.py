"""Agents and connectors that are deleted when the block ends, however it ends."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

log = logging.getLogger("cookbook")


async def _delete(what: str, delete: Any, original: BaseException | None) -> Any:
    """Run ``delete()``; when the block already failed, a failed delete is noted on that error, not raised."""
    try:
        return await delete()
    except Exception as error:
        if original is None:
            raise
        note = f"…and deleting the {what} failed too ({type(error).__name__}: {error}); delete it by hand."
        if hasattr(original, "add_note"):  # Python 3.11+
            original.add_note(note)
        log.warning(note)
        return None


@asynccontextmanager
async def temporary_agent(client: Any, **create: Any) -> AsyncIterator[Any]:
    """Create an agent (``client.beta.agents.create_async(**create)``), yield it, delete it on the way out.

    The agent is deleted when the block ends, also when it raises or is cancelled; the block's own error
    is the one that surfaces (a failed delete is added to it as a note). Nothing is deleted when the
    create itself fails, since nothing was created.
    """
    agent = await client.beta.agents.create_async(**create)
    failure: BaseException | None = None
    try:
        yield agent
    except BaseException as error:
        failure = error
        raise
    finally:
        await _delete(f"agent {agent.id}", lambda: client.beta.agents.delete_async(agent_id=agent.id), failure)


@asynccontextmanager
async def temporary_connector(client: Any, **request: Any) -> AsyncIterator[Any]:
    """Create a connector (``client.beta.connectors.create_async(request={...})``), yield it, delete it after.

    ``request`` holds the create fields (``name``, ``description``, ``server``, ``visibility``;
    ``protocol`` defaults to ``"mcp"``). Deleted when the block ends, also when it raises.
    """
    connector = await client.beta.connectors.create_async(request={"protocol": "mcp", **request})
    failure: BaseException | None = None
    try:
        yield connector
    except BaseException as error:
        failure = error
        raise
    finally:
        await _delete(
            f"connector {connector.id}",
            lambda: client.beta.connectors.delete_async(connector_id=str(connector.id)),
            failure,
        )
