"""The cookbook's eight recipes as plain data: number, cassette slug, title and prompts.

``prompts`` are the seed's own prompts, in the order the recipe sends them;
``alternative_prompts`` are extra prompts recorded in the same cassette with the
same tools (or agent), so a reader can change the prompt and still run offline.
Every prompt listed here has a recording in ``cookbook/cassettes/<slug>.yaml``.
"""

from __future__ import annotations

MODEL = "mistral-small-latest"

RECIPES: list[dict] = [
    {
        "number": 1,
        "slug": "01_hello_world",
        "title": "Hello World — First Conversation",
        "prompts": ["What is the capital of France?"],
        "alternative_prompts": ["What is the capital of Japan?"],
    },
    {
        "number": 2,
        "slug": "02_web_search",
        "title": "Conversation with Web Search",
        "prompts": ["What is the current weather in Paris? Use web search."],
        "alternative_prompts": ["What is the current weather in Tokyo? Use web search."],
    },
    {
        "number": 3,
        "slug": "03_custom_connector",
        "title": "Conversation with a Custom Connector",
        "prompts": ["Using deepwiki, tell me about the structure of the sqlite/sqlite repository."],
        "alternative_prompts": ["Using deepwiki, explain how the sqlite/sqlite repository organizes its test suite."],
    },
    {
        "number": 4,
        "slug": "04_multiple_tools",
        "title": "Combining Multiple Tools in One Conversation",
        "prompts": ["What tools do you have access to? List them briefly."],
        "alternative_prompts": [
            "Which of your tools would you use to find today's SQLite news, and which to read its documentation?"
        ],
    },
    {
        "number": 5,
        "slug": "05_tool_filters",
        "title": "Filtering Connector Tools — Include / Exclude",
        "prompts": ["What tools do you have access to? List their names."],
        "alternative_prompts": [
            "Can you read a repository's wiki structure? Answer yes or no, then say which tool you would use."
        ],
    },
    {
        "number": 6,
        "slug": "06_agent_with_connectors",
        "title": "Creating an Agent with Connectors",
        "prompts": ["What is the main purpose of the sqlite repository?"],
        "alternative_prompts": ["Which file formats does the sqlite repository document?"],
    },
    {
        "number": 7,
        "slug": "07_oauth_gmail",
        "title": "OAuth-Authenticated Connectors (Gmail)",
        "prompts": ["What's the latest email I received?"],
        "alternative_prompts": ["Do I have any unread emails from today?"],
    },
    {
        "number": 8,
        "slug": "08_connector_lifecycle",
        "title": "Full Example — Create a Connector, Chat, and Clean Up",
        "prompts": [
            "Using deepwiki, summarize the sqlite/sqlite repo in one sentence.",
            "Search the web for the latest SQLite release version, then use deepwiki to find where the version "
            "number is defined in the sqlite/sqlite repo.",
        ],
        "alternative_prompts": ["Using deepwiki, name the three most important directories of the sqlite/sqlite repo."],
    },
]

BY_SLUG: dict[str, dict] = {recipe["slug"]: recipe for recipe in RECIPES}
