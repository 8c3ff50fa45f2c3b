"""Running the FastAGI server: event loop, metrics endpoint, signals, worker processes.

With `workers > 1` each worker is its own process listening on the same port (SO_REUSEPORT:
the kernel spreads connections), and the parent serves the workers' merged metrics
(prometheus-client's multiprocess mode). SIGTERM or SIGINT stops accepting, lets calls in
flight finish, and exits 0.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import os
import signal
import sys
import tempfile

from blocklist.settings import Settings, check_at_start

TYPE_CHECKING = False
if TYPE_CHECKING:
    from blocklist.store.multiplexer import Multiplexer
    from blocklist.store.primary import PrimaryWriter
    from blocklist.store.replicas import ReadEndpoints

log = logging.getLogger("callscreen.fastagi")


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level, stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s",
    )


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # uvloop is optional off Linux; the stdlib loop is slower, not wrong
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


async def serve_async(
    settings: Settings, *, reuse_port: bool = False, ready: asyncio.Event | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve until `stop` is set (or SIGTERM/SIGINT when `stop` is None)."""
    from agi.fastagi import CallHandler, FastAgiServer
    from blocklist.numbering_drift import report_numbering_drift
    from blocklist.screening import Screener
    from blocklist.store.activity_counter import ActivityCounter, ActivityFlusher
    from blocklist.store.layout import SCREENING_SCRIPT, KeySpace, script_sha

    if settings.redis_url is None:
        raise ValueError("serve_async needs settings.redis_url")
    check_at_start(settings)  # a CA file that can't be read stops the start, said plainly
    store, where = await read_store(settings, [("SCRIPT", "LOAD", SCREENING_SCRIPT)])
    # Activity counts go out on a connection of their own, so a flush never sits in line
    # before a call's lookup; it writes, so it is the primary's.
    flushes = primary_writer(settings)
    activity = ActivityFlusher(ActivityCounter(), flushes, KeySpace(settings.key_prefix),
                               settings.activity_flush_s)
    from agi.roaming import RoamingCheck

    roaming = (
        RoamingCheck(settings.roaming_check_url, settings.lookup_timeout_s,
                     settings.roaming_check_ca)
        if settings.roaming_check_url else None
    )
    handler = CallHandler(Screener(settings, script_sha=script_sha()), store, activity.counter,
                          roaming)
    server = FastAgiServer(handler, settings.max_calls)
    listen = settings.fastagi_listen
    port = await server.start(listen.host, listen.port, reuse_port=reuse_port)
    log.info("FastAGI listening on %s:%d (redis: %s)", listen.host, port, where)
    report_numbering_drift()
    # What start-up built (modules, settings, number tables) lives as long as the process:
    # out of the collector's sight, so its full collections stay cheap while calls run.
    gc.collect()
    gc.freeze()
    # A call's objects mostly die by reference count within a millisecond; collecting the
    # youngest generation every 700 allocations (the default) traversed calls still in flight.
    gc.set_threshold(20_000, 10, 10)
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    activity.start()
    if ready is not None:
        ready.set()
    await stop.wait()
    log.info("stopping: %d calls in flight", len(server.connections))
    await server.stop()
    await activity.stop()  # the counts of the last seconds, then the connection
    await flushes.close()


def primary_writer(settings: Settings) -> PrimaryWriter:
    """Where the activity flusher writes: the primary (with Sentinel, the one the Sentinels
    name at each flush, so it follows a failover and never holds up start-up)."""
    from blocklist.store.primary import PrimaryWriter
    from blocklist.store.wire import RedisAddress

    sentinel = settings.redis.sentinel
    if sentinel is None:
        return PrimaryWriter(RedisAddress.from_url(settings.redis.service_url()))
    return PrimaryWriter(sentinel=sentinel)


async def read_store(
    settings: Settings, setup: list[tuple[str, ...]]
) -> tuple[Multiplexer | ReadEndpoints, str]:
    """Where calls read (and a description for the log): one Redis through one multiplexed
    connection, or, with CALLSCREEN_READ_URLS or a Sentinel URL, the read endpoints in order
    (`blocklist.store.replicas`)."""
    from blocklist.store.multiplexer import Multiplexer
    from blocklist.store.replicas import ReadEndpoints
    from blocklist.store.wire import RedisAddress

    location = settings.redis
    sentinel = location.sentinel
    if location.read_urls or sentinel is not None:
        addresses = [RedisAddress.from_url(url) for url in location.read_urls]
        # Without Sentinel, the configured Redis is the primary (the one node that may say so).
        primary = RedisAddress.from_url(location.service_url()) if sentinel is None else None
        endpoints = ReadEndpoints(addresses, sentinel=sentinel, primary=primary, setup=setup)
        await endpoints.start()
        what = ", ".join(e.label for e in endpoints.endpoints) or "none yet"
        return endpoints, f"read endpoints {what}"
    address = RedisAddress.from_url(location.service_url())
    return Multiplexer(address, setup=setup), str(address)


def _worker(settings: Settings, index: int) -> None:
    configure_logging(settings.log_level)
    loop = _new_loop()
    try:
        loop.run_until_complete(serve_async(settings, reuse_port=True))
    finally:
        loop.close()


def serve(settings: Settings) -> int:
    """Blocking entry point of `callscreen fastagi`."""
    configure_logging(settings.log_level)
    if settings.workers <= 1:
        if settings.metrics_listen is not None:
            from prometheus_client import start_http_server

            start_http_server(settings.metrics_listen.port, settings.metrics_listen.host)
        loop = _new_loop()
        try:
            loop.run_until_complete(serve_async(settings))
        finally:
            loop.close()
        return 0

    metrics_dir = tempfile.mkdtemp(prefix="callscreen-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir  # read by prometheus-client on import
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_worker, args=(settings, i), name=f"fastagi-{i}", daemon=False)
        for i in range(settings.workers)
    ]
    for worker in workers:
        worker.start()
    if settings.metrics_listen is not None:
        from prometheus_client import CollectorRegistry, start_http_server
        from prometheus_client.multiprocess import MultiProcessCollector

        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=metrics_dir)  # type: ignore[no-untyped-call]
        start_http_server(settings.metrics_listen.port, settings.metrics_listen.host, registry)

    def forward(signum: int, _frame: object) -> None:
        for worker in workers:
            if worker.pid is not None and worker.is_alive():
                os.kill(worker.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    status = 0
    for worker in workers:
        worker.join()
        status = status or (worker.exitcode or 0)
    return 0 if status in (0, -signal.SIGTERM) else 1
