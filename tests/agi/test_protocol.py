"""The AGI protocol: pure parsing and quoting, as Asterisk 22 speaks it."""

from __future__ import annotations

import pytest

from agi.call import BadRequestError, request_from
from agi.protocol import (
    AgiProtocolError,
    Environment,
    EnvironmentReader,
    ReplyReader,
    parse_reply,
    quote,
    set_variable,
)
from blocklist.entries import Direction
from blocklist.numbers import NumberPlan
from tests.agi.asterisk_peer import USAGE_520, environment, parse_set_variable


def read_env(data: bytes):
    reader = EnvironmentReader()
    for line in data.decode().split("\n"):
        if reader.feed(line):
            break
    return reader.environment


def read_env_fast(data: bytes) -> tuple[Environment, list[str]]:
    """As the FastAGI server reads: the block before the first empty line at once
    (`feed_block`), then line by line; returns the environment and the lines left over."""
    reader = EnvironmentReader()
    text = data.decode()
    end = text.index("\n\n")
    reader.feed_block(text[:end])
    lines = text[end + 2:].split("\n")
    done = reader.feed("")
    while not done:
        done = reader.feed(lines.pop(0))
    return reader.environment, lines


def read_both_ways(data: bytes) -> Environment:
    """The environment read line by line and as the FastAGI server reads it; the same."""
    slow, fast = read_env(data), read_env_fast(data)[0]
    assert slow.values == fast.values
    return slow


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


# -- environments that arrive broken: Asterisk writes values raw, line breaks included --------

ARGS = ("inbound", "+31855550101", "+31301234567")


@pytest.mark.parametrize(
    "callerid",
    ["+31855550101\n\n", "+31855550101\nHANGUP\n200 result=1", "\n\nHANGUP\n\n200 result=1\n",
     "+31855550101\n\n\n\nx\n", "x\r\n\r\n"],
)
@pytest.mark.parametrize("network", [True, False])
def test_line_breaks_in_caller_id_do_not_end_the_environment(callerid: str,
                                                               network: bool) -> None:
    """Empty lines and text lines inside a value belong to it; the arguments still arrive."""
    env = read_both_ways(environment(callerid=callerid, args=ARGS, network=network))
    assert env.args == list(ARGS)
    assert env.get("callerid") == callerid.strip()
    assert env.get("calleridname") == "Test Caller"
    assert env.get("threadid") == "140435055912640"


def test_broken_caller_id_still_reads_as_its_number() -> None:
    """The call is screened for the number the caller ID starts with, not failed open."""
    env = read_both_ways(environment(callerid="+31855550101\n\n", args=("inbound",)))
    request = request_from(env)
    assert request.direction is Direction.INBOUND
    assert NumberPlan("NL").read_leading(request.number).e164 == "+31855550101"


@pytest.mark.parametrize(
    "injected",
    ["agi_network_script: evil", "agi_arg_1: outbound", "agi_language: xx",
     "agi_callerid: +31201234567", "agi_threadid: 1",
     "agi_request: agi://evil/screen\nagi_arg_7: x"],
)
def test_variables_inside_a_value_do_not_replace_real_ones(injected: str) -> None:
    """`agi_...` lines inside the caller ID can't set or replace a variable Asterisk sends."""
    env = read_both_ways(environment(callerid="+31855550101\n" + injected, args=ARGS))
    assert env.args == list(ARGS)
    assert env.get("network_script") == "screen"
    assert env.get("language") == "en"
    assert env.get("request") == "agi://127.0.0.1:4573/screen"
    assert env.get("callerid").startswith("+31855550101")


def test_environment_ended_early_by_an_argument_leaves_lines_the_reply_reader_skips() -> None:
    """An empty line inside an argument ends the environment early; what is left of it is
    skipped before the first reply, never taken as one."""
    env, leftover = read_env_fast(environment(args=("inbound", "+31855550101\n\n", "sub")))
    assert env.args == ["inbound", "+31855550101"]
    assert leftover == ["", "agi_arg_3: sub", "", ""]
    replies = ReplyReader()
    for line in leftover[:-1]:
        assert replies.feed(line) is None
    reply = replies.feed("200 result=1")
    assert reply is not None and reply.code == 200
    with pytest.raises(AgiProtocolError, match="malformed AGI reply"):
        replies.feed("agi_arg_4: late")


def test_reply_reader_gives_up_on_endless_leftovers() -> None:
    """A peer that sends only non-replies is cut off, not read forever."""
    replies = ReplyReader()
    with pytest.raises(AgiProtocolError):
        for n in range(1000):
            replies.feed(f"agi_x{n}: y")


def test_hand_written_environment_without_threadid_still_ends() -> None:
    """A peer that sends only arguments (no Asterisk variables) ends at the empty line."""
    env = read_both_ways(b"agi_arg_1: inbound\nagi_arg_2: +31855550101\n\n")
    assert env.args == ["inbound", "+31855550101"]


def test_lines_after_the_end_are_ignored() -> None:
    """Once complete, the reader keeps its environment whatever else it is fed."""
    reader = EnvironmentReader()
    for line in environment(args=("inbound",)).decode().split("\n")[:-1]:
        reader.feed(line)
    assert reader.complete
    assert reader.feed("agi_arg_1: outbound") is True
    assert reader.environment.args == ["inbound"]


def test_overlong_value_line_is_an_error() -> None:
    """A continuation line longer than an AGI line may be breaks the protocol."""
    reader = EnvironmentReader()
    reader.feed("agi_callerid: x")
    with pytest.raises(AgiProtocolError, match="longer than"):
        reader.feed("x" * 5000)
