"""Phone numbers in logs (CALLSCREEN_LOG_NUMBERS)."""

from __future__ import annotations

from blocklist.redaction import number_for_log


def test_hash_is_short_stable_and_hides_the_number() -> None:
    """The default mode logs a stable digest, never the digits."""
    first = number_for_log("+31851234567", "hash")
    assert first == number_for_log("+31851234567", "hash")
    assert first != number_for_log("+31851234568", "hash")
    assert first.startswith("#") and "1234567" not in first


def test_plain_and_none() -> None:
    """plain shows the number (the operator's choice); none and no number show a dash."""
    assert number_for_log("+31851234567", "plain") == "+31851234567"
    assert number_for_log("+31851234567", "none") == "-"
    assert number_for_log(None, "hash") == "-"
