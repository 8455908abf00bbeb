"""The dashboard's safety rules that need no server: who must give a token, and what a Host header names."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="pip install 'hyperjob[dashboard]'")

from hyperjob.dashboard.app import create_app, host_name, is_loopback  # noqa: E402
from hyperjob.errors import SpecError  # noqa: E402
from hyperjob.store import open_store  # noqa: E402


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "hj.db")
    yield s
    s.close()


def test_another_address_than_loopback_needs_a_token(store):
    with pytest.raises(SpecError, match="--host: binding '0.0.0.0' .* needs a token"):
        create_app(store, host="0.0.0.0")
    with pytest.raises(SpecError, match="--token: .* has 5 characters; use at least 16"):
        create_app(store, host="0.0.0.0", token="short")
    with pytest.raises(SpecError, match="--token: the dashboard's token is empty"):
        create_app(store, token="  ")
    assert create_app(store, host="0.0.0.0", token="x" * 16) is not None
    assert create_app(store) is not None  # 127.0.0.1 without a token


def test_loopback_and_host_header_names():
    assert all(is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "127.0.0.2"))
    # a DNS name that starts like a loopback address is not one (DNS rebinding)
    assert not any(is_loopback(h) for h in ("0.0.0.0", "192.168.1.4", "example.org", "127.evil.example", "127.0.0.1.nip.io"))
    assert host_name("127.0.0.1:8000") == "127.0.0.1"
    assert host_name("[::1]:8000") == "[::1]"
    assert host_name("localhost") == "localhost"
    assert host_name("evil.example:80") == "evil.example"
