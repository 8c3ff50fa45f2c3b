"""One feed sync end to end against a real HTTP server and a real Redis."""

from __future__ import annotations

import pytest

from blocklist.settings import Settings
from blocklist.store import feeds as feed_store
from blocklist.store.admin import Store
from blocklist.sync import manage
from blocklist.sync.config import FeedConfig
from blocklist.sync.runner import run_feed
from tests.sync.conftest import FeedServer


def csv(count: int, start: int = 0) -> bytes:
    rows = [f"+3185{5000000 + n:07d};revoked;ACM-{n // 100}" for n in range(start, start + count)]
    return ("number;category;reference\n" + "\n".join(rows) + "\n").encode()


def config(url: str, **extra: object) -> FeedConfig:
    return FeedConfig.from_dict({"id": "acm", "url": url, "format": "delimited",
                                 "retries": 0, "timeout_s": 5, **extra})


def snapshot(redis_client) -> dict[str, bytes]:
    """DUMP of every key but locks and the feed's own run history/state."""
    return {k: redis_client.dump(k) for k in redis_client.keys("*")
            if "lock" not in k and ":feed:" not in k}


def test_sync_applies_and_records_history(store: Store, settings: Settings,
                                          feed_server: FeedServer) -> None:
    """An ok sync applies the feed, records the run and the last success."""
    feed_server.body("/acm.csv", csv(10) + b"112;revoked;x\n", etag='"1"')
    result = run_feed(settings, store, config(feed_server.url("/acm.csv")))
    assert result.outcome == "ok", result.reason
    assert result.counts["added"] == 10 and result.counts["rejected"] == 1
    assert len(store.source_entries("acm")) == 10
    (run,) = feed_store.runs(store, "acm")
    assert run["outcome"] == "ok" and run["rejected_rows"][0]["line"] == 12
    assert feed_store.state(store, "acm")["etag"] == '"1"'


def test_unchanged_feed_is_not_downloaded_again(store: Store, settings: Settings,
                                                feed_server: FeedServer) -> None:
    """The second sync sends the ETag, gets 304, and changes nothing."""
    feed_server.body("/acm.csv", csv(10), etag='"1"')
    feed = config(feed_server.url("/acm.csv"))
    assert run_feed(settings, store, feed).outcome == "ok"
    assert run_feed(settings, store, feed).outcome == "unchanged"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"number;category\n", "no valid rows"),
        (b"number;category\ngarbage;revoked\n", "no valid rows"),
        (csv(2), "removes 8 of 10"),
        (b"<html><body>maintenance</body></html>", "HTML"),
    ],
)
def test_guard_leaves_redis_byte_for_byte_unchanged(
    store: Store, settings: Settings, feed_server: FeedServer, redis_client,
    body: bytes, reason: str,
) -> None:
    """Zero rows, a big removal or an HTML page fail the sync; every key stays as it was."""
    feed_server.body("/acm.csv", csv(10))
    feed = config(feed_server.url("/acm.csv"))
    assert run_feed(settings, store, feed).outcome == "ok"
    before = snapshot(redis_client)
    feed_server.body("/acm.csv", body)
    result = run_feed(settings, store, feed)
    assert result.outcome in ("refused", "failed") and reason in result.reason
    assert snapshot(redis_client) == before


def test_count_mismatch_is_refused(store: Store, settings: Settings,
                                   feed_server: FeedServer, redis_client) -> None:
    """A screening-feed whose record_count disagrees is refused, nothing written."""
    doc = (b'{"feed": {"format": "screening-feed/v1", "source": "acm", "record_count": 5},'
           b' "records": [{"number": "+31851234567", "category": "revoked"}]}')
    feed_server.body("/f.json", doc, content_type="application/json")
    feed = FeedConfig.from_dict({"id": "acm", "url": feed_server.url("/f.json"),
                                 "format": "screening-feed/v1", "retries": 0})
    before = snapshot(redis_client)
    result = run_feed(settings, store, feed)
    assert result.outcome == "refused" and "record_count" in result.reason
    assert snapshot(redis_client) == before


def test_force_overrides_and_is_audited(store: Store, settings: Settings,
                                        feed_server: FeedServer, redis_client) -> None:
    """A forced sync applies what the guard refused and writes an audit event."""
    feed_server.body("/acm.csv", csv(10))
    feed = config(feed_server.url("/acm.csv"))
    run_feed(settings, store, feed)
    feed_server.body("/acm.csv", csv(2))
    result = run_feed(settings, store, feed, force=True, actor="cli:alice")
    assert result.outcome == "ok" and len(store.source_entries("acm")) == 2
    events = redis_client.xrange("{cs}:audit")
    assert any(e[1]["action"] == "feed.sync.forced" and e[1]["actor"] == "cli:alice"
               for e in events)


def test_dry_run_returns_the_diff_and_writes_nothing(
    store: Store, settings: Settings, feed_server: FeedServer, redis_client
) -> None:
    """A dry run reports added, removed and rejected rows; the store is unchanged."""
    feed_server.body("/acm.csv", csv(10))
    feed = config(feed_server.url("/acm.csv"))
    run_feed(settings, store, feed)
    before = snapshot(redis_client)
    feed_server.body("/acm.csv", csv(10, start=1) + b"garbage;revoked;x\n")
    result = run_feed(settings, store, feed, dry_run=True)
    assert result.outcome == "dry-run"
    diff = result.diff()
    assert diff["added"] == ["+31855000010"] and diff["removed"] == ["+31855000000"]
    assert diff["rejected"][0]["reason"].startswith("'garbage'")
    assert snapshot(redis_client) == before


def test_shadow_feed_entries_are_shadow(store: Store, settings: Settings,
                                        feed_server: FeedServer) -> None:
    """A shadow feed's entries carry shadow=True."""
    feed_server.body("/acm.csv", csv(3))
    run_feed(settings, store, config(feed_server.url("/acm.csv"), shadow=True))
    assert all(e.shadow for e in store.explain("31855000001"))


def test_manage_add_list_remove(store: Store, settings: Settings) -> None:
    """Feeds are stored, listed and removed through the plain functions the API uses."""
    manage.add_feed(settings, store, {"id": "acm", "path": "/nonexistent", "format": "plain",
                                      "category": "revoked"}, actor="test")
    assert [f["id"] for f in manage.list_feeds(settings, store)] == ["acm"]
    result = manage.sync(settings, store, "acm")
    assert result.outcome == "failed" and "/nonexistent" in result.reason
    assert manage.remove_feed(settings, store, "acm", actor="test")
    assert manage.list_feeds(settings, store) == []


def test_operator_protected_numbers_are_protected_in_every_region(settings) -> None:
    """A feed of another region can't list the operator's helplines either."""
    from blocklist.errors import ProtectedNumberError
    from blocklist.feeds.model import Limits
    from blocklist.feeds.numbering import exact_key, prefix_key
    from blocklist.sync.runner import plans_for

    german = plans_for(settings)("DE")
    with pytest.raises(ProtectedNumberError):
        exact_key(german, "+31 800 0113")
    with pytest.raises(ProtectedNumberError):
        prefix_key(german, "+31 800 011x", Limits())
    with pytest.raises(ProtectedNumberError):
        prefix_key(german, "+31 116 123x", Limits())
