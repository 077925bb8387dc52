"""Checking recipe values against annotations, and building parts from them.

The same walk does both: :func:`check` collects every problem with its recipe path; :func:`build` (run only
on values that checked clean) constructs the parts. Supported annotations: ``int``, ``float`` (ints
accepted), ``bool``, ``str``, ``pathlib.Path``, ``None``, unions and ``Optional``, ``Literal``, ``list`` /
``Sequence`` / ``tuple`` (fixed or ``...``), ``dict`` / ``Mapping``, ``Any``, dataclasses (a mapping of
their fields), interface classes (a recipe node of that kind, built now) and ``PartSpec[Interface]`` (a
node built later by the host).
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import inspect
import pathlib
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, Literal, Union

from ..errors import Problem
from ..naming import did_you_mean, listing
from ..registry import Registry, UnknownPartError
from .node_options import apply_node_option
from .paths import Path, format_path
from .source import Locations
from .spec import PartSpec

_MISSING = object()


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One recipe argument of a factory or one field of a dataclass."""

    name: str
    annotation: Any
    default: Any = _MISSING
    target: str | None = None  # the Python name when the recipe key differs (a keyword such as ``from``)

    @property
    def required(self) -> bool:
        return self.default is _MISSING

    @property
    def python_name(self) -> str:
        return self.target or self.name


@dataclasses.dataclass(frozen=True)
class Arguments:
    """What a factory accepts: named parameters, whether it takes ``**kwargs``, host-supplied names."""

    parameters: dict[str, Parameter]
    open: bool = False
    runtime: frozenset[str] = frozenset()


def factory_arguments(factory: Callable[..., Any], runtime: frozenset[str] = frozenset()) -> Arguments:
    """Introspect a factory (class or function) into its recipe arguments."""
    target = factory.__init__ if inspect.isclass(factory) else factory
    signature = inspect.signature(factory)
    hints = typing.get_type_hints(target, include_extras=True)
    parameters: dict[str, Parameter] = {}
    open_ = False
    for name, param in signature.parameters.items():
        if param.kind is param.VAR_KEYWORD:
            open_ = True
            continue
        if param.kind is param.VAR_POSITIONAL:
            continue
        default = _MISSING if param.default is param.empty else param.default
        parameters[name] = Parameter(name, hints.get(name, Any), default)
    return Arguments(parameters, open_, runtime)


def dataclass_arguments(cls: type) -> Arguments:
    hints = typing.get_type_hints(cls, include_extras=True)
    parameters = {}
    for item in dataclasses.fields(cls):
        if not item.init:
            continue
        if item.default is not dataclasses.MISSING:
            default = item.default
        elif item.default_factory is not dataclasses.MISSING:
            default = item.default_factory
        else:
            default = _MISSING
        key = item.metadata.get("recipe_key", item.name)
        parameters[key] = Parameter(key, hints.get(item.name, Any), default, target=item.name)
    return Arguments(parameters)


def node_kind(annotation: Any) -> tuple[str, bool] | None:
    """``(kind, deferred)`` when an annotation asks for a recipe node, else None."""
    origin = typing.get_origin(annotation)
    if origin is PartSpec:
        (inner,) = typing.get_args(annotation)
        found = node_kind(inner)
        return (found[0], True) if found else None
    if inspect.isclass(annotation) and isinstance(getattr(annotation, "registry_kind", None), str):
        return annotation.registry_kind, False
    return None


def describe(annotation: Any) -> str:
    """A short readable name of an annotation: ``int``, ``list[int]``, ``mixer node``..."""
    found = node_kind(annotation)
    if found:
        return f"{found[0]} node"
    if annotation is Any:
        return "anything"
    if annotation is type(None) or annotation is None:
        return "null"
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        return describe(args[0])
    if origin in (Union, types.UnionType):
        return " or ".join(describe(a) for a in args)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin is not None:
        name = getattr(origin, "__name__", str(origin))
        name = {"Sequence": "list", "Mapping": "dict", "MutableMapping": "dict"}.get(name, name)
        return f"{name}[{', '.join('...' if a is Ellipsis else describe(a) for a in args)}]"
    if dataclasses.is_dataclass(annotation):
        return "mapping"
    return getattr(annotation, "__name__", str(annotation))


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Walk:
    """One pass over a value: collects problems, and builds when asked to."""

    def __init__(self, registry: Registry, locations: Locations, build: bool):
        self.registry = registry
        self.locations = locations
        self.build = build
        self.problems: list[Problem] = []

    def where(self, path: Path) -> str | None:
        for end in range(len(path), -1, -1):
            if path[:end] in self.locations:
                return self.locations[path[:end]]
        return None

    def problem(self, path: Path, message: str) -> None:
        self.problems.append(Problem(format_path(path), message, self.where(path)))

    # -- dispatch on the annotation -------------------------------------------------------------------------

    def value(self, value: Any, annotation: Any, path: Path) -> Any:
        if annotation is Any or annotation is object or annotation is inspect.Parameter.empty:
            return value
        found = node_kind(annotation)
        if found:
            return self.node(value, found[0], found[1], path)
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if origin is Annotated:
            return self.value(value, args[0], path)
        if origin in (Union, types.UnionType):
            return self.union(value, annotation, args, path)
        if origin is Literal:
            if value not in args:
                self.problem(path, f"expected {describe(annotation)}, got {_show(value)}{did_you_mean(str(value), map(str, args))}")
            return value
        if annotation is type(None) or annotation is None:
            if value is not None:
                self.problem(path, f"expected null, got {_show(value)}")
            return None
        if origin in (list, tuple, cabc.Sequence, cabc.MutableSequence) or annotation in (list, tuple):
            return self.sequence(value, annotation, origin or annotation, args, path)
        if origin in (dict, cabc.Mapping, cabc.MutableMapping) or annotation is dict:
            return self.mapping(value, args, path)
        if dataclasses.is_dataclass(annotation) and inspect.isclass(annotation):
            return self.arguments(value, dataclass_arguments(annotation), annotation, path, what="a mapping")
        return self.scalar(value, annotation, path)

    def scalar(self, value: Any, annotation: Any, path: Path) -> Any:
        if annotation is bool:
            ok = isinstance(value, bool)
        elif annotation is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif annotation is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            if ok and self.build:
                return float(value)
        elif annotation is str:
            ok = isinstance(value, str)
        elif annotation in (pathlib.Path, pathlib.PurePath):
            ok = isinstance(value, (str, pathlib.PurePath))
            if ok and self.build:
                return pathlib.Path(value)
        elif inspect.isclass(annotation):
            ok = isinstance(value, annotation)
        else:
            return value  # an annotation this checker does not understand: accept, do not guess
        if not ok:
            self.problem(path, f"expected {describe(annotation)}, got {_show(value)}")
        return value

    def union(self, value: Any, annotation: Any, options: tuple, path: Path) -> Any:
        if value is None and type(None) in options:
            return None
        candidates = [option for option in options if option is not type(None)]
        attempts = []
        for option in candidates:
            trial = _Walk(self.registry, self.locations, self.build)
            result = trial.value(value, option, path)
            if not trial.problems:
                return result
            attempts.append(trial.problems)
        # Report the closest attempt (fewest problems from a node or container), else a plain mismatch.
        deep = [p for p in attempts if any(problem.path != format_path(path) for problem in p)]
        if len(candidates) == 1 or deep:
            self.problems.extend(min(deep or attempts, key=len))
        else:
            self.problem(path, f"expected {describe(annotation)}, got {_show(value)}")
        return value

    def sequence(self, value: Any, annotation: Any, origin: Any, args: tuple, path: Path) -> Any:
        if not isinstance(value, (list, tuple)):
            self.problem(path, f"expected {describe(annotation)} (a YAML list), got {_show(value)}")
            return value
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                self.problem(path, f"expected {len(args)} elements ({describe(annotation)}), got {len(value)}")
                return value
            items = [self.value(v, a, (*path, i)) for i, (v, a) in enumerate(zip(value, args))]
        else:
            item_type = args[0] if args else Any
            items = [self.value(v, item_type, (*path, i)) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items

    def mapping(self, value: Any, args: tuple, path: Path) -> Any:
        if not isinstance(value, dict):
            self.problem(path, f"expected a mapping, got {_show(value)}")
            return value
        key_type, value_type = args if len(args) == 2 else (Any, Any)
        out = {}
        for key, item in value.items():
            self.value(key, key_type, (*path, key))
            out[key] = self.value(item, value_type, (*path, key))
        return out

    # -- recipe nodes and argument lists --------------------------------------------------------------------

    def node(self, value: Any, kind: str, deferred: bool, path: Path) -> Any:
        form = f"a {kind} node is NAME or {{type: NAME, ...arguments}}"
        if isinstance(value, str):
            value = {"type": value}
        if not isinstance(value, dict):
            self.problem(path, f"expected a {kind} node, got {_show(value)}; {form}")
            return value
        name = value.get("type")
        if name is None:
            self.problem(path, f"missing 'type'; {form}; registered: {listing(self.registry.names(kind))}")
            return value
        try:
            part = self.registry.get(kind, str(name))
        except UnknownPartError as error:
            self.problems.append(Problem(format_path((*path, "type")), str(error), self.where((*path, "type"))))
            return value
        interface = _interface(kind)
        runtime = frozenset(getattr(interface, "runtime_args", {})) if deferred else frozenset()
        arguments = factory_arguments(part.factory, runtime=runtime)
        option_types = {} if deferred else dict(getattr(interface, "node_options", {}))
        given = {k: v for k, v in value.items() if k != "type" and k not in option_types}
        options = {k: self.value(v, option_types[k], (*path, k)) for k, v in value.items() if k in option_types}
        built = self.arguments(given, arguments, part, path, what=f"{kind} {part.name!r}")
        if not self.build or self.problems:
            return value
        if deferred:
            return PartSpec(kind=kind, name=part.name, factory=part.factory, args=built)
        try:
            instance = part.factory(**built)
        except ValueError as error:  # a part refusing a combination of arguments the annotations allow
            self.problem(path, f"{kind} {part.name!r} refused its arguments: {error}")
            return value
        for key, option in options.items():
            if option is not None:
                apply_node_option(instance, key, option, where=f"{format_path((*path, key))}")
        return instance

    def arguments(self, value: Any, arguments: Arguments, target: Any, path: Path, what: str) -> Any:
        if not isinstance(value, dict):
            self.problem(path, f"expected a mapping, got {_show(value)}")
            return value
        accepted = [n for n in arguments.parameters if n not in arguments.runtime]
        built: dict[str, Any] = {}
        for key, item in value.items():
            if key in arguments.runtime:
                self.problem((*path, key), f"{key!r} is set by the host that builds this {what}, not by the recipe")
            elif key in arguments.parameters:
                parameter = arguments.parameters[key]
                built[parameter.python_name] = self.value(item, parameter.annotation, (*path, key))
            elif arguments.open:
                built[key] = item
            else:
                self.problem(
                    (*path, key),
                    f"unknown argument {key!r} for {what}{did_you_mean(str(key), accepted, f' accepted: {listing(accepted)}')}",
                )
        for name in accepted:
            if arguments.parameters[name].required and name not in value:
                expected = describe(arguments.parameters[name].annotation)
                self.problem(path, f"missing required argument {name!r} ({expected}) for {what}")
        if self.build and not self.problems and dataclasses.is_dataclass(target) and inspect.isclass(target):
            return target(**built)
        return built


def _interface(kind: str) -> Any:
    from ..interfaces import INTERFACES

    return INTERFACES.get(kind)


def check(value: Any, annotation: Any, registry: Registry, locations: Locations | None = None, path: Path = ()) -> list[Problem]:
    """Every problem of ``value`` against ``annotation``; an empty list means it builds."""
    walk = _Walk(registry, locations or {}, build=False)
    walk.value(value, annotation, path)
    return walk.problems


def build(value: Any, annotation: Any, registry: Registry, locations: Locations | None = None, path: Path = ()) -> Any:
    """Build ``value`` (checked clean) into objects; problems found on the way raise ``RecipeError``."""
    from ..errors import RecipeError

    problems = check(value, annotation, registry, locations, path)
    if problems:
        raise RecipeError(problems)
    walk = _Walk(registry, locations or {}, build=True)
    result = walk.value(value, annotation, path)
    if walk.problems:
        raise RecipeError(walk.problems)
    return result
