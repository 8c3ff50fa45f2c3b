"""One screening: what to ask the store, and the decision from its answer.

A `Screener` splits a screening in two pure steps around the one store round trip: `prepare`
reads the numbers and says which commands to send (one pipeline); `conclude` turns the replies
into a `Decision`. `Screener.screen` does the whole screening (prepare, the round trip over a
blocking connection, the roaming check when one is given and it matters, conclude), with the
fail-open contract in its docstring: the per-call script, `callscreen check` and the admin
API's `/v1/numbers` all decide through it, so they decide alike (only the per-call script
gives a roaming check: an explanation never depends on an HLR). The FastAGI server drives
`prepare` and `conclude` around its own asyncio clients.
"""

from __future__ import annotations

import time

from blocklist.entries import Direction, Lookup
from blocklist.errors import StoreError, StoreTimeoutError
from blocklist.numbers import NumberPlan, Reading, digits
from blocklist.origin import (
    Attestation,
    Origin,
    OriginFacts,
    Roaming,
    combine,
    decide_origin,
    needs_registration_check,
    needs_roaming_check,
)
from blocklist.policy import Decision, Reason, choose_language, decide, label_for
from blocklist.settings import Settings
from blocklist.store.layout import KeySpace, day_number, read_screening, screening_command
from blocklist.values import replace, value

TYPE_CHECKING = False
if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, Sequence
    from typing import Protocol

    class Connection(Protocol):
        """A blocking Redis connection (`blocklist.store.wire.BlockingConnection`)."""

        def run(self, commands: Sequence[Sequence[str]]) -> list[object]:
            """The replies, in order; raises StoreError (StoreTimeoutError past its budget)."""
            ...


@value
class Screening:
    """A prepared screening. `commands` is empty when no store answer is needed."""

    direction: Direction
    reading: Reading
    subscriber: str | None  # E.164, when readable
    channel_language: str | None
    commands: tuple[tuple[str, ...], ...]
    origin: Origin | None = None  # the trunk the call came on (the 4th AGI argument)
    attestation: Attestation | None = None  # the caller's verification (the 5th)


class Screener:
    """Screens calls for one configuration: whole (`screen`), or in steps around the I/O."""

    def __init__(self, settings: Settings, *, script_sha: str | None = None) -> None:
        """`script_sha`: the connection has loaded the screening script (EVALSHA), else the
        script is sent along (EVAL), as the per-call script's one-shot connection does."""
        self.settings = settings
        self.script_sha = script_sha
        self.plan = NumberPlan(settings.region, settings.protected_numbers)
        self.keys = KeySpace(settings.key_prefix)

    def prepare(
        self,
        direction: Direction,
        number: str,
        subscriber: str | None,
        channel_language: str | None = None,
        origin: Origin | None = None,
        attestation: Attestation | None = None,
    ) -> Screening:
        # The number a caller ID starts with: junk after it never hides it (read_leading).
        reading = self.plan.read_leading(number)
        subscriber_e164 = self.plan.read_leading(subscriber).e164 if subscriber else None
        commands: tuple[tuple[str, ...], ...] = ()
        if reading.e164 is not None and not reading.protected:
            registered = direction is Direction.INBOUND and needs_registration_check(
                reading, origin, self.settings.home_countries, self.settings.origin_policy
            )
            commands = (
                screening_command(
                    self.keys,
                    digits(reading.e164),
                    digits(subscriber_e164) if subscriber_e164 else None,
                    self.script_sha,
                    registered=registered,
                ),
            )
        return Screening(direction, reading, subscriber_e164, channel_language, commands,
                         origin, attestation)

    def conclude(
        self, screening: Screening, replies: Sequence[object], today: dt.date | None = None,
        roaming: Roaming = Roaming.UNVERIFIED,
    ) -> Decision:
        """The decision from the store's replies (and, for origin screening, the roaming
        check's answer): the blocklist's and the origin's, the stronger winning
        (`blocklist.origin.combine`), with the label the phone shows. Raises ValueError on
        replies it can't read."""
        return self._decide(screening, self._lookup(screening, replies, today), roaming)

    def _lookup(self, screening: Screening, replies: Sequence[object],
                today: dt.date | None = None) -> Lookup:
        if not screening.commands:
            return Lookup()
        assert screening.reading.e164 is not None
        return read_screening(
            digits(screening.reading.e164), replies[0],
            day_number(today) if today else int(time.time() // 86400),  # UTC days
        )

    def roaming_may_matter(self, screening: Screening) -> bool:
        """True when a roaming answer could change the call, before the store has said
        whether the number is registered: an inbound mobile home number from abroad
        (`needs_roaming_check`) not attested `A`. The FastAGI server asks the endpoint beside
        the store for these; the per-call script after it (`_roaming_matters`)."""
        return (
            screening.direction is Direction.INBOUND and screening.reading.e164 is not None
            and screening.attestation is not Attestation.A
            and needs_roaming_check(screening.reading, screening.origin,
                                    self.settings.home_countries, self.settings.origin_policy)
        )

    def _roaming_matters(self, screening: Screening, lookup: Lookup) -> bool:
        """True when a roaming answer could change the call: `roaming_may_matter`, and the
        store did not say the number is registered abroad."""
        return not lookup.registered_abroad and self.roaming_may_matter(screening)

    def _decide(self, screening: Screening, lookup: Lookup, roaming: Roaming) -> Decision:
        language = choose_language(
            lookup.subscriber.language, screening.channel_language,
            self.settings.default_language,
        )
        decision = decide(
            screening.direction, screening.reading, lookup,
            policy=self.settings.policy, language=language,
        )
        if screening.direction is Direction.INBOUND and (
            screening.origin is not None or screening.attestation is not None
        ):
            facts = OriginFacts(screening.origin, screening.attestation,
                                lookup.registered_abroad, roaming)
            origin = decide_origin(
                screening.reading, facts, self.settings.home_countries,
                self.settings.origin_policy,
            )
            decision = combine(decision, origin, language)
        label = label_for(decision.action, screening.direction, language, self.settings.labels)
        return replace(decision, label=label) if label else decision

    def screen(
        self,
        connection: Connection,
        direction: Direction,
        number: str,
        subscriber: str | None = None,
        channel_language: str | None = None,
        *,
        origin: Origin | None = None,
        attestation: Attestation | None = None,
        fail_open: Callable[[StoreError], None] | None = None,
        roaming: Callable[[str, float], Roaming] | None = None,
    ) -> Decision:
        """Screen one call: `prepare`, one pipeline on `connection` (only if the store is
        needed: an unreadable or protected number is decided without it), `conclude`.

        `roaming(e164, timeout_s)` (the per-call script's roaming check) is asked after the
        store, only when its answer could change the call (a mobile home number from abroad,
        not registered, not attested `A`), with what is left of the settings'
        `lookup_timeout_s` since the round trip began: it must answer within that, and never
        raise (`Roaming.UNVERIFIED` for no answer). Without it, mobiles stay unverified.

        The fail-open contract: with `fail_open` (the call path), a store that fails, or
        does not answer within the connection's time budget, never raises and never blocks
        the call: `fail_open(error)` is told (to log it), and the call is allowed, degraded
        (`Decision.degraded_allow`, reason `store-timeout` or `store-unavailable`, with the
        number if it was read). Without it (`callscreen check`, the admin API), the
        `StoreError` propagates: an explanation made without the store would explain
        nothing. Either way, a reply the store should never send raises ValueError (the per-call
        script allows the call then too, as for any unexpected error).
        """
        screening = self.prepare(
            direction, number, subscriber, channel_language, origin, attestation
        )
        replies: list[object] = []
        started = time.monotonic()
        if screening.commands:
            try:
                replies = connection.run(screening.commands)
            except StoreError as error:
                if fail_open is None:
                    raise
                fail_open(error)
                reason = (
                    Reason.STORE_TIMEOUT if isinstance(error, StoreTimeoutError)
                    else Reason.STORE_UNAVAILABLE
                )
                return Decision.degraded_allow(reason, screening.reading.e164)
        lookup = self._lookup(screening, replies)
        answer = Roaming.UNVERIFIED
        if roaming is not None and self._roaming_matters(screening, lookup):
            assert screening.reading.e164 is not None
            left = started + self.settings.lookup_timeout_s - time.monotonic()
            answer = roaming(screening.reading.e164, left)
        return self._decide(screening, lookup, answer)
