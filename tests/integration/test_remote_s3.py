"""hyperjob.remote against a real S3-compatible server on 127.0.0.1 (moto's server, through s3fs)."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest

from hyperjob import remote
from hyperjob.errors import SpecError


def test_is_url() -> None:
    assert remote.is_url("s3://b/k") and remote.is_url("memory://x") and remote.is_url("gs://b")
    assert not remote.is_url("/tmp/x") and not remote.is_url("data/train") and not remote.is_url("file:///tmp/x")
    assert not remote.is_url("C:/data")


def test_unknown_scheme_is_one_line() -> None:
    with pytest.raises(SpecError, match=r"nosuch://b/k: unknown URL scheme 'nosuch'") as info:
        remote.check_readable("nosuch://b/k")
    assert "\n" not in str(info.value)


def test_readable_and_missing(s3_env, tmp_path: Path) -> None:
    bucket = s3_env.bucket()
    s3_env.put(f"{bucket}/train/a.csv", "x,y\n1,2\n")
    remote.check_readable(f"s3://{bucket}/train")
    remote.check_readable(f"s3://{bucket}/train/a.csv")
    with pytest.raises(SpecError, match=r"s3://.*/nothing: nothing at this URL"):
        remote.check_readable(f"s3://{bucket}/nothing")
    with pytest.raises(SpecError, match=r"the bucket 'hj-no-such-bucket' does not exist"):
        remote.check_readable("s3://hj-no-such-bucket/train")


def test_no_credentials_says_which_variables(s3_env, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bucket = s3_env.bucket()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(SpecError, match=r"no credentials to read it\. Set AWS_ACCESS_KEY_ID"):
        remote.check_readable(f"s3://{bucket}/x", {"anon": False})


def test_writable(s3_env) -> None:
    bucket = s3_env.bucket()
    remote.check_writable(f"s3://{bucket}/results")
    assert s3_env.client().list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0  # the marker is removed
    with pytest.raises(SpecError, match=r"the bucket 'hj-missing-b' does not exist"):
        remote.check_writable("s3://hj-missing-b/results")


def test_fetch_folder_cached_and_refreshed(s3_env, tmp_path: Path) -> None:
    bucket = s3_env.bucket()
    s3_env.put(f"{bucket}/data/train/a.csv", "1\n")
    s3_env.put(f"{bucket}/data/train/sub/b.csv", "2\n")
    cache = tmp_path / "cache"
    first = remote.fetch(f"s3://{bucket}/data/train", cache=cache)
    assert (first / "a.csv").read_text() == "1\n" and (first / "sub" / "b.csv").read_text() == "2\n"
    (first / "a.csv").write_text("local edit")  # a reused copy is not downloaded again
    assert remote.fetch(f"s3://{bucket}/data/train", cache=cache) == first
    assert (first / "a.csv").read_text() == "local edit"
    s3_env.put(f"{bucket}/data/train/a.csv", "changed\n")  # a changed remote gives a new copy
    third = remote.fetch(f"s3://{bucket}/data/train", cache=cache)
    assert third != first and (third / "a.csv").read_text() == "changed\n"
    one = remote.fetch(f"s3://{bucket}/data/train/sub/b.csv", cache=cache)
    assert one.name == "b.csv" and one.read_text() == "2\n"


def _fetch_in_child(url: str, cache: str, endpoint: str, queue) -> None:  # pragma: no cover - a child
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    queue.put(str(remote.fetch(url, cache=cache)))


def test_two_fetches_at_once_agree(s3_env, tmp_path: Path) -> None:
    bucket = s3_env.bucket()
    for i in range(20):
        s3_env.put(f"{bucket}/d/f{i}.bin", os.urandom(2000))
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_fetch_in_child, args=(f"s3://{bucket}/d", str(tmp_path), s3_env.endpoint, queue))
             for _ in range(2)]
    for proc in procs:
        proc.start()
    results = {queue.get(timeout=60) for _ in procs}
    for proc in procs:
        proc.join(30)
    assert len(results) == 1
    folder = Path(results.pop())
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"f{i}.bin" for i in range(20))
    assert [p.name for p in (tmp_path / "fetch").iterdir()] == [folder.parent.name]  # no temporary left
