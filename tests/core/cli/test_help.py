"""--help is read in a terminal: no reStructuredText marks in any command's help, sub-commands included."""

from __future__ import annotations

import argparse

from synctrack.cli.main import COMMANDS, build_parser


def every_parser(parser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from every_parser(sub)


def test_no_help_text_shows_double_backticks():
    parsers = list(every_parser(build_parser()))
    assert len(parsers) > len(COMMANDS)  # nested commands (bench attention, recipe show, ...) are walked too
    for parser in parsers:
        text = parser.format_help()
        assert "``" not in text, f"{parser.prog} --help shows reStructuredText marks"

