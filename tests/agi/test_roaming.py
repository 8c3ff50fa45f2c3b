"""The roaming check, against a real local HTTP server: asked only for a mobile home number
from abroad, answered within the call's budget, cached; a hanging or failing endpoint leaves
the number unverified and the call answered."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

import pytest

from agi.roaming import read_reply
from blocklist.origin import Roaming
from tests.agi.asterisk_peer import call_fastagi, environment
from tests.agi.test_fastagi import fastagi, metric

ROAMER, AT_HOME, HANGS, BROKEN = "+31612345601", "+31612345602", "+31612345603", "+31612345604"


class Endpoint:
    """The operator's roaming endpoint: yes for ROAMER, no for AT_HOME, hangs for HANGS
    (until the test ends), 500 for the rest; counts the requests per number."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.release = threading.Event()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                number = self.path.rsplit("/", 1)[-1]
                endpoint.asked.append(number)
                if number == HANGS:
                    endpoint.release.wait(10)
                    return
                if number not in (ROAMER, AT_HOME):
                    self.send_error(500)
                    return
                body = b'{"roaming": %s}' % (b"true" if number == ROAMER else b"false")
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/roaming/{{e164}}"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[Endpoint]:
    made = Endpoint()
    thread = threading.Thread(target=made.server.serve_forever, daemon=True)
    thread.start()
    yield made
    made.release.set()
    made.server.shutdown()
    made.server.server_close()


@pytest.fixture(scope="module")
def server(redis_url: str, endpoint: Endpoint) -> Iterator[tuple[int, int]]:
    env = {"CALLSCREEN_ORIGIN_PRESET": "BE", "CALLSCREEN_ROAMING_CHECK_URL": endpoint.url}
    with mock.patch.dict(os.environ, env), fastagi(redis_url) as (port, metrics, _):
        yield port, metrics


def ask(port: int, callerid: str, origin: str = "international") -> dict[str, str]:
    opening = environment(callerid=callerid, extension="0201234567",
                          args=("inbound", "", "", origin))
    return call_fastagi(port, opening).variables


def test_a_roaming_mobile_from_abroad_connects(server, endpoint: Endpoint) -> None:
    """The endpoint says roaming: the call is allowed, with its number, and says why."""
    verified = {"origin": "international", "reason": "roaming-verified"}
    before = metric(server[1], "callscreen_origin_calls_total", **verified)
    answer = ask(server[0], ROAMER)
    assert (answer["SCREEN_ACTION"], answer["SCREEN_NUMBER"]) == ("allow", ROAMER)
    assert answer["SCREEN_REASON"] == "roaming-verified"
    assert ROAMER in endpoint.asked
    assert metric(server[1], "callscreen_origin_calls_total", **verified) - before == 1


def test_a_mobile_at_home_is_spoofed(server) -> None:
    """The endpoint says not roaming: the BE policy blocks it as a national CLI from abroad."""
    answer = ask(server[0], AT_HOME)
    assert (answer["SCREEN_ACTION"], answer["SCREEN_REASON"]) == (
        "block", "national-cli-from-abroad")


def test_a_hanging_endpoint_leaves_the_number_unverified(server) -> None:
    """No answer within the budget: the call is still answered, as roaming-unverified."""
    before = metric(server[1], "callscreen_roaming_checks_total", outcome="timeout")
    answer = ask(server[0], HANGS)
    assert (answer["SCREEN_ACTION"], answer["SCREEN_REASON"], answer["SCREEN_STATUS"]) == (
        "block", "roaming-unverified", "ok")
    assert metric(server[1], "callscreen_roaming_checks_total", outcome="timeout") - before == 1


def test_a_failing_endpoint_leaves_the_number_unverified(server) -> None:
    """A 500 is no answer: roaming-unverified, counted as an error."""
    before = metric(server[1], "callscreen_roaming_checks_total", outcome="error")
    answer = ask(server[0], BROKEN)
    assert answer["SCREEN_REASON"] == "roaming-unverified"
    assert metric(server[1], "callscreen_roaming_checks_total", outcome="error") - before == 1


def test_answers_are_cached(server, endpoint: Endpoint) -> None:
    """A second call from the same roamer is decided from the cache: one request."""
    number = "+31612345605"
    ask(server[0], number)  # a 500: not cached
    ask(server[0], number)
    assert endpoint.asked.count(number) == 2
    ask(server[0], ROAMER)
    ask(server[0], ROAMER)
    assert endpoint.asked.count(ROAMER) == 1


@pytest.mark.parametrize(("callerid", "origin"), [
    ("+31201234567", "international"),  # fixed: only mobiles roam
    ("+31612345606", "national"),  # not from abroad
    ("+32470123456", "international"),  # not a home number
])
def test_the_endpoint_is_asked_only_when_it_matters(server, endpoint: Endpoint,
                                                    callerid: str, origin: str) -> None:
    """Only a mobile home number from abroad is checked."""
    ask(server[0], callerid, origin)
    assert callerid not in endpoint.asked


@pytest.mark.parametrize(("reply", "roaming"), [
    (b'HTTP/1.0 200 OK\r\n\r\n{"roaming": true}', Roaming.VERIFIED),
    (b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{"roaming":false}',
     Roaming.NOT_ROAMING),
])
def test_read_reply(reply: bytes, roaming: Roaming) -> None:
    """A 200 with a boolean `roaming` is an answer."""
    assert read_reply(reply) is roaming


@pytest.mark.parametrize("reply", [
    b'HTTP/1.0 404 Not Found\r\n\r\n{"roaming": true}', b'HTTP/1.0 200 OK\r\n\r\n{"roaming": 1}',
    b"HTTP/1.0 200 OK\r\n\r\n[true]", b"HTTP/1.0 200 OK\r\n\r\nyes", b"", b"garbage",
])
def test_read_reply_refuses_anything_else(reply: bytes) -> None:
    """Anything but a 200 with a boolean `roaming` is no answer (ValueError)."""
    with pytest.raises(ValueError):
        read_reply(reply)
