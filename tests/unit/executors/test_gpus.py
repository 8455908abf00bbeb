"""The GPU inventory and allocator: shares packed onto devices, whole GPUs never shared or oversubscribed."""

from __future__ import annotations

import pytest

from hyperjob.errors import ExecutorError, SpecError
from hyperjob.executors.gpus import GpuAllocator, check_gpu_request, detect_gpus


def test_inventory_from_the_environment_override() -> None:
    assert detect_gpus({"HYPERJOB_GPUS": "2"}) == ["0", "1"]
    assert detect_gpus({"HYPERJOB_GPUS": "3, 5"}) == ["3", "5"]
    assert detect_gpus({"HYPERJOB_GPUS": "none"}) == []
    assert detect_gpus({"HYPERJOB_GPUS": ""}) == []
    with pytest.raises(SpecError, match=r"HYPERJOB_GPUS='0,,1' is not a GPU inventory.*e\.g\. 0,1"):
        detect_gpus({"HYPERJOB_GPUS": "0,,1"})
    with pytest.raises(SpecError, match="distinct device ids"):
        detect_gpus({"HYPERJOB_GPUS": "0,0"})


@pytest.mark.parametrize("gpus", [0, 0.25, 0.5, 1, 2, 8])
def test_valid_requests(gpus: float) -> None:
    assert float(check_gpu_request(gpus)) == gpus


@pytest.mark.parametrize("gpus, match", [(1.5, r"got 1\.5\. Use 1 or 2"), (-0.5, "must be >= 0"),
                                         ("x", "must be a number")])
def test_invalid_requests(gpus: object, match: str) -> None:
    with pytest.raises(SpecError, match=match):
        check_gpu_request(gpus)  # type: ignore[arg-type]


def test_quarter_shares_put_four_jobs_on_one_gpu_and_fill_it_before_the_next() -> None:
    alloc = GpuAllocator(["0", "1"])
    got = [alloc.assign(f"j{i}", 0.25) for i in range(8)]
    assert got == [["0"]] * 4 + [["1"]] * 4  # packed: the first device is full before the second is used
    assert alloc.assign("j8", 0.25) is None  # 8 quarters on 2 GPUs: the ninth waits
    assert alloc.used() == {"0": 1.0, "1": 1.0}
    alloc.release("j5")
    assert alloc.assign("j8", 0.25) == ["1"]
    alloc.release("nobody")  # releasing what holds nothing is a no-op
    assert alloc.used() == {"0": 1.0, "1": 1.0}


def test_thirds_never_exceed_one_gpu() -> None:
    alloc = GpuAllocator(["0"])
    assert [alloc.assign(f"j{i}", 1 / 3) for i in range(3)] == [["0"]] * 3
    assert alloc.assign("j3", 1 / 3) is None
    assert alloc.assign("j4", 0.1) is None


def test_whole_gpus_are_never_shared() -> None:
    alloc = GpuAllocator(["0", "1", "2"])
    assert alloc.assign("half", 0.5) == ["0"]
    assert alloc.assign("two", 2) == ["1", "2"]
    assert alloc.assign("one", 1) is None  # device 0 is half used: a whole GPU must be free
    assert alloc.assign("other-half", 0.5) == ["0"]
    alloc.release("two")
    assert alloc.assign("one", 1) == ["1"]
    with pytest.raises(ExecutorError, match="already holds GPUs"):
        alloc.assign("one", 1)


def test_a_request_the_machine_can_never_meet_is_an_error() -> None:
    with pytest.raises(ExecutorError, match=r"asks for 3 GPU\(s\) but this machine has 2 .*Lower resources\.gpus"):
        GpuAllocator(["0", "1"]).assign("big", 3)
    with pytest.raises(ExecutorError, match=r"asks for 0\.5 GPU\(s\) but this machine has 0 \(none found"):
        GpuAllocator([]).assign("j", 0.5)
    assert GpuAllocator([]).assign("cpu-only", 0) == []


def test_hold_counts_a_reattached_jobs_devices() -> None:
    alloc = GpuAllocator(["0", "1"])
    alloc.hold("old", ["1"], 0.5)
    alloc.hold("gone-device", ["7"], 0.5)  # a device outside the inventory is ignored
    assert alloc.used() == {"0": 0.0, "1": 0.5}
    assert alloc.assign("new", 0.5) == ["1"]
