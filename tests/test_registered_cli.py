"""`callscreen registered` and `callscreen check --origin`, run as an operator runs them."""

from __future__ import annotations

import json
import subprocess
import sys

from blocklist.entries import AppliesTo, Category, Entry
from blocklist.store.admin import Store
from blocklist.store.audit import events
from tests.test_cli import callscreen_env


def callscreen(redis_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "blocklist.cli", *args], capture_output=True,
                          text=True, timeout=30, env={**callscreen_env(redis_url), **env})


def test_registered_add_list_remove_is_audited(redis_url: str, store: Store) -> None:
    """add, list and remove work on the store and each change is in the audit trail."""
    added = callscreen(redis_url, "registered", "add", "020 123 4567", "--reason", "Lisbon desk",
                       "--valid-until", "2999-12-31")
    assert added.returncode == 0, added.stderr
    listed = callscreen(redis_url, "registered", "list")
    assert listed.stdout.startswith("+31201234567  'Lisbon desk'")
    assert "until 2999-12-31" in listed.stdout
    removed = callscreen(redis_url, "registered", "remove", "+31201234567")
    assert removed.returncode == 0, removed.stderr
    assert callscreen(redis_url, "registered", "list").stdout == ""
    actions = [(e.action, e.target) for e in events(store)[0]]
    assert ("registered.add", "+31201234567") in actions
    assert ("registered.remove", "+31201234567") in actions


def test_registered_refuses_garbage_naming_it(redis_url: str, store: Store) -> None:
    """A protected number, a non-number or a bad date is refused by name; nothing stored."""
    for args, says in ((("112",), "'112' is a protected number"),
                       (("hello",), "'hello' is not a phone number"),
                       (("0201234567", "--valid-until", "soon"), "'soon': expected YYYY-MM-DD")):
        done = callscreen(redis_url, "registered", "add", *args)
        assert done.returncode == 1
        assert says in done.stderr
    assert callscreen(redis_url, "registered", "list").stdout == ""


def test_check_origin_names_both_decisions(redis_url: str, store: Store) -> None:
    """`check --origin international` shows the origin's decision and the blocklist's."""
    store.add_entries([Entry(key="31201234567", is_prefix=False, category=Category.SUSPECTED,
                             applies_to=AppliesTo.BOTH, source="acm")])
    done = callscreen(redis_url, "check", "+31201234567", "--direction", "inbound",
                      "--origin", "international", "--json", CALLSCREEN_ORIGIN_PRESET="BE")
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout)
    assert (said["action"], said["reason"]) == ("block", "national-cli-from-abroad")
    assert said["origin"]["decided"] is True
    assert said["origin"]["blocklist"] == {"action": "warn", "reason": "listed",
                                           "rule": "policy:suspected.inbound=warn"}
    text = callscreen(redis_url, "check", "+31201234567", "--direction", "inbound",
                      "--origin", "international", CALLSCREEN_ORIGIN_PRESET="DE").stdout
    assert "->  WITHHOLD" in text
    assert "origin: withhold (national-cli-from-abroad, origin:fixed=withhold)  [decided]" in text
    assert "blocklist: warn (listed, policy:suspected.inbound=warn)" in text
    assert "label: Number hidden: abroad" in text


def test_check_refuses_a_bad_origin(redis_url: str, store: Store) -> None:
    """An origin check names a bad --origin value."""
    done = callscreen(redis_url, "check", "+31201234567", "--direction", "inbound",
                      "--origin", "abroad")
    assert done.returncode == 1
    assert "--origin 'abroad'" in done.stderr
