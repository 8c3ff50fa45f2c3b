"""A scripted Asterisk peer that speaks AGI exactly as docs/design.md shows Asterisk 22 does.

`environment()` builds the opening lines; `Peer` answers commands the way the test says
(`200 result=1` by default, or 511, a multi-line 520, a HANGUP notification first, ...).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

USAGE_520 = [
    "520-Invalid command syntax.  Proper usage follows:",
    " Usage: SET VARIABLE <variablename> <value>",
    "        Sets a variable to the current channel.",
    "520 End of proper usage.",
]


def environment(*, callerid: str = "+15551230000", extension: str = "4915112345678",
                args: tuple[str, ...] = (), network: bool = True, language: str = "en",
                extra: tuple[str, ...] = ()) -> bytes:
    lines = []
    if network:
        lines += ["agi_network: yes", "agi_network_script: screen",
                  "agi_request: agi://127.0.0.1:4573/screen"]
    else:
        lines += ["agi_request: callscreen-agi"]
    lines += [
        f"agi_channel: Local/{extension}@screen-fast-00000000;2",
        f"agi_language: {language}", "agi_type: Local", "agi_uniqueid: 1795861289.1",
        "agi_version: 22.10.1+dfsg+~cs6.17.60671434-1", f"agi_callerid: {callerid}",
        "agi_calleridname: Test Caller", "agi_callingpres: 0", "agi_callingani2: 0",
        "agi_callington: 0", "agi_callingtns: 0", "agi_dnid: unknown", "agi_rdnis: unknown",
        "agi_context: screen-fast", f"agi_extension: {extension}", "agi_priority: 5",
        "agi_enhanced: 0.0", "agi_accountcode: ", "agi_threadid: 140435055912640",
    ]
    lines += [f"agi_arg_{n}: {a}" for n, a in enumerate(args, 1)]
    lines += list(extra)
    return ("\n".join(lines) + "\n\n").encode()


Responder = Callable[[int, str], list[str]]


def always_ok(_index: int, command: str) -> list[str]:
    return ["200 result=0" if command.startswith("EXEC") else "200 result=1"]


def without_mset(index: int, command: str) -> list[str]:
    """An Asterisk that refuses MSet (as on a dead channel): the answer must fall back."""
    if command.startswith("EXEC MSet"):
        return ["511 Command Not Permitted on a dead channel or intercept routine"]
    return ["200 result=1"]


@dataclass
class Conversation:
    commands: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    closed_by_peer: bool = False
    log: str = ""  # what the per-call script wrote on stderr (Asterisk's log)


def parse_mset(command: str) -> dict[str, str]:
    """Parse `EXEC MSet "A=1,B=2"` as Asterisk would: AGI's quoting, then MSet's `,` and `=`."""
    assert command.startswith("EXEC MSet "), command
    argument = _unquote(command[10:])
    assert '"' not in argument and "|" not in argument and "\\" not in argument, argument
    pairs = [item.partition("=") for item in argument.split(",")]
    assert all(sep for _, sep, _ in pairs), argument
    return {name: value for name, _, value in pairs}


def parse_set_variable(command: str) -> tuple[str, str]:
    """Parse `SET VARIABLE NAME "value"` the way Asterisk's argument parser does."""
    assert command.startswith("SET VARIABLE "), command
    name, _, rest = command[13:].partition(" ")
    return name, _unquote(rest)


def _unquote(rest: str) -> str:
    assert rest.startswith('"') and rest.endswith('"'), rest
    out, escaped = [], False
    for ch in rest[1:-1]:
        if escaped:
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        else:
            assert ch != '"', f"unescaped quote in {rest!r}"
            out.append(ch)
    return "".join(out)


def converse(read: Callable[[], bytes], write: Callable[[bytes], None], opening: bytes,
             responder: Responder = always_ok, max_commands: int = 50) -> Conversation:
    """Send the environment, then answer each command line until the other side closes."""
    conv = Conversation()
    write(opening)
    while len(conv.commands) < max_commands:
        line = read()
        if not line:
            conv.closed_by_peer = True
            break
        command = line.decode().rstrip("\n")
        assert "\r" not in command and "\n" not in command
        conv.commands.append(command)
        reply = responder(len(conv.commands) - 1, command)
        if reply[-1].startswith("200"):  # what Asterisk did, not what was asked
            if command.startswith("SET VARIABLE "):
                name, value = parse_set_variable(command)
                conv.variables[name] = value
            elif command.startswith("EXEC MSet "):
                conv.variables.update(parse_mset(command))
        write(("\n".join(reply) + "\n").encode())
    return conv


def call_fastagi(port: int, opening: bytes, responder: Responder = always_ok,
                 timeout_s: float = 5.0) -> Conversation:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
        rfile: BinaryIO = sock.makefile("rb")
        return converse(rfile.readline, sock.sendall, opening, responder)
