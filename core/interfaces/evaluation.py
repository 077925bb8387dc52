"""Interfaces of evaluation: beat trackers, embedders and metrics."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from .base import PartInterface


class BeatTracker(PartInterface):
    """``track(waveform [L], sample_rate) -> beat times [K]`` in seconds, ascending.

    ``settings()`` returns everything that changes the result; caches key on it.
    """

    registry_kind: ClassVar[str] = "beat_tracker"

    def track(self, waveform: np.ndarray, sample_rate: int) -> np.ndarray:
        raise NotImplementedError

    def settings(self) -> Mapping[str, Any]:
        raise NotImplementedError


class Embedder(PartInterface):
    """``embed(waveforms [N, L], sample_rate) -> embeddings [M, E]`` for Frechet distances.

    ``comparable_to_published`` says whether distances from it may be compared with published FAD.
    """

    registry_kind: ClassVar[str] = "embedder"
    comparable_to_published: bool = False

    def embed(self, waveforms: np.ndarray, sample_rate: int) -> np.ndarray:
        raise NotImplementedError


class Metric(PartInterface):
    """Named numbers from a generated set (and a reference set where the metric needs one)."""

    registry_kind: ClassVar[str] = "metric"

    def compute(self, generated: Any, reference: Any = None) -> Mapping[str, Any]:
        raise NotImplementedError
