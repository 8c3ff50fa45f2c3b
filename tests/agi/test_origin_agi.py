"""The AGI contract's ORIGIN (4th) and ATTESTATION (5th) arguments, and SCREEN_LABEL, over
real sockets (the FastAGI server) and a real subprocess (the per-call script)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from unittest import mock

import pytest

from blocklist.entries import Category
from blocklist.store.admin import Store
from tests.agi.asterisk_peer import call_fastagi, environment, without_mset
from tests.agi.test_fastagi import fastagi, listed, metric
from tests.agi.test_script import run_script

# DE's preset (numbers from abroad withheld, protected ones cut off) with fixed lines blocked:
# one server shows block, withhold and warn.
ORIGIN_ENV = {"CALLSCREEN_ORIGIN_PRESET": "DE", "CALLSCREEN_ORIGIN_POLICY": "fixed=block"}
FIXED, MOBILE = "+31201234567", "+31612345678"


@pytest.fixture(scope="module")
def server(redis_url: str) -> Iterator[tuple[int, int]]:
    with mock.patch.dict(os.environ, ORIGIN_ENV), fastagi(redis_url) as (port, metrics, _):
        yield port, metrics


def ask(port: int, callerid: str, *args: str, language: str = "en",
        responder=None) -> dict[str, str]:
    opening = environment(callerid=callerid, extension="0201234567",
                          args=("inbound", "", "", *args), language=language)
    kwargs = {"responder": responder} if responder else {}
    return call_fastagi(port, opening, **kwargs).variables


CASES = [
    # (caller ID, ORIGIN, ATTESTATION, action, reason, label)
    (FIXED, "international", "", "block", "national-cli-from-abroad", None),
    (MOBILE, "international", "", "withhold", "roaming-unverified", "Number hidden: abroad"),
    ("112", "international", "", "block", "protected-cli-from-abroad", None),
    (FIXED, "international", "A", "allow", "registered-abroad", None),  # verified A
    ("+3222000000", "international", "", "allow", "not-listed", None),  # foreign: just foreign
    (FIXED, "national", "", "allow", "not-listed", None),
    (MOBILE, "internal", "", "allow", "not-listed", None),
    (FIXED, "", "", "allow", "not-listed", None),
    (FIXED, "national", "failed", "warn", "attestation-failed", "Possible scam"),
    ("112", "national", "", "allow", "protected", None),
]


@pytest.mark.parametrize(("callerid", "origin", "attestation", "action", "reason", "label"),
                         CASES)
def test_fastagi_origin_and_attestation(server, callerid: str, origin: str, attestation: str,
                                        action: str, reason: str, label: str | None) -> None:
    """FastAGI: ORIGIN and ATTESTATION decide as the origin policy says; labels on warn and
    withhold only."""
    answer = ask(server[0], callerid, origin, attestation)
    assert (answer["SCREEN_ACTION"], answer["SCREEN_REASON"]) == (action, reason)
    assert answer.get("SCREEN_LABEL") == label


@pytest.mark.parametrize(("callerid", "origin", "attestation", "action", "reason", "label"),
                         CASES)
def test_script_origin_and_attestation(redis_url: str, callerid: str, origin: str,
                                       attestation: str, action: str, reason: str,
                                       label: str | None) -> None:
    """The per-call script decides the same calls the same way."""
    conv = run_script(("inbound", "", "", origin, attestation), redis_url, callerid=callerid,
                      env_extra=ORIGIN_ENV)
    answer = conv.variables
    assert (answer["SCREEN_ACTION"], answer["SCREEN_REASON"]) == (action, reason)
    assert answer.get("SCREEN_LABEL") == label
    assert len(conv.commands) == 1  # the label rides in the one MSet


def test_the_label_is_in_the_subscribers_language(server) -> None:
    """The label follows the prompt language: Dutch on a Dutch channel."""
    answer = ask(server[0], MOBILE, "international", language="nl")
    assert answer["SCREEN_LABEL"] == "Nummer verborgen: buitenland"
    warned = ask(server[0], FIXED, "national", "failed", language="nl")
    assert warned["SCREEN_LABEL"] == "Mogelijk oplichting"


def test_a_listed_suspected_caller_is_labelled(store: Store, server) -> None:
    """An inbound warn from the blocklist also carries the label, on any trunk."""
    listed(store, "31851234568", Category.SUSPECTED)
    answer = ask(server[0], "+31851234568")
    assert (answer["SCREEN_ACTION"], answer["SCREEN_LABEL"]) == ("warn", "Possible scam")


def test_the_stronger_of_blocklist_and_origin_wins(store: Store, server) -> None:
    """A fraud listing blocks what the origin withholds; a suspected one is withheld."""
    listed(store, "31612345670", Category.FRAUD)
    listed(store, "31612345671", Category.SUSPECTED)
    fraud = ask(server[0], "+31612345670", "international")
    suspected = ask(server[0], "+31612345671", "international")
    assert (fraud["SCREEN_ACTION"], fraud["SCREEN_REASON"]) == ("block", "listed")
    assert (suspected["SCREEN_ACTION"], suspected["SCREEN_REASON"]) == (
        "withhold", "roaming-unverified")


@pytest.mark.parametrize(("origin", "attestation"), [("abroad", ""), ("", "verified")])
def test_a_bad_origin_or_attestation_is_screened_as_empty(
    store: Store, server, origin: str, attestation: str
) -> None:
    """A dialplan typo never costs the blocklist's screening: the listed caller is blocked."""
    listed(store, "31201234568", Category.FRAUD)
    answer = ask(server[0], "+31201234568", origin, attestation)
    assert (answer["SCREEN_ACTION"], answer["SCREEN_REASON"]) == ("block", "listed")
    assert answer["SCREEN_STATUS"] == "ok"
    clean = ask(server[0], "+31201234569", origin, attestation)
    assert (clean["SCREEN_ACTION"], clean["SCREEN_REASON"]) == ("allow", "not-listed")


def test_the_label_survives_the_set_variable_fallback(server) -> None:
    """When Asterisk refuses MSet, SET VARIABLE carries the label too."""
    answer = ask(server[0], MOBILE, "international", responder=without_mset)
    assert (answer["SCREEN_ACTION"], answer["SCREEN_LABEL"]) == (
        "withhold", "Number hidden: abroad")


def test_withhold_is_counted(server) -> None:
    """callscreen_calls_total counts withhold as an action of its own."""
    labels = {"direction": "inbound", "action": "withhold", "status": "ok"}
    before = metric(server[1], "callscreen_calls_total", **labels)
    ask(server[0], MOBILE, "international")
    assert metric(server[1], "callscreen_calls_total", **labels) - before == 1
