"""The roaming check over HTTPS, against a real local TLS server with a certificate of a test
CA (trustme), on both clients (the FastAGI server's asyncio one, the per-call script's blocking
one): verified against CALLSCREEN_ROAMING_CHECK_CA, host name included, or (the blocking one)
against the system's CA directory alone when it is hashed (here a temporary one, made the
system's), else the system's defaults; an untrusted certificate or a server that
never answers leaves the number unverified, the call answered."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
import trustme
from prometheus_client import REGISTRY

from agi.roaming import RoamingCheck
from agi.roaming_blocking import (
    _client_context,
    _is_hashed,
    ask_roaming,
    is_hash_link_name,
    trust_locations,
)
from blocklist.errors import ConfigError
from blocklist.origin import Roaming
from tests.agi.asterisk_peer import call_fastagi, environment
from tests.agi.test_fastagi import fastagi, metric
from tests.agi.test_roaming import AT_HOME, HANGS, ROAMER, Endpoint
from tests.agi.test_script import run_script


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The operator's internal CA, as CALLSCREEN_ROAMING_CHECK_CA names it."""
    path = tmp_path_factory.mktemp("ca") / "internal-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="module")
def other_ca_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A CA that did not sign the endpoint's certificate."""
    path = tmp_path_factory.mktemp("other") / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="module")
def tls_endpoint(ca: trustme.CA) -> Iterator[Endpoint]:
    """The roaming endpoint over TLS, its certificate for `localhost` only."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    with Endpoint(tls=context, host="localhost") as made:
        yield made


def hashed_dir(path: Path, ca: trustme.CA) -> str:
    """`path` as a hashed CA directory holding `ca` alone, named `<subject hash>.0` as
    `openssl rehash` names it (OpenSSL looks an issuer up by that name)."""
    path.mkdir()
    pem = path / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    try:
        made = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", str(pem)],
                              capture_output=True, text=True, check=True)
    except FileNotFoundError:
        pytest.fail("the openssl command is needed to hash a CA directory; install openssl")
    (path / f"{made.stdout.strip()}.0").symlink_to(pem.name)
    return str(path)


@pytest.fixture(scope="module")
def ca_dir(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A system-like hashed CA directory that trusts the endpoint's CA."""
    return hashed_dir(tmp_path_factory.mktemp("trusted") / "certs", ca)


@pytest.fixture(scope="module")
def unhashed_ca_dir(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A CA directory like RHEL's: the endpoint's CA in a PEM file, but no hash link."""
    path = tmp_path_factory.mktemp("unhashed") / "certs"
    path.mkdir()
    ca.cert_pem.write_to_path(str(path / "ca.pem"))
    return str(path)


@pytest.fixture(scope="module")
def other_ca_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A hashed CA directory holding only a CA that did not sign the endpoint's certificate."""
    return hashed_dir(tmp_path_factory.mktemp("untrusted") / "certs", trustme.CA())


def system_capath(monkeypatch: pytest.MonkeyPatch, capath: str) -> None:
    """Make `capath` the system's CA directory (`ssl.get_default_verify_paths().capath`), the
    rest of the default paths real; SSL_CERT_FILE and SSL_CERT_DIR unset."""
    real = ssl.get_default_verify_paths()
    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: real._replace(capath=capath))
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


def checks(outcome: str) -> float:
    """callscreen_roaming_checks_total{outcome} in this process (the asyncio client's)."""
    return REGISTRY.get_sample_value("callscreen_roaming_checks_total",
                                     {"outcome": outcome}) or 0.0


# -- the blocking client (the per-call script's) ------------------------------------------------


@pytest.mark.parametrize(("number", "roaming"), [(ROAMER, Roaming.VERIFIED),
                                                 (AT_HOME, Roaming.NOT_ROAMING)])
def test_blocking_client_over_tls(tls_endpoint: Endpoint, ca_file: str, number: str,
                                  roaming: Roaming) -> None:
    """The answer comes over TLS, verified against the configured CA."""
    answer = ask_roaming(tls_endpoint.url, number, 2.0, ca_file)
    assert (answer.roaming, answer.outcome) == (roaming, roaming.value)


@pytest.mark.parametrize("which", ["other CA", "system store", "wrong host"])
def test_blocking_client_refuses_an_untrusted_certificate(
    tls_endpoint: Endpoint, ca_file: str, other_ca_file: str, which: str
) -> None:
    """A certificate of another CA (or of a CA the system does not trust), or for another
    host name: no answer, outcome error, and nothing was asked."""
    url, ca = tls_endpoint.url, {"other CA": other_ca_file, "system store": None}.get(which)
    if which == "wrong host":  # the certificate names localhost, not 127.0.0.1
        url, ca = url.replace("localhost", "127.0.0.1"), ca_file
    before = len(tls_endpoint.asked)
    answer = ask_roaming(url, ROAMER, 2.0, ca)
    assert (answer.roaming, answer.outcome) == (Roaming.UNVERIFIED, "error")
    assert "CERTIFICATE_VERIFY_FAILED" in answer.detail
    assert len(tls_endpoint.asked) == before


@pytest.mark.parametrize(("ca_file", "capath", "hashed", "environ", "locations"), [
    ("/ca.pem", "/certs", True, {}, ("/ca.pem", None)),
    ("/ca.pem", None, False, {"SSL_CERT_FILE": "/b.pem"}, ("/ca.pem", None)),
    (None, "/certs", True, {}, (None, "/certs")),
    (None, "/certs", False, {}, (None, None)),
    (None, "/certs", True, {"SSL_CERT_DIR": "/certs"}, (None, None)),
    (None, "/certs", True, {"SSL_CERT_DIR": "/more"}, (None, None)),
    (None, "/certs", True, {"SSL_CERT_FILE": "/b.pem"}, (None, None)),
    (None, "/certs", True, {"SSL_CERT_FILE": "", "SSL_CERT_DIR": ""}, (None, "/certs")),
    (None, None, False, {}, (None, None)),
])
def test_trust_locations(ca_file: str | None, capath: str | None, hashed: bool,
                         environ: dict[str, str],
                         locations: tuple[str | None, str | None]) -> None:
    """The operator's CA file first; else the system's directory alone when it is hashed and
    neither SSL_CERT_FILE nor SSL_CERT_DIR is set; else the system's defaults."""
    assert trust_locations(ca_file, capath, hashed, environ) == locations


@pytest.mark.parametrize(("name", "link"), [
    ("1a2b3c4d.0", True), ("1a2b3c4d.12", True), ("1A2B3C4D.0", False), ("1a2b3c4d.", False),
    ("1a2b3c4d.r0", False), ("1a2b3c4g.0", False), ("1a2b3c4.0", False),
    ("ca-bundle.crt", False), ("1a2b3c4d0", False),
])
def test_is_hash_link_name(name: str, link: bool) -> None:
    """OpenSSL's hash link names, `[0-9a-f]{8}.[0-9]+`, and nothing else."""
    assert is_hash_link_name(name) is link


def test_is_hashed(ca_dir: str, unhashed_ca_dir: str, tmp_path: Path) -> None:
    """A directory with a hash link is hashed; one of PEM files alone, or none, is not."""
    assert (_is_hashed(ca_dir), _is_hashed(unhashed_ca_dir)) == (True, False)
    assert (_is_hashed(str(tmp_path / "absent")), _is_hashed(None)) == (False, False)


@pytest.mark.parametrize(("directory", "outcome"), [("trusted", "verified"),
                                                    ("other CA", "error")])
def test_blocking_client_verifies_against_the_hashed_ca_directory(
    tls_endpoint: Endpoint, ca_dir: str, other_ca_dir: str, monkeypatch: pytest.MonkeyPatch,
    directory: str, outcome: str
) -> None:
    """No CA file: the system's hashed CA directory is the trust store, alone. The endpoint's
    CA in it verifies; another CA alone in it refuses the certificate."""
    system_capath(monkeypatch, ca_dir if directory == "trusted" else other_ca_dir)
    answer = ask_roaming(tls_endpoint.url, ROAMER, 2.0)
    assert answer.outcome == outcome
    if outcome == "error":
        assert answer.roaming is Roaming.UNVERIFIED
        assert "CERTIFICATE_VERIFY_FAILED" in answer.detail


@pytest.mark.parametrize("case", ["hashed", "SSL_CERT_FILE", "SSL_CERT_DIR", "unhashed"])
def test_blocking_client_loads_the_ca_directory_lazily(
    ca_dir: str, unhashed_ca_dir: str, ca_file: str, monkeypatch: pytest.MonkeyPatch,
    case: str
) -> None:
    """From a hashed system directory no certificate is read before a handshake asks for its
    issuer. A bundle SSL_CERT_FILE names is read whole, at once; with SSL_CERT_DIR set, or a
    directory without hash links, the context is the default one, the system's bundle read
    whole."""
    system_capath(monkeypatch, unhashed_ca_dir if case == "unhashed" else ca_dir)
    bundle = ssl.create_default_context().cert_store_stats()["x509_ca"]  # the system's
    assert bundle > 0, "the system's CA bundle is needed to tell the default context apart"
    if case == "SSL_CERT_FILE":
        monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    if case == "SSL_CERT_DIR":
        monkeypatch.setenv("SSL_CERT_DIR", ca_dir)
    context = _client_context(None)
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)
    expected = {"hashed": 0, "SSL_CERT_FILE": 1}.get(case, bundle)
    assert context.cert_store_stats()["x509_ca"] == expected


def test_blocking_client_trusts_the_bundle_ssl_cert_file_names(
    tls_endpoint: Endpoint, ca_file: str, other_ca_dir: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SSL_CERT_FILE set: the operator's bundle is trusted, not only the directory (which
    here holds another CA alone)."""
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    monkeypatch.setenv("SSL_CERT_DIR", other_ca_dir)
    assert ask_roaming(tls_endpoint.url, ROAMER, 2.0).outcome == "verified"


def test_blocking_client_gives_up_on_a_silent_tls_server(silent_port: int,
                                                         ca_file: str) -> None:
    """Connected, but the handshake never comes: timeout, within the budget given."""
    answer = ask_roaming(f"https://localhost:{silent_port}/r/{{e164}}", ROAMER, 0.2, ca_file)
    assert (answer.roaming, answer.outcome) == (Roaming.UNVERIFIED, "timeout")


def test_blocking_client_gives_up_on_a_tls_server_that_never_answers(
    tls_endpoint: Endpoint, ca_file: str
) -> None:
    """The handshake done, the request sent, no reply: timeout."""
    answer = ask_roaming(tls_endpoint.url, HANGS, 0.2, ca_file)
    assert (answer.roaming, answer.outcome) == (Roaming.UNVERIFIED, "timeout")


# -- the asyncio client (the FastAGI server's) ------------------------------------------------


async def test_async_client_over_tls(tls_endpoint: Endpoint, ca_file: str) -> None:
    """The answer comes over TLS, verified against the configured CA."""
    check = RoamingCheck(tls_endpoint.url, 2.0, ca_file)
    assert await check.check(ROAMER) is Roaming.VERIFIED
    assert await check.check(AT_HOME) is Roaming.NOT_ROAMING


@pytest.mark.parametrize("which", ["other CA", "system store", "wrong host"])
async def test_async_client_refuses_an_untrusted_certificate(
    tls_endpoint: Endpoint, ca_file: str, other_ca_file: str, which: str
) -> None:
    """An untrusted certificate, or one for another host name: unverified, outcome error."""
    url, ca = tls_endpoint.url, {"other CA": other_ca_file, "system store": None}.get(which)
    if which == "wrong host":
        url, ca = url.replace("localhost", "127.0.0.1"), ca_file
    before = checks("error")
    assert await RoamingCheck(url, 2.0, ca).check(ROAMER) is Roaming.UNVERIFIED
    assert checks("error") - before == 1


@pytest.mark.parametrize("where", ["silent", "never answers"])
async def test_async_client_gives_up_on_a_tls_server_that_never_answers(
    tls_endpoint: Endpoint, silent_port: int, ca_file: str, where: str
) -> None:
    """No handshake, or no reply after it: unverified by the deadline, outcome timeout."""
    url = (f"https://localhost:{silent_port}/r/{{e164}}" if where == "silent"
           else tls_endpoint.url)
    before = checks("timeout")
    assert await RoamingCheck(url, 0.2, ca_file).check(HANGS) is Roaming.UNVERIFIED
    assert checks("timeout") - before == 1


def test_a_ca_file_openssl_refuses_is_a_config_error(tmp_path: Path) -> None:
    """A bundle that looks like PEM but is no certificate stops the server at start-up."""
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nMAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(ConfigError, match="CALLSCREEN_ROAMING_CHECK_CA"):
        RoamingCheck("https://hlr.example/{e164}", 0.1, str(bad))


# -- both call paths, whole ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_env(tls_endpoint: Endpoint, ca_file: str) -> dict[str, str]:
    return {"CALLSCREEN_ORIGIN_PRESET": "BE", "CALLSCREEN_ROAMING_CHECK_URL": tls_endpoint.url,
            "CALLSCREEN_ROAMING_CHECK_CA": ca_file}


def test_fastagi_verifies_a_roamer_over_tls(redis_url: str, tls_env: dict[str, str]) -> None:
    """The FastAGI server asks over TLS: the roamer connects, roaming-verified."""
    opening = environment(callerid=ROAMER, extension="0201234567",
                          args=("inbound", "", "", "international"))
    with mock.patch.dict(os.environ, tls_env), fastagi(redis_url) as (port, metrics, _):
        answer = call_fastagi(port, opening).variables
        verified = metric(metrics, "callscreen_roaming_checks_total", outcome="verified")
    assert (answer["SCREEN_ACTION"], answer["SCREEN_REASON"]) == ("allow", "roaming-verified")
    assert verified == 1


def test_the_script_verifies_a_roamer_over_tls(redis_url: str,
                                               tls_env: dict[str, str]) -> None:
    """The per-call script asks over TLS too."""
    answer = run_script(("inbound", "", "", "international"), redis_url, callerid=ROAMER,
                        env_extra=tls_env).variables
    assert (answer["SCREEN_ACTION"], answer["SCREEN_REASON"]) == ("allow", "roaming-verified")


def test_the_script_verifies_against_the_system_trust_store(redis_url: str,
                                                            tls_env: dict[str, str],
                                                            ca_file: str) -> None:
    """No CALLSCREEN_ROAMING_CHECK_CA: the script trusts the system's store, here the bundle
    SSL_CERT_FILE names (OpenSSL's defaults, the environment honoured)."""
    env = {key: value for key, value in tls_env.items() if key != "CALLSCREEN_ROAMING_CHECK_CA"}
    answer = run_script(("inbound", "", "", "international"), redis_url, callerid=ROAMER,
                        env_extra={**env, "SSL_CERT_FILE": ca_file}).variables
    assert (answer["SCREEN_ACTION"], answer["SCREEN_REASON"]) == ("allow", "roaming-verified")


def test_the_script_refuses_an_untrusted_certificate(redis_url: str, tls_env: dict[str, str],
                                                     other_ca_file: str) -> None:
    """The script with the wrong CA: unverified, the call answered, the error logged."""
    conv = run_script(("inbound", "", "", "international"), redis_url, callerid=ROAMER,
                      env_extra={**tls_env, "CALLSCREEN_ROAMING_CHECK_CA": other_ca_file})
    assert (conv.variables["SCREEN_REASON"], conv.variables["SCREEN_STATUS"]) == (
        "roaming-unverified", "ok")
    assert ": error (SSLCertVerificationError" in conv.log


@pytest.mark.parametrize("what", ["missing", "not PEM"])
def test_the_script_screens_as_usual_with_a_ca_it_cannot_read(
    redis_url: str, tls_env: dict[str, str], tmp_path: Path, what: str
) -> None:
    """A CA file rotated away, or unreadable, costs the script only the roaming check (outcome
    error, roaming-unverified, logged); the call is screened, status ok. A call that needs no
    roaming check is decided as usual."""
    ca = tmp_path / "rotated.pem"
    if what == "not PEM":
        ca.write_text("-----BEGIN CERTIFICATE-----\nMAAA\n-----END CERTIFICATE-----\n")
    env = {**tls_env, "CALLSCREEN_ROAMING_CHECK_CA": str(ca)}
    conv = run_script(("inbound", "", "", "international"), redis_url, callerid=ROAMER,
                      env_extra=env)
    assert (conv.variables["SCREEN_ACTION"], conv.variables["SCREEN_REASON"],
            conv.variables["SCREEN_STATUS"]) == ("block", "roaming-unverified", "ok")
    assert "roaming check for" in conv.log and ": error (" in conv.log
    fixed = run_script(("inbound", "", "", "international"), redis_url,
                       callerid="+31201234570", env_extra=env).variables
    assert (fixed["SCREEN_REASON"], fixed["SCREEN_STATUS"]) == ("national-cli-from-abroad", "ok")


def test_blocking_client_builds_tls_before_connecting(ca_file: str) -> None:
    """The TLS context (ssl's import, the trust store's load) comes first and counts against
    the budget: a call with no time left after it gives up before connecting. The load is
    made to outlast the budget here, by wrapping the real one."""
    real = ssl.create_default_context

    def slow_context(*args: object, **kwargs: object) -> ssl.SSLContext:
        context = real(*args, **kwargs)  # type: ignore[arg-type]
        threading.Event().wait(0.3)  # longer than the budget below
        return context

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        url = f"https://127.0.0.1:{server.getsockname()[1]}/r/{{e164}}"
        with mock.patch("ssl.create_default_context", slow_context):
            answer = ask_roaming(url, ROAMER, 0.1, ca_file)
        assert (answer.roaming, answer.outcome) == (Roaming.UNVERIFIED, "timeout")
        server.setblocking(False)
        with pytest.raises(BlockingIOError):
            server.accept()  # nobody connected
