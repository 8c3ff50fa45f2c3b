"""`callscreen fastagi`: the FastAGI server command (registered as a `callscreen` plugin)."""

from __future__ import annotations

import argparse

from blocklist.settings import Listen, Settings


def fastagi(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("fastagi", help="run the FastAGI server (the call path)")
    p.add_argument("--listen", help="HOST:PORT (default CALLSCREEN_FASTAGI_LISTEN, 127.0.0.1:4573)")
    p.add_argument("--workers", type=int, help="processes sharing the port (CALLSCREEN_WORKERS)")
    p.add_argument(
        "--metrics-listen", help="HOST:PORT for /metrics, or off (CALLSCREEN_METRICS_LISTEN)"
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from agi.runner import serve
    from blocklist.values import replace

    # The server is given the URL itself: the embedded Redis must be running now.
    changes: dict[str, object] = {"redis_url": settings.redis.service_url()}
    if args.listen:
        changes["fastagi_listen"] = Listen.parse(args.listen, name="--listen")
    if args.workers:
        changes["workers"] = args.workers
    if args.metrics_listen:
        changes["metrics_listen"] = (
            None if args.metrics_listen == "off"
            else Listen.parse(args.metrics_listen, name="--metrics-listen")
        )
    return serve(replace(settings, **changes))

