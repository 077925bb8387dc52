"""Starting parts from pretrained weights (MusicLDM in its LDM or diffusers layout): the ``init:`` node key."""

from .apply import PretrainedError, load_pretrained
from .report import LoadReport
from .spec import InitSpec

__all__ = ["InitSpec", "LoadReport", "PretrainedError", "load_pretrained"]
