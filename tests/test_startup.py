"""The ``cookbook`` command defers rfc3987-syntax's grammar (cookbook/_startup.py) without changing validation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GRAMMAR = "rfc3987_syntax.syntax_helpers"  # the module that builds the parser at import

pytest.importorskip("rfc3987_syntax", reason="only Jupyter installs that pull in rfc3987-syntax pay for it")

# valid and invalid IRIs and IRI references: both answers must stay what the real checker says
SAMPLES = ["https://example.com/caf\u00e9?q=1#top", "mailto:someone@example.com", "relative/path", "//host/x",
           "http://[::1]:80/", "no scheme here", "http://exa mple.com", ":", "http://example.com/%zz", ""]


def _python(code: str) -> dict:
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


CHECK = """
import json, sys
from cookbook._startup import defer_iri_grammar
installed = defer_iri_grammar()
import nbformat  # papermill and nbconvert import it; it brings jsonschema
built_at_import = GRAMMAR in sys.modules
from jsonschema import Draft202012Validator
checker = Draft202012Validator.FORMAT_CHECKER
answers = {kind: [checker.conforms(s, kind) for s in SAMPLES] for kind in ("iri", "iri-reference")}
built_after_use = GRAMMAR in sys.modules
import rfc3987_syntax  # the real module now: what jsonschema would have asked without the stand-in
real = {kind: [rfc3987_syntax.is_valid_syntax(term, s) for s in SAMPLES]
        for kind, term in (("iri", "iri"), ("iri-reference", "iri_reference"))}
print(json.dumps({"installed": installed, "built_at_import": built_at_import, "built_after_use": built_after_use,
                  "module": type(sys.modules["rfc3987_syntax"]).__name__, "answers": answers, "real": real}))
""".replace("GRAMMAR", repr(GRAMMAR)).replace("SAMPLES", repr(SAMPLES))


def test_the_grammar_is_built_only_when_an_iri_is_checked_and_answers_do_not_change():
    seen = _python(CHECK)
    assert seen["installed"] is True and seen["built_at_import"] is False
    assert seen["built_after_use"] is True and seen["module"] == "module"  # the first IRI check loaded the real one
    assert seen["answers"] == seen["real"]
    assert True in seen["real"]["iri"] and False in seen["real"]["iri"]  # the samples tell both apart


def test_the_command_validates_notebooks_without_building_the_grammar():
    code = ("import sys, io, contextlib\nfrom cookbook._cli import main\nout = io.StringIO()\n"
            "with contextlib.redirect_stdout(out):\n    status = main(['list', '--json'])\n"
            "import json\nprint(json.dumps({'status': status, 'recipes': len(json.loads(out.getvalue())), "
            f"'built': {GRAMMAR!r} in sys.modules, 'deferred': type(sys.modules['rfc3987_syntax']).__name__}}))")
    answer = _python(code)
    assert answer == {"status": 0, "recipes": 8, "built": False, "deferred": "_Deferred"}


def test_nothing_is_deferred_once_jsonschema_is_imported():
    # jsonschema already holds whatever it imported: a stand-in now would change nothing (a stub marks it imported)
    answer = _python("import json, sys, types\nsys.modules['jsonschema'] = types.ModuleType('jsonschema')\n"
                     "from cookbook._startup import defer_iri_grammar\n"
                     "print(json.dumps({'installed': defer_iri_grammar(), "
                     "'present': 'rfc3987_syntax' in sys.modules}))")
    assert answer == {"installed": False, "present": False}
