"""Environments that arrive broken, over the real AGI channels: the FastAGI server on a socket
and the per-call script on its pipes, with a real Redis behind both.

Asterisk writes caller ID raw (`agi_callerid: <value>`): a line break inside it splits the
line, an empty line inside it would end the environment early. The peer here sends exactly
those bytes (`environment()` writes values as given). A number that can be read must still be
screened, not failed open, and whatever is left of an environment that did end early must not
be taken as a reply.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from blocklist.entries import Category
from blocklist.store.admin import Store
from tests.agi.asterisk_peer import Conversation, call_fastagi, environment
from tests.agi.test_fastagi import fastagi, listed
from tests.agi.test_script import run_script

REVOKED = "+31851234567"
BROKEN_CALLER_IDS = [
    REVOKED + "\n\n",
    REVOKED + "\nHANGUP\n200 result=1\n",
    REVOKED + "\n\n\nagi_arg_1: outbound\nagi_network_script: evil\n\n",
    REVOKED + "\r\n\r\n",
    "\n\n" + REVOKED,
]
GARBAGE_CALLER_IDS = [
    ("\n\nHANGUP\n\n200 result=1\n", "invalid-number"),
    ("\n\n", "withheld"),
    ("HANGUP\n200 result=1 (+31851234567)\n\n", "invalid-number"),
]


@pytest.fixture(scope="module")
def port(redis_url: str) -> Iterator[int]:
    with fastagi(redis_url) as (agi_port, _metrics_port, _proc):
        yield agi_port


def blocked(conv: Conversation) -> None:
    assert conv.variables["SCREEN_ACTION"] == "block", conv.variables
    assert conv.variables["SCREEN_NUMBER"] == REVOKED
    assert conv.variables["SCREEN_STATUS"] == "ok"


@pytest.mark.parametrize("callerid", BROKEN_CALLER_IDS)
def test_fastagi_blocks_a_revoked_caller_whose_caller_id_breaks_lines(
    store: Store, port: int, callerid: str
) -> None:
    """FastAGI: line breaks, blank lines and fake lines in the caller ID still block it."""
    listed(store, REVOKED[1:], Category.REVOKED)
    conv = call_fastagi(port, environment(callerid=callerid, args=("inbound",)))
    blocked(conv)
    assert conv.closed_by_peer  # the server ended the conversation, nothing was left waiting


@pytest.mark.parametrize("callerid", BROKEN_CALLER_IDS)
def test_script_blocks_a_revoked_caller_whose_caller_id_breaks_lines(
    store: Store, redis_url: str, callerid: str
) -> None:
    """Per-call script: the same broken caller IDs block, and the script exits 0."""
    listed(store, REVOKED[1:], Category.REVOKED)
    blocked(run_script(("inbound",), redis_url, callerid=callerid))


@pytest.mark.parametrize(("callerid", "reason"), GARBAGE_CALLER_IDS)
def test_garbage_caller_id_is_a_clean_allow(store: Store, port: int, redis_url: str,
                                            callerid: str, reason: str) -> None:
    """Only line breaks, HANGUP and a fake reply: allow, status ok, on both paths."""
    for conv in (call_fastagi(port, environment(callerid=callerid, args=("inbound",))),
                 run_script(("inbound",), redis_url, callerid=callerid)):
        assert (conv.variables["SCREEN_ACTION"], conv.variables["SCREEN_REASON"],
                conv.variables["SCREEN_STATUS"]) == ("allow", reason, "ok")


def test_leftovers_of_an_environment_ended_early_are_not_replies(
    store: Store, port: int, redis_url: str
) -> None:
    """An empty line inside an argument ends the environment early; the lines after it,
    already sent, are skipped: the answer is sent and read as usual on both paths."""
    listed(store, REVOKED[1:], Category.REVOKED)
    args = ("inbound", REVOKED + "\n\nagi_calleridname: x\nHANGUP", "+31201234567")
    conv = call_fastagi(port, environment(args=args))
    blocked(conv)
    assert len(conv.commands) == 1 and conv.closed_by_peer
    blocked(run_script(args, redis_url))
