"""tests/conftest.py's helpers for test modules that import them: ``conftest`` may name another folder's conftest
(tests/browser has one) when the whole suite is collected, so they are loaded from the file by its path."""

import importlib.util as _util
import sys as _sys
from pathlib import Path as _Path

_spec = _util.spec_from_file_location("_hyperjob_tests_conftest", _Path(__file__).with_name("conftest.py"))
assert _spec is not None and _spec.loader is not None
_module = _sys.modules.get("_hyperjob_tests_conftest")
if _module is None:
    _module = _util.module_from_spec(_spec)
    _sys.modules["_hyperjob_tests_conftest"] = _module
    _spec.loader.exec_module(_module)

_as_postgres = _module._as_postgres
free_port = _module.free_port
