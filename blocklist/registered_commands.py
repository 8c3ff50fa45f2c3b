"""`callscreen registered add|remove|list`: numbers registered for use from abroad.

A registered number (or block) passes origin screening from abroad (`blocklist.origin`); it
never bypasses the blocklist. Every change is recorded in the audit trail, as the API's are.
"""

from __future__ import annotations

import argparse
import datetime as dt

from blocklist.actor import cli_actor
from blocklist.errors import CallscreenError
from blocklist.numbers import digits
from blocklist.settings import Settings


def cmd_registered(args: argparse.Namespace, settings: Settings) -> int:
    from blocklist.numbers import NumberPlan
    from blocklist.store import audit, registered
    from blocklist.store.admin import Store

    store = Store.from_url(settings.redis.service_url(), settings.key_prefix)
    if args.action == "list":
        for found in registered.registrations(store):
            ends = f"  until {found.valid_until}" if found.valid_until else ""
            print(f"{found.label}  {found.reason!r}  by={found.created_by!r}{ends}")
        return 0
    if not args.number:
        raise CallscreenError(f"registered {args.action} needs a NUMBER")
    plan = NumberPlan(settings.region, settings.protected_numbers)
    key = plan.parse_prefix(args.number) if args.prefix else digits(plan.parse_exact(args.number))
    label = "+" + key + ("*" if args.prefix else "")
    actor = cli_actor()
    if args.action == "remove":
        if not registered.unregister(store, key, args.prefix):
            print(f"{label} was not registered")
            return 1
        audit.record(store, actor, "registered.remove", label, {}, args.reason or "",
                     max_events=settings.audit_max_events)
        print(f"unregistered {label}")
        return 0
    try:
        until = dt.date.fromisoformat(args.valid_until) if args.valid_until else None
    except ValueError:
        raise CallscreenError(f"--valid-until {args.valid_until!r}: expected YYYY-MM-DD") from None
    made = registered.register(store, key, args.prefix, args.reason or "", until, actor)
    audit.record(store, actor, "registered.add", label,
                 {"valid_until": until.isoformat() if until else None}, made.reason,
                 max_events=settings.audit_max_events)
    print(f"registered {label} for use from abroad{f' until {until}' if until else ''}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `registered` command to the `callscreen` parser."""
    p = sub.add_parser("registered", help="numbers registered for use from abroad")
    p.add_argument("action", choices=["add", "remove", "list"])
    p.add_argument("number", nargs="?")
    p.add_argument("--prefix", action="store_true", help="NUMBER is a block (020 765 xxxx)")
    p.add_argument("--reason", help="why (an enterprise's contact centre abroad, a ticket)")
    p.add_argument("--valid-until", help="last day the registration applies, YYYY-MM-DD")
    p.set_defaults(func=cmd_registered)
