"""Who asked for a stop is recorded with it (tuner/stop.py): the request's reason and the tuner's final one."""

from __future__ import annotations

from hyperjob.records import TuningJobStatus
from hyperjob.store import open_store
from hyperjob.tuner.stop import BY_COMMAND, FROM_DASHBOARD, request_stop, stopped_reason


def test_the_origin_of_a_stop_is_recorded_and_becomes_the_final_reason(tmp_path):
    with open_store(tmp_path / "s.db") as store:
        for name, origin in (("a", FROM_DASHBOARD), ("b", BY_COMMAND)):
            store.create_tuning_job(name, {"name": name})
            assert request_stop(store, name, origin=origin)
        a, b = store.get_tuning_job("a"), store.get_tuning_job("b")
        assert a.status is TuningJobStatus.STOPPING and a.status_reason == "Stop requested from the dashboard"
        assert stopped_reason(a.status_reason) == "Stopped from the dashboard"
        assert stopped_reason(b.status_reason) == "Stopped by `hyperjob stop`"
        store.set_tuning_job_status("a", TuningJobStatus.STOPPED, stopped_reason(a.status_reason))
        assert not request_stop(store, "a", origin=BY_COMMAND)  # already ended: nothing recorded
        assert store.get_tuning_job("a").status_reason == "Stopped from the dashboard"
    assert stopped_reason(None) == stopped_reason("Interrupted") == "Stopped by `hyperjob stop`"  # older records
