"""The store: every state change of a tuning job, durably, in SQLite (default) or PostgreSQL.

``Store`` (the protocol) is imported eagerly; ``SqlStore``, ``open_store`` and ``training_job_id`` load
SQLAlchemy on first use, so that importing ``hyperjob.store.base`` stays cheap.
"""

from __future__ import annotations

from typing import Any

from hyperjob.store.base import Store

__all__ = ["SqlStore", "Store", "open_store", "training_job_id"]


def __getattr__(name: str) -> Any:  # PEP 562 lazy attributes
    if name in ("SqlStore", "open_store", "training_job_id"):
        from hyperjob.store import sql

        return getattr(sql, name)
    raise AttributeError(f"module 'hyperjob.store' has no attribute {name!r}")
