"""Built-in cross-track mixers."""

from synctrack import hookimpl

from .none import NoMixer


@hookimpl
def synctrack_register_parts(registry):
    registry.add("mixer", "none", NoMixer)
