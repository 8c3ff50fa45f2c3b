"""Phone numbers in logs: personal data, so hashed by default (`CALLSCREEN_LOG_NUMBERS`)."""

from __future__ import annotations


def number_for_log(e164: str | None, mode: str) -> str:
    """`hash`: a short stable digest (`#3f2a9c1e`); `plain`: as is; `none`: `-`."""
    if not e164 or mode == "none":
        return "-"
    if mode == "plain":
        return e164
    import hashlib  # only when a number is logged

    return "#" + hashlib.blake2b(e164.encode(), digest_size=4, person=b"callscreen").hexdigest()
