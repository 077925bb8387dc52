"""The synthetic multi-track world: songs with known beats rendered on the fly (see docs/data.md)."""

from .dataset import SyntheticDataset
from .instruments import INSTRUMENTS, Instrument
from .song import Desync

__all__ = ["INSTRUMENTS", "Desync", "Instrument", "SyntheticDataset"]
