"""The AGI protocol as Asterisk 22 speaks it (docs/design.md). Pure: parsing and formatting.

Asterisk opens with `agi_*: value` lines ending in an empty line, then answers each command:

    200 result=1 (value)                    success, with optional data in brackets
    510 Invalid or unknown command
    511 Command Not Permitted on a dead channel or intercept routine
    520-Invalid command syntax.  Proper usage follows:
    ...                                     usage lines
    520 End of proper usage.

On FastAGI it also writes a bare `HANGUP` line, unprompted, the moment the channel hangs up:
a notification, not the reply to the command in flight. `ReplyReader` keeps the two apart.

Why not pyst2 (the design's first choice): its `_quote` wraps values in double quotes without
escaping quotes, backslashes or newlines, so text with `"` or a line break becomes a second
command; after SIGHUP it refuses to send anything, so the variables the `h` extension reads
are never set; it writes debug lines to stderr on every command, and it has no FastAGI server
for Python 3. Both our AGI front ends share this module instead.
"""

from __future__ import annotations

import re
from functools import cache

from blocklist.values import value

MAX_ENV_LINES = 200
MAX_LINE_BYTES = 4096
# One environment line: `agi_<name>: value`, the value at most MAX_LINE_BYTES long. Compiled
# on first use: only the FastAGI server's fast path needs it, not the per-call script.
_ENV_LINE_PATTERN = rf"^agi_([A-Za-z0-9_]*[A-Za-z0-9][A-Za-z0-9_]*):(.{{0,{MAX_LINE_BYTES}}})\r?$"
_OK = "200 result=1"


@cache
def _env_line() -> re.Pattern[str]:
    return re.compile(_ENV_LINE_PATTERN, re.MULTILINE)


class AgiProtocolError(Exception):
    """Asterisk (or whatever is on the other end) broke the protocol."""


@value
class Reply:
    """Asterisk's answer to one command."""

    code: int
    result: str = ""
    data: str = ""
    text: str = ""  # the whole reply, usage lines included

    @property
    def ok(self) -> bool:
        return self.code == 200


class Environment:
    """The `agi_*` variables Asterisk sent, keys without the `agi_` prefix."""

    __slots__ = ("values",)

    def __init__(self, values: dict[str, str] | None = None) -> None:
        self.values: dict[str, str] = values if values is not None else {}

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    @property
    def args(self) -> list[str]:
        """`agi_arg_1`, `agi_arg_2`, ... in order."""
        out: list[str] = []
        while f"arg_{len(out) + 1}" in self.values:
            out.append(self.values[f"arg_{len(out) + 1}"])
        return out


class EnvironmentReader:
    """Collects environment lines. `feed` returns True once the empty line has arrived."""

    def __init__(self) -> None:
        self.environment = Environment()
        self._lines = 0

    def feed(self, line: str) -> bool:
        if line == "":
            return True
        self._lines += 1
        if self._lines > MAX_ENV_LINES:
            raise AgiProtocolError(f"AGI environment longer than {MAX_ENV_LINES} lines")
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep or not key.startswith("agi_") or not key[4:].replace("_", "").isalnum():
            raise AgiProtocolError(f"malformed AGI environment line {line[:80]!r}")
        self.environment.values[key[4:]] = value.strip()
        return False


    def feed_block(self, text: str) -> None:
        """Every line of a block of environment lines (without the final empty line).

        The same rules as `feed`, checked with one regular expression over the block: the
        FastAGI server's fast path.
        """
        lines = text.count("\n") + 1
        self._lines += lines
        if self._lines > MAX_ENV_LINES:
            raise AgiProtocolError(f"AGI environment longer than {MAX_ENV_LINES} lines")
        env_line = _env_line()
        pairs = env_line.findall(text)
        if len(pairs) != lines:
            bad = next(
                (line for line in text.split("\n") if not env_line.fullmatch(line)), text
            )
            raise AgiProtocolError(f"malformed AGI environment line {bad[:80]!r}")
        values = self.environment.values
        for key, text_value in pairs:
            values[key] = text_value.strip()


class ReplyReader:
    """Turns reply lines into `Reply`s; says which lines were hangup notifications.

    `feed(line)` returns a Reply when one is complete, else None; `hung_up` becomes true when
    a bare `HANGUP` line arrives.
    """

    def __init__(self) -> None:
        self.hung_up = False
        self._usage: list[str] | None = None

    def feed(self, line: str) -> Reply | None:
        if self._usage is not None:
            self._usage.append(line)
            if line.startswith("520 "):
                text = "\n".join(self._usage)
                self._usage = None
                return Reply(520, text=text)
            if len(self._usage) > MAX_ENV_LINES:
                raise AgiProtocolError("520 usage text never ended")
            return None
        if line == "HANGUP":
            self.hung_up = True
            return None
        if line.startswith("520-"):
            self._usage = [line]
            return None
        return parse_reply(line)


def parse_reply(line: str) -> Reply:
    """One single-line reply: `200 result=1 (value)`, `510 ...`, `511 ...`, `520 ...`."""
    if line == _OK:
        return _OK_REPLY  # SET VARIABLE's answer: most replies are exactly this
    code_text, _, rest = line.partition(" ")
    if len(code_text) != 3 or not code_text.isdigit():
        raise AgiProtocolError(f"malformed AGI reply {line[:80]!r}")
    code = int(code_text)
    result = data = ""
    if code == 200 and rest.startswith("result="):
        value = rest[7:]
        result, _, tail = value.partition(" ")
        tail = tail.strip()
        if tail.startswith("(") and ")" in tail:
            data = tail[1 : tail.rindex(")")]
    return Reply(code, result, data, line)


_OK_REPLY = Reply(200, "1", "", _OK)


def quote(value: str) -> str:
    """One AGI command argument: in double quotes, with `"` and `\\` escaped.

    Line breaks and other control characters are dropped, never escaped: Asterisk ends a
    command at the first newline, so no value can ever start a second command.
    """
    if value.isprintable() and value.isascii():
        cleaned = value  # the common case: E.164 numbers, codes, sound names
    else:
        cleaned = "".join(ch for ch in value if ch >= " " and ch != "\x7f")
    return '"' + cleaned.replace("\\", "\\\\").replace('"', '\\"') + '"'


def set_variable(name: str, value: str) -> str:
    """The `SET VARIABLE` command line, newline included."""
    if not name.replace("_", "").isalnum():
        raise ValueError(f"bad channel variable name {name!r}")
    return f"SET VARIABLE {name} {quote(value)}\n"
