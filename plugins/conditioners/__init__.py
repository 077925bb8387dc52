"""Built-in conditioners: per-track embeddings from instrument identities, and song-level ones (tempo, tags, a
prompt through CLAP)."""

from synctrack import hookimpl

from .clap_text import ClapTextConditioner
from .instrument_embedding import InstrumentEmbedding
from .instrument_prior import InstrumentPrior
from .none import NoConditioner
from .tags import TagsConditioner
from .tempo import TempoConditioner

EXAMPLE_VOCABULARY = ["bass", "drums", "guitar", "piano"]


@hookimpl
def synctrack_register_parts(registry):
    registry.add("conditioner", "instrument_prior", InstrumentPrior, example={"vocabulary": EXAMPLE_VOCABULARY, "embedding_dim": 16})
    registry.add("conditioner", "instrument_embedding", InstrumentEmbedding, example={"vocabulary": EXAMPLE_VOCABULARY, "embedding_dim": 16})
    registry.add("conditioner", "none", NoConditioner)
    registry.add("conditioner", "tempo", TempoConditioner, example={"embedding_dim": 16})
    registry.add("conditioner", "tags", TagsConditioner, example={"vocabulary": ["key=C", "mode=minor", "meter=3"], "embedding_dim": 16})
    # a frozen CLAP tower is read on first use, so the example builds without a CLAP folder on disk
    registry.add("conditioner", "clap_text", ClapTextConditioner, example={"path": "clap-htsat-unfused", "embedding_dim": 16})
