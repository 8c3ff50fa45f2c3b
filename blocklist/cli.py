"""`callscreen`: the operator's command line.

Core commands live here; `agi` and `api` add theirs through the `callscreen.commands` entry
point group (so this package imports neither, and nothing imports this module). Every command
reads its settings from the environment once, here, and passes them down; where Redis is comes
from them too (`Settings.redis`). Exit status: 0 done, 1 refused or failed (the message says
why), 2 bad usage, 130 interrupted, 141 when the reader of its output went away
(`callscreen export | head`), quietly, as Unix tools do.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from typing import Any

from blocklist.actor import cli_actor
from blocklist.entries import MANUAL_SOURCE, AppliesTo, Category, Direction, Entry, Mode
from blocklist.errors import CallscreenError
from blocklist.numbers import digits
from blocklist.policy import Decision, Reason
from blocklist.settings import Settings

Handler = Callable[[argparse.Namespace, Settings], int]


# -- commands ------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from blocklist.supervisor import run

    return run(settings, with_api=not args.no_api)


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from blocklist.screening import Screener
    from blocklist.store.admin import Store
    from blocklist.store.reads import FailoverConnection

    direction = Direction(args.direction)
    from blocklist.origin import read_attestation, read_origin

    try:
        origin = read_origin(args.origin or "")
        attestation = read_attestation(args.attestation or "")
    except ValueError:
        raise CallscreenError(
            f"--origin {args.origin!r} / --attestation {args.attestation!r}: expected national,"
            " international or internal / A, B, C or failed"
        ) from None
    # The call path's own decision (on the primary, so a change just made shows), but a
    # store failure is an error here, not an allow.
    decision = Screener(settings).screen(
        FailoverConnection(settings.redis, 5.0, primary=True), direction, args.number,
        args.subscriber, origin=origin, attestation=attestation,
    )
    explained = []
    if decision.e164:
        store = Store.from_location(settings.redis, settings.key_prefix)
        explained = store.explain(digits(decision.e164))
    if args.json:
        print(json.dumps({
            "number": decision.e164, "direction": direction.value,
            "action": decision.action.value, "reason": decision.reason, "rule": decision.rule,
            "category": decision.category.value if decision.category else None,
            "prompt": decision.prompt,
            "matched": decision.matched.key if decision.matched else None,
            "label": decision.label,
            "origin": _origin_dict(decision),
            "entries": [_entry_dict(e) for e in explained],
        }, indent=2))
        return 0
    if decision.e164:
        shown = decision.e164
    elif decision.reason is Reason.PROTECTED:
        shown = f"{args.number!r} (an emergency number or short code)"
    else:
        shown = f"{args.number!r} (no usable number)"
    print(f"{shown}  {direction.value}  ->  {decision.action.value.upper()}")
    print(f"  reason: {decision.reason}   rule: {decision.rule}")
    if decision.category:
        print(f"  category: {decision.category.value}")
    if decision.prompt:
        print(f"  prompt: {decision.prompt}")
    if decision.label:
        print(f"  label: {decision.label}")
    if decision.matched:
        kind = "block" if decision.matched.is_prefix else "number"
        print(f"  decided by the {kind} +{decision.matched.key}")
    origin_said = _origin_dict(decision)
    if origin_said is not None:
        print(f"  origin: {origin_said['action']} ({origin_said['reason']},"
              f" {origin_said['rule']}){'  [decided]' if origin_said['decided'] else ''}")
        blocklist = origin_said["blocklist"]
        print(f"  blocklist: {blocklist['action']} ({blocklist['reason']}, {blocklist['rule']})")
    for entry in explained:
        until = f" until {entry.valid_until}" if entry.valid_until else ""
        print(
            f"  entry {entry.label}  {entry.category.value} ({entry.applies_to.value})"
            f"  source={entry.source}  ref={entry.reference!r}  reason={entry.reason!r}"
            f"  by={entry.added_by!r}{until}{'  [shadow]' if entry.shadow else ''}"
        )
    return 0


def _origin_dict(decision: Decision) -> dict[str, Any] | None:
    """Both decisions of a call origin screening spoke about: the origin's and the
    blocklist's (the one that did not decide, or the call's own)."""
    origin = decision.origin
    if origin is None:
        return None
    blocklist = decision.overridden or decision
    return {
        "action": origin.action.value, "reason": str(origin.reason), "rule": origin.rule,
        "type": origin.kind.value if origin.kind else None,
        "decided": decision.overridden is not None,
        "blocklist": {"action": blocklist.action.value, "reason": str(blocklist.reason),
                      "rule": blocklist.rule},
    }


def _entry_dict(entry: Entry) -> dict[str, object]:
    return {
        "key": entry.label, "category": entry.category.value,
        "applies_to": entry.applies_to.value, "source": entry.source,
        "reference": entry.reference, "reason": entry.reason, "added_by": entry.added_by,
        "listed_at": entry.listed_at.isoformat() if entry.listed_at else None,
        "valid_until": entry.valid_until.isoformat() if entry.valid_until else None,
        "shadow": entry.shadow,
    }


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from blocklist.importer import import_file

    return import_file(args, settings, settings.redis.service_url())


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from blocklist.feeds.export import write_screening_feed
    from blocklist.store.admin import Store
    from blocklist.store.catalog import all_entries

    store = Store.from_location(settings.redis, settings.key_prefix)
    entries = list(all_entries(store, [args.source] if args.source else None))
    label = args.source or "callscreen-export"
    if args.output == "-":
        write_screening_feed(entries, label, sys.stdout.buffer, jsonl=args.jsonl)
    else:
        with open(args.output, "wb") as out:
            write_screening_feed(entries, label, out, jsonl=args.jsonl)
        print(f"exported {len(entries)} entries to {args.output}", file=sys.stderr)
    return 0


def cmd_entry(args: argparse.Namespace, settings: Settings) -> int:
    from blocklist.numbers import NumberPlan
    from blocklist.store.admin import Store

    plan = NumberPlan(settings.region, settings.protected_numbers)
    store = Store.from_location(settings.redis, settings.key_prefix)
    is_prefix = args.prefix
    key = plan.parse_prefix(args.number) if is_prefix else digits(plan.parse_exact(args.number))
    if args.action == "remove":
        removed = store.remove_entries(MANUAL_SOURCE, [(key, is_prefix)])
        print(f"removed {removed} manual entr{'y' if removed == 1 else 'ies'}")
        return 0 if removed else 1
    category = Category(args.category)
    entry = Entry(
        key=key, is_prefix=is_prefix, category=category,
        applies_to=AppliesTo(args.applies_to) if args.applies_to
        else AppliesTo.default_for(category),
        source=MANUAL_SOURCE, reference=args.reference or "", reason=args.reason or "",
        listed_at=dt.datetime.now(dt.UTC).date(),
        valid_until=dt.date.fromisoformat(args.valid_until) if args.valid_until else None,
        added_by=args.by or cli_actor(),
    )
    store.add_entries([entry])
    print(f"listed {entry.label} as {category.value} ({entry.applies_to.value})")
    return 0


def cmd_allow(args: argparse.Namespace, settings: Settings) -> int:
    from blocklist.numbers import NumberPlan
    from blocklist.store.admin import Store

    plan = NumberPlan(settings.region, settings.protected_numbers)
    store = Store.from_location(settings.redis, settings.key_prefix)
    if args.action == "list":
        for (key, is_prefix), note in sorted(store.allowlist().items()):
            print(f"+{key}{'*' if is_prefix else ''}  {note.get('reason', '')}")
        return 0
    if not args.number:
        raise CallscreenError(f"allow {args.action} needs a NUMBER")
    key = plan.parse_prefix(args.number) if args.prefix else digits(plan.parse_exact(args.number))
    if args.action == "add":
        store.allow((key, args.prefix), {
            "reason": args.reason or "", "by": cli_actor(),
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        })
        print(f"allowlisted +{key}{'*' if args.prefix else ''}")
        return 0
    return 0 if store.disallow((key, args.prefix)) else 1


def cmd_subscriber(args: argparse.Namespace, settings: Settings) -> int:
    from blocklist.numbers import NumberPlan
    from blocklist.store.admin import Store

    plan = NumberPlan(settings.region, settings.protected_numbers)
    store = Store.from_location(settings.redis, settings.key_prefix)
    sub = digits(plan.parse_exact(args.number))
    if args.action == "set":
        store.set_subscriber(
            sub, mode=Mode(args.mode) if args.mode else None, language=args.language
        )
    elif args.action == "delete":
        return 0 if store.delete_subscriber(sub) else 1
    elif args.action in ("allow", "disallow"):
        if not args.other:
            raise CallscreenError(f"subscriber {args.action} needs the NUMBER to allow")
        other = digits(plan.parse_exact(args.other))
        store.personal_allow(sub, other, add=args.action == "allow")
    found = store.subscriber(sub)
    if found is None:
        print(f"+{sub}: no settings (standard mode)")
        return 1 if args.action == "show" else 0
    settings_, allowed = found
    print(f"+{sub}: mode={settings_.mode.value} language={settings_.language or '-'}")
    for number in allowed:
        print(f"  allows +{number}")
    return 0


def cmd_store(args: argparse.Namespace, settings: Settings) -> int:
    from blocklist.store.admin import Store

    store = Store.from_location(settings.redis, settings.key_prefix)
    if args.task == "rebuild":
        store.rebuild()
        print("rebuilt the call path's listing from every source")
    elif args.task == "purge-expired":
        from blocklist.store import registered

        print(f"removed {store.purge_expired()} expired entries")
        print(f"removed {registered.purge_expired(store)} expired registrations")
    else:
        print(json.dumps(store.counts(), indent=2, sort_keys=True))
    return 0


# -- the parser ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="callscreen",
        description="Screen calls against a blocklist of fake-helpdesk numbers.",
        epilog="Settings come from CALLSCREEN_* environment variables (see the README).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run the service: FastAGI, admin API, metrics, Redis")
    p.add_argument("--no-api", action="store_true", help="run only the call path")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("check", help="print the decision for a number, and why")
    p.add_argument("number")
    p.add_argument("--direction", required=True, choices=[d.value for d in Direction])
    p.add_argument("--subscriber")
    p.add_argument("--origin", help="the trunk: national, international or internal")
    p.add_argument("--attestation", help="the caller's verification: A, B, C or failed")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("import", help="import a feed file into the blocklist")
    p.add_argument("file", help="the file, or - for standard input")
    p.add_argument("--format", default="screening-feed/v1",
                   help="screening-feed/v1 (JSON or JSON Lines), delimited, bnetza, plain")
    p.add_argument("--source", help="source id (formats without a header need one)")
    p.add_argument("--config", help="JSON file with the format's options (column mapping...)")
    p.add_argument("--region", help="region for national numbers (default CALLSCREEN_REGION)")
    p.add_argument("--category", help="default category (plain lists)")
    p.add_argument("--force", action="store_true", help="apply even if the guard refuses")
    p.add_argument("--dry-run", action="store_true", help="report the diff, change nothing")
    p.add_argument("--max-removal", type=float, default=0.2,
                   help="refuse a snapshot removing more than this share (default 0.2)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", help="export entries as screening-feed/v1")
    p.add_argument("--source")
    p.add_argument("--jsonl", action="store_true", help="JSON Lines instead of one document")
    p.add_argument("-o", "--output", default="-")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("entry", help="add or remove a manual entry")
    p.add_argument("action", choices=["add", "remove"])
    p.add_argument("number")
    p.add_argument("--prefix", action="store_true", help="NUMBER is a block (0900 1234 5xx)")
    p.add_argument("--category", default="suspected", choices=[c.value for c in Category])
    p.add_argument("--applies-to", choices=[a.value for a in AppliesTo])
    p.add_argument("--reason")
    p.add_argument("--reference")
    p.add_argument("--valid-until", help="last day the entry applies, YYYY-MM-DD")
    p.add_argument("--by", help="who adds it (default cli:USER, the user running it)")
    p.set_defaults(func=cmd_entry)

    p = sub.add_parser("allow", help="the global allowlist")
    p.add_argument("action", choices=["add", "remove", "list"])
    p.add_argument("number", nargs="?")
    p.add_argument("--prefix", action="store_true")
    p.add_argument("--reason")
    p.set_defaults(func=cmd_allow)

    p = sub.add_parser("subscriber", help="a subscriber's mode, language and allowlist")
    p.add_argument("action", choices=["show", "set", "delete", "allow", "disallow"])
    p.add_argument("number")
    p.add_argument("other", nargs="?", help="for allow/disallow: the number to allow")
    p.add_argument("--mode", choices=[m.value for m in Mode])
    p.add_argument("--language", choices=["en", "nl"])
    p.set_defaults(func=cmd_subscriber)

    p = sub.add_parser("store", help="store upkeep: counts, rebuild, purge-expired")
    p.add_argument("task", choices=["counts", "rebuild", "purge-expired"])
    p.set_defaults(func=cmd_store)

    from blocklist.registered_commands import register as register_registered
    from blocklist.sync.commands import register as register_sync

    register_registered(sub)
    register_sync(sub)
    for plugin in entry_points(group="callscreen.commands"):
        register: Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]
        register = plugin.load()
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The `callscreen` command; returns its exit status."""
    try:
        try:
            return _run(argv)
        finally:
            sys.stdout.flush()  # here, so a closed pipe shows up where it is handled
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as Unix tools do. Point stdout at
        # /dev/null first, or the interpreter's own flush at exit reports the pipe again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + 13  # what a shell reports for a tool killed by SIGPIPE


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
        handler: Handler = args.func
        return handler(args, settings)
    except CallscreenError as exc:
        print(f"callscreen: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"callscreen: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
