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
_NAME = re.compile(r"[A-Za-z0-9_]*[A-Za-z0-9][A-Za-z0-9_]*")
# The variables Asterisk sends, in the order res_agi sends them (the two agi_network* lines
# only over FastAGI), before agi_arg_1..N and the empty line that ends the environment.
ASTERISK_ORDER = (
    "network", "network_script", "request", "channel", "language", "type", "uniqueid",
    "version", "callerid", "calleridname", "callingpres", "callingani2", "callington",
    "callingtns", "dnid", "rdnis", "context", "extension", "priority", "enhanced",
    "accountcode", "threadid",
)
_RANK = {name: rank for rank, name in enumerate(ASTERISK_ORDER)}
_THREADID = _RANK["threadid"]
_SCRIPT_ORDER = ASTERISK_ORDER[2:]  # a plain AGI script gets no agi_network* lines
_ARG_NAMES = tuple(f"arg_{n}" for n in range(1, MAX_ENV_LINES + 1))


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
    """Collects environment lines. `feed` returns True once the environment is complete.

    Asterisk writes every value raw (`agi_callerid: <value>`), so a value holding a line break
    arrives split over lines, and one holding an empty line would end the environment early.
    Caller ID comes from the network and can hold anything; the reader puts such values back
    together using the fixed order of Asterisk's variables (`ASTERISK_ORDER`):

    - a line that is not `agi_<name>: <value>`, names a variable already given, or names one
      of Asterisk's variables out of its order, continues the value before it (joined with a
      line break): text inside a value can't add, replace or reorder variables;
    - the arguments (`agi_arg_1`, ...) count only after `agi_threadid`, the last variable
      Asterisk sends before them, and only in sequence;
    - an empty line ends the environment only after `agi_threadid`: before it, it is part of
      a value.

    A peer that sends none of Asterisk's variables (only `agi_arg_N` lines, say) is read by the
    same rules with the order left out. What the reader can't tell apart: an empty line inside
    an argument ends the environment early (the lines left over arrive before the first reply,
    and `ReplyReader` skips them), and a value that imitates the whole rest of an environment
    reads as that environment. asterisk-conf/callscreen.conf hands the AGI clean values, so
    neither reaches it from the shipped dialplan.
    """

    __slots__ = ("_asterisk", "_complete", "_key", "_lines", "_rank", "environment")

    def __init__(self) -> None:
        self.environment = Environment()
        self._lines = 0
        self._rank = -1  # the rank in ASTERISK_ORDER of the last of Asterisk's variables
        self._key: str | None = None  # the variable the next continuation line belongs to
        self._asterisk = False  # any of Asterisk's own variables seen
        self._complete = False

    @property
    def complete(self) -> bool:
        return self._complete

    def feed(self, line: str) -> bool:
        """Take one line (without its line break); True once the environment is complete.

        Lines after that are ignored (True again). Raises AgiProtocolError for a peer that is
        not speaking AGI: a first line that is no variable, an environment too long.
        """
        if not line and self._may_end():
            if not self._complete:
                self._close_value()
                self._complete = True
            return True
        if self._complete:
            return True
        self._lines += 1
        if self._lines > MAX_ENV_LINES:
            raise AgiProtocolError(f"AGI environment longer than {MAX_ENV_LINES} lines")
        if len(line) > MAX_LINE_BYTES:
            raise AgiProtocolError(f"AGI line longer than {MAX_LINE_BYTES} bytes")
        key, sep, text = line.partition(":")
        name = key[4:] if key.startswith("agi_") else ""
        if sep and _NAME.fullmatch(name) and self._accepts(name):
            self._close_value()
            self.environment.values[name] = text.lstrip()
            self._key = name
            return False
        if self._key is None:
            raise AgiProtocolError(f"malformed AGI environment line {line[:80]!r}")
        self.environment.values[self._key] += "\n" + line
        return False

    def _close_value(self) -> None:
        """The value being read is complete: trim it (Asterisk's `: ` and any `\\r`)."""
        if self._key is not None:
            values = self.environment.values
            values[self._key] = values[self._key].strip()

    def _may_end(self) -> bool:
        return self._rank == _THREADID or not self._asterisk

    def _accepts(self, name: str) -> bool:
        """Whether a line naming `name` is a new variable (else it continues a value)."""
        values = self.environment.values
        if name in values:
            return False
        rank = _RANK.get(name)
        if rank is not None:
            if rank <= self._rank or "arg_1" in values:
                return False
            self._rank = rank
            self._asterisk = True
            return True
        if name.startswith("arg_"):
            return self._may_end() and name == f"arg_{len(self.environment.args) + 1}"
        return True  # a variable of a newer Asterisk: kept, used for nothing

    def feed_block(self, text: str) -> None:
        """Every line of a block of environment lines (without the final empty line).

        The FastAGI server's fast path: when the block is exactly what Asterisk 22 sends
        (`ASTERISK_ORDER`, then the arguments in sequence), one regular expression reads it;
        anything else goes line by line through `feed`, with the same result.
        """
        if not text:
            return
        pairs = _env_line().findall(text)
        values = self.environment.values
        if self._key is None and len(pairs) == text.count("\n") + 1:
            for key, text_value in pairs:
                values[key] = text_value.strip()
            if len(values) == len(pairs) and _is_asterisk_layout(tuple(values)):
                self._lines = len(pairs)
                self._rank = _THREADID
                self._asterisk = True
                self._key = pairs[-1][0]
                return
            values.clear()
        for line in text.split("\n"):
            self.feed(line.removesuffix("\r"))


def _is_asterisk_layout(keys: tuple[str, ...]) -> bool:
    """Exactly Asterisk's variables in order (FastAGI's or a script's), then arguments."""
    layout = ASTERISK_ORDER if keys[:1] == ("network",) else _SCRIPT_ORDER
    fixed = len(layout)
    return keys[:fixed] == layout and keys[fixed:] == _ARG_NAMES[: len(keys) - fixed]


class ReplyReader:
    """Turns reply lines into `Reply`s; says which lines were hangup notifications.

    `feed(line)` returns a Reply when one is complete, else None; `hung_up` becomes true when
    a bare `HANGUP` line arrives.

    Until the first reply, lines that are no reply at all are skipped: they are what is left
    of an environment that ended early (an empty line inside a value; see EnvironmentReader),
    which Asterisk wrote before it read any command. After the first reply such a line is a
    protocol error.
    """

    __slots__ = ("_leftovers", "_replied", "_usage", "hung_up")

    def __init__(self) -> None:
        self.hung_up = False
        self._usage: list[str] | None = None
        self._replied = False
        self._leftovers = 0

    def feed(self, line: str) -> Reply | None:
        if self._usage is not None:
            self._usage.append(line)
            if line.startswith("520 "):
                text = "\n".join(self._usage)
                self._usage = None
                self._replied = True
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
        if self._replied:
            return parse_reply(line)
        try:
            reply = parse_reply(line)
        except AgiProtocolError:
            self._leftovers += 1
            if self._leftovers > MAX_ENV_LINES:
                raise
            return None
        self._replied = True
        return reply


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
