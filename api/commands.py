"""`callscreen api` (serve the admin API) and `callscreen keys` (make, list, revoke API keys),
registered as `callscreen` plugins (entry point group `callscreen.commands`)."""

from __future__ import annotations

import argparse

from blocklist.settings import Listen, Settings


def api(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("api", help="serve the admin API")
    p.add_argument("--listen", help="HOST:PORT (default CALLSCREEN_API_LISTEN, 127.0.0.1:8573)")
    p.set_defaults(func=_serve)


def keys(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("keys", help="API keys for the admin API: create, list, revoke")
    actions = p.add_subparsers(dest="keys_action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="make a key (printed once, stored hashed)")
    create.add_argument("--role", required=True, choices=["read", "write", "admin"])
    create.add_argument("--name", required=True, help="who or what uses it (fraud-desk, ...)")
    actions.add_parser("list", help="list keys (never the keys themselves)")
    revoke = actions.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("id")
    p.set_defaults(func=_keys)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import logging

    import uvicorn

    from api.app import create_app
    from blocklist.numbering_drift import report_numbering_drift
    from blocklist.values import replace

    listen = Listen.parse(args.listen, name="--listen") if args.listen else settings.api_listen
    # The app is given the URL itself: the embedded Redis must be running now.
    settings = replace(settings, redis_url=settings.redis.service_url(), api_listen=listen)
    logging.basicConfig(level=settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    report_numbering_drift()
    # uvicorn's own access log prints raw paths, which can hold phone numbers: ours
    # (api.telemetry) prints the route template instead.
    uvicorn.run(create_app(settings), host=listen.host, port=listen.port, access_log=False,
                log_config=None, proxy_headers=False, server_header=False)
    return 0


def _keys(args: argparse.Namespace, settings: Settings) -> int:
    import sys

    from blocklist.actor import cli_actor
    from blocklist.store import audit
    from blocklist.store.admin import Store
    from blocklist.store.apikeys import Role, create_key, list_keys, revoke_key

    store = Store.from_location(settings.redis, settings.key_prefix)
    actor = cli_actor()
    if args.keys_action == "create":
        key, token = create_key(store, args.name, Role(args.role), created_by=actor)
        audit.record(store, actor, "key.create", key.id, {"name": key.name, "role": args.role},
                     max_events=settings.audit_max_events)
        print(token)
        print(f"key {key.id} ({key.role.value}) for {key.name}: shown once, keep it safe",
              flush=True, file=sys.stderr)
        return 0
    if args.keys_action == "list":
        for key in list_keys(store):
            print(f"{key.id}  {key.role.value:<5}  {key.name}  created {key.created_at}"
                  f" by {key.created_by}")
        return 0
    revoked = revoke_key(store, args.id)
    if revoked is None:
        print(f"callscreen: no API key {args.id!r}", file=sys.stderr)
        return 1
    audit.record(store, actor, "key.revoke", revoked.id,
                 {"name": revoked.name, "role": revoked.role.value},
                 max_events=settings.audit_max_events)
    print(f"revoked {revoked.id} ({revoked.name})")
    return 0
