"""Helpers for messages that name what exists: closest matches and readable lists."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate most similar to ``name``, or None when nothing is close."""
    matches = difflib.get_close_matches(str(name), list(candidates), n=1, cutoff=0.5)
    return matches[0] if matches else None


def did_you_mean(name: str, candidates: Iterable[str], then: str = "") -> str:
    """``"; did you mean 'x'?"`` when something is close, else an empty string.

    ``then`` is text that follows (such as ``" registered: a, b"``); it is joined with ``;`` when there is
    no suggestion, so the message reads well either way.
    """
    match = closest(name, candidates)
    if match:
        return f"; did you mean {match!r}?{then}"
    return f";{then}" if then else ""


def listing(names: Iterable[str]) -> str:
    """Sorted, comma-separated names, or ``(none)``."""
    names = sorted(names)
    return ", ".join(names) if names else "(none)"
