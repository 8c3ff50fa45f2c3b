"""Feed administration as plain functions of (settings, store): for the CLI and the admin API.

Each returns plain data (dicts, lists) or raises `ConfigError` (a bad configuration, an
unknown feed) or `StoreError`. Changes are written to the audit trail with their actor.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from blocklist.errors import ConfigError
from blocklist.settings import Settings
from blocklist.store import feeds as feed_store
from blocklist.store.admin import Store
from blocklist.sync.config import FeedConfig, load_file
from blocklist.sync.runner import RunResult, run_feed

LOCK_MIN_S = 600.0


def _audit(store: Store, actor: str, action: str, target: str, detail: Mapping[str, Any],
           reason: str = "") -> None:
    from blocklist.store import audit

    audit.record(store, actor, action, target, detail, reason)


def feed(settings: Settings, store: Store, feed_id: str) -> FeedConfig:
    """A stored feed's configuration; ConfigError when there is none."""
    raw = feed_store.config(store, feed_id)
    if raw is None:
        raise ConfigError(f"no feed {feed_id!r} is configured")
    return FeedConfig.from_dict(raw, default_region=settings.region)


def list_feeds(settings: Settings, store: Store) -> list[dict[str, Any]]:
    """Every feed: its configuration, state (etag, last success, last run) and last run."""
    out = []
    for feed_id, raw in feed_store.configs(store).items():
        last = feed_store.runs(store, feed_id, limit=1)
        out.append({"id": feed_id, "config": raw, "state": feed_store.state(store, feed_id),
                    "last_run": last[0] if last else None})
    return out


def add_feed(settings: Settings, store: Store, data: Mapping[str, Any], *,
             actor: str) -> FeedConfig:
    """Validate and store a feed (replacing one of the same id)."""
    config = FeedConfig.from_dict(data, default_region=settings.region)
    feed_store.save_config(store, config.id, config.as_dict())
    _audit(store, actor, "feed.save", config.id, config.as_dict())
    return config


def remove_feed(settings: Settings, store: Store, feed_id: str, *, actor: str) -> bool:
    """Forget a feed (its entries stay: remove them with a forced empty sync or the API)."""
    removed = feed_store.delete_config(store, feed_id)
    if removed:
        _audit(store, actor, "feed.remove", feed_id, {})
    return removed


def history(settings: Settings, store: Store, feed_id: str, limit: int = 50
            ) -> list[dict[str, Any]]:
    return feed_store.runs(store, feed_id, limit)


def seed_from_file(settings: Settings, store: Store, path: str) -> list[str]:
    """First start: store the feeds of `path` (CALLSCREEN_FEEDS_FILE) that are not stored
    yet; configurations changed through the API win over the file. Returns the ids added."""
    known = feed_store.configs(store)
    added = []
    for config in load_file(path, default_region=settings.region):
        if config.id not in known:
            feed_store.save_config(store, config.id, config.as_dict())
            added.append(config.id)
    return added


class FeedBusyError(ConfigError):
    """Another process is syncing this feed now."""


def sync(settings: Settings, store: Store, feed_id: str, *, force: bool = False,
         dry_run: bool = False, actor: str = "cli", reason: str = "") -> RunResult:
    """Sync one feed now, under its lock (FeedBusyError when another process holds it)."""
    config = feed(settings, store, feed_id)
    token = feed_store.acquire_lock(store, feed_id, lock_ttl_s(config))
    if token is None:
        raise FeedBusyError(f"feed {feed_id!r} is being synced by another process")
    try:
        return run_feed(settings, store, config, force=force, dry_run=dry_run, actor=actor,
                        reason=reason)
    finally:
        feed_store.release_lock(store, feed_id, token)


def lock_ttl_s(config: FeedConfig) -> float:
    """Long enough for every download attempt and the apply; the lock expires if we die."""
    return max(LOCK_MIN_S, 2 * config.timeout_s * (config.retries + 1) + 300)
