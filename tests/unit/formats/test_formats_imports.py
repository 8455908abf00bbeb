"""The formats layer sits at the start of the flow: loading it imports no later layer (nor a loop back)."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import hyperjob.formats

#: what formats may import when they load (besides their own modules, pydantic and yaml)
#: (hyperjob.remote: URL handling, a leaf that imports only hyperjob.errors; fsspec when a URL is used)
ALLOWED = ("hyperjob.errors", "hyperjob.records", "hyperjob.space", "hyperjob.formats", "hyperjob.remote")
#: modules those import in turn (hyperjob.records keeps stopping decisions: hyperjob.stopping.base)
TRANSITIVE = ("hyperjob", "hyperjob.stopping", "hyperjob.stopping.base")


def test_loading_every_formats_module_imports_only_space_records_and_errors():
    modules = ["hyperjob.formats"] + [f"hyperjob.formats.{m.name}" for m in pkgutil.iter_modules(hyperjob.formats.__path__)]
    code = (f"import importlib, json, sys\nfor m in {modules!r}: importlib.import_module(m)\n"
            "print(json.dumps(sorted(n for n in sys.modules if n.startswith('hyperjob'))))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                       check=True).stdout)
    outside = [n for n in loaded if n not in TRANSITIVE and not any(n == a or n.startswith(a + ".") for a in ALLOWED)]
    assert outside == []  # e.g. hyperjob.algorithms, hyperjob.executors, hyperjob.strategies, hyperjob.tuner
    assert "hyperjob.formats.neptune" in loaded and "hyperjob.formats.graph_size" in loaded


def test_algorithms_may_import_formats():
    code = ("import hyperjob.algorithms.graph.tuning, sys\n"
            "print('hyperjob.formats.neptune' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True"
