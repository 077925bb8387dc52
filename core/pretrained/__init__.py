"""Starting parts from pretrained weights (MusicLDM in its LDM or diffusers layout): the ``init:`` node key."""

from .apply import Derived, PretrainedError, load_pretrained
from .report import LoadReport
from ..interfaces.weights import InitSpec

__all__ = ["Derived", "InitSpec", "LoadReport", "PretrainedError", "load_pretrained"]
