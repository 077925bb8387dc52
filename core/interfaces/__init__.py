"""The contract of each registry kind.

Each interface is a base class carrying ``registry_kind``; a factory parameter annotated with an interface
(``conditioner: Conditioner``) takes a recipe node of that kind, and one annotated ``PartSpec[Mixer]`` takes
a node the host builds later, as often as it needs, adding its ``runtime_args``. Parts of a kind subclass its
interface so that contract tests can check what they built.
"""

from .attention import AttentionKernel
from .data import Dataset
from .evaluation import (
    AudioMetric, BeatSet, BeatTracker, DistributionMetric, Embedder, EmbeddingSet, Metric, MetricValue, RhythmMetric,
    TrackFiles,
)
from .model import Conditioner, Denoiser, Encoder, Mixer, SongConditioner, Vocoder, mixers_in
from .trainable import TrainableEncoder, TrainableVocoder, VocoderAdversary
from .process import FAMILIES, Diffusion, Prediction, Sampler, SamplingRequest, SigmaDiffusion, TimestepDiffusion

INTERFACES = {
    cls.registry_kind: cls
    for cls in (
        Encoder,
        Denoiser,
        Mixer,
        Conditioner,
        Vocoder,
        Diffusion,
        Sampler,
        Dataset,
        BeatTracker,
        Embedder,
        Metric,
        AttentionKernel,
    )
}

__all__ = [
    "INTERFACES",
    "AttentionKernel",
    "AudioMetric",
    "BeatSet",
    "BeatTracker",
    "Conditioner",
    "SongConditioner",
    "Dataset",
    "Denoiser",
    "Diffusion",
    "DistributionMetric",
    "Embedder",
    "EmbeddingSet",
    "FAMILIES",
    "Encoder",
    "Metric",
    "MetricValue",
    "Mixer",
    "mixers_in",
    "Prediction",
    "RhythmMetric",
    "TrackFiles",
    "TrainableEncoder",
    "TrainableVocoder",
    "VocoderAdversary",
    "Sampler",
    "SamplingRequest",
    "SigmaDiffusion",
    "TimestepDiffusion",
    "Vocoder",
]
