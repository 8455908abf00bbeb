"""A real tuning job rides out a real PostgreSQL outage; past the retry bound it stops, resumable.

Each test starts a PostgreSQL server of its own (the shared one of tests/conftest.py is never stopped), runs
``hyperjob tune`` as a subprocess on it with real training processes (tests/fixtures/programs/ledger.py, which
records what really started and finished), and stops and starts that server while the tuning job runs. The
ledger is the truth: every training job started once and finished once, and the store holds each one's
metric values once.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest

from _root_conftest import _as_postgres, free_port  # tests/conftest.py (another folder's conftest may be 'conftest')
from hyperjob.records import TrainingJobStatus, TuningJobStatus
from hyperjob.store import SqlStore

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PROGRAM = str(Path(__file__).parents[1] / "fixtures" / "programs" / "ledger.py")


class PrivateServer:
    """A PostgreSQL server of one test, which the test may stop and start (as the ``postgres`` user)."""

    def __init__(self, pg_bin: Path) -> None:
        self.pg_ctl = str(pg_bin / "pg_ctl")
        self.datadir = tempfile.mkdtemp(prefix="hj-pg-outage-")
        shutil.chown(self.datadir, "postgres", "postgres")
        os.chmod(self.datadir, 0o700)
        _as_postgres(str(pg_bin / "initdb"), "-D", self.datadir, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                     "--no-locale", "-N")
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        _as_postgres(self.pg_ctl, "-D", self.datadir, "-l", f"{self.datadir}/server.log", "-w", "-t", "60", *args)

    def start(self) -> None:
        # fsync off (the machine does not crash here), commits synchronous: an immediate stop loses no commit
        self._ctl("-o", f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.datadir} -c fsync=off", "start")

    def stop(self, mode: str = "fast") -> None:
        """``fast``: sessions are told "terminating connection due to administrator command"; ``immediate``:
        the server just dies (its clients see the connection closed, then refused)."""
        self._ctl("-m", mode, "stop")

    def restart(self) -> None:
        self.stop("fast")
        self.start()

    def close(self) -> None:
        _as_postgres(self.pg_ctl, "-D", self.datadir, "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.datadir, ignore_errors=True)


@pytest.fixture
def private_pg(pg_bin: Path) -> Iterator[PrivateServer]:
    try:
        import psycopg  # noqa: F401 - the driver the store uses
    except ImportError as exc:
        pytest.skip(f"psycopg is missing ({exc}): pip install 'hyperjob[pg]'")
    server = PrivateServer(pg_bin)
    try:
        server.start()
        yield server
    finally:
        server.close()


def _spec(tmp_path: Path, url: str, max_jobs: int, steps: int, sleep_s: float) -> Path:
    spec = {
        "name": "outage",
        "program": {"command": [sys.executable, PROGRAM]},
        "static_hyperparameters": {"steps": steps, "sleep": sleep_s, "ledger": str(tmp_path / "ledger.txt")},
        "hyperparameter_ranges": {
            "x": {"type": "continuous", "min_value": 0.0, "max_value": 1.0},
            "y": {"type": "integer", "min_value": 0, "max_value": 4},
        },
        "objective": {"metric": "loss", "type": "minimize"},
        "metric_definitions": [{"name": "loss", "regex": r"loss=([0-9.eE+-]+)"}],
        "strategy": {"name": "random"},
        "limits": {"max_jobs": max_jobs, "max_parallel_jobs": 3},
        "random_seed": 0,
        "output_dir": str(tmp_path / "runs"),
        "store": url,
    }
    path = tmp_path / "job.json"
    path.write_text(json.dumps(spec))
    return path


def _ledger(tmp_path: Path) -> tuple[collections.Counter[str], collections.Counter[str]]:
    path = tmp_path / "ledger.txt"
    lines = [line.split() for line in path.read_text().splitlines()] if path.exists() else []
    starts = collections.Counter(name for what, name, _ in lines if what == "start")
    finishes = collections.Counter(name for what, name, _ in lines if what == "finish")
    return starts, finishes


def _wait_for(condition, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout_s:g} s waiting for {what}"
        time.sleep(0.1)


class TunerProcess:
    """``python -m hyperjob ARGS`` with its output in a file (the supervisor it leaves behind keeps a pipe open)."""

    def __init__(self, tmp_path: Path, *args: str, retry_s: float) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "HYPERJOB_STORE_RETRY_S": str(retry_s), "COLUMNS": "500"}
        self.log = tmp_path / f"tuner-{args[0]}.log"
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "hyperjob", *args], cwd=tmp_path, env=env,
                                         stdout=out, stderr=subprocess.STDOUT)

    def running(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout_s: float) -> tuple[int, str]:
        try:
            rc = self.proc.wait(timeout=timeout_s)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        return rc, self.log.read_text()


def _check_everything_ran_once(tmp_path: Path, url: str, max_jobs: int, steps: int) -> None:
    with SqlStore(url) as store:
        tuning = store.get_tuning_job("outage")
        assert tuning.status is TuningJobStatus.COMPLETED, tuning.status_reason
        records = store.list_training_jobs("outage")
        assert sorted(r.index for r in records) == list(range(max_jobs))
        assert [r.id for r in records if r.status is not TrainingJobStatus.COMPLETED] == [], [
            (r.id, r.status.value, r.failure_reason) for r in records]
        metrics = store.get_all_metrics("outage")
        for r in records:
            assert [(m.name, m.step) for m in metrics[r.id]] == [("loss", s) for s in range(steps)], r.id
            assert r.final_objective == metrics[r.id][-1].value and r.attempt == 0, r.id
    starts, finishes = _ledger(tmp_path)
    names = {r.id for r in records}
    assert set(starts) == set(finishes) == names
    assert [n for n, c in starts.items() if c != 1] == [], f"training jobs run more than once: {starts}"
    assert sum(finishes.values()) == max_jobs


def test_a_tuning_job_rides_out_a_restart_and_a_20_s_outage_of_its_database(tmp_path: Path,
                                                                             private_pg: PrivateServer) -> None:
    max_jobs, steps = 10, 6
    spec = _spec(tmp_path, private_pg.url, max_jobs, steps, sleep_s=0.7)
    tuner = TunerProcess(tmp_path, "tune", str(spec), retry_s=90)
    _wait_for(lambda: sum(_ledger(tmp_path)[0].values()) >= 2, 60, "the first training jobs to start")
    private_pg.restart()  # every session is terminated by the administrator, the server comes back
    _wait_for(lambda: sum(_ledger(tmp_path)[0].values()) >= 5, 60, "more training jobs to start")
    private_pg.stop("immediate")
    down_at = time.monotonic()
    starts, finishes = _ledger(tmp_path)
    running_at_stop = sum(starts.values()) - sum(finishes.values())
    tuning_at_stop = tuner.running()
    time.sleep(20)
    private_pg.start()
    outage_s = time.monotonic() - down_at
    rc, out = tuner.wait(240)
    assert rc == 0, out
    assert outage_s >= 20
    # the user saw the outage and its end, with the bound
    assert "unreachable (" in out and "retrying for up to 90 s (attempt 1, next in" in out, out
    assert "reachable again after" in out, out
    assert "Completed" in out
    assert tuning_at_stop and running_at_stop >= 1  # the outage hit a tuning job with training jobs running
    _check_everything_ran_once(tmp_path, private_pg.url, max_jobs, steps)


def test_past_the_bound_the_tuner_stops_leaving_its_training_jobs_running_and_resume_finishes(
    tmp_path: Path, private_pg: PrivateServer
) -> None:
    max_jobs, steps, bound_s = 6, 12, 3
    spec = _spec(tmp_path, private_pg.url, max_jobs, steps, sleep_s=0.7)
    tuner = TunerProcess(tmp_path, "tune", str(spec), retry_s=bound_s)
    _wait_for(lambda: sum(_ledger(tmp_path)[0].values()) >= 3, 60, "three training jobs to start")
    private_pg.stop("fast")
    down_at = time.monotonic()
    _wait_for(lambda: not tuner.running(), 60, "the tuner to give up")
    gave_up_after = time.monotonic() - down_at
    rc, out = tuner.wait(1)
    assert rc == 75, out  # EX_TEMPFAIL: try again later
    assert "StoreUnavailableError" in out and f"past the retry bound of {bound_s} s" in out, out
    assert "hyperjob resume outage" in out and "Traceback" not in out, out
    assert bound_s <= gave_up_after < bound_s + 15, gave_up_after
    starts, finishes = _ledger(tmp_path)
    running = [n for n in starts if n not in finishes]
    assert running, f"the training jobs ended before the tuner gave up ({gave_up_after:.1f} s): {out}"
    # nobody ended them: they run to their end under their supervisor, with the database still down
    _wait_for(lambda: set(_ledger(tmp_path)[1]) >= set(starts), 60, "the running training jobs to finish")

    private_pg.start()
    rc, out = TunerProcess(tmp_path, "resume", "outage", "--store", private_pg.url, "-q", retry_s=bound_s).wait(180)
    assert rc == 0, out
    _check_everything_ran_once(tmp_path, private_pg.url, max_jobs, steps)
