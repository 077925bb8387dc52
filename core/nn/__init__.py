"""Neural-network pieces shared by the built-in and third-party parts."""

from .embeddings import TimestepEmbedding, sinusoidal_embedding
from .feedforward import GEGLUFeedForward
from .init import zero_module
from .rotary import RotaryEmbedding
from .unet_layout import LayerPlan, StagePlan, UNetPlan, unet_plan

__all__ = [
    "GEGLUFeedForward",
    "LayerPlan",
    "RotaryEmbedding",
    "StagePlan",
    "TimestepEmbedding",
    "UNetPlan",
    "sinusoidal_embedding",
    "unet_plan",
    "zero_module",
]
