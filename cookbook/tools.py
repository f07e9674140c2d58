"""Builders for ``tools=[...]`` that cannot make an invalid spec: ``cookbook.tools.web_search()``,
``cookbook.tools.connector("my_deepwiki", include=["ask_question"])``."""

from ._tools import check_tools, connector, web_search

__all__ = ["check_tools", "connector", "web_search"]
