"""Plugin loading: broken plugins are named and skipped, strict mode is fatal, clashes are errors naming both."""

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


@pytest.mark.parametrize("strict", [False, True])
def test_a_kind_and_name_registered_by_two_plugins_is_an_error_naming_both(strict):
    """Not "the first in load order wins": a recipe would build a different part depending on what else is
    installed. Strict or not, loading stops with an error naming both plugins and how to choose."""
    loading = manager(strict=strict)
    loading.register(plugin_registering("same"), "alpha", source="dist-a")
    loading.register(plugin_registering("same"), "beta", source="dist-b")
    with pytest.raises(PluginError) as caught:
        loading.load()
    message = str(caught.value)
    assert "mixer 'same' is registered by two plugins: 'alpha' (dist-a) and 'beta' (dist-b)" in message
    assert "SYNCTRACK_DISABLE_PLUGINS=beta (or =alpha)" in message


def test_disabling_one_of_two_clashing_plugins_resolves_the_clash():
    loading = manager(disabled={"alpha"})
    loading.register(plugin_registering("same"), "alpha")
    loading.register(plugin_registering("same"), "beta")
    assert loading.load().get("mixer", "same").plugin == "beta"


def test_a_plugin_registering_a_name_twice_is_named():
    loading = manager()
    loading.register(plugin_registering("same", "same"), "twice", source="dist-t")
    with pytest.raises(PluginError, match=r"plugin 'twice' \(dist-t\) registers mixer 'same' twice"):
        loading.load()


def test_two_plugins_with_the_same_name_are_an_error_naming_both_sources():
    loading = manager()
    loading.register(plugin_registering("one"), "dup", source="dist-a")
    loading.register(plugin_registering("two"), "dup", source="dist-b")
    with pytest.raises(PluginError, match="two plugins are named 'dup': one from dist-a, one from dist-b"):
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


CLASHING_PLUGIN = '''\
from synctrack import hookimpl
from synctrack.plugins.mixers.none import NoMixer


@hookimpl
def synctrack_register_parts(registry):
    registry.add("mixer", "none", NoMixer)  # the built-in mixers plugin registers 'none' already
'''


def test_an_installed_plugin_clashing_with_a_builtin_ends_the_cli_with_exit_2_until_disabled(tmp_path, cli):
    """Through an entry point, as a third-party package installs it (a dist-info folder on PYTHONPATH)."""
    (tmp_path / "clash_plugin.py").write_text(CLASHING_PLUGIN)
    info = tmp_path / "synctrack_clash-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: synctrack-clash\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[synctrack]\nclash = clash_plugin\n")
    result = cli("list", "mixer", env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert ("mixer 'none' is registered by two plugins: 'synctrack.plugins.mixers' (builtin) and 'clash' "
            "(synctrack-clash)") in result.stderr
    resolved = cli("list", "mixer", env={"PYTHONPATH": str(tmp_path), "SYNCTRACK_DISABLE_PLUGINS": "clash"})
    assert resolved.returncode == 0, resolved.stderr
