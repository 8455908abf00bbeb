"""Schema migrations of the store: one function per version step, run when an older database is opened.

``MIGRATIONS[n]`` upgrades a database of schema version ``n`` to ``n + 1`` on an open connection, inside
the transaction (and the lock) in which :class:`~hyperjob.store.sql.SqlStore` opens the database; the
caller records the new version in ``schema_version``.

- 1 -> 2 (:mod:`~hyperjob.store.migrations.v2`): the ``decisions`` table, filled from
  ``training_jobs.extra["decisions"]``; the objective columns of ``tuning_jobs``, filled from the specs.

Adding one: bump :data:`hyperjob.store.models.SCHEMA_VERSION`, write ``MIGRATIONS[old]`` in a module of its
own (plain ``ALTER TABLE`` statements that work on SQLite and PostgreSQL; new tables declared in that module
as they are at the new version, not taken from the models), and commit a small SQLite database of the old
version under ``tests/fixtures/store/`` that the upgrade test opens.
"""

from __future__ import annotations

from typing import Callable

from sqlalchemy import Connection

from hyperjob.errors import StoreError
from hyperjob.store.migrations.v2 import upgrade_1_to_2
from hyperjob.store.models import SCHEMA_VERSION

#: version n -> function that upgrades a database of version n to n + 1
MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: upgrade_1_to_2}


def upgrade(conn: Connection, from_version: int, where: str) -> list[int]:
    """Upgrade the schema from ``from_version`` to :data:`SCHEMA_VERSION`.

    Args:
        conn: a connection inside the transaction that holds the schema lock.
        from_version: the database's current version (< SCHEMA_VERSION).
        where: the store URL (password hidden), for messages.

    Returns:
        The versions reached, in order (each to be recorded in ``schema_version``).

    Raises:
        StoreError: if no migration exists for a step.
    """
    reached: list[int] = []
    for version in range(from_version, SCHEMA_VERSION):
        step = MIGRATIONS.get(version)
        if step is None:
            raise StoreError(
                f"store {where}: cannot upgrade the schema from version {version} to {version + 1}: "
                f"this hyperjob has no migration for it. Open the database with the hyperjob version that "
                f"created it, export what you need (`hyperjob export`), and start a new store."
            )
        step(conn)
        reached.append(version + 1)
    return reached
