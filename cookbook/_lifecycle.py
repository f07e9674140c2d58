"""Agents and connectors that are deleted when the block ends, however it ends."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

log = logging.getLogger("cookbook")


@asynccontextmanager
async def _deleting(what: str, delete: Callable[[], Awaitable[Any]]) -> AsyncIterator[None]:
    """Run the block, then ``delete()``, also when the block raises or is cancelled. The block's own error is the
    one that surfaces: a failed delete is added to it as a note (and logged)."""
    try:
        yield
    except BaseException as error:
        try:
            await delete()
        except Exception as failed:
            note = f"…and deleting the {what} failed too ({type(failed).__name__}: {failed}); delete it by hand."
            error.add_note(note)
            log.warning(note)
        raise
    await delete()


@asynccontextmanager
async def temporary_agent(client: Any, **create: Any) -> AsyncIterator[Any]:
    """Create an agent (``client.beta.agents.create_async(**create)``), yield it, delete it when the block ends."""
    agent = await client.beta.agents.create_async(**create)
    async with _deleting(f"agent {agent.id}", lambda: client.beta.agents.delete_async(agent_id=agent.id)):
        yield agent


@asynccontextmanager
async def temporary_connector(client: Any, **request: Any) -> AsyncIterator[Any]:
    """Create a connector (``client.beta.connectors.create_async(request={"protocol": "mcp", **request})``),
    yield it, delete it when the block ends."""
    connector = await client.beta.connectors.create_async(request={"protocol": "mcp", **request})
    async with _deleting(f"connector {connector.id}",
                         lambda: client.beta.connectors.delete_async(connector_id=str(connector.id))):
        yield connector
