"""What the built-in training programs share to follow the pause/resume contract (docs/early-stopping.md): a
checkpoint is written before the epoch's metric line, SIGTERM waits until both are out, and files are replaced
atomically (a crash never leaves half a checkpoint)."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from typing import Any, Iterator


@contextlib.contextmanager
def sigterm_held() -> Iterator[None]:
    """Hold SIGTERM (it is delivered when the block ends) where the platform allows it."""
    held = hasattr(signal, "pthread_sigmask")
    if held:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        yield
    finally:
        if held:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


def save_atomic(obj: Any, path: Path) -> None:
    """``torch.save`` to ``path`` through a temporary file and a rename."""
    import torch

    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


__all__ = ["save_atomic", "sigterm_held"]
