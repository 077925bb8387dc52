"""Hook specifications: what a synctrack plugin may implement.

A plugin is a module (or any object) with functions marked ``@synctrack.hookimpl`` whose names match the
specs below. Built-in plugins live in ``synctrack.plugins``; third-party packages declare theirs in the
entry-point group ``synctrack``. See docs/writing-a-plugin.md.
"""

from __future__ import annotations

import pluggy

PROJECT = "synctrack"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def synctrack_register_parts(registry):
    """Add this plugin's parts to the registry.

    Call ``registry.add(kind, name, factory, summary=None, example=None)`` once per part. ``kind`` is one of
    ``synctrack.registry.KINDS``; ``factory`` is a class or function whose signature is the part's recipe
    arguments (annotate them: recipes are checked against the annotations); ``summary`` defaults to the
    first line of the factory's docstring; ``example`` gives arguments that build a small instance.

    Registrations take effect only if the hook returns without raising. A (kind, name) pair already taken
    by another plugin is an error naming both plugins (a :class:`~synctrack.errors.PluginError`, whether or
    not ``SYNCTRACK_STRICT_PLUGINS`` is set); disabling one of them with ``SYNCTRACK_DISABLE_PLUGINS`` resolves it.
    """
