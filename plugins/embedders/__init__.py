"""Built-in embedders for FAD: ``vggish`` (local torchvggish weights) and the offline
``logmel_not_comparable`` (no weights; NOT comparable with published FAD)."""

from synctrack import hookimpl

from .logmel import NAME as LOGMEL_NAME
from .logmel import LogMelEmbedder
from .vggish import VGGishEmbedder


@hookimpl
def synctrack_register_parts(registry):
    registry.add("embedder", "vggish", VGGishEmbedder, example={"weights": "vggish-10086976.pth"})
    registry.add("embedder", LOGMEL_NAME, LogMelEmbedder)
