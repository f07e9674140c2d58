"""The cookbook's own exceptions; one with a card of its own has a ``card`` property (see ``_explain``)."""

from __future__ import annotations

from typing import Any


class CookbookError(Exception):
    """Base class for errors raised by the cookbook itself (not by the API)."""

    def headline(self) -> str:
        return f"{type(self).__name__}: {self}"

    def _render_traceback_(self) -> list[str]:  # IPython shows the message in place of a wall of SDK frames
        return rendered_traceback(self, self.headline())


def rendered_traceback(error: BaseException, headline: str) -> list[str]:
    """What IPython shows of a cookbook-explained error: its one-line headline, then its notes (a failed clean-up)."""
    return [headline, *getattr(error, "__notes__", ())]


class ConfigurationError(CookbookError, ValueError):
    """A client could not be set up as asked: the message names the fix."""


class ReplayMiss(CookbookError, LookupError):
    """A request in replay mode has no recording to answer it: the message names the cassettes searched, how the
    request differs from the nearest recorded one, and how to run it for real."""

    def __init__(self, message: str, *, method: str = "", path: str = "", cassettes: tuple[str, ...] = ()):
        super().__init__(message)
        self.method, self.path, self.cassettes = method, path, cassettes

    @property
    def card(self) -> Any:
        from ._explain import OTHER, ErrorCard

        first, _, rest = str(self).partition("\n")
        return ErrorCard("No recording for this request", "ReplayMiss", message=first, listing=rest.strip("\n"),
                         cause=OTHER["replay_miss"].cause, fix=OTHER["replay_miss"].fix)
