"""Start-up costs of the ``cookbook`` command that are not its own.

jsonschema (which nbformat, and so papermill and nbconvert, import) imports
``rfc3987_syntax`` when that package is installed, and ``rfc3987_syntax`` 1.1
builds an Earley parser for RFC 3987 at import: about one second of CPU in
every process, before any notebook is read (python-jsonschema/jsonschema#1428).
Jupyter installs it (``jupyter-events`` asks for ``jsonschema[format-nongpl]``).
jsonschema uses it only to check the ``iri`` and ``iri-reference`` formats, which
no notebook schema has.

:func:`defer_iri_grammar` puts a stand-in module in its place that imports the
real one the first time anything of it is used, so validation is unchanged and
the grammar is built only if an IRI is ever checked.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types

MODULE = "rfc3987_syntax"


class _Deferred(types.ModuleType):
    """``rfc3987_syntax`` until first use; then the real module, everywhere."""

    def __getattr__(self, name: str):
        return getattr(_load(), name)


def _load() -> types.ModuleType:
    if isinstance(sys.modules.get(MODULE), _Deferred):
        del sys.modules[MODULE]
    return importlib.import_module(MODULE)


def is_valid_syntax(term: str, value: str) -> bool:
    """What jsonschema imports by name: the real function, imported at its first call."""
    return _load().is_valid_syntax(term, value)


def defer_iri_grammar() -> bool:
    """Install the stand-in unless jsonschema or the real module is already imported (or it is absent).

    Returns whether it was installed.
    """
    if MODULE in sys.modules or "jsonschema" in sys.modules:
        return False
    spec = importlib.util.find_spec(MODULE)
    if spec is None:
        return False
    stand_in = _Deferred(MODULE, "rfc3987_syntax, imported at first use (see cookbook._startup)")
    stand_in.__spec__ = spec
    stand_in.__path__ = list(spec.submodule_search_locations or [])  # its submodules still import
    stand_in.is_valid_syntax = is_valid_syntax
    sys.modules[MODULE] = stand_in
    return True
