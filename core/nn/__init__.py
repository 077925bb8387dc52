"""Neural-network pieces shared by the built-in and third-party parts."""

from .embeddings import TimestepEmbedding, sinusoidal_embedding
from .feedforward import GEGLUFeedForward
from .init import zero_module

__all__ = ["GEGLUFeedForward", "TimestepEmbedding", "sinusoidal_embedding", "zero_module"]
