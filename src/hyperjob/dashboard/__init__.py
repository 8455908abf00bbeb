"""``hyperjob dashboard``: watch, understand and compare tuning jobs in the browser (docs/dashboard.md).

A FastAPI application over the store (SQLite or PostgreSQL, the same ``--store``), with plotly for the plots and
plotly.js served by the dashboard itself. Needs ``pip install 'hyperjob[dashboard]'``.
"""

from __future__ import annotations

from typing import Any


def create_app(*args: Any, **kwargs: Any) -> Any:
    """The dashboard's ASGI application (:func:`hyperjob.dashboard.app.create_app`)."""
    from hyperjob.dashboard.app import create_app as create

    return create(*args, **kwargs)


__all__ = ["create_app"]
