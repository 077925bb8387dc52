"""What every interface shares: its registry kind and the arguments a host supplies at build time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class PartInterface:
    """Mixin for interface classes.

    ``registry_kind`` names the registry kind. ``runtime_args`` maps the arguments that the host (not the
    recipe) passes when it builds a part of this kind to an example value that contract tests use; a recipe
    that sets one of them is told it is set by the host. ``node_options`` are extra node keys handled by
    core for every part of the kind (``init:`` for pretrained weights; core applies them once the part is
    built, see :mod:`synctrack.recipe.node_options`).
    """

    registry_kind: ClassVar[str]
    runtime_args: ClassVar[Mapping[str, Any]] = {}
    # Keys a recipe node of this kind may hold besides the factory's arguments, with their annotations
    node_options: ClassVar[Mapping[str, Any]] = {}
