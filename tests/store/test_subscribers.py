"""The global allowlist and subscribers (`blocklist.store.subscribers`) on a real Redis."""

from __future__ import annotations

import pytest

from blocklist.entries import Mode
from blocklist.store.admin import Store

pytestmark = pytest.mark.redis


def test_allowlist_keeps_numbers_and_blocks_apart(store: Store) -> None:
    """A number and a block of the same digits are two allowlist entries, each with its note."""
    store.allow(("3185123", False), {"reason": "bank"})
    store.allow(("3185123", True), {"reason": "bank's block"})
    assert store.allowlist() == {("3185123", False): {"reason": "bank"},
                                 ("3185123", True): {"reason": "bank's block"}}
    assert store.disallow(("3185123", True)) is True
    assert store.disallow(("3185123", True)) is False
    assert list(store.allowlist()) == [("3185123", False)]


def test_subscriber_is_unknown_until_set_and_standard_by_default(store: Store) -> None:
    """No settings: None; set with nothing: known, mode standard, no language."""
    assert store.subscriber("31201234567") is None
    store.set_subscriber("31201234567")
    settings, personal = store.subscriber("31201234567") or (None, None)
    assert settings is not None and settings.mode is Mode.STANDARD
    assert settings.language is None and personal == []


def test_personal_allowlist_adds_and_removes(store: Store) -> None:
    """A personal allowlist entry makes the subscriber known; adding twice changes nothing."""
    assert store.personal_allow("31201234567", "31851234567", add=True) is True
    assert store.personal_allow("31201234567", "31851234567", add=True) is False
    assert store.subscriber("31201234567")[1] == ["31851234567"]  # type: ignore[index]
    assert store.personal_allow("31201234567", "31851234567", add=False) is True
    assert store.delete_subscriber("31201234567") is True
    assert store.subscriber("31201234567") is None
