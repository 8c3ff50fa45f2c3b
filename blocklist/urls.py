"""Small pieces of URL reading shared by the settings and the call path's Redis client.

Written here rather than taken from `urllib.parse`, whose import costs the per-call script
more than this whole module (tests/test_architecture.py keeps it out of that script).
"""

from __future__ import annotations


def unquote(text: str) -> str:
    """`text` with its percent-escapes decoded (credentials may hold `@`, `:` or `/`); a `%`
    not followed by two hex digits is kept as it is."""
    if "%" not in text:
        return text
    first, *parts = text.split("%")
    out = bytearray(first.encode())
    for part in parts:
        try:
            out += bytes.fromhex(part[:2]) + part[2:].encode()
        except ValueError:
            out += ("%" + part).encode()
    return out.decode("utf-8", "replace")
