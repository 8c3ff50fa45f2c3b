"""The console's sign-in limit over real HTTP: attempts counted before the key is checked, so
parallel attempts on several servers sharing one Redis still try at most five keys; and the
client address, which behind a trusted proxy is the one it forwards."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from ipaddress import ip_network

import httpx
import pytest

from blocklist.settings import Settings
from blocklist.store import audit
from blocklist.values import replace
from tests.api.conftest import Api, serve

SIGNIN = "/console/signin"
BAD_KEY = "csk_0123456789ab_" + "x" * 43
PARALLEL = 24
SERVERS = 3


def form_token(client: httpx.Client) -> str:
    """Fetch the sign-in form as a browser does; its token (also left in the client's cookie)."""
    token = re.search(r'name="signin_token" value="([^"]+)"', client.get(SIGNIN).text)
    assert token is not None
    return token.group(1)


def sign_in(client: httpx.Client, key: str, forwarded_for: str | None = None) -> int:
    """Post the sign-in form (fetched first); the answer's status."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for is not None else {}
    token = form_token(client)
    return client.post(SIGNIN, data={"key": key, "signin_token": token},
                       headers=headers).status_code


@pytest.fixture
def servers(api_settings: Settings, api: Api) -> Iterator[list[str]]:
    """More servers on the session's Redis, as `CALLSCREEN_WORKERS` processes would be: an
    attempt's check and count can't be serialised by one server's event loop."""
    with ExitStack() as stack:
        yield [api.url] + [stack.enter_context(serve(api_settings)) for _ in range(SERVERS - 1)]


@pytest.fixture
def proxied(api_settings: Settings, api: Api) -> Iterator[str]:
    """A server behind a trusted proxy: 127.0.0.1 (these tests) is the proxy."""
    settings = replace(api_settings, trusted_proxies=(ip_network("127.0.0.0/8"),))
    with serve(settings) as url:
        yield url


def test_parallel_attempts_on_several_servers_try_at_most_five_keys(
        api: Api, servers: list[str]) -> None:
    """Two dozen wrong keys posted at once, spread over three servers: five are checked (401,
    audited), the rest refused (429), and after them even a good key is refused."""
    clients = [httpx.Client(base_url=servers[i % len(servers)], timeout=30)
               for i in range(PARALLEL)]
    tokens = [form_token(client) for client in clients]
    start = threading.Barrier(PARALLEL)
    statuses: list[int] = []

    def attempt(client: httpx.Client, token: str) -> None:
        start.wait()
        answer = client.post(SIGNIN, data={"key": BAD_KEY, "signin_token": token})
        statuses.append(answer.status_code)

    threads = [threading.Thread(target=attempt, args=pair)
               for pair in zip(clients, tokens, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert sorted(statuses) == [401] * 5 + [429] * (PARALLEL - 5)
        events, _ = audit.events(api.store, action="console.signin-failed")
        assert len(events) == 5
        assert sign_in(clients[0], api.tokens["admin"]) == 429
    finally:
        for client in clients:
            client.close()


def test_without_trusted_proxies_the_forwarded_address_is_ignored(api: Api) -> None:
    """By default X-Forwarded-For counts for nothing: a client can't escape the limit by
    writing a new address into it each time."""
    with httpx.Client(base_url=api.url, timeout=30) as client:
        failures = [sign_in(client, BAD_KEY, f"198.51.100.{n}") for n in range(5)]
        assert failures == [401] * 5
        assert sign_in(client, api.tokens["admin"], "198.51.100.99") == 429
    events, _ = audit.events(api.store, action="console.signin-failed")
    assert {e.target for e in events} == {"127.0.0.1"}


def test_behind_a_trusted_proxy_one_client_is_locked_out_not_everyone(
        api: Api, proxied: str) -> None:
    """Five failures from one forwarded address refuse that address only: another browser
    behind the same proxy still signs in, and the failures name the forwarded address."""
    with httpx.Client(base_url=proxied, timeout=30) as client:
        assert [sign_in(client, BAD_KEY, "198.51.100.7") for _ in range(5)] == [401] * 5
        assert sign_in(client, api.tokens["admin"], "198.51.100.7") == 429
    with httpx.Client(base_url=proxied, timeout=30) as colleague:
        assert sign_in(colleague, api.tokens["admin"], "198.51.100.8") == 303
    events, _ = audit.events(api.store, action="console.signin-failed")
    assert [e.target for e in events] == ["198.51.100.7"] * 5


def test_an_address_written_by_the_client_is_not_believed(api: Api, proxied: str) -> None:
    """The proxy appends the address it saw; whatever the client put before it is ignored, so
    a new made-up address each time is still the same client."""
    with httpx.Client(base_url=proxied, timeout=30) as client:
        made_up = [sign_in(client, BAD_KEY, f"203.0.113.{n}, 198.51.100.7") for n in range(5)]
        assert made_up == [401] * 5
        assert sign_in(client, api.tokens["admin"], "203.0.113.50, 198.51.100.7") == 429


def test_a_sign_in_clears_no_one_elses_failures(api: Api, proxied: str) -> None:
    """A colleague signing in from the attacker's address takes back only their own attempt:
    the four failures before it still count, so the attacker has one guess left."""
    with httpx.Client(base_url=proxied, timeout=30) as attacker, \
            httpx.Client(base_url=proxied, timeout=30) as colleague:
        assert [sign_in(attacker, BAD_KEY, "198.51.100.7") for _ in range(4)] == [401] * 4
        assert sign_in(colleague, api.tokens["read"], "198.51.100.7") == 303
        assert sign_in(attacker, BAD_KEY, "198.51.100.7") == 401
        assert sign_in(attacker, BAD_KEY, "198.51.100.7") == 429


def test_sign_ins_use_up_no_attempts(api: Api) -> None:
    """Signing in succeeds however often it is done: only failures count towards the limit."""
    with httpx.Client(base_url=api.url, timeout=30) as client:
        assert [sign_in(client, api.tokens["read"]) for _ in range(8)] == [303] * 8
        assert [sign_in(client, BAD_KEY) for _ in range(5)] == [401] * 5
        assert sign_in(client, api.tokens["read"]) == 429
