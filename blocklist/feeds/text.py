"""Turning a text feed's bytes into text, and refusing what is not a feed at all.

A download that was redirected to a login or error page arrives as HTML with status 200; it
must fail the sync, not become zero rows (docs/feeds.md: the list stays as it was).
"""

from __future__ import annotations

import csv
import re

from blocklist.errors import FeedError

_HTML = re.compile(r"\s*<(?:!doctype\s+html|html|head|body|table|\?xml|!--)", re.IGNORECASE)
_CANDIDATE_DELIMITERS = ",;\t|"


def decode_feed(data: bytes, encoding: str, fallback_encoding: str, what: str) -> str:
    """The text of a feed: `encoding` (a BOM is dropped), else `fallback_encoding`.

    Raises `FeedError` when neither decodes it, or when it is an HTML page.
    """
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        try:
            text = data.decode(fallback_encoding)
        except UnicodeDecodeError:
            raise FeedError(f"{what}: neither {encoding} nor {fallback_encoding} text") from None
    text = text.removeprefix("\ufeff")
    if _HTML.match(text):
        raise FeedError(f"{what}: got an HTML page, not a {what}")
    if "\x00" in text:
        raise FeedError(f"{what}: binary data (NUL bytes), not a {what}")
    return text


def sniff_delimiter(text: str) -> str:
    """The delimiter of CSV text, among `, ; TAB |`: csv.Sniffer, else the commonest one."""
    sample = text[:64 * 1024]
    try:
        return csv.Sniffer().sniff(sample, delimiters=_CANDIDATE_DELIMITERS).delimiter
    except csv.Error:
        first_line = sample.split("\n", 1)[0]
        counts = {d: first_line.count(d) for d in _CANDIDATE_DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def normalise_header(name: str) -> str:
    """A header cell compared loosely: no BOM, case-folded (ß is ss), spaces collapsed."""
    return " ".join(name.replace("\ufeff", "").casefold().split())
