"""Running the real ``hyperjob`` command from tests (a subprocess, wide columns, output kept)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def hj(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    """``python -m hyperjob ARGS`` in ``cwd``; with ``check``, a non-zero exit fails with both outputs shown."""
    proc = subprocess.run([sys.executable, "-m", "hyperjob", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200"}, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc
