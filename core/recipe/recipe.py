"""Recipe: a resolved recipe (bases merged, overrides applied) that can be checked, dumped and hashed."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any

import yaml

from ..errors import Problem, RecipeError
from ..registry import Registry
from .check import build, check
from .overrides import apply_overrides, parse_override
from .paths import parse_path
from .schema import RecipeSchema
from .source import Locations, display_path, parse_yaml, read_recipe_file


@dataclass
class Recipe:
    """A resolved recipe.

    ``data`` is plain YAML data; ``locations`` maps recipe paths to the file line or override that set them;
    ``files`` lists the recipe files read (bases first). ``override_problems`` holds the overrides that could
    not be applied (bad syntax, an index out of range...): they were skipped, and :meth:`validate` reports
    them with every other problem of the recipe, so one bad override never hides the rest.
    """

    data: dict[str, Any]
    locations: Locations = field(default_factory=dict)
    files: list[FilePath] = field(default_factory=list)
    overrides: list[str] = field(default_factory=list)
    override_problems: list[Problem] = field(default_factory=list)

    @property
    def source(self) -> str:
        return display_path(self.files[-1]) if self.files else "<recipe>"

    def problems(self, registry: Registry | None = None) -> list:
        """Every problem in the recipe, overrides that did not apply first (empty when it is valid); nothing is built."""
        registry = registry or _default_registry()
        problems = [*self.override_problems, *check(self.data, RecipeSchema, registry, self.locations)]
        if not any(problem.path == "train" or problem.path.startswith("train.") for problem in problems):
            problems += self._train_range_problems(registry)
        if not any(problem.path.startswith("data.tracks") for problem in problems):
            problems += self._track_problems()
        return problems

    def _track_problems(self) -> list[Problem]:
        """``data.tracks`` that every dataset would refuse (empty, or a name twice)."""
        from ..data.items import track_slot_problem

        tracks = self.get("data.tracks") if isinstance(self.data.get("data"), dict) else None
        problem = track_slot_problem(tracks) if isinstance(tracks, list) else None
        return [Problem("data.tracks", problem, self.locations.get(("data", "tracks")))] if problem else []

    def _train_range_problems(self, registry: Registry) -> list[Problem]:
        """The ``train:`` values the trainer would refuse (one set of ranges: ``training.config``)."""
        from ..training.config import TrainSection, range_problems

        section = build(self.data.get("train") or {}, TrainSection, registry, self.locations, ("train",))
        return [Problem(f"train.{key}", message, self.locations.get(("train", *key.split(".")))) for key, message in range_problems(section)]

    def validate(self, registry: Registry | None = None) -> Recipe:
        """Raise :class:`RecipeError` listing every problem; return self when valid."""
        problems = self.problems(registry)
        if problems:
            raise RecipeError(problems, source=self.source)
        return self

    def build(self, path: str, registry: Registry | None = None) -> Any:
        """Build the node at ``path`` (``model.denoiser``) after checking the whole recipe."""
        self.validate(registry)
        keys = parse_path(path)
        annotation: Any = RecipeSchema
        value: Any = self.data
        for key in keys:
            annotation = _field_annotation(annotation, key)
            value = value.get(key) if isinstance(value, dict) else None
        return build(value, annotation, registry or _default_registry(), self.locations, keys)

    def get(self, path: str, default: Any = None) -> Any:
        value: Any = self.data
        for key in parse_path(path):
            try:
                value = value[key]
            except (KeyError, IndexError, TypeError):
                return default
        return value

    def dump(self) -> str:
        """The resolved recipe as YAML (keys in recipe order)."""
        return yaml.safe_dump(self.data, sort_keys=False, default_flow_style=None, width=110)

    @property
    def content_hash(self) -> str:
        """A stable hash of the resolved content (independent of key order and formatting)."""
        canonical = json.dumps(self.data, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def with_overrides(self, overrides: Iterable[str]) -> Recipe:
        """A copy with ``overrides`` applied in order; those that cannot be applied are kept as problems."""
        data, locations = copy.deepcopy(self.data), dict(self.locations)
        texts = list(overrides)
        problems = list(self.override_problems)
        for text in texts:  # one at a time: the problems keep the command line's order
            try:
                override = parse_override(text)
            except RecipeError as error:
                problems.extend(error.problems)
                continue
            problems.extend(apply_overrides(data, locations, [override]))
        return Recipe(data, locations, list(self.files), self.overrides + texts, problems)


def load_recipe(path: str | FilePath, overrides: Iterable[str] = ()) -> Recipe:
    """Read a recipe file with its bases and apply command-line overrides (not yet validated)."""
    data, locations, files = read_recipe_file(path)
    return Recipe(data, locations, files).with_overrides(overrides)


def recipe_from_text(text: str, name: str = "<text>", overrides: Iterable[str] = ()) -> Recipe:
    """A recipe from YAML text (no ``base:``); used for recipes stored inside checkpoints."""
    data, locations = parse_yaml(text, name)
    if not isinstance(data, dict):
        raise RecipeError(f"{name}: a recipe is a mapping of keys to values")
    return Recipe(data, locations).with_overrides(overrides)


def _field_annotation(annotation: Any, key: str | int) -> Any:
    import dataclasses
    import typing

    if dataclasses.is_dataclass(annotation):
        hints = typing.get_type_hints(annotation)
        if key in hints:
            return hints[key]
    raise RecipeError(f"{key!r} is not a recipe section")


def _default_registry() -> Registry:
    from ..plugin_manager import get_registry

    return get_registry()
