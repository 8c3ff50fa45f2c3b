"""The roaming check of the per-call script: one blocking request within what is left of the
call's budget.

`ask_roaming` asks `CALLSCREEN_ROAMING_CHECK_URL` about one number (the bytes:
`agi.roaming_http`) and never raises: no answer by the deadline, a name that does not resolve
in time, a refused connection, a failed TLS handshake or an unreadable reply all mean
`Roaming.UNVERIFIED`, with the outcome (`timeout`, `error`) and what happened, for the log.
The per-call script calls it (through `Screener.screen`) only for a mobile home number from
abroad that the store did not already say is registered, after the store's round trip, with
what is left of `CALLSCREEN_LOOKUP_TIMEOUT_MS`: both together never take longer.

Plain `socket`: `ssl` is imported only for an https URL, and this module only for a call that
needs the check, so the script's other calls start no slower. A new process per call has no
cache: each such call asks. Over https the certificate and host name are verified against
`CALLSCREEN_ROAMING_CHECK_CA` (one CA file, about 2 ms) or else the system's trust store.
The script then loads only the system's CA directory (`ssl.get_default_verify_paths().capath`),
from which OpenSSL reads only the issuer the handshake needs, also about 2 ms, when (i) neither
`SSL_CERT_FILE` nor `SSL_CERT_DIR` is set (non-empty) and (ii) that directory holds OpenSSL's
hash links (a name `[0-9a-f]{8}.[0-9]+`, as `openssl rehash` makes: Debian's `/etc/ssl/certs`).
Otherwise (a directory of bundle files alone, as RHEL's `/etc/pki/tls/certs`; no directory;
either variable set) it takes OpenSSL's defaults, the bundle file loaded whole (about 30 ms on
the machine measured) and the directory, the variables honoured: a directory `SSL_CERT_DIR`
names adds to the bundle, it does not replace it (`trust_locations`). The TLS context is built
first, before the name is resolved, and its cost counted against the budget: a call with no
time left after it gives up before connecting. What can't be interrupted is that load itself
and importing `ssl` (12 to 15 ms in a fresh process where measured), so a call may overrun its
budget by that much. A CA file that can't be read (the per-call script does not check it on
each call) is an `error`: the number `roaming-unverified`, the call screened as usual.
"""

from __future__ import annotations

import os
import socket
import time

from agi.roaming_http import MAX_REPLY_BYTES, read_reply, request_bytes, roaming_endpoint
from blocklist.origin import Roaming
from blocklist.values import value

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ssl
    from collections.abc import Mapping
    from typing import Any

    Address = tuple[socket.AddressFamily, Any]  # (family, sockaddr)


@value
class RoamingAnswer:
    """What the check said: `outcome` is `verified`, `not-roaming`, `timeout` or `error`
    (the labels of callscreen_roaming_checks_total); `detail` says what went wrong."""

    roaming: Roaming
    outcome: str
    detail: str = ""


def ask_roaming(url: str, e164: str, timeout_s: float,
                ca_file: str | None = None) -> RoamingAnswer:
    """Ask the endpoint at `url` whether the owner of `e164` roams, within `timeout_s`
    (nothing is sent when it is not positive). Never raises."""
    deadline = time.monotonic() + timeout_s
    try:
        roaming = _ask(url, e164, deadline, ca_file)
    except TimeoutError as exc:
        return RoamingAnswer(Roaming.UNVERIFIED, "timeout", str(exc) or "timed out")
    except Exception as exc:  # refused, reset, TLS, a bad reply...: no answer, never a raise
        return RoamingAnswer(Roaming.UNVERIFIED, "error", f"{type(exc).__name__}: {exc}")
    outcome = "verified" if roaming is Roaming.VERIFIED else "not-roaming"
    return RoamingAnswer(roaming, outcome)


def trust_locations(ca_file: str | None, system_capath: str | None, capath_hashed: bool,
                    environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The `(cafile, capath)` that `ssl.create_default_context` verifies the endpoint against:
    the operator's `ca_file` if given; else the system's CA directory `system_capath` alone,
    which OpenSSL reads lazily, one issuer at a time, when it is hashed (`capath_hashed`: it
    holds OpenSSL's hash links) and `environ` sets neither `SSL_CERT_FILE` nor
    `SSL_CERT_DIR`; else `(None, None)`, OpenSSL's default paths (the bundle file whole and
    the directory, as those variables say)."""
    if ca_file:
        return ca_file, None
    if (system_capath is None or not capath_hashed
            or environ.get("SSL_CERT_FILE") or environ.get("SSL_CERT_DIR")):
        return None, None
    return None, system_capath


def is_hash_link_name(name: str) -> bool:
    """Whether `name` is one of OpenSSL's hash links in a CA directory: 8 lower-case hex
    digits, a dot, a decimal count (`[0-9a-f]{8}\\.[0-9]+`)."""
    return (len(name) > 9 and name[8] == "." and all(c in "0123456789abcdef" for c in name[:8])
            and all(c in "0123456789" for c in name[9:]))


def _is_hashed(directory: str | None) -> bool:
    """Whether `directory` holds at least one hash link (stops at the first); False when
    there is none or it can't be read."""
    if directory is None:
        return False
    try:
        with os.scandir(directory) as entries:
            return any(is_hash_link_name(entry.name) for entry in entries)
    except OSError:
        return False


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("no answer within the call's budget")
    return left


def _ask(url: str, e164: str, deadline: float, ca_file: str | None) -> Roaming:
    endpoint = roaming_endpoint(url)
    context = None
    if endpoint.tls:
        # First, and counted: importing ssl and loading the trust store can't be interrupted,
        # so a call late after it gives up before connecting.
        context = _client_context(ca_file)
    _left(deadline)
    error: OSError = TimeoutError("no answer within the call's budget")
    for family, address in _resolve(endpoint.host, endpoint.port, deadline):
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as exc:  # e.g. no IPv6 here: the next address may do
            error = exc
            continue
        try:
            sock.settimeout(_left(deadline))
            sock.connect(address)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        break
    else:
        raise error
    try:
        if context is not None:
            sock.settimeout(_left(deadline))  # the handshake, whole, within it
            sock = context.wrap_socket(sock, server_hostname=endpoint.host)
        sock.settimeout(_left(deadline))
        sock.sendall(request_bytes(endpoint, e164))
        reply = b""
        while len(reply) < MAX_REPLY_BYTES:
            sock.settimeout(_left(deadline))  # a timeout per recv alone would allow more
            more = sock.recv(MAX_REPLY_BYTES - len(reply))
            if not more:
                break
            reply += more
    finally:
        sock.close()
    return read_reply(reply)


def _client_context(ca_file: str | None) -> ssl.SSLContext:
    """A client context verifying certificate and host name (`ssl.create_default_context`)
    against `trust_locations`, the environment read now."""
    import ssl  # only for https: the script's other calls never load it

    capath = None if ca_file else ssl.get_default_verify_paths().capath  # no scan when unused
    cafile, capath = trust_locations(ca_file, capath, _is_hashed(capath), os.environ)
    return ssl.create_default_context(cafile=cafile, capath=capath)


def _resolve(host: str, port: int, deadline: float) -> list[Address]:
    """The addresses of `host`: an IP literal at once; a name in a thread of its own, waited
    for until the deadline (getaddrinfo itself has no timeout). Raises OSError for a name
    with no address (not a timeout: the resolver answered)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_NUMERICHOST)
    except socket.gaierror:
        pass  # a name, not an address
    else:
        return [(family, address) for family, _, _, _, address in found]
    import _thread  # the C module: `threading` costs more to import than this needs

    done = _thread.allocate_lock()
    done.acquire()
    results: list[list[Address] | OSError] = []

    def resolve() -> None:
        try:
            results.append([(family, address) for family, _, _, _, address
                            in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)])
        except OSError as exc:
            results.append(exc)
        finally:
            done.release()

    _thread.start_new_thread(resolve, ())
    if not done.acquire(timeout=_left(deadline)):
        raise TimeoutError(f"{host} did not resolve within the call's budget")
    result = results[0]
    if isinstance(result, OSError):
        raise result
    if not result:
        raise OSError(f"{host}: no address")
    return result
