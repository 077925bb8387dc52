"""The registry: every part the project knows, by kind and name.

A *part* is a factory (a class or a function) whose signature is its recipe arguments, plus a one-line
summary and the name of the plugin that registered it. Plugins add parts through the
``synctrack_register_parts`` hook; nothing else writes to the registry.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import DuplicatePartError, UnknownPartError
from .naming import did_you_mean, listing

KINDS: tuple[str, ...] = (
    "encoder",
    "denoiser",
    "mixer",
    "conditioner",
    "vocoder",
    "diffusion",
    "sampler",
    "dataset",
    "beat_tracker",
    "embedder",
    "metric",
    "attention_backend",
)


@dataclass(frozen=True)
class Part:
    """A registered part.

    ``example`` holds recipe arguments that build a small instance; the contract tests build every part
    from it, so a part with required arguments must give one.
    """

    kind: str
    name: str
    factory: Callable[..., Any]
    summary: str
    plugin: str
    example: Mapping[str, Any] = field(default_factory=dict)

    @property
    def signature(self) -> inspect.Signature:
        """The factory's recipe arguments (``self`` excluded for classes)."""
        return inspect.signature(self.factory)

    def node(self) -> dict[str, Any]:
        """The example as a recipe node: ``{type: name, **example}``."""
        return {"type": self.name, **dict(self.example)}


def first_docstring_line(obj: Any) -> str:
    doc = (inspect.getdoc(obj) or "").strip()
    return doc.splitlines()[0].strip().replace("``", "") if doc else ""


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise UnknownPartError(f"{kind!r} is not a registry kind{did_you_mean(kind, KINDS, f' kinds: {listing(KINDS)}')}")
    return kind


class Registry:
    """Parts by kind and name. Read with :meth:`get`, :meth:`names` and :meth:`parts`."""

    def __init__(self) -> None:
        self._parts: dict[str, dict[str, Part]] = {kind: {} for kind in KINDS}

    def add(
        self,
        kind: str,
        name: str,
        factory: Callable[..., Any],
        *,
        summary: str | None = None,
        example: Mapping[str, Any] | None = None,
        plugin: str = "<direct>",
    ) -> Part:
        """Register ``factory`` as ``kind``/``name``; a second registration of the pair is an error."""
        check_kind(kind)
        if not isinstance(name, str) or not name:
            raise ValueError(f"part names must be non-empty strings, got {name!r}")
        if not callable(factory):
            raise TypeError(f"the factory of {kind} {name!r} is not callable: {factory!r}")
        existing = self._parts[kind].get(name)
        if existing is not None:
            raise DuplicatePartError(
                f"{kind} {name!r} is registered twice: by plugin {existing.plugin!r} and by plugin {plugin!r}; "
                f"rename one of them, or disable one plugin with SYNCTRACK_DISABLE_PLUGINS",
                kind, name, (existing.plugin, plugin),
            )
        part = Part(
            kind=kind,
            name=name,
            factory=factory,
            summary=summary if summary is not None else first_docstring_line(factory),
            plugin=plugin,
            example=dict(example or {}),
        )
        self._parts[kind][name] = part
        return part

    def get(self, kind: str, name: str) -> Part:
        """The part ``kind``/``name``; an unknown name lists what is registered and the closest match."""
        parts = self._parts[check_kind(kind)]
        if name in parts:
            return parts[name]
        raise UnknownPartError(
            f"{name!r} is not in the {kind} registry{did_you_mean(name, parts, f' registered: {listing(parts)}')}"
        )

    def names(self, kind: str) -> list[str]:
        return sorted(self._parts[check_kind(kind)])

    def parts(self, kind: str | None = None) -> Iterator[Part]:
        """Parts of one kind, or of every kind, in kind order then name order."""
        kinds = KINDS if kind is None else (check_kind(kind),)
        for each in kinds:
            for name in sorted(self._parts[each]):
                yield self._parts[each][name]

    def __contains__(self, key: tuple[str, str]) -> bool:
        kind, name = key
        return name in self._parts.get(kind, {})

    def __len__(self) -> int:
        return sum(len(parts) for parts in self._parts.values())

    def scoped(self, plugin: str) -> PluginRegistrar:
        return PluginRegistrar(self, plugin)


class PluginRegistrar:
    """What a plugin's hook receives: registers parts in the name of one plugin.

    Registrations are staged and reach the registry only when the plugin's hook returned without error, so a
    plugin that fails half-way leaves nothing behind.
    """

    def __init__(self, registry: Registry, plugin: str) -> None:
        self._registry = registry
        self.plugin = plugin
        self._staged: list[tuple[str, str, Callable[..., Any], str | None, Mapping[str, Any] | None]] = []

    def add(
        self,
        kind: str,
        name: str,
        factory: Callable[..., Any],
        *,
        summary: str | None = None,
        example: Mapping[str, Any] | None = None,
    ) -> None:
        """Register ``factory`` as ``kind``/``name``. Its signature is the part's recipe arguments."""
        check_kind(kind)
        self._staged.append((kind, name, factory, summary, example))

    def commit(self) -> None:
        """Move the staged parts into the registry, all or none."""
        added: list[tuple[str, str]] = []
        try:
            for kind, name, factory, summary, example in self._staged:
                self._registry.add(kind, name, factory, summary=summary, example=example, plugin=self.plugin)
                added.append((kind, name))
        except Exception:
            for kind, name in added:
                del self._registry._parts[kind][name]
            raise
