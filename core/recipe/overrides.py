"""Command-line overrides: ``key.sub=value`` sets (value parsed as YAML), ``~key`` deletes.

List elements are addressed by index: ``model.denoiser.mixers[1].heads=4`` (or ``mixers.1.heads=4``).
Setting a sub-key of a bare part name turns it into a node: ``mixers[0].heads=4`` on ``mixers: [global]``
gives ``{type: global, heads: 4}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from ..errors import Problem, RecipeError
from .paths import Path, format_path, is_under, parse_path
from .source import Locations, load_yaml_text


@dataclass(frozen=True)
class Override:
    """One parsed override; ``value`` is unused for deletions."""

    text: str
    path: Path
    delete: bool
    value: Any = None

    @property
    def where(self) -> str:
        return f"override {self.text!r}"


def looks_like_override(arg: str) -> bool:
    return arg.startswith("~") or ("=" in arg and not arg.startswith("="))


def parse_override(text: str) -> Override:
    """Parse one override; bad syntax raises :class:`RecipeError` saying what the forms are."""
    forms = "expected KEY=VALUE (e.g. model.denoiser.mixers[1].heads=4) or ~KEY to delete"
    if text.startswith("~"):
        if "=" in text:
            raise RecipeError(Problem("", f"bad override {text!r}: a deletion takes no value; {forms}"))
        key = text[1:]
        delete, raw = True, None
    elif "=" in text:
        key, raw = text.split("=", 1)
        delete = False
    else:
        raise RecipeError(Problem("", f"bad override {text!r}: {forms}"))
    try:
        path = parse_path(key.strip())
    except ValueError as error:
        raise RecipeError(Problem("", f"bad override {text!r}: {error}; {forms}")) from None
    if not isinstance(path[0], str):
        raise RecipeError(Problem("", f"bad override {text!r}: a key must start with a name; {forms}"))
    value = None
    if not delete:
        try:
            value = load_yaml_text(raw, f"override {text[:60]!r}") if raw.strip() else ""
        except yaml.YAMLError as error:
            raise RecipeError(Problem(key, f"bad override value {raw!r}: {error}")) from None
    return Override(text, path, delete, value)


def apply_overrides(data: dict[str, Any], locations: Locations, overrides: list[Override]) -> list[Problem]:
    """Apply overrides in order, in place; returns the problems of those that do not fit the recipe (each
    skipped), so that they are reported together with every other problem of the recipe."""
    problems: list[Problem] = []
    for override in overrides:
        try:
            _apply(data, override)
        except _OverrideProblem as problem:
            problems.append(Problem(format_path(override.path), str(problem), override.where))
            continue
        for path in [p for p in locations if is_under(p, override.path)]:
            del locations[path]
        if not override.delete:
            locations[override.path] = override.where
    return problems


class _OverrideProblem(Exception):
    pass


def _apply(data: dict[str, Any], override: Override) -> None:
    parent: Any = data
    path = override.path
    for depth, key in enumerate(path[:-1]):
        next_key = path[depth + 1]
        child = _child(parent, key, path[:depth], create=not override.delete)
        if isinstance(child, str) and isinstance(next_key, str):
            child = {"type": child}  # a bare part name gains arguments
            parent[key] = child
        elif child is None and not override.delete:
            child = {} if isinstance(next_key, str) else None
            if child is None:
                raise _OverrideProblem(f"{format_path(path[: depth + 1])} does not exist, so it has no element [{next_key}]")
            parent[key] = child
        parent = child
    last = path[-1]
    if override.delete:
        _child(parent, last, path[:-1], create=False)
        del parent[last]
    elif isinstance(parent, dict):
        parent[last] = override.value
    else:
        _child(parent, last, path[:-1], create=False)  # raises unless parent is a list and last a valid index
        parent[last] = override.value


def _child(parent: Any, key: str | int, at: Path, create: bool) -> Any:
    where = format_path(at) or "the recipe"
    if isinstance(parent, dict):
        if key in parent:
            return parent[key]
        if create:
            return None
        raise _OverrideProblem(f"cannot delete: {where} has no key {key!r}; keys: {', '.join(map(str, parent)) or '(none)'}")
    if isinstance(parent, list):
        if not isinstance(key, int):
            raise _OverrideProblem(f"{where} is a list; address its elements by index, e.g. {where}[0]")
        if not 0 <= key < len(parent):
            raise _OverrideProblem(f"index {key} is out of range: {where} has {len(parent)} element(s)")
        return parent[key]
    raise _OverrideProblem(f"{where} is {_kind(parent)}, so it has no key {key!r}")


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: f"the string {value!r}"}.get(type(value), f"the value {value!r}")
