"""The first plugin pytest loads (pyproject addopts ``-p pytest_startup``; ``pythonpath`` puts tests/ on the path).

nbval imports nbformat, which imports jsonschema, which builds rfc3987-syntax's grammar at import: a second of CPU
in pytest and in each xdist worker. The ``cookbook`` command defers it (cookbook/_startup.py); so does the suite,
before any other plugin is imported.
"""

from cookbook._startup import defer_iri_grammar

defer_iri_grammar()
