"""The import layering, read from the source (every import statement, those inside functions included).

Run as a script to print the graph's problems: ``python tests/core/test_layering.py``.

- No import cycles, in core or in the plugins: a cycle held together by imports inside functions still means
  two modules that cannot be understood, tested or replaced one without the other.
- ``synctrack.interfaces`` (the contracts) is a leaf: besides itself it imports only the errors, the track
  record, the random-draw helpers and the attention cost types.
- A plugin never imports another plugin (it asks the registry); core never imports a plugin.
- No module of core is longer than 350 lines: one job per module.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROOTS = {"synctrack": REPO / "core", "synctrack.plugins": REPO / "plugins"}
CORE_MODULE_LINES = 350
INTERFACE_LEAVES = {"synctrack.errors", "synctrack.tracks", "synctrack.noise", "synctrack.attention.cost"}


def module_name(path: Path) -> str:
    for package, folder in sorted(ROOTS.items(), key=lambda item: -len(item[0])):
        if folder in path.parents:
            parts = list(path.relative_to(folder).with_suffix("").parts)
            return ".".join([package, *(parts[:-1] if parts[-1] == "__init__" else parts)])
    raise ValueError(path)


def modules() -> dict[str, Path]:
    found = {}
    for folder in ROOTS.values():
        for path in folder.rglob("*.py"):
            if "__pycache__" not in path.parts:
                found[module_name(path)] = path
    return found


def _type_checking_only(tree: ast.AST) -> set[int]:
    """Line numbers of imports under ``if TYPE_CHECKING:`` (never run)."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            lines.update(child.lineno for statement in node.body for child in ast.walk(statement) if hasattr(child, "lineno"))
    return lines


def imports_of(name: str, path: Path, known: dict[str, Path]) -> Iterator[str]:
    """The project modules ``name`` imports (an imported name that is a module counts as that module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_only(tree)
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if node.lineno in skipped if hasattr(node, "lineno") else False:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join([*base, *([node.module] if node.module else [])])
            else:
                prefix = node.module or ""
            targets = [f"{prefix}.{alias.name}" if f"{prefix}.{alias.name}" in known else prefix for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {name: set(imports_of(name, path, known)) for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), largest first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found, key=len, reverse=True)


def plugin_family(name: str) -> str | None:
    """``synctrack.plugins.mixers.none`` -> ``mixers``; None outside the plugins."""
    parts = name.split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["synctrack", "plugins"] else None


def interface_breaks(graph: dict[str, set[str]]) -> list[str]:
    return [f"{source} imports {target}" for source, targets in sorted(graph.items())
            if source.startswith("synctrack.interfaces") for target in sorted(targets)
            if not target.startswith("synctrack.interfaces") and target not in INTERFACE_LEAVES]


def plugin_breaks(graph: dict[str, set[str]]) -> list[str]:
    breaks = []
    for source, targets in sorted(graph.items()):
        family = plugin_family(source)
        for target in sorted(targets):
            other = plugin_family(target)
            if family is None and other is not None and source != "synctrack.plugins":
                breaks.append(f"{source} (core) imports the plugin {target}")
            elif family is not None and other is not None and other != family:
                breaks.append(f"{source} imports {target}, a module of another plugin family: ask the registry instead")
    return breaks


def test_there_are_no_import_cycles():
    found = cycles(import_graph())
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(component) for component in found)


def test_the_interfaces_import_only_the_contract_leaves():
    assert not interface_breaks(import_graph())


def test_no_plugin_imports_another_plugin_and_core_imports_none():
    assert not plugin_breaks(import_graph())


def long_core_modules() -> list[str]:
    return [f"{path.relative_to(REPO)}: {count} lines (at most {CORE_MODULE_LINES})"
            for path in sorted(ROOTS["synctrack"].rglob("*.py"))
            if "__pycache__" not in path.parts and (count := len(path.read_text(encoding="utf-8").splitlines())) > CORE_MODULE_LINES]


def test_no_core_module_is_longer_than_350_lines():
    assert not long_core_modules()


def test_the_checker_sees_a_cycle_and_a_break():
    """The checks above can fail: a made-up graph with a cycle, an interface reaching up and a plugin reaching across."""
    graph = {
        "synctrack.a": {"synctrack.b"}, "synctrack.b": {"synctrack.c"}, "synctrack.c": {"synctrack.a"},
        "synctrack.interfaces.model": {"synctrack.pipeline", "synctrack.tracks"},
        "synctrack.plugins.metrics.fad": {"synctrack.plugins.embedders.logmel", "synctrack.plugins.metrics.rhythm"},
    }
    assert cycles(graph) == [["synctrack.a", "synctrack.b", "synctrack.c"]]
    assert interface_breaks(graph) == ["synctrack.interfaces.model imports synctrack.pipeline"]
    assert plugin_breaks(graph) == ["synctrack.plugins.metrics.fad imports synctrack.plugins.embedders.logmel, "
                                    "a module of another plugin family: ask the registry instead"]


if __name__ == "__main__":
    graph = import_graph()
    problems = [*(" <-> ".join(c) for c in cycles(graph)), *interface_breaks(graph), *plugin_breaks(graph),
                *long_core_modules()]
    print("\n".join(problems) or f"{len(graph)} modules: no cycles, interfaces a leaf, plugins apart, core modules short")
    sys.exit(1 if problems else 0)
