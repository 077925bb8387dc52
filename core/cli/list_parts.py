"""``synctrack list [KIND]``: the registered parts, with their summaries and plugins."""

from __future__ import annotations

import argparse
import textwrap

from rich import box
from rich.markup import escape
from rich.table import Table

from ..plugin_manager import get_plugin_manager, get_registry
from ..registry import KINDS, check_kind
from . import console


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("list", help="list registered parts", description=__doc__)
    parser.add_argument("kind", nargs="?", help=f"one kind: {', '.join(KINDS)}")
    parser.set_defaults(handler=run)


BUILT_IN_PREFIX = "synctrack.plugins"
WIDE = 120  # columns from which the full summaries and the plugin column fit beside each other


def first_sentence(text: str) -> str:
    """The first sentence of a summary (up to the first '. ' or ': '), for narrow terminals."""
    cut = min((i for i in (text.find(". "), text.find(": ")) if i > 0), default=-1)
    return text[: cut + 1].rstrip(":") if cut > 0 else text


def shorten(text: str, width: int, lines: int) -> str:
    """``text`` wrapped at ``width``, cut to ``lines`` lines with an ellipsis when longer."""
    wrapped = textwrap.wrap(text, width)
    if len(wrapped) <= lines:
        return text
    return "\n".join([*wrapped[: lines - 1], textwrap.shorten(" ".join(wrapped[lines - 1 :]), width, placeholder=" ...")])


def plugin_label(plugin: str) -> str:
    return "built-in" if plugin == BUILT_IN_PREFIX or plugin.startswith(BUILT_IN_PREFIX + ".") else plugin


def parts_table(kind: str | None = None, title: str = "registered parts", width: int | None = None) -> Table:
    """The registered parts as a table that reads at ``width`` columns (default: the console's).

    Narrower than :data:`WIDE`: summaries are cut to their first sentence and the plugin column is left out
    when every part is built in, so that each part keeps one line, or two, at 80 columns and in a pipe.
    """
    registry = get_registry()
    parts = list(registry.parts(kind))
    width = width or console.out.width
    narrow = width < WIDE
    third_party = any(plugin_label(part.plugin) != "built-in" for part in parts)
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD if narrow else box.HEAVY_HEAD)
    table.add_column("kind", no_wrap=True)
    table.add_column("name", no_wrap=True)
    table.add_column("summary", overflow="fold", ratio=1, min_width=24)
    show_plugin = third_party or not narrow
    if show_plugin:
        table.add_column("plugin", overflow="fold", max_width=28 if narrow else None)
    # room for the summary: what the kind and name columns and the padding leave (2 per column side)
    room = max(width - max((len(p.kind) for p in parts), default=4) - max((len(p.name) for p in parts), default=4) - 10
               - (30 if show_plugin else 0), 24)
    for part in parts:
        summary = shorten(first_sentence(part.summary), room, lines=2) if narrow else part.summary
        # summaries are plugin text: escaped, so 'synctrack[xformers]' is shown, not read as rich markup
        table.add_row(part.kind, escape(part.name), escape(summary), *([escape(plugin_label(part.plugin))] if show_plugin else []))
    return table


def run(args: argparse.Namespace) -> int:
    kind = check_kind(args.kind) if args.kind else None
    console.out.print(parts_table(kind))
    manager = get_plugin_manager()  # a broken plugin was warned about, with its fix, as the registry loaded
    if manager.skipped:
        console.out.print(f"disabled plugins: {', '.join(manager.skipped)}", markup=False)
    return 0
