"""synctrack: multi-track music generation with diffusion models.

``import synctrack`` gives the machinery (registry, recipes, plugin hooks); the parts themselves live in
``synctrack.plugins`` and are found through the plugin manager, never imported by core.
"""

from .errors import PluginError, PluginWarning, RecipeError, UnknownPartError, UserError
from .hookspecs import hookimpl
from .plugin_manager import get_plugin_manager, get_registry, reset_registry
from .recipe import PartSpec, Recipe, load_recipe
from .tracks import TrackInfo

__version__ = "0.1.0"

__all__ = [
    "PartSpec",
    "PluginError",
    "PluginWarning",
    "Recipe",
    "RecipeError",
    "TrackInfo",
    "UnknownPartError",
    "UserError",
    "__version__",
    "get_plugin_manager",
    "get_registry",
    "hookimpl",
    "load_recipe",
    "reset_registry",
]
