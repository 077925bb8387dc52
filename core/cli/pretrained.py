"""``synctrack pretrained check RECIPE``: build the recipe's model parts with their ``init:`` weights and show
what loaded, what is new and what went unused, before spending hours training from them."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import RecipeError, UserError
from ..recipe import load_recipe, looks_like_override
from . import console

SECTIONS = ("denoiser", "encoder", "vocoder")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("pretrained", help="check pretrained initialisation", description=__doc__)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="load every init: of a recipe and report keys loaded / new / unexpected")
    check.add_argument("file", help="recipe YAML file")
    check.add_argument("overrides", nargs="*", metavar="KEY=VALUE|~KEY")
    check.add_argument("--depth", type=int, default=4, help="group key names to this many components (default 4)")
    check.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace) -> int:
    for text in args.overrides:
        if not looks_like_override(text):
            raise RecipeError(f"bad override {text!r}: expected KEY=VALUE or ~KEY")
    recipe = load_recipe(args.file, args.overrides).validate()
    sections = [s for s in SECTIONS if isinstance(recipe.get(f"model.{s}"), dict) and "init" in recipe.get(f"model.{s}")]
    if not sections:
        raise RecipeError(f"{recipe.source}: no model part has an init: key (model.denoiser.init, model.encoder.init, model.vocoder.init)")
    missing = missing_weights(recipe, sections)
    if missing:  # every missing file at once: downloading them one failed check at a time wastes an evening
        raise UserError(
            f"{recipe.source}: {counted(len(missing), len(sections))} init: weight "
            f"{'path does' if len(missing) == 1 else 'paths do'} not exist (relative paths are "
            "read from the working directory, " + str(Path.cwd()) + "):\n" + "\n".join(f"  {line}" for line in missing)
            + "\nput the files there or override the paths (e.g. model.encoder.init.from=PATH); docs/pretrained.md says where to get them"
        )
    problems = []
    for section in sections:
        try:
            part = recipe.build(f"model.{section}")
        except UserError as error:  # a file that exists but cannot be used: say so and check the others
            problems.append(f"model.{section}.init: {error}")
            continue
        console.out.print(part.pretrained_report.table(depth=args.depth))
    if problems:
        raise UserError(f"{len(problems)} init: source(s) could not be used:\n" + "\n".join(f"  {line}" for line in problems))
    return 0


def counted(part: int, whole: int) -> str:
    """``the`` (one of one), ``all 3`` or ``2 of the 3``."""
    if part == whole:
        return "the" if whole == 1 else f"all {whole}"
    return f"{part} of the {whole}"


def missing_weights(recipe, sections: list[str]) -> list[str]:
    """``model.<section>.init.from: PATH (looked at ABSOLUTE)`` for each init source that does not exist."""
    missing = []
    for section in sections:
        init = recipe.get(f"model.{section}.init")
        source = init.get("from") if isinstance(init, dict) else None
        if source is not None and not Path(source).exists():
            missing.append(f"model.{section}.init.from: {source} (looked at {Path(source).absolute()})")
    return missing
