"""The shared corpus (``../shared/corpus``: real inputs written by others) for the tests that read it.

``CORPUS_ROOT`` is ``HYPERJOB_CORPUS`` when set, else the ``shared/corpus`` folder beside the repository, else
``/work/shared/corpus`` (where this project's machines keep it). :func:`need` gives a path in it, or skips the
test when the corpus is absent, except in CI (``CI`` set), where the test fails: CI never passes without it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_BESIDE = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


def _find() -> Path:
    for candidate in (_BESIDE, Path("/work/shared/corpus")):
        if candidate.is_dir():
            return candidate
    return _BESIDE


CORPUS_ROOT = Path(os.environ.get("HYPERJOB_CORPUS") or _find())


def in_ci() -> bool:
    """``CI`` is set (and not ``0``/``false``/``no``)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def need(path: Path) -> Path:
    """``path`` if it exists; else a skip, or in CI a failure, naming what is missing."""
    if not path.exists():
        if in_ci():
            pytest.fail(f"the shared corpus is required in CI (CI is set) but {path} is missing", pytrace=False)
        pytest.skip(f"the shared corpus is not at {path}")
    return path
