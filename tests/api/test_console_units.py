"""The console's pure parts: the SVG chart, the redirect guard, the language and the feed
freshness rule."""

from __future__ import annotations

import datetime as dt

import pytest

from api.console.charts import Bar, hourly_bars
from api.console.feeds_page import age_text, freshness
from api.console.web import local_path, translate
from api.feed_models import FeedOut, FeedStateOut

HOUR = dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC)


def test_a_chart_draws_one_group_per_hour_scaled_to_the_busiest() -> None:
    """Each hour is a group with its figures in a title; the busiest hour fills the height."""
    chart = str(hourly_bars([Bar(HOUR, 4, 0), Bar(HOUR + dt.timedelta(hours=1), 1, 1)],
                            "hits", "in", "out"))
    assert chart.startswith("<svg") and chart.endswith("</svg>")
    assert chart.count("<g>") == 2
    assert "2026-12-01 10:00 UTC: in 4, out 0" in chart
    assert 'y="0.0" width' in chart  # 4 of 4: the bar starts at the top
    assert 'role="img" aria-label="hits"' in chart


def test_a_chart_escapes_its_texts() -> None:
    """A label holding markup is text inside the SVG."""
    chart = str(hourly_bars([], '<script>"x"</script>', "<b>", "&"))
    assert "<script>" not in chart
    assert "&lt;script&gt;" in chart


def test_an_empty_chart_is_an_empty_axis() -> None:
    """No hours: an axis and no bars."""
    chart = str(hourly_bars([], "hits", "in", "out"))
    assert "<rect" not in chart and "<line" in chart


@pytest.mark.parametrize(("candidate", "landing"), [
    ("/console/entries?source=acm", "/console/entries?source=acm"),
    ("/console", "/console"),
    ("https://evil.example/console", "/console/lookup"),
    ("//evil.example/console", "/console/lookup"),
    ("/v1/keys", "/console/lookup"),
    ("/console\\\\evil.example", "/console/lookup"),
    ("", "/console/lookup"),
])
def test_redirects_stay_on_the_console(candidate: str, landing: str) -> None:
    """Only a console path is a place to return to."""
    assert local_path(candidate) == landing


@pytest.mark.parametrize(("language", "key", "values", "text"), [
    ("en", "done.entry_added", {"subject": "+31855550101"}, "Entry +31855550101 added."),
    ("nl", "done.entry_added", {"subject": "+31855550101"},
     "Vermelding +31855550101 toegevoegd."),
    ("nl", "no.such.key", {}, "no.such.key"),
])
def test_translate_fills_the_catalogue_text(language: str, key: str,
                                            values: dict[str, object], text: str) -> None:
    """A key's text in the language, placeholders filled; an unknown key shows itself."""
    assert translate(language, key, **values) == text


def _feed(interval_s: float | None, last_success: dt.datetime | None) -> FeedOut:
    config = {"format": "plain"} | ({"interval_s": interval_s} if interval_s else {})
    return FeedOut(id="acm", config=config, state=FeedStateOut(last_success=last_success),
                   last_run=None)


@pytest.mark.parametrize(("interval_s", "ago_s", "stale"), [
    (3600, 3599, False), (3600, 7200, False), (3600, 7201, True), (None, 7201, True),
    (86400, 90000, False), (3600, None, True),
])
def test_a_feed_is_stale_past_two_intervals(interval_s: float | None, ago_s: float | None,
                                            stale: bool) -> None:
    """Stale: no success yet, or the last one older than two intervals (default an hour)."""
    success = HOUR - dt.timedelta(seconds=ago_s) if ago_s is not None else None
    assert freshness(_feed(interval_s, success), HOUR)["stale"] is stale


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "-"), (59, "0 min"), (7140, "119 min"), (7200, "2 h"), (172800, "2 d")])
def test_ages_read_in_the_largest_sensible_unit(seconds: float | None, text: str) -> None:
    """Minutes up to two hours, hours up to two days, then days."""
    assert age_text(seconds) == text
