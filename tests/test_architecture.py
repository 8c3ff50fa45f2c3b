"""The layering rules of docs/design.md, checked on the source and on real imports."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = ("blocklist", "agi", "api")


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
        # This checkout first: the code under test, whatever the installed project points at.
        code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); {statement};"
                " print(' '.join(sorted(sys.modules)))")
        return set(subprocess.run([sys.executable, "-I", "-c", code], cwd=ROOT, check=True,
                                  capture_output=True, text=True).stdout.split())

    # What the interpreter itself loads here (site, an editable install's finder) is not ours.
    loaded = modules("import agi.script") - modules("pass")
    heavy = {"phonenumbers", "redis", "asyncio", "dataclasses", "typing", "urllib.parse",
             "fastapi", "pydantic", "httpx", "prometheus_client", "ssl", "hashlib", "json",
             "inspect", "uvloop", "datetime", "signal"}
    assert not loaded & heavy, f"callscreen-agi imports {sorted(loaded & heavy)}"


# -- import cycles --------------------------------------------------------------------------


def our_modules() -> dict[str, Path]:
    """Every module of ours by dotted name (a package by its own name, for `__init__`)."""
    found = {}
    for package in OURS:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, at module level or inside functions and classes, except
    those under `if TYPE_CHECKING:` (never executed, so they can't close a cycle)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and (
            (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
            or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING")
        ):
            for branch in node.orelse:
                yield from runtime_imports(ast.Module(body=[branch], type_ignores=[]))
        else:
            yield from runtime_imports(node)


def import_graph() -> dict[str, dict[str, str]]:
    """module -> {module of ours it imports: where (file:line)}."""
    modules = our_modules()
    graph: dict[str, dict[str, str]] = {name: {} for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in runtime_imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                wanted = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                # `from pkg import name`: the submodule pkg.name if there is one, else pkg.
                wanted = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            for target in wanted:
                while target and target not in modules:  # `import a.b.c`'s nearest module
                    target = target.rpartition(".")[0]
                if target and target != name:
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    graph[name].setdefault(target, where)
    return graph


def cycles(graph: dict[str, dict[str, str]]) -> list[list[str]]:
    """One cycle (its modules in import order) for every group of modules that import each
    other, directly or not (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    found = []
    for group in groups:
        start = min(group)
        paths = {start: [start]}
        queue = [start]
        while queue:  # the shortest way round, from `start` back to it, inside the group
            node = queue.pop(0)
            for target in sorted(graph[node]):
                if target == start:
                    found.append(paths[node])
                    queue = []
                    break
                if target in group and target not in paths:
                    paths[target] = [*paths[node], target]
                    queue.append(target)
    return found


def describe(cycle: list[str], graph: dict[str, dict[str, str]]) -> str:
    hops = zip(cycle, [*cycle[1:], cycle[0]], strict=True)
    return "\n".join(f"  {a} imports {b}  ({graph[a][b]})" for a, b in hops)


def test_no_import_cycles() -> None:
    """No module of blocklist, agi or api imports itself through others (at run time)."""
    graph = import_graph()
    found = cycles(graph)
    report = "\n\n".join(describe(cycle, graph) for cycle in found)
    assert not found, f"{len(found)} import cycle(s):\n{report}"


def test_cycle_finder_sees_a_cycle() -> None:
    """The cycle check itself finds a cycle through three modules, and only that one."""
    graph = {"a": {"b": "a.py:1"}, "b": {"c": "b.py:2"}, "c": {"a": "c.py:3"}, "d": {"a": "d.py:1"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_nothing_imports_the_cli() -> None:
    """blocklist.cli is the entry point: plugins and helpers never call back into it."""
    graph = import_graph()
    users = sorted(name for name, targets in graph.items() if "blocklist.cli" in targets)
    assert users == [], f"these import blocklist.cli: {users}"
