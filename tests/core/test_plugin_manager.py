"""Plugin loading: broken plugins are named and skipped, strict mode is fatal, duplicates name both."""

from __future__ import annotations

import types

import pytest

from synctrack import PluginError, PluginWarning, hookimpl
from synctrack.interfaces import Mixer
from synctrack.plugin_manager import DEFAULT_PLUGINS, PluginManager


def plugin_registering(*names, kind="mixer", fail=False):
    """A plugin object registering mixers under ``names`` (and raising afterwards when ``fail``)."""

    class ZeroMixer(Mixer):
        """Returns zeros."""

        def __init__(self, dim: int) -> None:
            super().__init__()

    @hookimpl
    def synctrack_register_parts(registry):
        for name in names:
            registry.add(kind, name, ZeroMixer)
        if fail:
            raise RuntimeError("boom while registering")

    return types.SimpleNamespace(synctrack_register_parts=synctrack_register_parts)


def manager(**kwargs):
    return PluginManager(builtins=(), entry_points=False, **kwargs)


def test_builtins_load_from_the_default_tuple():
    loaded = PluginManager(entry_points=False)
    registry = loaded.load()
    assert [info.name for info in loaded.loaded] == list(DEFAULT_PLUGINS)
    assert registry.get("mixer", "none").plugin == "synctrack.plugins.mixers"
    assert loaded.failures == []


def test_a_plugin_that_fails_to_import_is_named_and_the_rest_still_load():
    loading = PluginManager(builtins=("synctrack.plugins.mixers", "no_such_module_xyz"), entry_points=False)
    with pytest.warns(PluginWarning, match=r"plugin 'no_such_module_xyz' \(builtin\) failed to import"):
        registry = loading.load()
    assert ("mixer", "none") in registry
    assert [f.name for f in loading.failures] == ["no_such_module_xyz"]


def test_strict_mode_makes_a_failure_fatal(monkeypatch):
    monkeypatch.setenv("SYNCTRACK_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="no_such_module_xyz"):
        PluginManager(builtins=("no_such_module_xyz",), entry_points=False).load()


def test_disabled_plugins_are_skipped_by_name(monkeypatch):
    monkeypatch.setenv("SYNCTRACK_DISABLE_PLUGINS", "bad, other")
    loading = manager()
    loading.register(plugin_registering("good"), "good")
    loading.register(plugin_registering("x", fail=True), "bad")
    with pytest.warns(PluginWarning, match="'other', which is not an installed plugin"):
        registry = loading.load()
    assert registry.names("mixer") == ["good"]
    assert loading.skipped == ["bad"]


def test_a_plugin_raising_while_registering_leaves_nothing_behind():
    loading = manager()
    loading.register(plugin_registering("kept"), "first")
    loading.register(plugin_registering("half", "done", fail=True), "second")
    with pytest.warns(PluginWarning, match=r"plugin 'second' \(direct\) failed to register .*boom while registering"):
        registry = loading.load()
    assert registry.names("mixer") == ["kept"]


def test_duplicate_kind_and_name_names_both_plugins():
    loading = manager()
    loading.register(plugin_registering("same"), "alpha")
    loading.register(plugin_registering("same"), "beta")
    with pytest.warns(PluginWarning, match="mixer 'same' is registered twice: by plugin 'alpha' and by plugin 'beta'"):
        registry = loading.load()
    assert registry.get("mixer", "same").plugin == "alpha"


def test_duplicate_is_fatal_in_strict_mode():
    loading = manager(strict=True)
    loading.register(plugin_registering("same"), "alpha")
    loading.register(plugin_registering("same"), "beta")
    with pytest.raises(PluginError, match="by plugin 'alpha' and by plugin 'beta'"):
        loading.load()


def test_a_misspelled_hook_is_caught_by_check_pending():
    @hookimpl
    def synctrack_register_part(registry):  # missing the final "s"
        pass

    loading = manager()
    loading.register(types.SimpleNamespace(synctrack_register_part=synctrack_register_part), "typo")
    loading.register(plugin_registering("fine"), "fine")
    with pytest.warns(PluginWarning, match=r"plugin 'typo' \(direct\) failed to validate.*synctrack_register_part"):
        registry = loading.load()
    assert registry.names("mixer") == ["fine"]
    assert [info.name for info in loading.loaded] == ["fine"]


def test_a_hook_with_wrong_arguments_is_rejected():
    @hookimpl
    def synctrack_register_parts(registry, extra):
        pass

    loading = manager()
    loading.register(types.SimpleNamespace(synctrack_register_parts=synctrack_register_parts), "wrongargs")
    with pytest.warns(PluginWarning, match="'wrongargs'.*failed to validate"):
        loading.load()


def test_unknown_kind_in_registration_fails_that_plugin():
    loading = manager()
    loading.register(plugin_registering("x", kind="mixr"), "badkind")
    with pytest.warns(PluginWarning, match="'mixr' is not a registry kind; did you mean 'mixer'?"):
        loading.load()
