"""``synctrack list [KIND]``: the registered parts, with their summaries and plugins."""

from __future__ import annotations

import argparse

from rich.table import Table

from ..plugin_manager import get_plugin_manager, get_registry
from ..registry import KINDS, check_kind
from . import console


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("list", help="list registered parts", description=__doc__)
    parser.add_argument("kind", nargs="?", help=f"one kind: {', '.join(KINDS)}")
    parser.set_defaults(handler=run)


def parts_table(kind: str | None = None, title: str = "registered parts") -> Table:
    registry = get_registry()
    table = Table(title=title, title_justify="left")
    table.add_column("kind", no_wrap=True)
    table.add_column("name", no_wrap=True)
    table.add_column("summary", overflow="fold", ratio=1)
    table.add_column("plugin", no_wrap=True)
    for part in registry.parts(kind):
        table.add_row(part.kind, part.name, part.summary, part.plugin)
    return table


def run(args: argparse.Namespace) -> int:
    kind = check_kind(args.kind) if args.kind else None
    console.out.print(parts_table(kind))
    manager = get_plugin_manager()
    for failure in manager.failures:
        console.warning(str(failure))
    if manager.skipped:
        console.out.print(f"disabled plugins: {', '.join(manager.skipped)}", markup=False)
    return 0
