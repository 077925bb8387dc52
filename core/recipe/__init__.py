"""The recipe language: YAML nodes, base inheritance, overrides, checking and building."""

from .check import build, check, describe, factory_arguments
from .overrides import looks_like_override, parse_override
from .paths import format_path, parse_path
from .recipe import Recipe, load_recipe, recipe_from_text
from .schema import ModelSection, RecipeSchema
from .spec import PartSpec

__all__ = [
    "ModelSection",
    "PartSpec",
    "Recipe",
    "RecipeSchema",
    "build",
    "check",
    "describe",
    "factory_arguments",
    "format_path",
    "load_recipe",
    "looks_like_override",
    "parse_override",
    "parse_path",
    "recipe_from_text",
]
