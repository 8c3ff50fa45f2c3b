"""Every entry of a source as `Entry` values, for listing and export (the admin side).

`Store.source_entries` gives provenance JSON per key; this turns it into entries without
asking every other source (which `Store.entries_for` does, for explanations). A source is
read whole: at a million entries that takes a few seconds, so callers page over the result
rather than ask again per page where they can.
"""

from __future__ import annotations

from collections.abc import Iterator

from blocklist.entries import Entry
from blocklist.store.admin import Store
from blocklist.store.state import entry_from_meta


def source_entries(store: Store, source: str) -> Iterator[Entry]:
    """A source's entries, in no particular order. Raises StoreError when Redis fails."""
    for key, meta in store.source_entries(source).items():
        yield entry_from_meta(key, source, meta)


def all_entries(store: Store, sources: list[str] | None = None) -> Iterator[Entry]:
    """Every entry of the given sources (default: all), source by source."""
    for source in sources if sources is not None else store.sources():
        yield from source_entries(store, source)
