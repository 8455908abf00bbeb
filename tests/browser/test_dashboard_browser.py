"""The dashboard in a real browser (Chromium via Playwright) against real servers over a store that real
``hyperjob tune`` runs filled (conftest.py): every page renders, plots have data, a running tuning job's page
updates without a reload, the Stop button stops it, wrong tokens and cross-site requests are refused, and
names in URLs reach nothing but the store. Screenshots: tmp/artifacts/dashboard/."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

from conftest import ARTIFACTS, TOKEN

from hyperjob.records import TrainingJobStatus, TuningJobStatus
from hyperjob.store import open_store


def _ready(page: Any, url: str, n: int = 1) -> None:
    page.goto(url)
    try:
        page.wait_for_function(f"Number(document.body.dataset.ready || 0) >= {n}", timeout=20_000)
    except Exception as exc:
        raise AssertionError(f"{url} did not get ready: {exc}; JavaScript errors: {page.errors}") from None


def _hj(*args: str, runs: dict) -> str:
    proc = subprocess.run([sys.executable, "-m", "hyperjob", *args, "--store", str(runs["store"])],
                          cwd=runs["work"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _request(url: str, *, method: str = "GET", headers: dict | None = None) -> tuple[int, str, dict]:
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


def test_list_page_shows_every_tuning_job_with_its_lineage(page, server, runs):
    _ready(page, server.url + "/")
    names = page.locator("[data-role=job-link]").all_inner_texts()
    assert {"hb", "warm", "live"} <= set(names)
    listed = json.loads(_hj("list", "--json", runs=runs))
    hb_row = page.locator("tr", has=page.locator("a[data-role=job-link]", has_text="hb")).first
    best = next(r["BestValue"] for r in listed if r["HyperParameterTuningJobName"] == "hb")
    assert f"{best:.5g}"[:5] in hb_row.inner_text()  # the best value `hyperjob list` shows
    assert "warm" in hb_row.inner_text()  # its child
    page.screenshot(path=str(ARTIFACTS / "list.png"), full_page=True)


def test_job_page_renders_plots_with_data_and_the_describe_truth(page, server, runs):
    _ready(page, server.url + "/jobs/hb")
    described = json.loads(_hj("describe", "hb", "--json", runs=runs))
    best = described["BestTrainingJob"]
    assert best["TrainingJobName"] in page.locator("[data-role=best]").first.inner_text()
    store = open_store(runs["store"])
    try:
        records = store.list_training_jobs("hb")
        decisions = store.list_decisions("hb")
    finally:
        store.close()
    with_value = [r for r in records if r.final_objective is not None and r.status is not TrainingJobStatus.FAILED]
    assert int(page.locator("[data-plot=history]").get_attribute("data-points")) >= len(with_value) > 0
    completed = [r for r in records if r.status is TrainingJobStatus.COMPLETED]
    assert int(page.locator("[data-plot=parallel]").get_attribute("data-points")) == len(completed) > 0
    assert int(page.locator("[data-plot=curves]").get_attribute("data-points")) > 0
    kept = sum(len(v) for v in decisions.values())
    assert kept > 0 and int(page.locator("[data-plot=curves]").get_attribute("data-decisions")) > 0
    page.wait_for_function("Number(document.querySelector('[data-plot=importance]').dataset.points) >= 1",
                           timeout=20_000)
    assert page.locator("[data-plot=importance] .bars path").count() >= 1  # plotly drew bars
    # the table: every training job, filterable by status
    assert f"{len(records)} of {len(records)} rows" in page.locator("[data-section=table]").inner_text()
    stopped = sum(1 for r in records if r.status is TrainingJobStatus.STOPPED)
    page.select_option("[data-section=table] [data-role=status]", "Stopped")
    assert f"{stopped} of {len(records)} rows" in page.locator("[data-section=table]").inner_text()
    page.screenshot(path=str(ARTIFACTS / "job-hb.png"), full_page=True)


def test_warm_start_page_shows_the_parent_failures_and_exports_the_csv(page, server, runs):
    _ready(page, server.url + "/jobs/warm")
    parents = page.locator("[data-role=parents]").inner_text()
    assert "hb" in parents
    assert "identical data and algorithm" in page.locator("[data-role=contribution]").inner_text()
    store = open_store(runs["store"])
    try:
        failed = [r for r in store.list_training_jobs("warm") if r.status is TrainingJobStatus.FAILED]
        failed += [r for r in store.list_training_jobs("hb") if r.status is TrainingJobStatus.FAILED]
    finally:
        store.close()
    warm_failed = [r for r in failed if r.tuning_job == "warm"]
    assert page.locator("[data-section=failures]").is_visible() == bool(warm_failed)
    if warm_failed:  # (how many of the mode=crash jobs the median rule stops before they crash is a race)
        assert "the data is broken" in page.locator("[data-role=failures]").inner_text()
        assert str(len(warm_failed)) in page.locator("[data-role=failures] td").first.inner_text()
    with page.expect_download() as got:
        page.click("[data-role=export]")
    shown = got.value.path().read_text()
    assert list(csv.reader(io.StringIO(shown))) == list(csv.reader(io.StringIO(_hj("export", "warm", runs=runs))))
    page.screenshot(path=str(ARTIFACTS / "job-warm.png"), full_page=True)


def test_compare_page_sets_two_tuning_jobs_side_by_side(page, server):
    _ready(page, server.url + "/")
    for name in ("hb", "warm"):
        page.locator("tr", has=page.locator("a[data-role=job-link]", has_text=name)).first.locator(
            "input[type=checkbox]").check()
    page.click("[data-role=compare]")
    page.wait_for_url("**/compare?names=*")
    page.wait_for_function("Number(document.body.dataset.ready || 0) >= 1", timeout=20_000)
    assert page.locator("[data-role=compare-table] tr").count() == 3  # header + 2
    assert int(page.locator("[data-plot=compare-best]").get_attribute("data-points")) > 0
    page.screenshot(path=str(ARTIFACTS / "compare.png"), full_page=True)


def test_running_job_updates_live_refuses_a_wrong_token_and_stops_from_the_page(page, server, runs):
    live = runs["live"]
    assert live.poll() is None, "the live tuning job ended before the test"
    _ready(page, server.url + "/jobs/live")
    page.evaluate("window.__sameDocument = true")
    first = page.locator("[data-role=counters]").inner_text()
    page.wait_for_function(f"document.querySelector('[data-role=counters]').textContent !== {json.dumps(first)}",
                           timeout=30_000)
    assert page.evaluate("window.__sameDocument === true"), "the page reloaded instead of updating"
    assert page.evaluate("document.body.dataset.live") == "sse"  # by server-sent events, not by polling
    assert page.evaluate("Number(document.body.dataset.events)") >= 2  # the first (every row), then a change
    page.screenshot(path=str(ARTIFACTS / "job-live-running.png"), full_page=True)
    # a browser without EventSource polls instead, and updates all the same
    polling = page.context.new_page()
    polling.add_init_script("delete window.EventSource")
    _ready(polling, server.url + "/jobs/live")
    before = polling.locator("[data-role=counters]").inner_text()
    polling.wait_for_function(
        f"document.querySelector('[data-role=counters]').textContent !== {json.dumps(before)}", timeout=30_000)
    assert polling.evaluate("document.body.dataset.live") == "poll"
    polling.close()
    # a wrong action token, and a right one from another site, are refused; the job goes on
    stop = f"{server.url}/api/tuning-jobs/live/stop"
    code, body, _ = _request(stop, method="POST", headers={"X-Hyperjob-Token": "wrong"})
    assert code == 403 and "token" in body
    token = page.locator('meta[name="hyperjob-action-token"]').get_attribute("content")
    code, body, _ = _request(stop, method="POST", headers={"X-Hyperjob-Token": token, "Origin": "http://evil.example"})
    assert code == 403 and "evil.example" in body
    store = open_store(runs["store"])
    try:
        assert store.get_tuning_job("live").status is TuningJobStatus.IN_PROGRESS
        # the Stop button (two clicks: arm, then stop)
        page.click("[data-role=stop]")
        page.click("[data-role=stop]")
        page.wait_for_function("document.querySelector('[data-role=status]').textContent === 'Stopped'",
                               timeout=45_000)
        tuning = store.get_tuning_job("live")
        # the tuner's reason says who asked (tuner/stop.py), not the wording `hyperjob stop` gets
        assert tuning.status is TuningJobStatus.STOPPED and tuning.status_reason == "Stopped from the dashboard"
        assert all(r.status.terminal for r in store.list_training_jobs("live"))
    finally:
        store.close()
    assert live.wait(30) is not None  # the `hyperjob tune` process ended
    page.screenshot(path=str(ARTIFACTS / "job-live-stopped.png"), full_page=True)


def test_a_guarded_dashboard_refuses_a_wrong_token_and_takes_the_right_one(page, guarded):
    code, body, _ = _request(guarded.url + "/")
    assert code == 401 and "token" in body
    code, _, _ = _request(guarded.url + "/api/tuning-jobs")
    assert code == 401
    code, _, _ = _request(guarded.url + "/?token=wrong-token-wrong-token")
    assert code == 401
    code, _, _ = _request(guarded.url + "/api/tuning-jobs", headers={"Authorization": f"Bearer {TOKEN}"})
    assert code == 200
    _ready(page, f"{guarded.url}/?token={TOKEN}")
    assert page.url == guarded.url + "/"  # the token left the address bar for an HttpOnly cookie
    assert page.locator("[data-role=job-link]").count() >= 3
    page.screenshot(path=str(ARTIFACTS / "guarded.png"))


def test_names_in_urls_reach_only_the_store_and_foreign_hosts_are_refused(server):
    for path in ("/static/..%2F..%2F..%2Fetc%2Fpasswd", "/static/page.html", "/static/__init__.py"):
        code, body, _ = _request(server.url + path)
        assert code == 404 and "root:" not in body
    code, body, _ = _request(server.url + "/api/tuning-jobs/..%2F..%2Fetc%2Fpasswd/export.csv")
    assert code == 404 and "root:" not in body
    code, body, _ = _request(server.url + "/api/tuning-jobs/..%5Cetc%5Cpasswd")
    assert code == 404 and "no tuning job named '..\\\\etc\\\\passwd'" in json.loads(body)["error"]
    code, body, _ = _request(server.url + "/jobs/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")
    assert code == 404 and "<img" not in body and "&lt;img src=x onerror=alert(1)&gt;" in body
    for host in ("evil.example:80", "127.evil.example"):  # DNS rebinding
        code, _, _ = _request(server.url + "/", headers={"Host": host})
        assert code == 421
    code, body, headers = _request(server.url + "/static/plotly.min.js")
    assert code == 200 and len(body) > 1_000_000 and "plotly" in body[:2000].lower()


def test_periods_page_shows_each_configurations_values_and_the_winner_test(page, server, runs):
    from hyperjob.tuner.describe import objective_of
    from hyperjob.tuner.periods import winner_report

    _ready(page, server.url + "/jobs/periods")
    store = open_store(runs["store"])
    try:
        tuning = store.get_tuning_job("periods")
        report = winner_report(store.list_training_jobs("periods"), tuning.spec, objective_of(tuning))
    finally:
        store.close()
    assert report is not None and report["BestConfiguration"]["Configuration"] == "c2"  # x=3, best on average
    assert report["WinnerTest"]["verdict"] in page.locator("[data-role=verdict]").inner_text()
    table = page.locator("[data-role=period-values]").inner_text()
    assert "c2 (best)" in table and "2024-02-01" in page.locator("[data-section=periods]").inner_text()
    assert "x=3" in page.locator("[data-role=best-configuration]").inner_text()  # the best on average
    assert "2024-03-01..2024-03-31" in page.locator("[data-section=table]").inner_text()  # each job's period
    page.wait_for_function("Number((document.querySelector('[data-plot=periods]') || {dataset: {}}).dataset.points) === 9")
    page.screenshot(path=str(ARTIFACTS / "job-periods.png"), full_page=True)


def test_an_ended_jobs_cached_page_data_is_answered_whole_gzipped_or_not(server):
    import gzip

    url = server.url + "/api/tuning-jobs/hb/page"
    answers = []
    for encoding in ("gzip", "gzip", "identity", "gzip"):  # the 2nd and later from the server's cache
        req = urllib.request.Request(url, headers={"Accept-Encoding": encoding})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
            if r.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            answers.append(json.loads(body))
    assert answers[0]["job"]["describe"]["HyperParameterTuningJobName"] == "hb"
    assert all(a == answers[0] for a in answers)
