"""The top level of a recipe: which sections exist and what each holds.

Every key a recipe may have is a field here, so a misspelled section is reported like a misspelled
argument. Sections are added by the issue that brings their machinery (training, sampling, evaluation).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..interfaces import Dataset, Denoiser, Diffusion, Encoder, Sampler, Vocoder
from ..training.config import TrainSection


@dataclass
class ModelSection:
    """The parts of a generative model; each is a recipe node of its kind."""

    denoiser: Denoiser | None = None
    encoder: Encoder | None = None
    diffusion: Diffusion | None = None
    sampler: Sampler | None = None
    vocoder: Vocoder | None = None


@dataclass
class RecipeSchema:
    """A whole recipe."""

    name: str = ""
    description: str = ""
    model: ModelSection = field(default_factory=ModelSection)
    data: Dataset | None = None
    train: TrainSection = field(default_factory=TrainSection)
