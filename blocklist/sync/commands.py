"""`callscreen sync [FEED]` and `callscreen feeds list|add|remove|history`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from blocklist.actor import cli_actor
from blocklist.errors import CallscreenError, ConfigError
from blocklist.settings import Settings

if TYPE_CHECKING:
    from blocklist.store.admin import Store


def _store(settings: Settings) -> Store:
    # Imported here: `callscreen --help` should not pay for redis-py.
    from blocklist.store.admin import Store

    return Store.from_location(settings.redis, settings.key_prefix)


def cmd_sync(args: argparse.Namespace, settings: Settings) -> int:
    from blocklist.store.feeds import configs
    from blocklist.sync.manage import sync

    store = _store(settings)
    ids = [args.feed] if args.feed else list(configs(store))
    if not ids:
        print("no feeds are configured (callscreen feeds add FILE.json)", file=sys.stderr)
        return 1
    status = 0
    for feed_id in ids:
        result = sync(settings, store, feed_id, force=args.force, dry_run=args.dry_run,
                      actor=cli_actor(), reason=args.reason or "")
        counts = " ".join(f"{k}={v}" for k, v in result.counts.items())
        print(f"{feed_id}: {result.outcome} in {result.seconds:.1f} s  {counts}")
        if result.reason:
            print(f"  {result.reason}")
        applied = result.applied
        for row in (applied.rejected[:10] if applied else []):
            print(f"  rejected line {row.line}: {row.reason}")
        if args.dry_run and applied:
            diff = result.diff(limit=args.show)
            for name in ("added", "removed", "changed"):
                if diff[name]:
                    print(f"  {name}: {' '.join(diff[name])}"
                          f"{' ...' if len(getattr(applied, name)) > args.show else ''}")
        if result.outcome in ("refused", "failed"):
            status = 1
            if result.outcome == "refused" and not args.force:
                print("  --force applies it anyway (the override is audited)", file=sys.stderr)
    return status


def cmd_feeds(args: argparse.Namespace, settings: Settings) -> int:
    from blocklist.sync import manage

    store = _store(settings)
    if args.action == "list":
        feeds = manage.list_feeds(settings, store)
        if args.json:
            print(json.dumps(feeds, indent=2, sort_keys=True))
            return 0
        for item in feeds:
            cfg, state, last = item["config"], item["state"], item["last_run"] or {}
            print(f"{item['id']}  {cfg.get('format')}  {cfg.get('url') or cfg.get('path')}"
                  f"  every {cfg.get('interval_s', 3600)} s"
                  f"{'' if cfg.get('enabled', True) else '  [disabled]'}"
                  f"{'  [shadow]' if cfg.get('shadow') else ''}"
                  f"  last success {_when(state.get('last_success'))}"
                  f"  last run {last.get('outcome', '-')}")
        return 0
    if args.action == "add":
        if not args.target:
            raise ConfigError("feeds add needs a FILE.json")
        data = _read_json(args.target)
        items = data.get("feeds", [data]) if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise ConfigError(f"{args.target}: expected a feed object or a list of them")
        for item in items:
            config = manage.add_feed(settings, store, item, actor=cli_actor())
            print(f"saved feed {config.id} ({config.format}, {config.location})")
        return 0
    if not args.target:
        raise ConfigError(f"feeds {args.action} needs a feed ID")
    if args.action == "remove":
        if manage.remove_feed(settings, store, args.target, actor=cli_actor()):
            print(f"removed feed {args.target} (its entries stay until removed)")
            return 0
        print(f"no feed {args.target!r}", file=sys.stderr)
        return 1
    for run in manage.history(settings, store, args.target, args.limit):
        if args.json:
            print(json.dumps(run, sort_keys=True))
            continue
        counts = " ".join(f"{k}={v}" for k, v in run.get("counts", {}).items())
        print(f"{run['started_at']}  {run['outcome']:<9} {run['seconds']:>7.1f} s  {counts}"
              f"{'  forced' if run.get('forced') else ''}  {run.get('reason', '')}")
        for row in run.get("rejected_rows", [])[:5]:
            print(f"    line {row['line']}: {row['reason']}")
    return 0


def _read_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as exc:
        raise CallscreenError(f"{path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"{path} is not JSON: {exc}") from None


def _when(seconds: str | None) -> str:
    import datetime as dt

    if not seconds:
        return "never"
    return dt.datetime.fromtimestamp(float(seconds), dt.UTC).isoformat(timespec="seconds")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("sync", help="sync one feed (or every feed) now")
    p.add_argument("feed", nargs="?", help="feed id (default: every configured feed)")
    p.add_argument("--force", action="store_true",
                   help="apply even if the guard refuses (audited)")
    p.add_argument("--dry-run", action="store_true", help="print the diff, change nothing")
    p.add_argument("--reason", help="why (kept in the audit trail with --force)")
    p.add_argument("--show", type=int, default=20, help="keys of the diff to print")
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser("feeds", help="feed configurations and run history")
    p.add_argument("action", choices=["list", "add", "remove", "history"])
    p.add_argument("target", nargs="?", help="add: FILE.json; remove, history: feed ID")
    p.add_argument("--limit", type=int, default=20, help="history: runs to show")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_feeds)
