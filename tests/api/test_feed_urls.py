"""Feed URLs and server-side request forgery: a write key can't point a feed at the API
host's own network (loopback, private, link-local) unless the host is allowed; an admin
can. Feeds are served by a real local HTTP server on 127.0.0.1."""

from __future__ import annotations

import httpx
import pytest

from blocklist.settings import Settings
from blocklist.values import replace
from tests.api.conftest import Api, serve
from tests.sync.conftest import FeedServer
from tests.sync.test_runner import csv


def feed(url: str) -> dict[str, object]:
    return {"url": url, "format": "delimited", "retries": 0, "timeout_s": 5}


def local(server: FeedServer, host: str) -> str:
    return f"http://{host}:{server.port}/acm.csv"


@pytest.mark.parametrize(("host", "kind"), [
    ("localhost", "loopback"), ("169.254.169.254", "link-local"), ("10.0.0.7", "private"),
    ("[::1]", "loopback")])
def test_write_key_cant_point_a_feed_at_a_non_public_host(writer: httpx.Client,
                                                          feed_server: FeedServer,
                                                          host: str, kind: str) -> None:
    """A write key's feed URL on a loopback, link-local or private host is 403 naming the
    host and the kind of address, and nothing is stored."""
    response = writer.put("/v1/feeds/acm", json=feed(local(feed_server, host)))
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert repr(host.strip("[]")) in detail and kind in detail
    assert writer.get("/v1/feeds/acm").status_code == 404


def test_admin_may_point_a_feed_at_a_private_address_and_sync_it(
        admin: httpx.Client, feed_server: FeedServer, api_settings: Settings) -> None:
    """An admin key may configure a loopback IP address, and the download fetches it."""
    settings = replace(api_settings, feed_allowed_hosts=())
    feed_server.body("/acm.csv", csv(3))
    with serve(settings) as url, httpx.Client(base_url=url, headers=admin.headers) as client:
        assert client.put("/v1/feeds/acm", json=feed(local(feed_server, "127.0.0.1"))
                          ).status_code == 201
        run = client.post("/v1/feeds/acm/sync").json()["run"]
    assert run["outcome"] == "ok", run["reason"]


def test_allowed_host_lets_a_write_key_use_it(api: Api, admin: httpx.Client,
                                              feed_server: FeedServer,
                                              api_settings: Settings) -> None:
    """With the host in CALLSCREEN_FEED_ALLOWED_HOSTS a write key may use it, and the
    download, which checks the name again, fetches it."""
    settings = replace(api_settings, feed_allowed_hosts=("localhost",))
    feed_server.body("/acm.csv", csv(3))
    with serve(settings) as url, httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {api.tokens['write']}"}) as client:
        assert client.put("/v1/feeds/acm", json=feed(local(feed_server, "localhost"))
                          ).status_code == 201
        run = client.post("/v1/feeds/acm/sync").json()["run"]
    assert run["outcome"] == "ok", run["reason"]


def test_name_resolving_to_loopback_is_refused_when_fetched(admin: httpx.Client,
                                                            feed_server: FeedServer,
                                                            api_settings: Settings) -> None:
    """A host name is checked when the feed is fetched: one that resolves to a loopback
    address and is not allowed fails the run, naming the host and the address, even for a
    feed an admin configured."""
    settings = replace(api_settings, feed_allowed_hosts=())
    feed_server.body("/acm.csv", csv(3))
    with serve(settings) as url, httpx.Client(base_url=url, headers=admin.headers) as client:
        client.put("/v1/feeds/acm", json=feed(local(feed_server, "localhost")))
        run = client.post("/v1/feeds/acm/sync").json()["run"]
    assert run["outcome"] == "failed"
    assert "'localhost'" in run["reason"] and "loopback" in run["reason"]
    assert feed_server.hits.get("/acm.csv") is None  # refused before connecting
