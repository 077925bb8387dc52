"""FAD as a metric part: per track and for the mix, with the embedder of your choice."""

from __future__ import annotations

from synctrack.eval import Bootstrap
from synctrack.eval.values import fad_values
from synctrack.interfaces import DistributionMetric, Embedder, EmbeddingSet, MetricValue


DEFAULT_EMBEDDER = "logmel_not_comparable"


class FadMetric(DistributionMetric):
    """Frechet audio distance to a reference set, per track and for the mix, lower is better.

    ``embedder`` defaults to the offline ``logmel_not_comparable`` (no weights needed, NOT comparable with
    published FAD); pass ``{type: vggish, weights: PATH}`` for the standard embedding.

    Two values per track and for the mix: ``fad``, the bias-corrected estimate with its basic bootstrap
    interval over ``bootstrap`` resamples of the songs (the interval contains the estimate; NaN with
    ``bootstrap: 0``), and ``fad_plain``, the plain FD of the full sets, biased upwards, with no interval
    (:func:`synctrack.eval.frechet.fad_estimate`).
    """

    def __init__(
        self,
        embedder: Embedder | None = None,
        bootstrap: int = 200,
        confidence: float = 0.95,
        seed: int = 0,
    ) -> None:
        if embedder is None:  # from the registry, as a recipe names it: one plugin never imports another
            from synctrack.plugin_manager import get_registry

            embedder = get_registry().get("embedder", DEFAULT_EMBEDDER).factory()
        if bootstrap < 0 or not 0.0 < confidence < 1.0:
            raise ValueError(f"need bootstrap >= 0 and 0 < confidence < 1, got {bootstrap}, {confidence}")
        self.embedder = embedder
        self.bootstrap = Bootstrap(bootstrap, confidence, seed)

    def compute(self, generated: EmbeddingSet, reference: EmbeddingSet | None = None) -> list[MetricValue]:
        if reference is None:
            raise ValueError("fad needs a reference embedding set")
        return fad_values(generated, reference, self.bootstrap)
