"""synctrack: multi-track music generation with diffusion models.

``import synctrack`` gives the library (``train``, ``sample``, ``evaluate``, ``Songs``: see
:mod:`synctrack.api`, loaded on first use) and the machinery (registry, recipes, plugin hooks); the parts
themselves live in ``synctrack.plugins`` and are found through the plugin manager, never imported by core.
"""

from .errors import PluginError, PluginWarning, RecipeError, UnknownPartError, UserError
from .hookspecs import hookimpl
from .pipeline import Pipeline, build
from .plugin_manager import get_plugin_manager, get_registry, reset_registry
from .recipe import PartSpec, Recipe, load_recipe
from .tracks import TrackInfo

from .version import __version__

_LIBRARY = ("Songs", "TrainResult", "evaluate", "load_model", "load_pipeline", "sample", "sample_batches", "train",
            "write_songs")


def __getattr__(name: str):
    if name in _LIBRARY:  # the library pulls in training and evaluation: loaded when first asked for
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'synctrack' has no attribute {name!r}")

__all__ = [
    *_LIBRARY,
    "PartSpec",
    "Pipeline",
    "PluginError",
    "PluginWarning",
    "Recipe",
    "RecipeError",
    "TrackInfo",
    "UnknownPartError",
    "UserError",
    "__version__",
    "build",
    "get_plugin_manager",
    "get_registry",
    "hookimpl",
    "load_recipe",
    "reset_registry",
]
