"""`/v1/feeds` through the running API, with feeds served by a real local HTTP server."""

from __future__ import annotations

import httpx
import pytest

from blocklist.store import audit
from tests.api.conftest import Api
from tests.sync.conftest import FeedServer
from tests.sync.test_runner import csv


def acm(server: FeedServer, **extra: object) -> dict[str, object]:
    return {"url": server.url("/acm.csv"), "format": "delimited", "retries": 0,
            "timeout_s": 5, **extra}


def test_put_creates_then_replaces(api: Api, writer: httpx.Client,
                                   feed_server: FeedServer) -> None:
    """PUT answers 201 with a Location the first time, 200 when it replaces; both audited."""
    created = writer.put("/v1/feeds/acm", json=acm(feed_server))
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/v1/feeds/acm"
    assert created.json()["config"]["id"] == "acm" and created.json()["last_run"] is None
    replaced = writer.put("/v1/feeds/acm?reason=weekly", json=acm(feed_server, interval_s=60))
    assert replaced.status_code == 200
    assert writer.get("/v1/feeds/acm").json()["config"]["interval_s"] == 60
    events, _ = audit.events(api.store, target="acm")
    assert [e.action for e in events] == ["feed.replace", "feed.create"]
    assert events[0].reason == "weekly" and events[0].actor == "test-write"


def test_list_and_read(reader: httpx.Client, writer: httpx.Client,
                       feed_server: FeedServer) -> None:
    """The list holds every feed; reading one gives its configuration and state."""
    writer.put("/v1/feeds/acm", json=acm(feed_server))
    writer.put("/v1/feeds/bnetza", json={"path": "m.csv", "format": "bnetza"})  # 403: a path
    feeds = reader.get("/v1/feeds").json()["feeds"]
    assert [f["id"] for f in feeds] == ["acm"]
    assert reader.get("/v1/feeds/acm").json()["state"]["last_success"] is None
    assert reader.get("/v1/feeds/nope").status_code == 404


def test_auth_header_value_is_never_stored(api: Api, admin: httpx.Client,
                                           feed_server: FeedServer) -> None:
    """Only the environment variable's name is kept; there is no field for a value."""
    body = acm(feed_server, auth_header="Authorization", auth_env="ACM_TOKEN")
    assert admin.put("/v1/feeds/acm", json=body).status_code == 201
    assert admin.get("/v1/feeds/acm").json()["config"]["auth_env"] == "ACM_TOKEN"
    bad = admin.put("/v1/feeds/acm", json={**body, "auth_value": "Bearer s3cret"})
    assert bad.status_code == 422
    assert "s3cret" not in repr({k: api.store.redis.dump(k) for k in api.store.redis.keys("*")})


@pytest.mark.parametrize("field", ["path", "auth_env"])
def test_fields_reaching_the_host_need_admin(writer: httpx.Client, admin: httpx.Client,
                                             feed_server: FeedServer, field: str) -> None:
    """A write key may not name a local file or an environment variable; admin may."""
    body: dict[str, object] = ({"path": "acm.csv", "format": "plain"} if field == "path"
                               else acm(feed_server, auth_header="X-Token", auth_env="TOKEN"))
    assert writer.put("/v1/feeds/acm", json=body).status_code == 403
    assert admin.put("/v1/feeds/acm", json=body).status_code == 201


@pytest.mark.parametrize(("body", "location"), [
    ({"url": "ftp://x/acm.csv", "format": "delimited"}, ["body", "url"]),
    ({"url": "https://x/a.csv", "format": "delimited", "interval_s": 0}, ["body", "interval_s"]),
    ({"url": "https://x/a.csv", "path": "a.csv", "format": "plain"}, ["body"]),
    ({"url": "https://x/a.csv", "format": "xml"}, ["body", "format"]),
    ({"url": "https://x/a.csv", "format": "delimited", "category": "evil"}, ["body", "category"]),
    ({"url": "https://x/a.csv", "format": "delimited", "delimited": {"delimiter": "x"}},
     ["body", "delimited", "delimiter"]),
    ({"url": "https://x/a.csv", "format": "delimited", "limits": {"min_prefix_digits": 0}},
     ["body", "limits", "min_prefix_digits"]),
    ({"url": "https://x/a.csv", "format": "delimited", "delimited": {"encoding": "klingon"}},
     ["body", "delimited", "encoding"]),
    ({"url": "https://x/a.csv", "format": "plain", "shadow": "yes"}, ["body", "shadow"]),
    ({"url": "https://x/a.csv", "format": "plain", "colour": "red"}, ["body", "colour"]),
])
def test_bad_config_is_422_naming_the_field(admin: httpx.Client, body: dict[str, object],
                                            location: list[str]) -> None:
    """A configuration FeedConfig refuses is a 422 problem whose errors name the field."""
    response = admin.put("/v1/feeds/acm", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["location"] == location
    assert admin.get("/v1/feeds/acm").status_code == 404


def test_body_id_other_than_the_paths_is_409(admin: httpx.Client) -> None:
    """A body naming another feed than the path is a conflict naming both, storing nothing."""
    response = admin.put("/v1/feeds/acm", json={"url": "https://x/a.csv", "format": "plain",
                                                "id": "other"})
    assert response.status_code == 409
    assert "'other'" in response.json()["detail"] and "'acm'" in response.json()["detail"]
    assert admin.get("/v1/feeds/acm").status_code == 404


def test_reserved_and_malformed_ids_are_refused(writer: httpx.Client) -> None:
    """`manual` is not a feed id, and an id outside the pattern never reaches the store."""
    body = {"url": "https://x/a.csv", "format": "plain"}
    assert writer.put("/v1/feeds/manual", json=body).status_code == 422
    assert writer.put("/v1/feeds/a%20b", json=body).status_code == 422


def test_dry_run_returns_the_diff_and_changes_nothing(api: Api, writer: httpx.Client,
                                                      feed_server: FeedServer) -> None:
    """A dry run answers the counts, the keys and the first rejected rows; nothing applied."""
    feed_server.body("/acm.csv", csv(3) + b"112;revoked;x\n")
    writer.put("/v1/feeds/acm", json=acm(feed_server))
    response = writer.post("/v1/feeds/acm/sync?dry_run=true")
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["run"]["outcome"] == "dry-run"
    assert result["run"]["counts"]["added"] == 3 and result["run"]["counts"]["rejected"] == 1
    assert result["diff"]["added"] == ["+31855000000", "+31855000001", "+31855000002"]
    assert result["diff"]["rejected"][0]["line"] == 5
    assert api.store.source_entries("acm") == {}
    events, _ = audit.events(api.store, action="feed.sync")
    assert events == []


def test_sync_applies_records_history_and_audits(api: Api, writer: httpx.Client,
                                                 reader: httpx.Client,
                                                 feed_server: FeedServer) -> None:
    """A sync applies the feed, shows in the runs and the feed's state, and is audited."""
    feed_server.body("/acm.csv", csv(4), etag='"1"')
    writer.put("/v1/feeds/acm", json=acm(feed_server))
    result = writer.post("/v1/feeds/acm/sync?reason=ACM%20letter").json()
    assert result["run"]["outcome"] == "ok" and result["diff"] is None
    assert result["run"]["actor"] == "test-write"
    assert len(api.store.source_entries("acm")) == 4
    assert writer.post("/v1/feeds/acm/sync").json()["run"]["outcome"] == "unchanged"
    runs = reader.get("/v1/feeds/acm/runs?limit=5").json()["runs"]
    assert [r["outcome"] for r in runs] == ["unchanged", "ok"]
    feed = reader.get("/v1/feeds/acm").json()
    assert feed["state"]["etag"] == '"1"' and feed["last_run"]["outcome"] == "unchanged"
    events, _ = audit.events(api.store, action="feed.sync")
    assert [e.detail["outcome"] for e in events] == ["unchanged", "ok"]
    assert events[1].reason == "ACM letter"


def test_refused_sync_needs_admin_to_force(api: Api, writer: httpx.Client, admin: httpx.Client,
                                          feed_server: FeedServer) -> None:
    """A sync the guard refuses leaves the list; force is admin-only and audited as forced."""
    feed_server.body("/acm.csv", csv(10))
    writer.put("/v1/feeds/acm", json=acm(feed_server))
    assert writer.post("/v1/feeds/acm/sync").json()["run"]["outcome"] == "ok"
    feed_server.body("/acm.csv", csv(2))
    refused = writer.post("/v1/feeds/acm/sync").json()["run"]
    assert refused["outcome"] == "refused" and refused["reason"]
    assert len(api.store.source_entries("acm")) == 10
    assert writer.post("/v1/feeds/acm/sync?force=true").status_code == 403
    forced = admin.post("/v1/feeds/acm/sync?force=true&reason=list%20shrank").json()["run"]
    assert forced["outcome"] == "ok" and forced["forced"]
    assert len(api.store.source_entries("acm")) == 2
    events, _ = audit.events(api.store, action="feed.sync.forced")
    assert len(events) == 1 and events[0].reason == "list shrank"


def test_failed_download_is_an_outcome(writer: httpx.Client, feed_server: FeedServer) -> None:
    """A feed that answers 404 gives a failed run saying why, not an error answer."""
    writer.put("/v1/feeds/acm", json=acm(feed_server))
    run = writer.post("/v1/feeds/acm/sync").json()["run"]
    assert run["outcome"] == "failed" and "404" in run["reason"]


def test_sync_of_a_busy_feed_is_409(api: Api, writer: httpx.Client,
                                    feed_server: FeedServer) -> None:
    """While another process holds the feed's lock, a sync answers 409."""
    from blocklist.store import feeds as feed_store

    writer.put("/v1/feeds/acm", json=acm(feed_server))
    assert feed_store.acquire_lock(api.store, "acm", 60) is not None
    response = writer.post("/v1/feeds/acm/sync")
    assert response.status_code == 409 and "another process" in response.json()["detail"]


def test_unknown_feed_is_404_everywhere(writer: httpx.Client) -> None:
    """Runs, sync and delete of a feed that is not configured answer 404."""
    assert writer.get("/v1/feeds/nope/runs").status_code == 404
    assert writer.post("/v1/feeds/nope/sync").status_code == 404
    assert writer.delete("/v1/feeds/nope").status_code == 404


def test_delete_forgets_the_feed_keeps_its_entries(api: Api, writer: httpx.Client,
                                                   feed_server: FeedServer) -> None:
    """Deleting a feed removes its configuration and history; its entries stay; audited."""
    feed_server.body("/acm.csv", csv(3))
    writer.put("/v1/feeds/acm", json=acm(feed_server))
    writer.post("/v1/feeds/acm/sync")
    assert writer.delete("/v1/feeds/acm?reason=retired").status_code == 204
    assert writer.get("/v1/feeds/acm").status_code == 404
    assert len(api.store.source_entries("acm")) == 3
    events, _ = audit.events(api.store, action="feed.delete")
    assert events[0].target == "acm" and events[0].reason == "retired"
