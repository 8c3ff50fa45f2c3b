"""A feed's configuration: where it comes from, how to read it, when to sync it, its limits.

Built from a plain dict (the admin API's body, a stored configuration, the first-start file
named by `CALLSCREEN_FEEDS_FILE`) with `FeedConfig.from_dict`, which refuses unknown keys and
wrong types with `ConfigError` naming the key and the value. Example:

    {"id": "acm", "url": "https://example.org/acm.csv", "format": "delimited",
     "region": "NL", "category": "revoked", "interval_s": 3600,
     "auth_header": "Authorization", "auth_env": "ACM_FEED_TOKEN",
     "delimited": {"delimiter": ";", "columns": {"nummer": "number"}},
     "max_removal_ratio": 0.2, "shadow": false, "enabled": true}

The feed's id is also its source: its entries are that source's list.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from blocklist.errors import ConfigError
from blocklist.feeds import FORMATS, FeedFormatConfig

# What `FeedFormatConfig.from_dict` reads; passed through.
FORMAT_KEYS = frozenset({"region", "mode", "category", "applies_to", "limits", "delimited",
                         "bnetza"})
SYNC_KEYS = frozenset({"id", "url", "path", "format", "interval_s", "auth_header", "auth_env",
                       "timeout_s", "max_bytes", "retries", "max_removal_ratio", "shadow",
                       "enabled"})
_HEADER_NAME = re.compile(r"[A-Za-z0-9-]{1,64}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_MANUAL_IDS = frozenset({"manual", "reports"})  # sources that are not feeds


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """One feed. `url` (http/https) or `path`, never both."""

    id: str
    format: str
    formatting: FeedFormatConfig
    url: str | None = None
    path: str | None = None
    interval_s: float = 3600.0
    auth_header: str | None = None
    auth_env: str | None = None  # the environment variable holding the header's value
    timeout_s: float = 30.0
    max_bytes: int = 256 * 1024 * 1024  # after decompression
    retries: int = 3
    max_removal_ratio: float = 0.2
    shadow: bool = False  # entries are matched and counted but change no action
    enabled: bool = True
    raw: tuple[tuple[str, Any], ...] = ()  # the dict it was built from, for storing

    @property
    def location(self) -> str:
        return self.url or self.path or ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.raw)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, default_region: str = "NL") -> FeedConfig:
        if not isinstance(data, Mapping):
            raise ConfigError(f"a feed configuration must be an object, not {data!r:.80}")
        unknown = sorted(set(data) - SYNC_KEYS - FORMAT_KEYS)
        if unknown:
            known = ", ".join(sorted(SYNC_KEYS | FORMAT_KEYS))
            raise ConfigError(f"feed: unknown key(s) {', '.join(map(repr, unknown))};"
                              f" known: {known}")
        feed_id = data.get("id")
        formatting_input = {k: v for k, v in data.items() if k in FORMAT_KEYS}
        if not isinstance(feed_id, str):
            raise ConfigError(f"feed id {feed_id!r}: expected a string")
        formatting = FeedFormatConfig.from_dict({**formatting_input, "source": feed_id},
                                                default_region=default_region)
        if feed_id in _MANUAL_IDS:
            raise ConfigError(f"feed id {feed_id!r} is reserved for entries not from feeds")
        where = f"feed {feed_id!r}"
        fmt = data.get("format")
        if fmt not in FORMATS:
            raise ConfigError(f"{where}: format {fmt!r} is not one of {', '.join(FORMATS)}")
        url, path = data.get("url"), data.get("path")
        if (url is None) == (path is None):
            raise ConfigError(f"{where}: give exactly one of url and path")
        if url is not None:
            parts = urlsplit(url) if isinstance(url, str) else None
            if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
                raise ConfigError(f"{where}: url {url!r} is not an http:// or https:// URL")
        if path is not None and (not isinstance(path, str) or not path):
            raise ConfigError(f"{where}: path {path!r} is not a file path")
        header, env = data.get("auth_header"), data.get("auth_env")
        if (header is None) != (env is None):
            raise ConfigError(f"{where}: auth_header and auth_env go together")
        if header is not None and not (isinstance(header, str) and _HEADER_NAME.fullmatch(header)):
            raise ConfigError(f"{where}: auth_header {header!r} is not a header name")
        if env is not None and not (isinstance(env, str) and _ENV_NAME.fullmatch(env)):
            raise ConfigError(f"{where}: auth_env {env!r} is not an environment variable name")
        return cls(
            id=feed_id, format=fmt, formatting=formatting, url=url, path=path,
            interval_s=_number(data, "interval_s", 3600.0, 1.0, 366 * 86400.0, where),
            auth_header=header, auth_env=env,
            timeout_s=_number(data, "timeout_s", 30.0, 0.1, 3600.0, where),
            max_bytes=int(_number(data, "max_bytes", 256 * 1024 * 1024, 1, 1 << 40, where)),
            retries=int(_number(data, "retries", 3, 0, 10, where)),
            max_removal_ratio=_number(data, "max_removal_ratio", 0.2, 0.0, 1.0, where),
            shadow=_flag(data, "shadow", False, where),
            enabled=_flag(data, "enabled", True, where),
            raw=tuple(sorted(data.items())),
        )


def _number(data: Mapping[str, Any], name: str, default: float, low: float, high: float,
            where: str) -> float:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: {name} {value!r} is not a number")
    if not low <= value <= high:
        raise ConfigError(f"{where}: {name} {value!r} is outside {low:g}..{high:g}")
    return float(value)


def _flag(data: Mapping[str, Any], name: str, default: bool, where: str) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: {name} {value!r} is not true or false")
    return value


def load_file(path: str | Path, *, default_region: str = "NL") -> list[FeedConfig]:
    """Feeds from a JSON file: a list of feed objects, or `{"feeds": [...]}`."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"feeds file {str(path)!r}: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"feeds file {str(path)!r} is not JSON: {exc}") from None
    if isinstance(data, Mapping) and "feeds" in data:
        data = data["feeds"]
    if isinstance(data, Mapping):
        data = [data]
    if not isinstance(data, list):
        raise ConfigError(f"feeds file {str(path)!r}: expected a list of feeds")
    feeds = [FeedConfig.from_dict(item, default_region=default_region) for item in data]
    ids = [f.id for f in feeds]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ConfigError(f"feeds file {str(path)!r}: feed id(s) {duplicates} given twice")
    return feeds
