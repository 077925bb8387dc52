"""``synctrack recipe show|validate``: resolve recipes and check them without building anything."""

from __future__ import annotations

import argparse

from rich.table import Table

from ..errors import RecipeError
from ..parameters import parameter_breakdown
from ..recipe import load_recipe, looks_like_override
from . import console


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("recipe", help="show or validate recipes", description=__doc__)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    show = actions.add_parser("show", help="print the resolved recipe (bases merged, overrides applied)")
    show.add_argument("file", help="recipe YAML file")
    show.add_argument("overrides", nargs="*", metavar="KEY=VALUE|~KEY", help="overrides")
    show.add_argument("--params", action="store_true", help="also count the parameters of each model part")
    show.set_defaults(handler=run_show)

    validate = actions.add_parser("validate", help="check recipes against the registry; exit 2 on problems")
    validate.add_argument("items", nargs="+", metavar="FILE|KEY=VALUE|~KEY", help="recipe files, then overrides")
    validate.set_defaults(handler=run_validate)


def run_show(args: argparse.Namespace) -> int:
    for text in args.overrides:
        if not looks_like_override(text):
            raise RecipeError(f"bad override {text!r}: expected KEY=VALUE or ~KEY (one recipe file per show)")
    recipe = load_recipe(args.file, args.overrides)
    # soft_wrap: rich must never break a line of YAML at the terminal's width, or the text stops loading
    plain = {"markup": False, "highlight": False, "soft_wrap": True}
    console.out.print(f"# resolved from {' <- '.join(map(str, recipe.files))}", **plain)
    for text in recipe.overrides:
        console.out.print(f"# override: {text}", **plain)
    console.out.print(f"# content hash: {recipe.content_hash}", **plain)
    console.out.print(recipe.dump(), end="", **plain)
    recipe.validate()  # the resolved text is printed either way; problems still end with exit code 2
    if args.params:
        console.out.print(parameter_table(recipe))
    return 0


def parameter_table(recipe) -> Table:
    """Parameter counts of every model part in the recipe, built on the meta device (no memory, no time)."""
    import torch

    table = Table(title="parameters", title_justify="left")
    for column in ("part", "role", "parameters"):
        table.add_column(column, justify="right" if column == "parameters" else "left")
    for section in ("denoiser", "encoder", "vocoder"):
        if recipe.get(f"model.{section}") is None:
            continue
        with torch.device("meta"):
            part = recipe.build(f"model.{section}")
        if not isinstance(part, torch.nn.Module):
            continue
        counts = parameter_breakdown(part, name=section)
        for role, count in counts.items():
            if count or role in (section, "total"):
                table.add_row(section, role, f"{count:,}")
    return table


def run_validate(args: argparse.Namespace) -> int:
    overrides = [item for item in args.items if looks_like_override(item)]
    files = [item for item in args.items if not looks_like_override(item)]
    if not files:
        raise RecipeError("no recipe file given: synctrack recipe validate FILE... [KEY=VALUE ...]")
    return 0 if validate_files(files, overrides) else 2


def validate_files(files: list[str], overrides: list[str] = ()) -> bool:
    """Validate each file, printing ``ok`` or every problem; True when all are valid."""
    all_ok = True
    for file in files:
        try:
            recipe = load_recipe(file, overrides)
            recipe.validate()
        except RecipeError as error:
            all_ok = False
            console.error(str(error))
            continue
        console.out.print(f"[green]ok[/green] {file} (hash {recipe.content_hash})")
    return all_ok
