"""The layering rules of docs/design.md, checked on the source and on real imports."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(package: str) -> set[tuple[str, str]]:
    """(file, top-level module) for every import in a package, nested ones included."""
    found: set[tuple[str, str]] = set()
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update((path.name, alias.name.split(".")[0]) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add((path.name, node.module.split(".")[0]))
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("blocklist", {"agi", "api"}),
        ("agi", {"api", "fastapi", "pydantic", "httpx", "starlette", "uvicorn"}),
        ("api", {"agi"}),
    ],
)
def test_packages_keep_their_layers(package: str, forbidden: set[str]) -> None:
    """blocklist depends on nothing of ours; agi and api never on each other."""
    offending = {(f, m) for f, m in imported_modules(package) if m in forbidden}
    assert not offending, f"{package} imports {sorted(offending)}"


def test_redis_is_owned_by_the_store() -> None:
    """Only blocklist.store (and the test/bench harness) imports redis-py."""
    users = {
        str(path.relative_to(ROOT))
        for package in ("blocklist", "agi", "api")
        for path in (ROOT / package).rglob("*.py")
        if any(m == "redis" for f, m in imported_modules(package) if f == path.name)
        and "store" not in path.parts
    }
    assert users == set(), f"redis-py imported outside blocklist.store: {sorted(users)}"


def test_per_call_script_imports_stay_lean() -> None:
    """The per-call AGI script loads none of the heavy libraries (its budget is 30 ms)."""
    def modules(statement: str) -> set[str]:
        code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
        return set(subprocess.run([sys.executable, "-I", "-c", code], cwd=ROOT, check=True,
                                  capture_output=True, text=True).stdout.split())

    # What the interpreter itself loads here (site, an editable install's finder) is not ours.
    loaded = modules("import agi.script") - modules("pass")
    heavy = {"phonenumbers", "redis", "asyncio", "dataclasses", "typing", "urllib.parse",
             "fastapi", "pydantic", "httpx", "prometheus_client", "ssl", "hashlib", "json",
             "inspect", "uvloop", "datetime", "signal"}
    assert not loaded & heavy, f"callscreen-agi imports {sorted(loaded & heavy)}"
