"""Finding and loading plugins, and building the registry from them.

Built-in plugins are named in :data:`DEFAULT_PLUGINS` and imported by module name, exactly as third-party
plugins are loaded from the entry-point group :data:`ENTRY_POINT_GROUP`; core never imports
``synctrack.plugins`` directly. A plugin that fails (import error, bad hook, exception while registering) is
reported by name with a :class:`~synctrack.errors.PluginWarning` and skipped; the rest still load.

A clash is not a failure of one plugin: two plugins registering the same (kind, name), or two plugins with
the same name, are a :class:`~synctrack.errors.PluginError` naming both, in every mode. Letting the first in
load order win would make a recipe build a different part depending on what else is installed (pytest and
conda refuse a duplicate plugin name the same way). Disabling one of the two resolves it. Environment:

- ``SYNCTRACK_STRICT_PLUGINS=1`` turns a failing plugin into a :class:`~synctrack.errors.PluginError`.
- ``SYNCTRACK_DISABLE_PLUGINS=a,b`` skips plugins by name (built-in module name or entry-point name).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import threading
import warnings
from dataclasses import dataclass
from typing import Any

import pluggy

from . import hookspecs
from .errors import DuplicatePartError, PluginError, PluginWarning
from .registry import Registry

ENTRY_POINT_GROUP = "synctrack"
STRICT_ENV = "SYNCTRACK_STRICT_PLUGINS"
DISABLE_ENV = "SYNCTRACK_DISABLE_PLUGINS"

# Built-in plugins, registered in this order before any third-party plugin.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "synctrack.plugins.mixers",
    "synctrack.plugins.conditioners",
    "synctrack.plugins.unet",
    "synctrack.plugins.msdm",
    "synctrack.plugins.msgld",
    "synctrack.plugins.datasets",
    "synctrack.plugins.beat_trackers",
    "synctrack.plugins.embedders",
    "synctrack.plugins.metrics",
    "synctrack.plugins.encoders",
    "synctrack.plugins.vocoders",
    "synctrack.plugins.diffusion",
    "synctrack.plugins.samplers",
    "synctrack.plugins.attention",
)


@dataclass(frozen=True)
class PluginInfo:
    """A loaded plugin: its name and where it came from (``builtin`` or a distribution name)."""

    name: str
    source: str


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that was skipped, and why."""

    name: str
    source: str
    stage: str  # "import", "validate" or "register"
    error: str

    def __str__(self) -> str:
        return f"plugin {self.name!r} ({self.source}) failed to {self.stage} and was skipped: {self.error}; {self.fix}"

    @property
    def fix(self) -> str:
        """What silences it: uninstalling its distribution (an installed plugin), or disabling it by name."""
        disable = f"{DISABLE_ENV}={self.name}"
        if self.source in ("builtin", "direct", "entry point"):
            return f"to silence it: {disable}"
        return f"to silence it: pip uninstall {self.source}, or {disable}"


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str) -> set[str]:
    return {item.strip() for item in os.environ.get(name, "").split(",") if item.strip()}


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


class PluginManager:
    """Loads plugins and collects their parts into a :class:`~synctrack.registry.Registry`.

    ``strict`` and ``disabled`` default to the environment variables above; ``entry_points=False`` loads
    built-ins only.
    """

    def __init__(
        self,
        *,
        strict: bool | None = None,
        disabled: set[str] | None = None,
        builtins: tuple[str, ...] = DEFAULT_PLUGINS,
        entry_points: bool = True,
    ) -> None:
        self.strict = _env_flag(STRICT_ENV) if strict is None else strict
        self.disabled = _env_list(DISABLE_ENV) if disabled is None else set(disabled)
        self._builtins = builtins
        self._use_entry_points = entry_points
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self.loaded: list[PluginInfo] = []
        self.failures: list[PluginFailure] = []
        self.skipped: list[str] = []
        self._direct: list[tuple[str, str, Any]] = []

    # -- loading -------------------------------------------------------------------------------------------

    def load(self) -> Registry:
        """Import every plugin and return the registry of their parts."""
        for module_name in self._builtins:
            self._add(module_name, "builtin", lambda name=module_name: importlib.import_module(name))
        for name, source, plugin in self._direct:
            self._add(name, source, lambda plugin=plugin: plugin)
        if self._use_entry_points:
            for entry_point in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
                source = entry_point.dist.name if entry_point.dist is not None else "entry point"
                self._add(entry_point.name, source, entry_point.load)
        for name in self.disabled - {info.name for info in self.loaded} - set(self.skipped):
            warnings.warn(f"{DISABLE_ENV} names {name!r}, which is not an installed plugin", PluginWarning, stacklevel=2)
        return self._collect()

    def register(self, plugin: Any, name: str, source: str = "direct") -> None:
        """Add an already imported plugin object, loaded after the built-ins by :meth:`load`.

        Tests and applications that embed synctrack use this instead of an entry point.
        """
        self._direct.append((name, source, plugin))

    def _add(self, name: str, source: str, load: Any) -> None:
        if name in self.disabled:
            self.skipped.append(name)
            return
        try:
            plugin = load()
        except Exception as error:  # a broken plugin must not take the host down
            self._fail(PluginFailure(name, source, "import", _describe(error)), error)
            return
        try:
            self._pm.register(plugin, name=name)
            self._pm.check_pending()  # hookimpls whose name matches no spec: a misspelled hook
        except pluggy.PluginValidationError as error:
            if self._pm.is_registered(plugin):
                self._pm.unregister(plugin)
            self._fail(PluginFailure(name, source, "validate", str(error)), error)
            return
        except ValueError as error:  # pluggy: the name (or the very object) is registered already
            raise PluginError(self._name_clash(name, source)) from error
        self.loaded.append(PluginInfo(name, source))

    def _name_clash(self, name: str, source: str) -> str:
        first = next((info.source for info in self.loaded if info.name == name), None)
        if first is None:
            return f"plugin {name!r} ({source}) is registered twice as the same object; register it once"
        return (
            f"two plugins are named {name!r}: one from {first}, one from {source}. synctrack cannot tell them apart "
            f"(and {DISABLE_ENV}={name} would skip both): uninstall one of them"
        )

    def _part_clash(self, error: DuplicatePartError, sources: dict[str, str]) -> str:
        first, second = error.plugins
        what = f"{error.kind} {error.name!r}"
        if first == second:
            return (f"plugin {first!r} ({sources.get(first, '?')}) registers {what} twice; fix the plugin, or skip it "
                    f"with {DISABLE_ENV}={first}")
        return (
            f"{what} is registered by two plugins: {first!r} ({sources.get(first, '?')}) and {second!r} "
            f"({sources.get(second, '?')}). Which one a recipe builds would depend on the load order, so neither is "
            f"chosen: disable one with {DISABLE_ENV}={second} (or ={first}), or uninstall it"
        )

    def _collect(self) -> Registry:
        registry = Registry()
        sources = {info.name: info.source for info in self.loaded}
        for info in list(self.loaded):
            plugin = self._pm.get_plugin(info.name)
            hook = getattr(plugin, "synctrack_register_parts", None)
            if hook is None:
                continue
            registrar = registry.scoped(info.name)
            try:
                hook(registry=registrar)
                registrar.commit()
            except DuplicatePartError as error:  # a clash, not a broken plugin: an error in every mode
                raise PluginError(self._part_clash(error, sources)) from None
            except Exception as error:
                self._pm.unregister(name=info.name)
                self.loaded.remove(info)
                self._fail(PluginFailure(info.name, sources[info.name], "register", _describe(error)), error)
        return registry

    def _fail(self, failure: PluginFailure, error: BaseException) -> None:
        if self.strict:
            raise PluginError(f"{failure} (unset {STRICT_ENV} to skip failing plugins)") from error
        self.failures.append(failure)
        warnings.warn(str(failure), PluginWarning, stacklevel=3)


_lock = threading.Lock()
_state: dict[str, Any] = {}


def get_registry() -> Registry:
    """The process-wide registry, built from all plugins on first use."""
    with _lock:
        if "registry" not in _state:
            manager = PluginManager()
            _state["registry"] = manager.load()
            _state["manager"] = manager
        return _state["registry"]


def get_plugin_manager() -> PluginManager:
    """The manager that built :func:`get_registry` (its ``loaded``, ``failures`` and ``skipped`` lists)."""
    get_registry()
    return _state["manager"]


def reset_registry() -> None:
    """Forget the process-wide registry; the next :func:`get_registry` reloads plugins (for tests)."""
    with _lock:
        _state.clear()

