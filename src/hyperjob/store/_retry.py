"""Riding out a database outage: which errors mean "unreachable", and the bounded backoff between retries.

Private to the store: :class:`~hyperjob.store.sql.SqlStore` retries a transaction that failed because the
PostgreSQL server could not be reached (refused, reset, restarting, shut down by its administrator), with
exponential backoff and jitter, for up to a bound (``retry_s``, default 120 s, or ``HYPERJOB_STORE_RETRY_S``);
past the bound it raises :class:`~hyperjob.errors.StoreUnavailableError`. Errors of the statement itself (a
constraint violation, bad SQL, a wrong password) are never retried, nor anything on SQLite, whose "database is
locked" already waits through ``busy_timeout``.
"""

from __future__ import annotations

import logging
import math
import os
import random
import threading
import time
from typing import Callable

from sqlalchemy import exc as sa_exc

from hyperjob.errors import SpecError, StoreUnavailableError

log = logging.getLogger("hyperjob.store")

#: The environment variable that sets the retry bound of every store this process opens (seconds).
RETRY_ENV = "HYPERJOB_STORE_RETRY_S"
#: How long a store keeps retrying through an outage unless told otherwise (seconds).
DEFAULT_RETRY_S = 120.0
#: The first wait after a failure, doubled after each further one up to MAX_DELAY_S (seconds, before jitter).
FIRST_DELAY_S = 0.5
MAX_DELAY_S = 8.0

#: SQLSTATEs of a server going away or not there yet (class 08, "connection exception", is retried as a whole).
_TRANSIENT_SQLSTATES = {
    "57P01": "admin_shutdown",  # pg_ctl stop -m fast, pg_terminate_backend
    "57P02": "crash_shutdown",  # another backend crashed: the server restarts
    "57P03": "cannot_connect_now",  # the database system is starting up / shutting down / in recovery
    "53300": "too_many_connections",  # the slots of the backends killed by a restart are not free yet
}
#: What a server that answers a connection attempt with FATAL says when it is only passing through a restart
#: (at connect time libpq gives no SQLSTATE, only the server's message: in English unless lc_messages says else).
_TRANSIENT_FATAL = (
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "the database system is not yet accepting connections",
    "the database system is not accepting connections",
    "sorry, too many clients already",
    "remaining connection slots are reserved",
)
#: Errors about the statement or its data: the database answered, retrying cannot help.
_NEVER = (sa_exc.IntegrityError, sa_exc.ProgrammingError, sa_exc.DataError, sa_exc.NotSupportedError)


def is_unreachable(exc: BaseException, sqlite: bool) -> bool:
    """Whether a database error means the PostgreSQL server could not be reached (retry), not a bad statement.

    Retried: SQLAlchemy says the connection was invalidated (its dialect's disconnect detection), an
    ``OperationalError`` whose SQLSTATE is a connection exception (class 08) or a shutdown / start-up /
    too-many-connections state, or a failure to connect without a server's refusal (connection refused,
    reset, timed out, host unreachable). Never retried: constraint violations, bad SQL, bad data, a server
    that refuses the connection for good (no such role or database, a wrong password), a cancelled statement,
    and every SQLite error.

    >>> from sqlalchemy import exc
    >>> is_unreachable(exc.IntegrityError("INSERT ...", {}, Exception("duplicate key")), sqlite=False)
    False
    """
    if sqlite or not isinstance(exc, sa_exc.DBAPIError) or isinstance(exc, _NEVER):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, sa_exc.OperationalError):
        return False
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate:
        return sqlstate.startswith("08") or sqlstate in _TRANSIENT_SQLSTATES
    message = str(orig)
    if "FATAL:" in message:  # the server answered the connection attempt, and refused it
        return any(text in message for text in _TRANSIENT_FATAL)
    return True  # no answer from a server: refused, reset, timed out, unreachable host


def retry_bound(retry_s: float | None) -> float:
    """The retry bound in seconds: ``retry_s``, else ``HYPERJOB_STORE_RETRY_S``, else 120; 0 turns retries off.

    Raises:
        SpecError: the value is not a finite number of seconds >= 0 (the message names where it came from).
    """
    where = "retry_s (--store-retry)"
    value: object = retry_s
    if retry_s is None:
        raw = os.environ.get(RETRY_ENV, "").strip()
        if not raw:
            return DEFAULT_RETRY_S
        where, value = f"the environment variable {RETRY_ENV}", raw
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise SpecError(
            f"{where} is {value!r}: the store's retry bound must be a number of seconds >= 0 (how long to keep "
            f"retrying while the database is unreachable; 0 turns retries off). Use e.g. {DEFAULT_RETRY_S:g}."
        )
    return seconds


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 1 else f"{value:.0f} s"


class Outage:
    """One store's outages, one at a time: the backoff between attempts, the bound, and what the user is told.

    An outage starts with the first failed attempt of any call and ends with the next call that reaches the
    database; calls from several threads share it (and its bound). Each failed attempt is reported to the
    listener ("unreachable: retrying for up to 120 s (attempt 3, next in 4 s)"), and so is the end
    ("reachable again after 17 s"). Once the bound has passed, a failing call raises at once until the
    database is reached again (a tuner on its way out does not wait a second time), and so does one after a
    wait was interrupted (a KeyboardInterrupt).

    Args:
        bound_s: how long to keep retrying, from the first failure (0: never retry).
        url: the store's URL with the password hidden, for messages.
        sleep, clock, rng: injectable for tests (``time.sleep``, ``time.monotonic``, ``random.Random()``).
    """

    def __init__(
        self,
        bound_s: float,
        url: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.bound_s = bound_s
        self.url = url
        self.listener: Callable[[str], None] | None = None
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._since: float | None = None  # when the current outage began (clock), None when there is none
        self._attempts = 0
        self._interrupted = False  # a wait was interrupted (Ctrl-C): no more waits in this outage

    def _tell(self, message: str) -> None:
        listener = self.listener
        if listener is None:
            log.warning(message)
            return
        try:
            listener(message)
        except Exception:  # noqa: BLE001 - a listener's bug must not turn an outage into a crash
            log.warning(message, exc_info=True)

    def delay(self, attempt: int) -> float:
        """The wait after the ``attempt``-th failure: 0.5 s doubled each time up to 8 s, the upper half jittered."""
        base = min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** (attempt - 1))
        return base / 2 + self._rng.uniform(0, base / 2)

    def failed(self, reason: str) -> None:
        """After a failed attempt: report it and sleep until the next one, or raise past the bound.

        Raises:
            StoreUnavailableError: the outage has lasted ``bound_s`` (or retries are off).
        """
        now = self._clock()
        with self._lock:
            if self._since is None:
                self._since = now
                self._attempts = 0
                self._interrupted = False
            self._attempts += 1
            attempt, elapsed, interrupted = self._attempts, now - self._since, self._interrupted
            left = self.bound_s - elapsed
            wait = min(self.delay(attempt), left)
        if left <= 0 or self.bound_s <= 0 or interrupted:
            if interrupted:
                bound = f"for {_seconds(elapsed)}, and its retries were interrupted"
            elif self.bound_s > 0:
                bound = f"for {_seconds(elapsed)}, past the retry bound of {self.bound_s:g} s"
            else:
                bound = f"and retries are off ({RETRY_ENV}=0)"
            raise StoreUnavailableError(
                f"store {self.url} is unreachable ({reason}) {bound}, after {attempt} attempts. Every change the "
                f"store confirmed is kept. Start the database again (or check the network), then run the "
                f"command again; give a longer bound with --store-retry SECONDS or {RETRY_ENV}."
            )
        self._tell(
            f"store {self.url} unreachable ({reason}): retrying for up to {self.bound_s:g} s "
            f"(attempt {attempt}, next in {_seconds(wait)})"
        )
        try:
            self._sleep(wait)
        except BaseException:  # Ctrl-C while waiting: whoever cleans up on the way out must not wait again
            with self._lock:
                self._interrupted = True
            raise

    def reached(self) -> None:
        """After a call that reached the database: end the outage, if there was one, and say so."""
        if self._since is None:  # the hot path: no lock when all is well
            return
        with self._lock:
            since, attempts, self._since = self._since, self._attempts, None
        if since is not None:
            self._tell(
                f"store {self.url} reachable again after {_seconds(self._clock() - since)} "
                f"({attempts} failed attempt{'s' if attempts != 1 else ''})"
            )
