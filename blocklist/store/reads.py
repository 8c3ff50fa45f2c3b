"""Where the call path reads: its endpoints in order of preference, and a blocking
connection that tries them in turn within one time budget.

The endpoints are `CALLSCREEN_READ_URLS` when set (the replica on the same host or site
first). Else, with a Sentinel URL, the replicas the Sentinels name (those not down), then the
primary: asked with `SENTINEL replicas` and `SENTINEL get-master-addr-by-name`, the first
Sentinel that answers wins. Else the one Redis.

`FailoverConnection` serves the per-call script, `callscreen check` and the admin API's
`/v1/numbers`: it tries each endpoint in order with what is left of the budget, so a dead
replica costs a refused connection (microseconds on a LAN), not the call. The FastAGI server
keeps the endpoints' health between calls (`blocklist.store.replicas`). Lean imports, as
`blocklist.store.wire`: the per-call script pays for each.
"""

from __future__ import annotations

import contextlib
import time

import hiredis

from blocklist.errors import StoreError, StoreTimeoutError
from blocklist.store.wire import BlockingConnection, RedisAddress

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from blocklist.settings import RedisLocation, SentinelLocation
    from blocklist.store.wire import Command

# Error replies after which another endpoint may answer: a replica promoted or demoted
# (READONLY), loading its data after a resync (LOADING), or cut off from its primary with
# replica-serve-stale-data off (MASTERDOWN).
SWITCH_REPLIES = ("READONLY", "LOADING", "MASTERDOWN")


def switch_reply(replies: Sequence[object]) -> str | None:
    """The first reply's error code when it is one of SWITCH_REPLIES, else None."""
    for reply in replies:
        if isinstance(reply, hiredis.ReplyError):
            code = str(reply).split(" ", 1)[0]
            if code in SWITCH_REPLIES:
                return code
    return None


NOT_THE_PRIMARY = "a primary that is not the primary (an old primary restarted empty?)"


def unusable(info_replication: object, *, primary: bool = False,
             history: bool = False) -> str | None:
    """Why a node must not be read, from its INFO replication reply; None when it may be.

    A node that says it is a primary is read when it is a replica just promoted (it keeps
    its former primary's history: second_repl_offset), or when it is `primary` (the one the
    Sentinels name, or the configured primary URL) and, with `history` (Sentinel), has fed
    replicas (master_repl_offset above 0). Any other is not (NOT_THE_PRIMARY): a killed
    primary restarted with its own
    configuration comes back an empty primary with no history until the Sentinels make it a
    replica, and would answer "not listed" for every number, even to a process that has not
    yet heard of the failover and still takes it for the primary.
    A replica that has never completed a sync since it started answers from an empty
    dataset too: it is read only once its link to the primary is up, or once it was (it
    then holds the list as it was, which is what a replica of a dead primary serves).
    """
    raw = info_replication
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    if fields.get("role") != "slave":
        if fields.get("second_repl_offset", "-1").strip() not in ("-1", ""):
            return None
        if primary and (not history or fields.get("master_repl_offset", "0").strip()
                        not in ("0", "")):
            return None
        return NOT_THE_PRIMARY
    if fields.get("master_link_status") == "up" or fields.get(
            "master_link_down_since_seconds", "-1").strip() not in ("-1", ""):
        return None
    return "a replica that has not synced since it started"


INFO_REPLICATION = ("INFO", "replication")


def label(address: RedisAddress) -> str:
    """An endpoint's name in metrics and logs: host:port or the socket path (never a
    password)."""
    return address.path or f"{address.host}:{address.port}"


def node_address(location: SentinelLocation, host: str, port: int) -> RedisAddress:
    """A Redis node the Sentinels named, with the nodes' credentials, db and TLS."""
    return RedisAddress(host, port, tls=location.tls, username=location.username,
                        password=location.password, db=location.db)


def sentinel_address(location: SentinelLocation, host: str, port: int) -> RedisAddress:
    """A Sentinel, with the Sentinels' own credentials (never the nodes')."""
    return RedisAddress(host, port, username=location.sentinel_username,
                        password=location.sentinel_password)


def sentinel_commands(service: str) -> list[tuple[str, ...]]:
    return [("SENTINEL", "get-master-addr-by-name", service), ("SENTINEL", "replicas", service)]


def read_sentinel_replies(
    location: SentinelLocation, replies: Sequence[object]
) -> tuple[RedisAddress | None, list[RedisAddress]]:
    """(the primary, the replicas that may be read, sorted) from `sentinel_commands`'
    replies: those not down that report themselves replicas (an old primary back before
    the Sentinels reconfigure it is listed as a replica that reports itself a primary).
    Raises StoreError on replies a Sentinel should not send."""
    master, replicas = replies
    if isinstance(master, hiredis.ReplyError) or isinstance(replicas, hiredis.ReplyError):
        refusal = master if isinstance(master, hiredis.ReplyError) else replicas
        raise StoreError(f"Sentinel refused: {refusal}")
    primary = None
    if isinstance(master, list) and len(master) == 2:
        primary = node_address(location, _text(master[0]), int(master[1]))
    found = []
    for fields in replicas if isinstance(replicas, list) else ():
        state = {_text(k): _text(v) for k, v in zip(fields[::2], fields[1::2], strict=False)}
        flags = state.get("flags", "").split(",")
        if any(f in flags for f in ("s_down", "o_down", "disconnected")):
            continue
        # Not master-link-status: it says "err" until the Sentinel's first INFO of a replica
        # (seconds after it is found), and every node is asked itself anyway (`unusable`).
        if state.get("role-reported") != "slave":
            continue
        found.append(node_address(location, state["ip"], int(state["port"])))
    found.sort(key=lambda a: (a.host, a.port))
    return primary, found


def ask_sentinels(location: SentinelLocation, timeout_s: float) -> list[RedisAddress]:
    """The replicas the first answering Sentinel names, then the primary. Raises StoreError
    when no Sentinel answers within `timeout_s` in all."""
    deadline = time.monotonic() + timeout_s
    errors = []
    for host, port in location.sentinels:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            replies = BlockingConnection(sentinel_address(location, host, port), remaining).run(
                sentinel_commands(location.service))
            primary, replicas = read_sentinel_replies(location, replies)
        except StoreError as exc:
            errors.append(str(exc))
            continue
        if primary is None:
            errors.append(f"Sentinel {host}:{port} knows no primary {location.service!r}")
            continue
        return [*replicas, primary]
    raise StoreTimeoutError("no Sentinel answered: " + "; ".join(errors or ["no time left"]))


class FailoverConnection:
    """A blocking connection that reads from the first endpoint that answers, in order,
    all within `timeout_s` (the `Connection` that `Screener.screen` takes)."""

    def __init__(self, location: RedisLocation, timeout_s: float, *,
                 primary: bool = False) -> None:
        """`primary`: read the primary only (the admin side's `callscreen check` and
        `/v1/numbers`, which must see a write they just made), through the Sentinels when
        there are, else at `location.service_url()`."""
        self._location = location
        self._timeout_s = timeout_s
        self._primary = primary

    def endpoints(self, timeout_s: float) -> list[RedisAddress]:
        location = self._location
        sentinel = location.sentinel
        if self._primary:
            if sentinel is None:
                return [RedisAddress.from_url(location.service_url())]
            return ask_sentinels(sentinel, timeout_s)[-1:]
        if sentinel is not None and not location.read_urls:
            return ask_sentinels(sentinel, timeout_s)
        return [RedisAddress.from_url(url) for url in location.call_path_reads()]

    def run(self, commands: Sequence[Command]) -> list[object]:
        """The first endpoint's replies that are not a SWITCH_REPLIES error. Raises the last
        endpoint's StoreError (StoreTimeoutError when the budget ran out)."""
        deadline = time.monotonic() + self._timeout_s
        error: StoreError = StoreTimeoutError(
            f"no read endpoint answered within {self._timeout_s * 1000:.0f} ms")
        location = self._location
        endpoints = self.endpoints(self._timeout_s)
        # Each endpoint is asked first whether it may be read (in the same round trip): a
        # replica restarted empty, or an old primary back empty, must not answer "not
        # listed". Only the one configured Redis, with nothing else to read, is not asked.
        check = location.sentinel is not None or bool(location.read_urls)
        primary = self._known_primary(endpoints)
        for address in endpoints:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                replies = BlockingConnection(address, remaining).run(
                    [INFO_REPLICATION, *commands] if check else commands)
            except StoreError as exc:
                error = exc
                continue
            if not check:
                return replies
            history = location.sentinel is not None
            why = unusable(replies[0], primary=address == primary, history=history)
            if why == NOT_THE_PRIMARY and primary is None and location.sentinel is not None:
                # A CALLSCREEN_READ_URLS node says it is a primary: read it only when the
                # Sentinels name it (rare: after a failover promoted it).
                remaining = deadline - time.monotonic()
                with contextlib.suppress(StoreError):
                    primary = ask_sentinels(location.sentinel, remaining)[-1]
                why = unusable(replies[0], primary=address == primary, history=history)
            if why is None:
                return replies[1:]
            error = StoreError(f"Redis at {label(address)}: {why}")
        raise error

    def _known_primary(self, endpoints: list[RedisAddress]) -> RedisAddress | None:
        """The primary among `endpoints` when it is known without asking: the last one the
        Sentinels named, or the configured primary URL."""
        location = self._location
        if location.sentinel is None:
            return RedisAddress.from_url(location.call_path_url)
        if self._primary or not location.read_urls:
            return endpoints[-1] if endpoints else None
        return None


def _text(raw: object) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)
