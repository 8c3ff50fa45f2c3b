"""How to read one feed: format options as value objects, built from a plain dict.

The dict comes from a feed's stored configuration or the admin API. `FeedFormatConfig.from_dict`
refuses unknown keys (a typo must not silently fall back to a default) and wrong types, with
`ConfigError` messages naming the key and the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from blocklist.entries import AppliesTo, Category
from blocklist.errors import ConfigError
from blocklist.feeds.cells import DEFAULT_RANGE_WORDS, DEFAULT_SEPARATORS
from blocklist.feeds.model import SOURCE_PATTERN, FeedMode, Limits

RECORD_FIELDS = frozenset({"number", "prefix", "range_start", "range_end", "category",
                           "applies_to", "reason", "reference", "listed_at", "valid_until"})
DELIMITERS = frozenset({",", ";", "\t", "|"})
_E = TypeVar("_E", Category, AppliesTo, FeedMode)


@dataclass(frozen=True, slots=True)
class DelimitedFormat:
    """CSV/TSV options. `columns` maps header names (any case) to record fields; when empty,
    well-known English, Dutch and German header names are recognised (see `delimited`)."""

    delimiter: str = "auto"  # or one of , ; TAB |
    encoding: str = "utf-8-sig"
    fallback_encoding: str = "cp1252"
    columns: tuple[tuple[str, str], ...] = ()
    date_format: str = "%Y-%m-%d"
    separators: tuple[str, ...] = DEFAULT_SEPARATORS
    range_words: tuple[str, ...] = DEFAULT_RANGE_WORDS

    def __post_init__(self) -> None:
        if self.delimiter != "auto" and self.delimiter not in DELIMITERS:
            raise ConfigError(f"delimiter {self.delimiter!r}: expected auto, ',', ';', TAB or '|'")
        for header, target in self.columns:
            if target not in RECORD_FIELDS:
                raise ConfigError(
                    f"column {header!r} maps to {target!r}, not one of"
                    f" {', '.join(sorted(RECORD_FIELDS))}"
                )
        for name in ("encoding", "fallback_encoding"):
            _check_encoding(name, getattr(self, name))


@dataclass(frozen=True, slots=True)
class BnetzaFormat:
    """BNetzA measures list options: how long an order applies after its date."""

    valid_for_years: int = 1

    def __post_init__(self) -> None:
        years = self.valid_for_years
        if isinstance(years, bool) or not isinstance(years, int) or not 0 < years <= 10:
            raise ConfigError(f"valid_for_years {self.valid_for_years!r}: expected 1 to 10")


@dataclass(frozen=True, slots=True)
class FeedFormatConfig:
    """Everything a parser needs besides the bytes. Every option has a default.

    `source` names the list the records belong to; screening-feed/v1 names its own in the
    header, the other formats need it here. `category` and `applies_to` are the defaults for
    rows that don't say (plain lists never do).
    """

    region: str = "NL"
    source: str | None = None
    mode: FeedMode = FeedMode.SNAPSHOT
    category: Category = Category.REVOKED
    applies_to: AppliesTo | None = None
    limits: Limits = field(default_factory=Limits)
    delimited: DelimitedFormat = field(default_factory=DelimitedFormat)
    bnetza: BnetzaFormat = field(default_factory=BnetzaFormat)

    def __post_init__(self) -> None:
        if self.source is not None and not SOURCE_PATTERN.fullmatch(self.source):
            raise ConfigError(f"source {self.source!r}: expected 1-64 of A-Z a-z 0-9 _ . -")

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, default_region: str = "NL"
    ) -> FeedFormatConfig:
        """Build from a plain dict (JSON); `default_region` is the importer's region."""
        _only(data, {f.name for f in fields(cls)}, "feed config")
        region = _text(data, "region", default_region).upper()
        source = data.get("source")
        if source is not None and not isinstance(source, str):
            raise ConfigError(f"source {source!r} is not a string")
        applies = data.get("applies_to")
        return cls(
            region=region,
            source=source,
            mode=_choice(FeedMode, _text(data, "mode", FeedMode.SNAPSHOT.value), "mode"),
            category=_choice(Category, _text(data, "category", Category.REVOKED.value),
                             "category"),
            applies_to=None if applies is None else _choice(AppliesTo, applies, "applies_to"),
            limits=Limits(**_section(data, "limits", {f.name for f in fields(Limits)})),
            delimited=_delimited(_section(data, "delimited", {f.name for f in
                                                               fields(DelimitedFormat)})),
            bnetza=BnetzaFormat(**_section(data, "bnetza", {"valid_for_years"})),
        )


def _delimited(raw: dict[str, Any]) -> DelimitedFormat:
    columns = raw.pop("columns", {})
    if not isinstance(columns, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in columns.items()
    ):
        raise ConfigError(f"delimited.columns {columns!r}: expected {{header name: field}}")
    for name in ("separators", "range_words"):
        if name in raw:
            value = raw[name]
            if not isinstance(value, list | tuple) or not all(
                isinstance(v, str) and v for v in value
            ):
                raise ConfigError(f"delimited.{name} {value!r}: expected a list of strings")
            raw[name] = tuple(value)
    for name in ("delimiter", "encoding", "fallback_encoding", "date_format"):
        if name in raw and not isinstance(raw[name], str):
            raise ConfigError(f"delimited.{name} {raw[name]!r} is not a string")
    return DelimitedFormat(columns=tuple(columns.items()), **raw)


def _section(data: Mapping[str, Any], name: str, allowed: set[str]) -> dict[str, Any]:
    section = data.get(name, {})
    if not isinstance(section, Mapping):
        raise ConfigError(f"{name} {section!r}: expected an object")
    _only(section, allowed, name)
    return dict(section)


def _only(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))};"
            f" known: {', '.join(sorted(allowed))}"
        )


def _text(data: Mapping[str, Any], name: str, default: str) -> str:
    value = data.get(name, default)
    if not isinstance(value, str):
        raise ConfigError(f"{name} {value!r} is not a string")
    return value


def _choice(kind: type[_E], value: Any, name: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(m.value for m in kind)
        raise ConfigError(f"{name} {value!r} is not one of {choices}") from None


def _check_encoding(name: str, value: str) -> None:
    import codecs

    try:
        codecs.lookup(value)
    except LookupError:
        raise ConfigError(f"{name} {value!r} is not a known text encoding") from None
