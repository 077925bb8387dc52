"""``synctrack demo``: until the demo issue lands, list the registry and validate every recipe."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UserError
from . import console
from .list_parts import parts_table
from .recipe import validate_files


def default_recipe_folder() -> Path:
    """``./recipes`` when it exists, else the recipes of the source checkout synctrack runs from."""
    here = Path.cwd() / "recipes"
    return here if here.is_dir() else Path(__file__).resolve().parents[2] / "recipes"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="show the registry and validate every recipe", description=__doc__)
    parser.add_argument("--recipes", type=Path, default=None, help="folder of recipes (default: ./recipes)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    folder = args.recipes or default_recipe_folder()
    if not folder.is_dir():
        raise UserError(f"recipe folder not found: {folder}; pass --recipes DIR")
    console.out.print(parts_table())
    files = sorted(str(path) for path in folder.rglob("*.yaml"))
    console.out.print(f"\nvalidating {len(files)} recipe(s) under {folder}", markup=False)
    return 0 if validate_files(files) else 2
