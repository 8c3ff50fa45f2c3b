"""Lint and types cover the Python scripts whose names have no .py, which `ruff check .` and
mypy would otherwise skip: each is named in pyproject.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT_FOLDERS = ("tools", "bench")


def python_scripts_without_py(root: Path) -> set[str]:
    """Files under tools/ and bench/, not named *.py, whose first line runs Python."""
    found: set[str] = set()
    for folder in SCRIPT_FOLDERS:
        for path in (root / folder).rglob("*"):
            if not path.is_file() or path.suffix == ".py" or "__pycache__" in path.parts:
                continue
            with path.open("rb") as file:
                first = file.readline()
            if first.startswith(b"#!") and b"python" in first:
                found.add(path.relative_to(root).as_posix())
    return found


def test_finds_the_scripts_it_is_about() -> None:
    """The search itself works: the HA tool is one such script."""
    assert "tools/ha" in python_scripts_without_py(ROOT)


def test_every_python_script_is_linted_and_type_checked() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    scripts = python_scripts_without_py(ROOT)
    linted = set(config["tool"]["ruff"].get("extend-include", []))
    typed = set(config["tool"]["mypy"].get("files", []))
    assert scripts - linted == set(), "add them to [tool.ruff] extend-include"
    assert scripts - typed == set(), "add them to [tool.mypy] files"
    assert config["tool"]["mypy"].get("scripts_are_modules") is True
