"""Reading recipe files: YAML with the line of every value, and ``base:`` inheritance.

Merge rules when a recipe extends ``base: other.yaml`` (a path relative to the recipe's folder):

- two mappings merge key by key, recursively;
- a mapping whose ``type`` differs from the base's ``type`` replaces the base node (arguments of another
  part would not fit), and so does a mapping holding ``_replace_: true``;
- anything else (scalars, lists, a bare part name) replaces the base value.

A base may itself have a base; a cycle is an error.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path as FilePath
from typing import Any

import yaml

from ..errors import Problem, RecipeError
from .paths import Path, format_path, is_under

BASE_KEY = "base"
REPLACE_KEY = "_replace_"

Locations = dict[Path, str]


class RecipeLoader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 floats: ``1e-3`` and ``3e5`` are numbers, not strings.

    PyYAML follows YAML 1.1, whose float pattern needs a dot (``1.0e-3``); a learning rate written ``1e-3``
    would otherwise reach the recipe checker as the string '1e-3'.
    """


RecipeLoader.yaml_implicit_resolvers = {key: list(value) for key, value in yaml.SafeLoader.yaml_implicit_resolvers.items()}
RecipeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


MAX_EXPANDED_NODES = 100_000  # a real recipe expands to a few hundred values; an alias bomb to billions


def expanded_size_problem(node: yaml.Node, where: str) -> Problem | None:
    """A :class:`Problem` when ``node`` would expand (aliases copied out) to more than
    :data:`MAX_EXPANDED_NODES` values, naming the deepest key past the limit; None otherwise.

    YAML aliases share one node however often they are used, so a 1 KB file of nested aliases (the "billion
    laughs") stays small when parsed and explodes when walked or merged. Sizes are counted once per distinct
    node, so the check itself costs the size of the file."""
    sizes: dict[int, int] = {}

    def size(item: yaml.Node) -> int:
        if id(item) not in sizes:
            sizes[id(item)] = 0  # a self-referencing alias counts once
            children = [part for pair in item.value for part in pair] if isinstance(item, yaml.MappingNode) else \
                item.value if isinstance(item, yaml.SequenceNode) else []
            sizes[id(item)] = min(1 + sum(size(child) for child in children), 10 * MAX_EXPANDED_NODES)
        return sizes[id(item)]

    if size(node) <= MAX_EXPANDED_NODES:
        return None
    path: list = []
    current = node
    while True:  # follow the largest child while it alone passes the limit
        if isinstance(current, yaml.MappingNode):
            children = [(value, key.value if isinstance(key, yaml.ScalarNode) else "?") for key, value in current.value]
        elif isinstance(current, yaml.SequenceNode):
            children = [(child, index) for index, child in enumerate(current.value)]
        else:
            break
        largest = max(children, key=lambda pair: size(pair[0]), default=None)
        if largest is None or size(largest[0]) <= MAX_EXPANDED_NODES:
            break
        current, step = largest
        path.append(step)
    return Problem(format_path(tuple(path)) if path else "",
                   f"expands to more than {MAX_EXPANDED_NODES:,} values through YAML aliases (&name / *name): "
                   "refusing it before reading further; write the values out, or share fewer aliases", where)


def load_yaml_text(text: str, where: str = "YAML text"):
    """Parse one YAML document with :class:`RecipeLoader` (for override values and stored recipes); one that
    expands past :data:`MAX_EXPANDED_NODES` values is a :class:`RecipeError`."""
    loader = RecipeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        problem = expanded_size_problem(node, where)
        if problem is not None:
            raise RecipeError(problem)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def parse_yaml(text: str, name: str) -> tuple[Any, Locations]:
    """Parse YAML text; return the data and ``{path: "name:line"}`` for every value.

    Bad YAML and duplicate keys raise :class:`RecipeError` with the line number.
    """
    loader = RecipeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        problem = expanded_size_problem(node, name)
        if problem is not None:
            raise RecipeError(problem)
        data = loader.construct_document(node)
        locations: Locations = {}
        duplicates: list[Problem] = []
        _record(loader, node, (), name, locations, duplicates)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
        problem = error.problem or str(error)
        raise RecipeError(Problem("", f"bad YAML: {problem}", where)) from None
    except yaml.YAMLError as error:
        raise RecipeError(Problem("", f"bad YAML: {error}", name)) from None
    finally:
        loader.dispose()
    if duplicates:
        raise RecipeError(duplicates)
    return data, locations


def _record(loader: RecipeLoader, node: yaml.Node, path: Path, name: str, out: Locations, dups: list) -> None:
    out[path] = f"{name}:{node.start_mark.line + 1}"
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in seen:
                dups.append(Problem(format_path((*path, key)), f"duplicate key (first set on line {seen[key]})", f"{name}:{line}"))
            seen[key] = line
            _record(loader, value_node, (*path, key), name, out, dups)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record(loader, item, (*path, index), name, out, dups)


def read_recipe_file(path: str | FilePath) -> tuple[dict[str, Any], Locations, list[FilePath]]:
    """Read a recipe and its chain of bases; return the merged data, locations and the files read."""
    return _read(FilePath(path), [])


def display_path(path: FilePath) -> str:
    """``path`` relative to the working folder when it is below it (shorter messages), else as given."""
    try:
        return str(path.resolve().relative_to(FilePath.cwd()))
    except ValueError:
        return str(path)


def _read(path: FilePath, chain: list[FilePath]) -> tuple[dict[str, Any], Locations, list[FilePath]]:
    resolved = path.resolve()
    if resolved in chain:
        cycle = " -> ".join(display_path(p) for p in (*chain, resolved))
        raise RecipeError(Problem(BASE_KEY, f"base cycle: {cycle}; remove one of these base: keys"))
    name = display_path(path)
    if not path.exists():
        hint = "" if path.suffix in (".yaml", ".yml") else " (an override is KEY=VALUE or ~KEY)"
        raise RecipeError(Problem("", f"recipe file not found: {name}{hint}"))
    if path.is_dir():
        raise RecipeError(Problem("", f"{name} is a folder; give a recipe .yaml file"))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise RecipeError(Problem("", f"cannot read recipe {name}: {error}")) from None
    data, locations = parse_yaml(text, name)
    if data is None or data == {}:  # an empty file would otherwise validate as a recipe that does nothing
        raise RecipeError(Problem("", "the recipe is empty (no keys, or only comments); a recipe needs at least a "
                                      "model: or data: section, or a base: to extend", name))
    if not isinstance(data, dict):
        raise RecipeError(Problem("", f"a recipe is a mapping of keys to values, got {type(data).__name__}", name))
    files = [resolved]
    base = data.pop(BASE_KEY, None)
    locations = {p: loc for p, loc in locations.items() if not is_under(p, (BASE_KEY,))}
    if base is None:
        return data, locations, files
    base_where = locations.get((), name)
    if not isinstance(base, str) or not base:
        raise RecipeError(Problem(BASE_KEY, f"expected a relative file path, got {base!r}", base_where))
    base_path = path.parent / base
    if not base_path.exists():
        raise RecipeError(
            Problem(BASE_KEY, f"base file {base!r} not found (looked for {display_path(base_path)})", f"{name}")
        )
    base_data, base_locations, base_files = _read(base_path, [*chain, resolved])
    merged, merged_locations = merge(base_data, base_locations, data, locations)
    return merged, merged_locations, base_files + files


def merge(base: Any, base_loc: Locations, child: Any, child_loc: Locations, path: Path = ()) -> tuple[Any, Locations]:
    """Deep-merge ``child`` over ``base`` with the module's rules; locations follow the winning values."""
    replaced: list[Path] = []
    merged = _merge(copy.deepcopy(base), child, path, replaced)
    locations = {p: loc for p, loc in base_loc.items() if not any(is_under(p, r) for r in replaced)}
    locations.update(child_loc)
    return merged, locations


def _merge(base: Any, child: Any, path: Path, replaced: list[Path]) -> Any:
    if isinstance(base, dict) and isinstance(child, dict):
        if child.get(REPLACE_KEY) is True or ("type" in child and "type" in base and child["type"] != base["type"]):
            replaced.append(path)
            return strip_replace_markers(child)
        out = dict(base)
        for key, value in child.items():
            out[key] = _merge(base[key], value, (*path, key), replaced) if key in base else strip_replace_markers(value)
        return out
    replaced.append(path)
    return strip_replace_markers(child)


def strip_replace_markers(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_replace_markers(v) for k, v in value.items() if k != REPLACE_KEY}
    if isinstance(value, list):
        return [strip_replace_markers(v) for v in value]
    return copy.deepcopy(value)
