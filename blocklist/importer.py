"""`callscreen import FILE --format ...`: read a feed file (or standard input) into the store.

Parse with `blocklist.feeds.parse_feed`, print refused rows (line and reason, the first
`SHOWN_ERRORS`, then how many more), guard and apply (`blocklist.sync.apply`), print a summary.
Exit status 0 applied (or dry run), 1 refused by the guard (the message says why, and that
--force overrides) or unreadable. The progress bar goes to stderr, only on a terminal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import IO, Any, TypeVar

from blocklist.errors import CallscreenError, ConfigError, SyncRefusedError
from blocklist.feeds import FORMATS, FeedFormatConfig, parse_feed
from blocklist.settings import Settings

SHOWN_ERRORS = 20
READ_CHUNK = 1 << 20
T = TypeVar("T")


def import_file(args: argparse.Namespace, settings: Settings, redis_url: str) -> int:
    """Run `callscreen import`; see the module docstring."""
    from blocklist.store.admin import Store
    from blocklist.sync.apply import guard_and_apply
    from blocklist.sync.runner import plans_for

    started = time.perf_counter()
    fmt = args.format
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r} is not one of {', '.join(FORMATS)}")
    show_progress = not args.quiet and sys.stderr.isatty()
    config = _format_config(args, settings)
    data = _read_input(args.file, show_progress)
    parsed = parse_feed(data, fmt, config, plan_for=plans_for(settings),
                        today=dt.datetime.now(dt.UTC).date(),
                        added_by=f"import:{os.environ.get('USER', 'unknown')}")
    _print_rejected(parsed.errors)
    source = args.source or parsed.header.source
    store = Store.from_url(redis_url, settings.key_prefix,
                           min_replicas_ack=settings.min_replicas_ack)
    progress = _bar("applying", len(parsed.records), "entries") if show_progress else None
    try:
        outcome = guard_and_apply(store, parsed, source, max_removal_ratio=args.max_removal,
                                  force=args.force, dry_run=args.dry_run, progress=progress)
    except SyncRefusedError as exc:
        print(f"callscreen: import refused: {exc}", file=sys.stderr)
        print("callscreen: nothing was changed; --force applies it anyway", file=sys.stderr)
        return 1
    counts = outcome.counts()
    summary = "  ".join(f"{k}={v}" for k, v in counts.items())
    verb = "would change (dry run)" if args.dry_run else "imported"
    print(f"{verb} {source} ({parsed.header.mode.value}): {summary}"
          f"  seconds={time.perf_counter() - started:.1f}")
    return 0


def _format_config(args: argparse.Namespace, settings: Settings) -> FeedFormatConfig:
    data: dict[str, Any] = {}
    if args.config:
        try:
            with open(args.config, encoding="utf-8") as handle:
                data = json.load(handle)
        except OSError as exc:
            raise ConfigError(f"--config {args.config}: {exc.strerror}") from None
        except ValueError as exc:
            raise ConfigError(f"--config {args.config} is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"--config {args.config}: expected a JSON object")
    for name, value in (("region", args.region), ("source", args.source),
                        ("category", args.category)):
        if value:
            data[name] = value
    return FeedFormatConfig.from_dict(data, default_region=settings.region)


def _read_input(name: str, show_progress: bool) -> bytes:
    try:
        if name == "-":
            return _read_all(sys.stdin.buffer, None, show_progress)
        with open(name, "rb") as handle:
            return _read_all(handle, os.fstat(handle.fileno()).st_size, show_progress)
    except OSError as exc:
        raise CallscreenError(f"{name}: {exc.strerror}") from None


def _read_all(handle: IO[bytes], size: int | None, show_progress: bool) -> bytes:
    if not show_progress:
        return handle.read()
    from tqdm import tqdm

    chunks = []
    with tqdm(total=size, unit="B", unit_scale=True, desc="reading", file=sys.stderr,
              leave=False) as bar:
        while chunk := handle.read(READ_CHUNK):
            chunks.append(chunk)
            bar.update(len(chunk))
    return b"".join(chunks)


def _bar(desc: str, total: int, unit: str) -> Callable[[Iterable[T]], Iterable[T]]:
    from tqdm import tqdm

    def wrap(items: Iterable[T]) -> Iterable[T]:
        bar: Iterable[T] = tqdm(items, total=total, desc=desc, unit=unit, file=sys.stderr,
                                leave=False, miniters=10_000, mininterval=0.2)
        return bar

    return wrap


def _print_rejected(errors: list[Any]) -> None:
    for error in errors[:SHOWN_ERRORS]:
        print(f"line {error.line}: {error.reason}", file=sys.stderr)
    if len(errors) > SHOWN_ERRORS:
        print(f"... and {len(errors) - SHOWN_ERRORS} more rejected rows", file=sys.stderr)
