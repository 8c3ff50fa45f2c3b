"""Numbers registered for use from abroad: stored, listed, expiring, and read by the call path
in the screening's one round trip (real Redis)."""

from __future__ import annotations

import datetime as dt

import pytest

from blocklist.entries import Action, AppliesTo, Category, Direction, Entry
from blocklist.origin import Origin, preset_policy
from blocklist.policy import OriginReason, Reason
from blocklist.screening import Screener
from blocklist.settings import Settings
from blocklist.store.admin import Store
from blocklist.store.registered import (
    purge_expired,
    register,
    registrations,
    unregister,
)
from blocklist.store.wire import BlockingConnection, RedisAddress
from blocklist.values import replace

TODAY = dt.datetime.now(dt.UTC).date()


@pytest.fixture
def be(settings: Settings) -> Settings:
    """Settings with the BE preset: home numbers from abroad are blocked."""
    return replace(settings, origin_policy=preset_policy("BE"))


def screen(settings: Settings, number: str, origin: Origin | None = Origin.INTERNATIONAL
           ) -> tuple[Action, str]:
    assert settings.redis_url
    connection = BlockingConnection(RedisAddress.from_url(settings.redis_url), 0.5)
    decision = Screener(settings).screen(connection, Direction.INBOUND, number, origin=origin)
    return decision.action, str(decision.reason)


def test_a_registered_number_from_abroad_is_allowed(store: Store, be: Settings) -> None:
    """Registered: allowed from abroad, saying so (registered-abroad); its neighbour is not."""
    register(store, "31201234567", False, "contact centre in Lisbon", None, "test")
    assert screen(be, "+31201234567") == (Action.ALLOW, OriginReason.REGISTERED_ABROAD)
    assert screen(be, "+31201234568") == (Action.BLOCK, OriginReason.NATIONAL_CLI_FROM_ABROAD)


def test_a_registered_block_covers_its_numbers(store: Store, be: Settings) -> None:
    """A registered block lets every number in it through from abroad."""
    register(store, "3120765", True, "PBX range", None, "test")
    assert screen(be, "+31207651234") == (Action.ALLOW, OriginReason.REGISTERED_ABROAD)


def test_registration_never_bypasses_the_blocklist(store: Store, be: Settings) -> None:
    """A registered number that is listed as fraud is still blocked, as listed."""
    register(store, "31201234566", False, "", None, "test")
    store.add_entries([Entry(key="31201234566", is_prefix=False, category=Category.FRAUD,
                             applies_to=AppliesTo.BOTH, source="acm")])
    assert screen(be, "+31201234566") == (Action.BLOCK, Reason.LISTED)


def test_an_expired_registration_counts_no_more(store: Store, be: Settings) -> None:
    """A registration past its end date no longer lets the number through, and is purged."""
    register(store, "31201234565", False, "", TODAY, "test")
    assert screen(be, "+31201234565")[0] is Action.ALLOW  # the end date is still valid
    later = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    register(store, "31201234564", False, "", TODAY - dt.timedelta(days=1), "test", now=later)
    assert screen(be, "+31201234564")[0] is Action.BLOCK
    assert purge_expired(store) == 1
    assert [r.key for r in registrations(store)] == ["31201234565"]


def test_the_same_round_trip_serves_calls_without_origin(store: Store, be: Settings) -> None:
    """Without ORIGIN the screening's reply is today's (no registration asked, no change)."""
    register(store, "31201234563", False, "", None, "test")
    assert screen(be, "+31201234563", origin=None) == (Action.ALLOW, Reason.NOT_LISTED)
    assert screen(be, "+31201234562", origin=None) == (Action.ALLOW, Reason.NOT_LISTED)


def test_register_list_and_remove(store: Store) -> None:
    """A registration is listed with its reason, end date and author, and can be removed."""
    until = TODAY + dt.timedelta(days=30)
    register(store, "3120123", True, "call centre", until, "alice")
    [found] = registrations(store)
    assert (found.label, found.reason, found.valid_until, found.created_by) == (
        "+3120123*", "call centre", until, "alice")
    assert unregister(store, "3120123", True)
    assert not unregister(store, "3120123", True)
    assert registrations(store) == []


@pytest.mark.parametrize(("key", "reason", "until", "says"), [
    ("31x", "", None, "'31x' is not digits"),
    ("3120", "x" * 501, None, "at most 500"),
    ("3120", "", TODAY - dt.timedelta(days=1), "is in the past"),
])
def test_bad_registrations_are_refused(store: Store, key: str, reason: str,
                                       until: dt.date | None, says: str) -> None:
    """A malformed registration is refused naming the bad value, and nothing is stored."""
    with pytest.raises(ValueError, match=says):
        register(store, key, False, reason, until, "test")
    assert registrations(store) == []
