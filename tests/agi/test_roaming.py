"""The roaming check, against a real local HTTP server, on both call paths (the FastAGI
server and the per-call script): asked only for a mobile home number from abroad, answered
within the call's budget, cached by the server; a hanging, refusing or failing endpoint leaves
the number unverified and the call answered."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

import pytest

from agi.roaming import RoamingCheck
from agi.roaming_blocking import ask_roaming
from agi.roaming_http import read_reply, request_bytes, roaming_endpoint
from blocklist.errors import ConfigError
from blocklist.origin import Roaming
from blocklist.redis_server import free_port
from tests.agi.asterisk_peer import call_fastagi, environment
from tests.agi.test_fastagi import fastagi, metric
from tests.agi.test_script import CHECKOUT, run_script

ROAMER, AT_HOME, HANGS, BROKEN = "+31612345601", "+31612345602", "+31612345603", "+31612345604"


class QuietServer(ThreadingHTTPServer):
    """A client that gives up mid-request (its budget ran out, it refused the certificate) is
    what these tests make happen: not worth a traceback on the test output."""

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # ssl.SSLError is an OSError too
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class Endpoint:
    """The operator's roaming endpoint: yes for ROAMER, no for AT_HOME, hangs for HANGS
    (until the test ends), 500 for the rest; counts the requests per number."""

    def __init__(self, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> None:
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

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:  # the handshake in the request's thread, not in accept()
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True,
                                                 do_handshake_on_connect=False)
        self.port = self.server.server_address[1]
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://{host}:{self.port}/roaming/{{e164}}"

    def __enter__(self) -> Endpoint:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def endpoint() -> Iterator[Endpoint]:
    with Endpoint() as made:
        yield made


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on: a connection is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


def test_an_a_attested_mobile_is_not_checked(server, endpoint: Endpoint,
                                             redis_url: str) -> None:
    """An `A` attestation counts as registered: neither call path asks the endpoint (one
    predicate, `Screener.roaming_may_matter`), and the call is allowed."""
    fastagi_caller, script_caller = "+31612345609", "+31612345610"
    opening = environment(callerid=fastagi_caller, extension="0201234567",
                          args=("inbound", "", "", "international", "A"))
    answer = call_fastagi(server[0], opening).variables
    conv = run_script(("inbound", "", "", "international", "A"), redis_url,
                      callerid=script_caller, timeout_ms=300,
                      env_extra={"CALLSCREEN_ORIGIN_PRESET": "BE",
                                 "CALLSCREEN_ROAMING_CHECK_URL": endpoint.url})
    for said in (answer, conv.variables):
        assert (said["SCREEN_ACTION"], said["SCREEN_STATUS"]) == ("allow", "ok")
    assert fastagi_caller not in endpoint.asked
    assert script_caller not in endpoint.asked


def test_a_failed_store_answers_without_waiting_for_the_roaming_check() -> None:
    """The store's round trip failed (the call fails open): the answer goes at once, while
    the roaming check is still out (its endpoint hangs, the budget is long), not when the
    check ends."""
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    with Endpoint() as hanging:
        env = {"CALLSCREEN_ORIGIN_PRESET": "BE", "CALLSCREEN_ROAMING_CHECK_URL": hanging.url}
        with mock.patch.dict(os.environ, env), \
                fastagi(dead_redis, timeout_ms=10_000) as (port, metrics, _):
            answer = ask(port, HANGS)
            assert (answer["SCREEN_ACTION"], answer["SCREEN_STATUS"]) == ("allow", "degraded")
            assert answer["SCREEN_REASON"] == "store-unavailable"
            # the check (asked beside the store) had not ended when the call was answered
            assert metric(metrics, "callscreen_roaming_checks_total") == 0


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


# -- the per-call script ----------------------------------------------------------------------


def script_ask(redis_url: str, url: str, callerid: str, origin: str = "international",
               **env: str):
    """One call through the real `callscreen-agi`, BE's preset, the endpoint at `url`."""
    return run_script(("inbound", "", "", origin), redis_url, callerid=callerid, timeout_ms=300,
                      env_extra={"CALLSCREEN_ORIGIN_PRESET": "BE",
                                 "CALLSCREEN_ROAMING_CHECK_URL": url, **env})


@pytest.mark.parametrize(("callerid", "action", "reason"), [
    (ROAMER, "allow", "roaming-verified"),
    (AT_HOME, "block", "national-cli-from-abroad"),
    (HANGS, "block", "roaming-unverified"),  # no answer within the budget
    (BROKEN, "block", "roaming-unverified"),  # a 500
])
def test_the_script_asks_the_roaming_endpoint(redis_url: str, endpoint: Endpoint,
                                              callerid: str, action: str, reason: str) -> None:
    """The per-call script verifies a roamer too; no answer in time or an error leaves the
    number unverified, and the call is answered (status ok) all the same."""
    answer = script_ask(redis_url, endpoint.url, callerid).variables
    assert (answer["SCREEN_ACTION"], answer["SCREEN_REASON"], answer["SCREEN_STATUS"]) == (
        action, reason, "ok")
    assert answer["SCREEN_NUMBER"] == callerid
    assert callerid in endpoint.asked


def test_the_script_logs_a_check_that_got_no_answer(redis_url: str, endpoint: Endpoint) -> None:
    """A timeout is said on stderr (Asterisk's log), with the outcome."""
    conv = script_ask(redis_url, endpoint.url, HANGS)
    assert conv.variables["SCREEN_REASON"] == "roaming-unverified"
    assert "roaming check for" in conv.log and ": timeout (" in conv.log


def test_the_script_survives_a_refused_connection(redis_url: str, closed_port: int) -> None:
    """Nothing listens: unverified, counted as an error in the log, the call answered."""
    conv = script_ask(redis_url, f"http://127.0.0.1:{closed_port}/r/{{e164}}", ROAMER)
    assert (conv.variables["SCREEN_REASON"], conv.variables["SCREEN_STATUS"]) == (
        "roaming-unverified", "ok")
    assert ": error (ConnectionRefusedError" in conv.log


@pytest.mark.parametrize(("callerid", "origin"), [
    ("+31201234568", "international"),  # fixed: only mobiles roam
    ("+31612345607", "national"),  # not from abroad
    ("+32470123457", "international"),  # not a home number
])
def test_the_script_asks_only_when_it_matters(redis_url: str, endpoint: Endpoint,
                                              callerid: str, origin: str) -> None:
    """Only a mobile home number from abroad is checked by the script too."""
    script_ask(redis_url, endpoint.url, callerid, origin)
    assert callerid not in endpoint.asked


MODULES_AFTER_A_CALL = """
import os, sys
sys.path.insert(0, sys.argv[1])
from agi.protocol import EnvironmentReader
from agi.script import screen
from blocklist.settings import Settings
reader = EnvironmentReader()
for line in ("agi_request: callscreen-agi", "agi_callerid: " + sys.argv[2],
             "agi_extension: 0201234567", ""):
    reader.feed(line)
decision = screen(Settings.from_env(os.environ), reader.environment,
                  ["inbound", "", "", "international"])
print(decision.reason)
print(" ".join(sorted(sys.modules)))
"""


def modules_after_a_call(redis_url: str, url: str, callerid: str) -> tuple[str, set[str]]:
    """The reason, and the modules loaded, after the script decided one call from abroad."""
    env = {"PATH": os.environ.get("PATH", ""), "CALLSCREEN_REDIS_URL": redis_url,
           "CALLSCREEN_REGION": "NL", "CALLSCREEN_ORIGIN_PRESET": "BE",
           "CALLSCREEN_ROAMING_CHECK_URL": url, "CALLSCREEN_LOOKUP_TIMEOUT_MS": "300"}
    done = subprocess.run([sys.executable, "-I", "-c", MODULES_AFTER_A_CALL, CHECKOUT, callerid],
                          capture_output=True, text=True, env=env, timeout=30, check=True)
    reason, modules = done.stdout.splitlines()
    return reason, set(modules.split())


def test_a_call_that_needs_no_check_loads_nothing_for_it(redis_url: str,
                                                         endpoint: Endpoint) -> None:
    """With the endpoint configured, a fixed number from abroad loads no roaming client, no
    json and no ssl (the per-call script's start-up); a mobile loads the client, and over
    http no ssl."""
    heavy = {"agi.roaming_blocking", "agi.roaming_http", "json", "ssl", "asyncio"}
    reason, fixed = modules_after_a_call(redis_url, endpoint.url, "+31201234569")
    assert reason == "national-cli-from-abroad"
    assert not fixed & heavy, sorted(fixed & heavy)
    reason, mobile = modules_after_a_call(redis_url, endpoint.url, ROAMER)
    assert reason == "roaming-verified"
    assert {"agi.roaming_blocking", "agi.roaming_http"} <= mobile
    assert not mobile & {"ssl", "asyncio"}


# -- the blocking client itself -----------------------------------------------------------------


@pytest.mark.parametrize(("number", "roaming", "outcome"), [
    (ROAMER, Roaming.VERIFIED, "verified"),
    (AT_HOME, Roaming.NOT_ROAMING, "not-roaming"),
    (BROKEN, Roaming.UNVERIFIED, "error"),
    (HANGS, Roaming.UNVERIFIED, "timeout"),
])
def test_ask_roaming(endpoint: Endpoint, number: str, roaming: Roaming, outcome: str) -> None:
    """The blocking client's answer and outcome; it never raises."""
    answer = ask_roaming(endpoint.url, number, 0.3)
    assert (answer.roaming, answer.outcome) == (roaming, outcome)


def test_ask_roaming_resolves_a_host_name(endpoint: Endpoint) -> None:
    """A host name (resolved within the budget, in a thread of its own) works as an address."""
    url = endpoint.url.replace("127.0.0.1", "localhost")
    assert ask_roaming(url, ROAMER, 2.0).outcome == "verified"


def test_ask_roaming_with_no_time_left_sends_nothing(endpoint: Endpoint) -> None:
    """The store took the whole budget: timeout at once, the endpoint not asked."""
    number = "+31612345608"
    answer = ask_roaming(endpoint.url, number, 0.0)
    assert (answer.roaming, answer.outcome) == (Roaming.UNVERIFIED, "timeout")
    assert number not in endpoint.asked


def test_ask_roaming_refused(closed_port: int) -> None:
    """A refused connection is an error, not an exception."""
    answer = ask_roaming(f"http://127.0.0.1:{closed_port}/{{e164}}", ROAMER, 0.5)
    assert (answer.roaming, answer.outcome) == (Roaming.UNVERIFIED, "error")
    assert "ConnectionRefusedError" in answer.detail


def test_ask_roaming_tries_the_next_address_family(endpoint: Endpoint) -> None:
    """An address of a family this host can't open a socket for (EAFNOSUPPORT, e.g. IPv6
    turned off) is skipped like a refused one: the next address answers."""
    unsupported = (250, ("::1", endpoint.port))  # no such family
    usable = (socket.AF_INET, ("127.0.0.1", endpoint.port))
    with mock.patch("agi.roaming_blocking._resolve", return_value=[unsupported, usable]):
        answer = ask_roaming(endpoint.url, ROAMER, 2.0)
    assert (answer.roaming, answer.outcome) == (Roaming.VERIFIED, "verified")


def test_ask_roaming_a_name_without_an_address_is_an_error() -> None:
    """The resolver answered with no address: an error saying so, not a timeout."""
    real = socket.getaddrinfo

    def getaddrinfo(host: str, *args: object, **kwargs: object) -> list[object]:
        if host == "hlr.invalid" and not kwargs.get("flags"):
            return []
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    with mock.patch("socket.getaddrinfo", getaddrinfo):
        answer = ask_roaming("http://hlr.invalid/r/{e164}", ROAMER, 2.0)
    assert (answer.roaming, answer.outcome) == (Roaming.UNVERIFIED, "error")
    assert "hlr.invalid: no address" in answer.detail


# -- the asyncio client's name resolution -------------------------------------------------------


async def test_the_server_resolves_the_endpoint_once(endpoint: Endpoint) -> None:
    """A host name is resolved once and its address reused (RESOLVED_S), not per check."""
    loop = asyncio.get_running_loop()
    lookups: list[object] = []
    real = loop.getaddrinfo

    async def counted(host: object, *args: object, **kwargs: object) -> object:
        lookups.append(host)
        return await real(host, *args, **kwargs)  # type: ignore[arg-type]

    check = RoamingCheck(endpoint.url.replace("127.0.0.1", "localhost"), 2.0)
    with mock.patch.object(loop, "getaddrinfo", counted):
        assert await check.check(ROAMER) is Roaming.VERIFIED
        assert await check.check(AT_HOME) is Roaming.NOT_ROAMING  # not cached: asked again
    assert lookups.count("localhost") == 1


async def test_a_hanging_resolver_holds_one_lookup_not_one_per_check(endpoint: Endpoint) -> None:
    """During a DNS outage (a lookup that never returns) the checks time out, unverified, and
    share the one lookup in flight: stuck lookups don't pile up, one per check."""
    loop = asyncio.get_running_loop()
    lookups: list[object] = []
    release = asyncio.Event()

    async def hanging(host: object, *args: object, **kwargs: object) -> object:
        lookups.append(host)
        await release.wait()
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    check = RoamingCheck(endpoint.url.replace("127.0.0.1", "hlr.invalid"), 0.05)
    with mock.patch.object(loop, "getaddrinfo", hanging):
        answers = await asyncio.gather(*(check.check(f"+3161234570{n}") for n in range(5)))
        assert answers == [Roaming.UNVERIFIED] * 5
        assert lookups == ["hlr.invalid"]
        release.set()
        assert await check.check("+31612345710") is Roaming.UNVERIFIED  # that lookup answers it
    assert lookups == ["hlr.invalid"]


# -- the bytes (pure) ---------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "request_line", "host"), [
    ("https://hlr.example/roaming/{e164}", "GET /roaming/+31612345678 HTTP/1.0",
     "hlr.example"),
    ("http://hlr.example:8080/r", "GET /r/+31612345678 HTTP/1.0", "hlr.example:8080"),
    ("http://10.0.0.5/r?key=abc", "GET /r/+31612345678?key=abc HTTP/1.0", "10.0.0.5"),
    ("http://[fd00::5]:81/q/{e164}/x", "GET /q/+31612345678/x HTTP/1.0", "[fd00::5]:81"),
    # {e164} in the query: the path left alone, the + encoded (raw, a server reads a space)
    ("http://hlr.example/r?msisdn={e164}", "GET /r?msisdn=%2B31612345678 HTTP/1.0",
     "hlr.example"),
    ("http://hlr.example/?key=k&n={e164}", "GET /?key=k&n=%2B31612345678 HTTP/1.0",
     "hlr.example"),
    ("http://hlr.example/r/{e164}?again={e164}",
     "GET /r/+31612345678?again=%2B31612345678 HTTP/1.0", "hlr.example"),
])
def test_request_bytes(url: str, request_line: str, host: str) -> None:
    """The URL template makes the request line and Host header; without `{e164}` the number
    is the last path segment."""
    lines = request_bytes(roaming_endpoint(url), "+31612345678").decode().split("\r\n")
    assert lines[0] == request_line
    assert lines[1] == f"Host: {host}"
    assert lines[-2:] == ["", ""]


@pytest.mark.parametrize(("url", "says"), [
    ("hlr.example/r", "expected http:// or https://"),
    ("ftp://hlr.example/{e164}", "expected http:// or https://"),
    ("http:///r", "expected http:// or https://"),
    ("http://hlr.example:http/r", "the port is not a port"),
    ("http://hlr.example:0/r", "port 0 is not a port"),
    ("https://user:pw@hlr.example/r/{e164}", "user info (user:password@) is not sent"),
    ("https://hlr.exämple/r/{e164}", "not ASCII"),
    ("https://hlr.example/rōaming/{e164}", "not ASCII"),
])
def test_a_bad_url_is_a_config_error(url: str, says: str) -> None:
    """A URL that is not http(s)://HOST/..., or one whose request could not be sent as
    written, is refused by name, saying why."""
    with pytest.raises(ConfigError, match="roaming check URL") as caught:
        roaming_endpoint(url)
    assert says in str(caught.value)
