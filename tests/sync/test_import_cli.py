"""`callscreen import` as a subprocess, for every format."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from blocklist.store.admin import Store

FEED_JSON = json.dumps({
    "feed": {"format": "screening-feed/v1", "source": "ex", "record_count": 2},
    "records": [{"number": "+31 85 555 0101", "category": "revoked"},
                {"prefix": "0900 5550 1xx", "category": "revoked"}],
})
CASES = {
    "screening-feed/v1": (FEED_JSON, [], "ex", 2),
    "delimited": ("nummer;categorie\n085 555 0101;revoked\n020 555 0102;fraud\n112;revoked\n",
                  ["--source", "acm"], "acm", 2),
    "bnetza": ("Bescheid vom;Rufnummer;Kategorie;Maßnahme\n"
               "01.10.2099;0900 1234 5x, 0221 1234567;Ping;Abschaltung der Rufnummer(n)\n",
               ["--source", "bnetza", "--region", "DE"], "bnetza", 2),
    "plain": ("# ACM list\n085 555 0101\n085 555 0102\n", ["--source", "acm", "--category",
                                                          "revoked"], "acm", 2),
}


def callscreen(redis_url: str, *args: str, stdin: str | None = None):
    env = {**os.environ, "CALLSCREEN_REDIS_URL": redis_url, "CALLSCREEN_REGION": "NL"}
    return subprocess.run([sys.executable, "-m", "blocklist.cli", *args], input=stdin,
                          capture_output=True, text=True, env=env, timeout=60)


@pytest.mark.parametrize("fmt", list(CASES))
def test_import_every_format(fmt: str, redis_url: str, store: Store, tmp_path: Path) -> None:
    """Each format imports from a file; rejected rows are printed with their line."""
    text, extra, source, count = CASES[fmt]
    path = tmp_path / "feed"
    path.write_text(text, encoding="utf-8")
    done = callscreen(redis_url, "import", str(path), "--format", fmt, *extra)
    assert done.returncode == 0, done.stderr
    assert "imported" in done.stdout and f"accepted={count}" in done.stdout
    assert len(store.source_entries(source)) == count
    if fmt == "delimited":
        assert "line 4:" in done.stderr and "protected" in done.stderr


def test_import_from_stdin_dry_run(redis_url: str, store: Store) -> None:
    """`-` reads standard input; --dry-run changes nothing."""
    done = callscreen(redis_url, "import", "-", "--format", "plain", "--source", "acm",
                      "--dry-run", stdin="085 555 0101\n")
    assert done.returncode == 0, done.stderr
    assert "dry run" in done.stdout and "added=1" in done.stdout
    assert store.source_entries("acm") == {}


def test_guard_refusal_exits_1_and_says_force(redis_url: str, store: Store,
                                              tmp_path: Path) -> None:
    """A snapshot removing too much exits 1, says why and that --force overrides."""
    path = tmp_path / "list.txt"
    path.write_text("".join(f"085 555 01{n:02d}\n" for n in range(10)))
    assert callscreen(redis_url, "import", str(path), "--format", "plain", "--source",
                      "acm").returncode == 0
    path.write_text("085 555 0100\n")
    done = callscreen(redis_url, "import", str(path), "--format", "plain", "--source", "acm")
    assert done.returncode == 1
    assert "removes 9 of 10" in done.stderr and "--force" in done.stderr
    forced = callscreen(redis_url, "import", str(path), "--format", "plain", "--source", "acm",
                        "--force")
    assert forced.returncode == 0 and len(store.source_entries("acm")) == 1


def test_many_rejected_rows_are_capped(redis_url: str, store: Store, tmp_path: Path) -> None:
    """Only the first rejected rows are printed, then how many more."""
    path = tmp_path / "list.txt"
    path.write_text("085 555 0101\n" + "garbage\n" * 30)
    done = callscreen(redis_url, "import", str(path), "--format", "plain", "--source", "acm")
    assert done.returncode == 0
    assert "and 10 more rejected rows" in done.stderr and "rejected=30" in done.stdout


def test_cli_refuses_a_snapshot_of_manual_entries(redis_url: str, tmp_path) -> None:
    """`callscreen import` refuses a snapshot of `manual`, as the API does: it would replace
    entries people made one by one."""
    path = tmp_path / "manual.json"
    path.write_text(json.dumps({"feed": {"format": "screening-feed/v1", "source": "manual",
                                         "mode": "snapshot"},
                                "records": [{"number": "+31855550101", "category": "fraud"}]}))
    result = subprocess.run(
        [sys.executable, "-m", "blocklist.cli", "import", str(path), "--force", "--quiet"],
        env={**os.environ, "CALLSCREEN_REDIS_URL": redis_url}, capture_output=True, text=True,
        timeout=60)
    assert result.returncode == 1
    assert "would replace entries people made" in result.stderr


def test_export_round_trips_through_import(redis_url: str, store: Store, tmp_path: Path) -> None:
    """`callscreen export --source` writes a feed that imports back to the same entries."""
    path = tmp_path / "feed.json"
    path.write_text(FEED_JSON, encoding="utf-8")
    assert callscreen(redis_url, "import", str(path), "--quiet").returncode == 0
    exported = tmp_path / "export.jsonl"
    done = callscreen(redis_url, "export", "--source", "ex", "--jsonl", "-o", str(exported))
    assert done.returncode == 0, done.stderr
    assert "exported 2 entries" in done.stderr
    before = store.source_entries("ex")
    store.apply_snapshot("ex", [], force=True)
    assert callscreen(redis_url, "import", str(exported), "--quiet").returncode == 0
    assert store.source_entries("ex") == before
