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


_ABSENT = object()


def first_difference(ours: object, theirs: object, ours_label: str = "prepared", theirs_label: str = "recipe") -> str | None:
    """Where two nested settings (dicts, lists, scalars) first differ, in one short line, or None when equal.

    ``"guitar.program_num[3]: prepared 33, recipe 34"``. A list element that is a ``[name, value]`` pair (a
    chain of named groups) is labelled by its name, so a long nested listing is never printed whole.
    """
    found = _difference(ours, theirs, ())
    if found is None:
        return None
    path, left, right = found
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")
    values = f"{ours_label} {_short(left)}, {theirs_label} {_short(right)}"
    return f"{where}: {values}" if where else values


def _difference(ours: object, theirs: object, path: tuple) -> tuple[tuple, object, object] | None:
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for key in [*ours, *(k for k in theirs if k not in ours)]:
            found = _difference(ours.get(key, _ABSENT), theirs.get(key, _ABSENT), (*path, key))
            if found is not None:
                return found
        return None
    if isinstance(ours, (list, tuple)) and isinstance(theirs, (list, tuple)):
        for index in range(max(len(ours), len(theirs))):
            left = ours[index] if index < len(ours) else _ABSENT
            right = theirs[index] if index < len(theirs) else _ABSENT
            if _named_pair(left) and _named_pair(right) and left[0] == right[0]:
                found = _difference(left[1], right[1], (*path, left[0]))
            else:
                found = _difference(left, right, (*path, index))
            if found is not None:
                return found
        return None
    return None if ours == theirs else (path, ours, theirs)


def _named_pair(value: object) -> bool:
    return isinstance(value, (list, tuple)) and len(value) == 2 and isinstance(value[0], str)


def _short(value: object, width: int = 60) -> str:
    text = "(absent)" if value is _ABSENT else repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."
