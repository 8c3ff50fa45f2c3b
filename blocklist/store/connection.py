"""How the admin side connects: a redis-py client for a plain URL, or for the primary that
Redis Sentinel names (`redis+sentinel://`, `blocklist.settings.SentinelLocation`).

Only here is redis-py's Sentinel client created. Two of its known problems are handled here:

- A password given for the Redis nodes is not sent to the Sentinels: the Sentinels get only
  what `sentinel_kwargs` says (redis/redis-py#1172, #1219: "give it twice"). Here the
  Sentinels' credentials are their own (`sentinel_password` in the URL), passed in
  `sentinel_kwargs`, and the nodes' never go to the Sentinels.
- A retry may keep reconnecting to the old primary instead of asking the Sentinels again
  (redis/redis-py#3560; the asyncio client's #3874). So redis-py's own retries are off for
  the Sentinel-managed client: a failed command fails at once (the API answers 503, a sync
  fails and runs again), and the next connection asks the Sentinels, which by then name the
  new primary. A READONLY reply from a demoted primary drops the connection (redis-py turns
  it into a connection error, redis/redis-py#435), so it too asks again.
"""

from __future__ import annotations

from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from blocklist.settings import SENTINEL_SCHEMES, SentinelLocation

COMMAND_TIMEOUT_S = 30.0  # a bulk apply's pipeline may take seconds on a loaded primary
CONNECT_TIMEOUT_S = 2.0  # a primary that is gone should not hold a request for long
SENTINEL_TIMEOUT_S = 1.0  # per Sentinel asked; the next is tried after it


def client_for(url: str) -> Any:
    """A redis-py client (decode_responses) for `url`: plain, or the Sentinels' primary."""
    if url.partition("://")[0] not in SENTINEL_SCHEMES:
        return redis.Redis.from_url(url, decode_responses=True, socket_timeout=COMMAND_TIMEOUT_S)
    location = SentinelLocation.parse(url)
    return sentinel_for(location).master_for(  # type: ignore[no-untyped-call]
        location.service, redis_class=redis.Redis, decode_responses=True,
        socket_timeout=COMMAND_TIMEOUT_S, socket_connect_timeout=CONNECT_TIMEOUT_S,
        db=location.db, username=location.username, password=location.password,
        ssl=location.tls, retry=Retry(NoBackoff(), 0),
    )


def sentinel_for(location: SentinelLocation) -> Sentinel:
    """redis-py's Sentinel client for `location`, with the Sentinels' own credentials."""
    sentinel_kwargs: dict[str, Any] = {
        "socket_timeout": SENTINEL_TIMEOUT_S, "socket_connect_timeout": SENTINEL_TIMEOUT_S,
        "decode_responses": True,
    }
    if location.sentinel_password is not None:
        sentinel_kwargs["password"] = location.sentinel_password
        sentinel_kwargs["username"] = location.sentinel_username
    return Sentinel(  # type: ignore[no-untyped-call]
        list(location.sentinels), sentinel_kwargs=sentinel_kwargs)


def primary_address(client: Any) -> str | None:
    """host:port of the primary a Sentinel-managed client would connect to now (asking the
    Sentinels), or None for a plain client. Raises redis-py's errors."""
    pool = client.connection_pool
    if not hasattr(pool, "get_master_address"):
        return None
    host, port = pool.get_master_address()
    return f"{host}:{port}"
