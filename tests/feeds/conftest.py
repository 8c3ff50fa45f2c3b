"""Fixtures of the pure feed tests: number plans with the default protected numbers, a fixed
today. Nothing here touches Redis."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from blocklist.feeds import FeedFormatConfig, ParsedFeed, cached_plans, parse_feed
from blocklist.numbers import NumberPlan
from blocklist.settings import DEFAULT_PROTECTED

TODAY = dt.date(2026, 11, 2)


@pytest.fixture(scope="session")
def plan_for() -> Callable[[str], NumberPlan]:
    return cached_plans(DEFAULT_PROTECTED)


@pytest.fixture
def parse(plan_for: Callable[[str], NumberPlan]) -> Callable[..., ParsedFeed]:
    """parse(data, fmt, **config) with the test plans, TODAY and added_by "test"."""

    def run(data: bytes, fmt: str, **config: object) -> ParsedFeed:
        return parse_feed(
            data, fmt, FeedFormatConfig.from_dict(config), plan_for=plan_for, today=TODAY,
            added_by="test",
        )

    return run


def keys(feed: ParsedFeed) -> list[str]:
    """The labels of a parsed feed's entries, sorted (`+31...`, `+3190012345*`)."""
    return sorted(record.entry.label for record in feed.records)


def reasons(feed: ParsedFeed) -> list[tuple[int, str]]:
    return [(error.line, error.reason) for error in feed.errors]
