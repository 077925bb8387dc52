"""argparse types shared by the commands: numbers with a lower bound, with messages that say what is wrong."""

from __future__ import annotations

import argparse


def at_least(kind: type, minimum: float, strict: bool = False):
    """An argparse type: a ``kind`` (int or float) of at least ``minimum`` (more than it when ``strict``)."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        if value < minimum or (strict and value == minimum):
            raise argparse.ArgumentTypeError(f"{text!r} must be {'more than' if strict else 'at least'} {minimum:g}")
        return value

    return parse


positive_int = at_least(int, 1)
natural_int = at_least(int, 0)
positive_float = at_least(float, 0, strict=True)
