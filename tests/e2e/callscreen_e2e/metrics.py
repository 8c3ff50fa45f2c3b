"""Quantiles from a Prometheus histogram, as /metrics exposes it (cumulative `_bucket` lines)."""

from __future__ import annotations

import math
import re

_BUCKET = re.compile(r'^(?P<name>\w+)_bucket\{(?P<labels>[^}]*)\}\s+(?P<value>\S+)', re.M)
_LE = re.compile(r'le="(?P<le>[^"]+)"')


def buckets(text: str, name: str) -> list[tuple[float, float]]:
    """(upper bound, cumulative count) of a histogram, summed over its other labels."""
    sums: dict[float, float] = {}
    for match in _BUCKET.finditer(text):
        if match["name"] != name:
            continue
        le = _LE.search(match["labels"])
        if le is None:
            continue
        bound = math.inf if le["le"] == "+Inf" else float(le["le"])
        sums[bound] = sums.get(bound, 0.0) + float(match["value"])
    return sorted(sums.items())


def difference(after: list[tuple[float, float]], before: list[tuple[float, float]],
               ) -> list[tuple[float, float]]:
    """The observations made between two scrapes."""
    old = dict(before)
    return [(bound, count - old.get(bound, 0.0)) for bound, count in after]


def quantile(q: float, cumulative: list[tuple[float, float]]) -> float:
    """Like PromQL's histogram_quantile: linear interpolation inside the bucket."""
    if not cumulative or cumulative[-1][1] <= 0:
        return math.nan
    total = cumulative[-1][1]
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in cumulative:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound  # beyond the last finite bucket: its bound is all we know
            if count == lower_count:
                return bound
            share = (rank - lower_count) / (count - lower_count)
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, count
    return math.nan


def counter(text: str, name: str, **labels: str) -> float:
    """The sum of a counter's samples whose labels include `labels`."""
    total = 0.0
    for match in re.finditer(rf'^{re.escape(name)}(?:\{{(?P<labels>[^}}]*)\}})?\s+(?P<value>\S+)',
                             text, re.M):
        have = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"] or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(match["value"])
    return total
