"""The AGI protocol: pure parsing and quoting, as Asterisk 22 speaks it."""

from __future__ import annotations

import pytest

from agi.call import BadRequestError, request_from
from agi.protocol import (
    AgiProtocolError,
    EnvironmentReader,
    ReplyReader,
    parse_reply,
    quote,
    set_variable,
)
from blocklist.entries import Direction
from tests.agi.asterisk_peer import USAGE_520, environment, parse_set_variable


def read_env(data: bytes):
    reader = EnvironmentReader()
    for line in data.decode().split("\n"):
        if reader.feed(line):
            break
    return reader.environment


@pytest.mark.parametrize(
    ("line", "code", "result", "data"),
    [
        ("200 result=1", 200, "1", ""),
        ("200 result=1 (+15551230000)", 200, "1", "+15551230000"),
        ("200 result=0 endpos=3520", 200, "0", ""),
        ("200 result=-1 endpos=160", 200, "-1", ""),
        ("510 Invalid or unknown command", 510, "", ""),
        ("511 Command Not Permitted on a dead channel or intercept routine", 511, "", ""),
    ],
)
def test_parse_reply(line: str, code: int, result: str, data: str) -> None:
    """Single-line replies give code, result and bracketed data."""
    reply = parse_reply(line)
    assert (reply.code, reply.result, reply.data) == (code, result, data)


def test_multiline_520_is_one_reply() -> None:
    """A 520 usage reply spans lines and is read as one reply."""
    reader = ReplyReader()
    results = [reader.feed(line) for line in USAGE_520]
    assert results[:-1] == [None] * (len(USAGE_520) - 1)
    assert results[-1] is not None and results[-1].code == 520


def test_hangup_line_is_a_notification_not_a_reply() -> None:
    """A bare HANGUP line marks the hangup; the next line is still the reply."""
    reader = ReplyReader()
    assert reader.feed("HANGUP") is None
    assert reader.hung_up
    reply = reader.feed("200 result=1")
    assert reply is not None and reply.code == 200


@pytest.mark.parametrize("line", ["hello", "20 result=1", "abc result=1"])
def test_malformed_reply_is_an_error(line: str) -> None:
    """A line that is no AGI reply is a protocol error."""
    with pytest.raises(AgiProtocolError):
        parse_reply(line)


@pytest.mark.parametrize(
    "value",
    ['plain', 'with "quotes"', "back\\slash", 'evil"\nEXEC Dial(SIP/666)', "\r\n\x00tail",
     "ünïcödé", '\\"', ""],
)
def test_quoted_values_stay_one_argument(value: str) -> None:
    """Quoting keeps any text one argument on one line; control characters are dropped."""
    command = set_variable("SCREEN_NUMBER", value)
    assert command.count("\n") == 1 and command.endswith("\n") and "\r" not in command
    name, parsed = parse_set_variable(command.rstrip("\n"))
    assert name == "SCREEN_NUMBER"
    assert parsed == "".join(ch for ch in value if ch >= " ")
    assert quote(value).startswith('"')


def test_bad_variable_name_is_refused() -> None:
    """Only plain names can be set."""
    with pytest.raises(ValueError, match="bad channel variable"):
        set_variable("A B", "x")


def test_environment_and_arguments() -> None:
    """The environment from docs/design.md reads with its arguments in order."""
    env = read_env(environment(args=("inbound", "", "+31201234567")))
    assert env.get("callerid") == "+15551230000"
    assert env.args == ["inbound", "", "+31201234567"]


@pytest.mark.parametrize(
    "line", ["no colon here", "bogus: value", "agi_x y: z", "agi_: x"],
)
def test_malformed_environment_is_an_error(line: str) -> None:
    """Lines that are not `agi_name: value` break the protocol."""
    with pytest.raises(AgiProtocolError, match="malformed"):
        EnvironmentReader().feed(line)


def test_oversized_environment_is_an_error() -> None:
    """An endless environment is cut off."""
    reader = EnvironmentReader()
    with pytest.raises(AgiProtocolError, match="longer than"):
        for n in range(1000):
            reader.feed(f"agi_x{n}: y")


@pytest.mark.parametrize(
    ("args", "direction", "number", "subscriber"),
    [
        (("inbound",), Direction.INBOUND, "+15551230000", "4915112345678"),
        (("outbound",), Direction.OUTBOUND, "4915112345678", "+15551230000"),
        (("outbound", "0900123"), Direction.OUTBOUND, "0900123", "+15551230000"),
        (("INBOUND", "", "sub"), Direction.INBOUND, "+15551230000", "sub"),
    ],
)
def test_request_from_environment(args, direction, number, subscriber) -> None:
    """inbound screens CALLERID for EXTEN, outbound EXTEN for CALLERID; args override."""
    request = request_from(read_env(environment(args=args)))
    assert (request.direction, request.number, request.subscriber) == (
        direction, number, subscriber)


@pytest.mark.parametrize("args", [(), ("sideways",)])
def test_bad_direction(args) -> None:
    """A missing or unknown DIRECTION is a bad request, naming it."""
    with pytest.raises(BadRequestError):
        request_from(read_env(environment(args=args)))
