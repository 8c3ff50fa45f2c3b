"""`Screener.screen`: prepare, one pipeline, conclude; and its fail-open contract."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from blocklist.entries import Action, AppliesTo, Category, Direction, Entry
from blocklist.errors import StoreError, StoreTimeoutError
from blocklist.policy import Reason
from blocklist.redis_server import free_port
from blocklist.screening import Screener
from blocklist.settings import Settings
from blocklist.store.admin import Store
from blocklist.store.wire import BlockingConnection, RedisAddress


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield server.getsockname()[1]


def connection(url: str) -> BlockingConnection:
    return BlockingConnection(RedisAddress.from_url(url), 0.2)


def test_a_listed_number_is_decided_from_the_store(store: Store, settings: Settings) -> None:
    """The store's listing decides: a revoked caller is blocked, with its category."""
    store.add_entries([Entry(key="31851234567", is_prefix=False, category=Category.REVOKED,
                             applies_to=AppliesTo.BOTH, source="acm")])
    assert settings.redis_url
    decision = Screener(settings).screen(
        connection(settings.redis_url), Direction.INBOUND, "085 123 4567"
    )
    assert (decision.action, decision.reason, decision.category) == (
        Action.BLOCK, Reason.LISTED, Category.REVOKED
    )
    assert not decision.degraded


@pytest.mark.parametrize(("number", "reason"), [
    ("112", Reason.PROTECTED),
    ("anonymous", Reason.WITHHELD),
    ("not a number", Reason.INVALID_NUMBER),
])
def test_numbers_decided_without_the_store_never_ask_it(number: str, reason: Reason) -> None:
    """Protected and unreadable numbers are decided with no store at all (none listens)."""
    dead = connection(f"redis://127.0.0.1:{free_port()}/0")
    decision = Screener(Settings()).screen(dead, Direction.INBOUND, number)
    assert (decision.action, decision.reason, decision.degraded) == (Action.ALLOW, reason, False)


def test_a_store_that_does_not_answer_fails_open(silent_port: int) -> None:
    """With fail_open, a hanging store allows the call, degraded, and says why."""
    told: list[StoreError] = []
    decision = Screener(Settings()).screen(
        connection(f"redis://127.0.0.1:{silent_port}/0"), Direction.INBOUND, "+31851234567",
        fail_open=told.append,
    )
    assert (decision.action, decision.reason, decision.rule) == (
        Action.ALLOW, Reason.STORE_TIMEOUT, "fail-open"
    )
    assert decision.degraded and decision.e164 == "+31851234567"
    assert len(told) == 1 and isinstance(told[0], StoreTimeoutError)


def test_a_store_that_is_down_fails_open() -> None:
    """With fail_open, a refused connection allows the call, degraded (store-unavailable)."""
    told: list[StoreError] = []
    decision = Screener(Settings()).screen(
        connection(f"redis://127.0.0.1:{free_port()}/0"), Direction.OUTBOUND, "+31851234567",
        fail_open=told.append,
    )
    assert (decision.action, decision.reason, decision.degraded) == (
        Action.ALLOW, Reason.STORE_UNAVAILABLE, True
    )
    assert len(told) == 1


def test_without_fail_open_a_store_failure_raises(silent_port: int) -> None:
    """The admin side's explanation is not made without the store: StoreError propagates."""
    with pytest.raises(StoreTimeoutError):
        Screener(Settings()).screen(
            connection(f"redis://127.0.0.1:{silent_port}/0"), Direction.INBOUND, "+31851234567"
        )
