"""Built-in conditioners: per-track embeddings from instrument identities."""

from synctrack import hookimpl

from .instrument_embedding import InstrumentEmbedding
from .instrument_prior import InstrumentPrior
from .none import NoConditioner

EXAMPLE_VOCABULARY = ["bass", "drums", "guitar", "piano"]


@hookimpl
def synctrack_register_parts(registry):
    registry.add("conditioner", "instrument_prior", InstrumentPrior, example={"vocabulary": EXAMPLE_VOCABULARY, "embedding_dim": 16})
    registry.add("conditioner", "instrument_embedding", InstrumentEmbedding, example={"vocabulary": EXAMPLE_VOCABULARY, "embedding_dim": 16})
    registry.add("conditioner", "none", NoConditioner)
