"""The shape of the house, checked: what each layer may import, no import circles, short files.

Read with `ast`, so a violation anywhere in bot/, cogs/ or db/ fails here before review.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "cogs", "db")
MAX_LINES = 400

# (importer prefix, forbidden import prefixes, why)
RULES = (
    ("bot.core", ("discord", "aiohttp", "aiosqlite", "db", "cogs", "bot.ui", "bot.runcomfy"),
     "the core is plain Python: no Discord, no HTTP, no SQL"),
    ("db", ("discord", "aiohttp", "cogs", "bot.ui", "bot.runcomfy", "bot.client", "bot.services"),
     "db implements the core's stores and imports only the core"),
    ("cogs", ("db", "aiosqlite", "bot.runcomfy"), "cogs call services only"),
    ("bot.ui", ("db", "aiosqlite", "cogs", "bot.client"), "UI pieces take what they need"),
)  # fmt: skip


def modules() -> dict[str, Path]:
    found = {}
    for top in PACKAGES:
        for path in (ROOT / top).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def imports(name: str, path: Path) -> Iterator[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize(("layer", "forbidden", "why"), RULES)
def test_each_layer_imports_only_what_it_may(layer: str, forbidden: tuple[str, ...], why: str):
    broken = sorted(
        f"{name} imports {target}"
        for name, path in modules().items()
        if _within(name, layer)
        for target in imports(name, path)
        if any(_within(target, f) for f in forbidden)
    )
    assert broken == [], f"{why}:\n" + "\n".join(broken)


def test_no_import_circles():
    mods = modules()

    def resolve(target: str) -> str | None:
        while target and target not in mods:
            target = target.rpartition(".")[0]
        return target or None

    edges = {
        name: {r for t in imports(name, path) if (r := resolve(t)) and r != name}
        for name, path in mods.items()
    }
    # A package's __init__ re-exporting its own modules is not a circle worth the name.
    circles = [c for c in _cycles(edges) if not _package_and_its_own(c)]
    assert circles == []


def _package_and_its_own(circle: list[str]) -> bool:
    root = min(circle, key=len)
    return all(m == root or m.startswith(root + ".") for m in circle)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_files_stay_short():
    long = {
        str(path.relative_to(ROOT)): n
        for path in modules().values()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
