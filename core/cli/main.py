"""Entry point: builds the argument parser from the command modules and turns user errors into exit code 2.

Each command module has ``register(subparsers)``, which adds its sub-parser and sets ``handler`` (a function
of the parsed arguments returning an exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ..errors import StoppedBySignal, UserError
from ..recipe import looks_like_override
from . import console

# Command modules, in the order `synctrack --help` lists them.
COMMANDS: tuple[str, ...] = (
    "synctrack.cli.demo",
    "synctrack.cli.eval",
    "synctrack.cli.list_parts",
    "synctrack.cli.recipe",
    "synctrack.cli.pretrained",
    "synctrack.cli.data",
    "synctrack.cli.train",
    "synctrack.cli.sample",
    "synctrack.cli.report",
    "synctrack.cli.bench",
    "synctrack.cli.ablate",
    "synctrack.cli.probe",
)


def build_parser() -> argparse.ArgumentParser:
    from ..version import __version__

    parser = argparse.ArgumentParser(
        prog="synctrack",
        description="Multi-track music generation with diffusion models (SyncTrack, MSDM, MSG-LD).",
    )
    parser.add_argument("--version", action="version", version=f"synctrack {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMANDS:
        importlib.import_module(module_name).register(subparsers)
    _plain_help(parser)
    return parser


def _plain_help(parser: argparse.ArgumentParser) -> None:
    """Help is read in a terminal: drop the reStructuredText literal marks (two backticks) that the command
    modules' docstrings use, in every description, epilog and option help, sub-commands included."""
    parser.description = plain(parser.description)
    parser.epilog = plain(parser.epilog)
    for action in parser._actions:
        action.help = plain(action.help)
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                choice.help = plain(choice.help)
            for sub in set(action.choices.values()):
                _plain_help(sub)


def plain(text: str | None) -> str | None:
    """``text`` without reStructuredText literal marks: two backticks around a name become nothing."""
    return text.replace("``", "") if isinstance(text, str) else text


# the argument lists that take KEY=VALUE overrides: `overrides` (train, sample, ...), `items` (recipe files then
# overrides: ablate, recipe validate)
OVERRIDE_LISTS = ("overrides", "items")


def main(argv: Sequence[str] | None = None) -> int:
    console.install_warning_printer()
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    # KEY=VALUE overrides may also follow the options (`synctrack ablate r.yaml --samples 16 lr=1`): argparse
    # hands those to a command's list of overrides (or of recipes then overrides) only before the first option.
    trailing = next((getattr(args, name) for name in OVERRIDE_LISTS if isinstance(getattr(args, name, None), list)), None)
    if extras and trailing is not None and all(looks_like_override(item) and not item.startswith("-") for item in extras):
        trailing.extend(extras)
    elif extras:
        parser.error(f"unrecognized arguments: {' '.join(extras)}")
    args.argv = list(argv) if argv is not None else sys.argv[1:]  # the command line, for records and pages
    try:
        return int(args.handler(args) or 0)
    except StoppedBySignal as stop:  # a preemption after saving, not a failure: said as what it is
        console.stopped(str(stop))
        return stop.exit_code
    except UserError as error:
        console.error(str(error))
        return error.exit_code
    except KeyboardInterrupt:
        console.error("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
