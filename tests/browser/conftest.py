"""Browser tests of the dashboard: Playwright driving Debian's Chromium (/usr/bin/chromium, no browser download)
against real servers (uvicorn in a thread of the test process) over a real SQLite store that small real
``hyperjob tune`` runs fill once per session. Screenshots go to ``tmp/artifacts/dashboard/`` (not committed).

Chromium missing skips these tests, except in CI (``CI`` set), where it fails: CI installs it (.ci/run).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tmp" / "artifacts" / "dashboard"
PROGRAM = ROOT / "tests" / "fixtures" / "programs" / "steps.py"
TOKEN = "a-test-token-of-32-characters-ok"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _need(what: str) -> None:
    if _in_ci():
        pytest.fail(f"the dashboard's browser tests need {what} in CI", pytrace=False)
    pytest.skip(f"needs {what}")


def _spec(name: str, *, strategy: str, max_jobs: int, steps: int, sleep: float, extra: str = "",
          modes: str = "[ok, crash]") -> str:
    return f"""name: {name}
program: {{command: [python, {PROGRAM}]}}
static_hyperparameters: {{steps: {steps}, sleep: {sleep}, decay: 1.0}}
hyperparameter_ranges:
  x: {{type: continuous, min_value: 0.01, max_value: 1.0, scaling: logarithmic}}
  y: {{type: integer, min_value: 0, max_value: 4}}
  mode: {{type: categorical, values: {modes}}}
objective: {{metric: loss, type: minimize}}
metric_definitions:
  - {{name: loss, regex: 'loss=([-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)'}}
strategy: {strategy}
limits: {{max_jobs: {max_jobs}, max_parallel_jobs: 2, max_failed_jobs: {max_jobs}}}
random_seed: 3
{extra}"""


def _tune(spec: Path, store: Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hyperjob", "tune", str(spec), "--store", str(store), "-q"],
                          cwd=cwd, capture_output=True, text=True, timeout=240)


@pytest.fixture(scope="session")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A SQLite store filled by real tuning jobs: ``hb`` (hyperband: rung verdicts and stops), ``warm`` (a warm
    start from hb, the median rule, some training jobs failing), ``periods`` (three configurations over three
    monthly periods), and ``live``, still running in the background (a ``hyperjob tune`` process) for the tests
    that watch and stop it."""
    if not Path(CHROMIUM).exists():
        _need(f"Debian's Chromium at {CHROMIUM} (apt-get install chromium)")
    pytest.importorskip("playwright", reason="pip install playwright (the test extra)")
    pytest.importorskip("fastapi", reason="pip install 'hyperjob[dashboard]'")
    work = tmp_path_factory.mktemp("dashboard")
    store = work / "hyperjob.db"
    specs = {
        "hb": _spec("hb", strategy="{name: hyperband, settings: {min_resource: 1, max_resource: 9, model: random}}",
                    max_jobs=12, steps=9, sleep=0.01, modes="[ok]"),  # (a crash at max_resource races its stop)
        "warm": _spec("warm", strategy="{name: random}", max_jobs=6, steps=9, sleep=0.01,
                      extra="early_stopping: auto\nwarm_start: {parents: [hb], type: identical_data_and_algorithm}\n"),
        "live": _spec("live", strategy="{name: random}", max_jobs=60, steps=40, sleep=0.1),
        "periods": f"""name: periods
program: {{command: [python, {ROOT / 'tests' / 'fixtures' / 'programs' / 'periodic.py'}]}}
hyperparameter_ranges: {{x: {{type: categorical, values: [1, 2, 3]}}}}
objective: {{metric: loss, type: minimize}}
metric_definitions: [{{name: loss, regex: 'loss=([-+0-9.eE]+)'}}]
strategy: {{name: grid}}
limits: {{max_parallel_jobs: 2}}
periods: {{dates: [[2024-01-01, 2024-01-31], [2024-02-01, 2024-02-29], [2024-03-01, 2024-03-31]]}}
""",
    }
    for name, text in specs.items():
        (work / f"{name}.yaml").write_text(text)
    periods = subprocess.Popen([sys.executable, "-m", "hyperjob", "tune", str(work / "periods.yaml"), "--store",
                                str(store), "-q"], cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for name in ("hb", "warm"):  # the parent first: a warm start needs it ended
        proc = _tune(work / f"{name}.yaml", store, work)
        assert proc.returncode == 0, f"hyperjob tune {name}: {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    out, err = periods.communicate(timeout=240)
    assert periods.returncode == 0, f"hyperjob tune periods: {periods.returncode}\n{out}\n{err}"
    live = subprocess.Popen([sys.executable, "-m", "hyperjob", "tune", str(work / "live.yaml"), "--store",
                             str(store), "-q"], cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        from hyperjob.store import open_store

        deadline = time.time() + 60
        with open_store(store) as db:  # wait until the live tuning job runs its first training jobs
            while not any(t.name == "live" for t in db.list_tuning_jobs()) or not db.list_training_jobs("live"):
                assert live.poll() is None, f"hyperjob tune live ended: {live.communicate()}"
                assert time.time() < deadline, "the live tuning job did not start in 60 s"
                time.sleep(0.2)
        yield {"store": store, "work": work, "live": live}
    finally:
        if live.poll() is None:
            live.terminate()
            try:
                live.wait(30)
            except subprocess.TimeoutExpired:
                live.kill()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A dashboard served by uvicorn in a thread of the test process."""

    def __init__(self, store_path: "Path | str", token: str | None = None) -> None:
        import uvicorn

        from hyperjob.dashboard.app import create_app
        from hyperjob.store import open_store

        self.store = open_store(store_path)
        self.app = create_app(self.store, token=token)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started:
            assert time.time() < deadline, "the dashboard did not start in 30 s"
            time.sleep(0.05)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.store.close()


@pytest.fixture(scope="session")
def server(runs: dict[str, Any]) -> Iterator[Server]:
    s = Server(runs["store"])
    yield s
    s.close()


@pytest.fixture(scope="session")
def guarded(runs: dict[str, Any]) -> Iterator[Server]:
    """A dashboard that needs its access token (as on a non-loopback address)."""
    s = Server(runs["store"], token=TOKEN)
    yield s
    s.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        _need(f"Debian's Chromium at {CHROMIUM} (apt-get install chromium)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.errors = errors
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
