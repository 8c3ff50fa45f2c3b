"""The lock files (tools/lock): complete, hashed, consistent with each other, with
pyproject.toml and with the numbering data."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from blocklist import _numbering_data

ROOT = Path(__file__).resolve().parent.parent
LOCKS = ("requirements.lock", "requirements-dev.lock")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)(?:\s*;\s*([^\\]+?))?\s*\\?$")
_HASH = re.compile(r"^\s+--hash=sha256:[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class Pin:
    name: str
    version: str
    marker: str | None
    hashes: int


def pins(lock: str) -> list[Pin]:
    """Every `name==version ; marker` of a lock file, with its number of hashes."""
    found: list[Pin] = []
    for line in (ROOT / lock).read_text().splitlines():
        if match := _PIN.match(line):
            name, version, marker = match.groups()
            found.append(Pin(canonicalize_name(name), version, marker, 0))
        elif _HASH.match(line) and found:
            last = found[-1]
            found[-1] = Pin(last.name, last.version, last.marker, last.hashes + 1)
    return found


def pyproject_requirements() -> dict[str, list[Requirement]]:
    """pyproject.toml's runtime dependencies and its `dev` extras."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {"runtime": [Requirement(r) for r in project["dependencies"]],
            "dev": [Requirement(r) for r in project["optional-dependencies"]["dev"]]}


@pytest.mark.parametrize("lock", LOCKS)
def test_every_locked_release_carries_its_hashes(lock: str) -> None:
    """Each pin in a lock has sha256 hashes, so pip installs it with --require-hashes."""
    found = pins(lock)
    assert found, f"{lock} pins nothing"
    assert [p.name for p in found if p.hashes == 0] == []


@pytest.mark.parametrize(("lock", "groups"), [("requirements.lock", ("runtime",)),
                                               ("requirements-dev.lock", ("runtime", "dev"))])
def test_lock_pins_what_pyproject_asks_for(lock: str, groups: tuple[str, ...]) -> None:
    """Every dependency of pyproject.toml is pinned at a release its bounds allow."""
    locked: dict[str, list[str]] = {}
    for pin in pins(lock):
        locked.setdefault(pin.name, []).append(pin.version)
    wanted = [r for group in groups for r in pyproject_requirements()[group]]
    missing = [str(r) for r in wanted if canonicalize_name(r.name) not in locked]
    assert missing == [], f"{lock} lacks {missing}: run tools/lock"
    outside = {str(r): locked[canonicalize_name(r.name)] for r in wanted
               if not all(r.specifier.contains(v, prereleases=True)
                          for v in locked[canonicalize_name(r.name)])}
    assert outside == {}, f"{lock} pins releases pyproject.toml refuses: run tools/lock"


def test_runtime_lock_agrees_with_dev_lock() -> None:
    """The runtime lock names the same releases as the development lock."""
    dev = {(p.name, p.marker): p.version for p in pins("requirements-dev.lock")}
    differ = {p.name: (p.version, dev.get((p.name, p.marker)))
              for p in pins("requirements.lock") if dev.get((p.name, p.marker)) != p.version}
    assert differ == {}, "run tools/lock"


@pytest.mark.parametrize("lock", LOCKS)
def test_numbering_data_is_built_from_the_locked_phonenumbers(lock: str) -> None:
    """blocklist/_numbering_data.py comes from the phonenumbers release the lock pins."""
    locked = [p.version for p in pins(lock) if p.name == "phonenumbers"]
    assert locked == [_numbering_data.PHONENUMBERS_VERSION], (
        f"{lock} pins phonenumbers {locked}, the numbering data is from"
        f" {_numbering_data.PHONENUMBERS_VERSION}: run tools/lock"
    )
