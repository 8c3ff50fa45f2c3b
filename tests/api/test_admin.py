"""Keys, the audit trail, health, metrics, and the `callscreen keys` / `api` commands."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from blocklist.cli import main
from blocklist.store import audit
from blocklist.store.apikeys import authenticate


def test_key_made_through_the_api_works_once_shown(api, admin) -> None:
    """A new key is returned once, listed without its secret, and usable for its role."""
    made = admin.post("/v1/keys", json={"name": "robot", "role": "read"})
    assert made.status_code == 201
    token = made.json()["key"]
    listed = admin.get("/v1/keys").json()
    assert "robot" in [k["name"] for k in listed]
    assert token not in str(listed)
    robot = api.client(token=token)
    assert robot.get("/v1/entries").status_code == 200
    assert robot.post("/v1/allowlist", json={"number": "+31205550199"}).status_code == 403


@pytest.mark.parametrize("body", [
    {"name": "robot", "role": "root"}, {"name": "a b", "role": "read"}, {"name": "robot"},
    {"name": "x" * 65, "role": "read"}])
def test_bad_key_requests_are_422(admin, body) -> None:
    """Unknown roles, bad names and missing fields are 422."""
    assert admin.post("/v1/keys", json=body).status_code == 422


def test_audit_records_who_what_why(admin, writer) -> None:
    """Changes are audited with actor, action, target and reason; filters and cursor work."""
    writer.post("/v1/entries", json={"number": "+31855550101", "category": "fraud",
                                     "reason": "fake helpdesk"})
    writer.post("/v1/allowlist", json={"number": "+31205550199", "reason": "bank"})
    writer.put("/v1/subscribers/+31612345678", json={"mode": "strict"})
    events = admin.get("/v1/audit").json()["events"]
    assert [e["action"] for e in events] == ["subscriber.set", "allowlist.add", "entry.create"]
    assert events[2]["actor"] == "test-write" and events[2]["reason"] == "fake helpdesk"
    page = admin.get("/v1/audit", params={"limit": 2}).json()
    rest = admin.get("/v1/audit", params={"cursor": page["next_cursor"]}).json()
    assert [e["id"] for e in page["events"] + rest["events"]] == [e["id"] for e in events]
    only = admin.get("/v1/audit", params={"action": "allowlist"}).json()["events"]
    assert [e["target"] for e in only] == ["+31205550199"]
    assert admin.get("/v1/audit", params={"actor": "nobody"}).json()["events"] == []
    future = admin.get("/v1/audit", params={"since": "2999-01-01T00:00:00Z"}).json()
    assert future["events"] == []


def test_audit_record_is_a_plain_function(store) -> None:
    """The feed sync's way in: record(store, actor, action, target, detail, reason)."""
    audit.record(store, "sync", "feed.sync", "acm", {"added": 3}, "scheduled")
    [event], cursor = audit.events(store, action="feed")
    assert (event.actor, event.detail, event.reason, cursor) == (
        "sync", {"added": 3}, "scheduled", None)


@pytest.mark.parametrize("params", [{"cursor": "x"}, {"limit": 0}, {"since": "yesterday"}])
def test_bad_audit_parameters_are_422(admin, params) -> None:
    """Cursors, limits and times that can't be read are 422."""
    assert admin.get("/v1/audit", params=params).status_code == 422


def test_health_ready_metrics(api, writer) -> None:
    """Probes answer without a key; metrics name routes and sources, never numbers."""
    client = api.client()
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    writer.post("/v1/entries", json={"number": "+31855550101", "category": "fraud"})
    writer.get("/v1/numbers/+31855550101", params={"direction": "inbound"})
    text = client.get("/metrics").text
    assert 'route="/v1/numbers/{number}"' in text
    assert "callscreen_api_requests_total" in text
    assert "855550101" not in text


def test_unknown_path_is_a_problem(api) -> None:
    """An unknown path is a 404 problem document."""
    response = api.client("read").get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_access_log_names_route_and_key_id_only(api, caplog) -> None:
    """The access log carries the route template and the key id, never the key or number."""
    with caplog.at_level(logging.INFO, logger="callscreen.api.access"):
        api.client("read").get("/v1/numbers/+31855550101", params={"direction": "inbound"})
    text = caplog.text
    assert "/v1/numbers/{number}" in text and api.key_ids["read"] in text
    assert api.tokens["read"] not in text and "855550101" not in text


def test_keys_command(redis_url, store, monkeypatch, capsys) -> None:
    """`callscreen keys create` prints a working key once; list shows it; revoke ends it."""
    monkeypatch.setenv("CALLSCREEN_REDIS_URL", redis_url)
    assert main(["keys", "create", "--role", "write", "--name", "desk"]) == 0
    token = capsys.readouterr().out.strip()
    key = authenticate(store, token)
    assert key is not None and key.role.value == "write"
    assert main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert key.id in listing and token not in listing
    assert main(["keys", "revoke", key.id]) == 0
    assert authenticate(store, token) is None
    assert main(["keys", "revoke", key.id]) == 1
    actions = [e.action for e in audit.events(store)[0]]
    assert actions == ["key.revoke", "key.create"]


def test_api_command_serves(redis_url, store) -> None:
    """`callscreen api --listen` serves the app until stopped."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "CALLSCREEN_REDIS_URL": redis_url}
    process = subprocess.Popen([sys.executable, "-m", "blocklist.cli", "api", "--listen",
                                f"127.0.0.1:{port}"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "callscreen api did not start"
                time.sleep(0.1)
        assert response.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)
