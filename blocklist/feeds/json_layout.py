"""Where things are in a JSON document's text: the line each record of `records` starts on.

`json.loads` keeps no positions, and an error message that says "record 5123" sends a person
counting. This walks the already validated document with `JSONDecoder.raw_decode`, which
returns where each value ends.
"""

from __future__ import annotations

import json
from collections.abc import Iterator


def record_lines(text: str, count: int) -> list[int]:
    """The line on which each element of the top-level `records` array starts."""
    decoder = json.JSONDecoder()
    lines: list[int] = []
    line, counted = 1, 0
    for position in _records_positions(text, decoder):
        line += text.count("\n", counted, position)  # only the stretch since the last one
        counted = position
        lines.append(line)
    # A document with "records" twice: json keeps the last; fall back to record numbers.
    return lines if len(lines) == count else list(range(1, count + 1))


def _records_positions(text: str, decoder: json.JSONDecoder) -> Iterator[int]:
    """Walk the top-level object of an already validated document with `raw_decode`."""
    index = _skip_space(text, text.index("{") + 1)
    while index < len(text) and text[index] != "}":
        key, index = decoder.raw_decode(text, index)
        index = _skip_space(text, _skip_space(text, index) + 1)  # past the colon
        if key == "records" and text.startswith("[", index):
            index = _skip_space(text, index + 1)
            while not text.startswith("]", index):
                yield index
                _, index = decoder.raw_decode(text, index)
                index = _skip_separator(text, index)
            index += 1
        else:
            _, index = decoder.raw_decode(text, index)
        index = _skip_separator(text, index)


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    return index


def _skip_separator(text: str, index: int) -> int:
    index = _skip_space(text, index)
    return _skip_space(text, index + 1) if text.startswith(",", index) else index
