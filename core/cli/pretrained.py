"""``synctrack pretrained check RECIPE``: build the recipe's model parts with their ``init:`` weights and show
what loaded, what is new and what went unused, before spending hours training from them."""

from __future__ import annotations

import argparse

from ..errors import RecipeError
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
    checked = 0
    for section in SECTIONS:
        node = recipe.get(f"model.{section}")
        if not isinstance(node, dict) or "init" not in node:
            continue
        part = recipe.build(f"model.{section}")
        console.out.print(part.pretrained_report.table(depth=args.depth))
        checked += 1
    if not checked:
        raise RecipeError(f"{recipe.source}: no model part has an init: key (model.denoiser.init, model.encoder.init, model.vocoder.init)")
    return 0
