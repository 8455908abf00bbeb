"""The dashboard over PostgreSQL (the same --store URL): a real tuning job run into a throwaway PostgreSQL
database (tests/conftest.py's pg_url), its page rendered in Chromium with its data."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

import pytest
from conftest import ARTIFACTS, Server, _spec

from hyperjob.records import TrainingJobStatus
from hyperjob.store import open_store


@pytest.mark.postgres
def test_job_page_over_postgresql(page, pg_url, tmp_path, browser):
    spec = tmp_path / "pg.yaml"
    spec.write_text(_spec("pg", strategy="{name: random}", max_jobs=4, steps=3, sleep=0.0))
    proc = subprocess.run([sys.executable, "-m", "hyperjob", "tune", str(spec), "--store", pg_url, "-q"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    server = Server(pg_url)
    try:
        with urllib.request.urlopen(server.url + "/api/tuning-jobs/pg/training-jobs", timeout=10) as r:
            columns = json.loads(r.read())
        with open_store(pg_url) as store:
            records = store.list_training_jobs("pg")
        assert columns["ids"] == [r.id for r in records]
        assert columns["objective"] == [r.final_objective for r in records]
        page.goto(server.url + "/jobs/pg")
        page.wait_for_function("Number(document.body.dataset.ready || 0) >= 1", timeout=20_000)
        with_value = [r for r in records if r.status is TrainingJobStatus.COMPLETED]
        assert int(page.locator("[data-plot=parallel]").get_attribute("data-points")) == len(with_value)
        assert int(page.locator("[data-plot=curves]").get_attribute("data-points")) > 0
        page.screenshot(path=str(ARTIFACTS / "job-postgresql.png"), full_page=True)
    finally:
        server.close()
