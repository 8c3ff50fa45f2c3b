"""THE COMPARISON, not shipped code: the FastAGI screening an operator would write without us.

panoramisk's FastAGI `Application`, redis-py's asyncio client (with hiredis, as installed with
callscreen) and phonenumbers: per call, read the caller's number, one GET of a plain string
key per listed number, and four SET VARIABLEs. `bench/fastagi.py` runs it beside
`callscreen fastagi`, under the same load and the same event loop (uvloop), and prints the
ratio of calls per CPU-second. It does less than callscreen (no prefixes, no subscriber
settings, no allowlists, no policy): a generous baseline.

    python bench/baseline_fastagi.py --listen 127.0.0.1:PORT --redis redis://127.0.0.1:PORT/0
"""

from __future__ import annotations

import argparse
import asyncio
import signal

TYPE_CHECKING = False
if TYPE_CHECKING:
    from panoramisk.fast_agi import Request

KEY = "baseline:n:{}"  # one string key per listed number: the straightforward layout


def key_for(e164: str) -> str:
    return KEY.format(e164.lstrip("+"))


async def serve(host: str, port: int, redis_url: str, region: str) -> None:
    # Imported here, so that bench/fastagi.py can read KEY without these packages.
    import phonenumbers
    import redis.asyncio as redis
    from panoramisk.fast_agi import Application

    client = redis.Redis.from_url(redis_url, socket_timeout=0.2)

    async def screen(request: Request) -> None:
        try:
            parsed = phonenumbers.parse(request.headers.get("agi_callerid", ""), region)
            e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        except phonenumbers.NumberParseException:
            e164 = ""
        status = "ok"
        try:
            listed = await client.get(key_for(e164)) if e164 else None
        except (redis.RedisError, OSError):  # fail open
            listed, status = None, "degraded"
        action = "block" if listed else "allow"
        reason = "listed" if listed else "not-listed"
        for name, value in (("SCREEN_ACTION", action), ("SCREEN_NUMBER", e164),
                            ("SCREEN_REASON", reason), ("SCREEN_STATUS", status)):
            await request.send_command(f'SET VARIABLE {name} "{value}"')

    app = Application()
    app.add_route("screen", screen)
    server = await asyncio.start_server(app.handler, host, port, backlog=4096)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()
    await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True, help="HOST:PORT")
    parser.add_argument("--redis", required=True, help="redis:// URL")
    parser.add_argument("--region", default="NL")
    args = parser.parse_args()
    host, _, port = args.listen.rpartition(":")
    import uvloop

    uvloop.run(serve(host, int(port), args.redis, args.region))


if __name__ == "__main__":
    main()
