"""IRS, CBS and CBD as metric parts: thin wrappers around ``synctrack.eval``."""

from __future__ import annotations

from synctrack.eval import Bootstrap
from synctrack.eval.rhythm import cbs_window_microseconds
from synctrack.eval.values import cbd_values, cbs_values, irs_values
from synctrack.interfaces import BeatSet, MetricValue, RhythmMetric


class _Rhythm(RhythmMetric):
    def __init__(self, bootstrap: int = 1000, confidence: float = 0.95, seed: int = 0) -> None:
        if bootstrap < 0 or not 0.0 < confidence < 1.0:
            raise ValueError(f"need bootstrap >= 0 and 0 < confidence < 1, got {bootstrap}, {confidence}")
        self.bootstrap = Bootstrap(bootstrap, confidence, seed)


class IrsMetric(_Rhythm):
    """Inner-track Rhythmic Stability: std of inter-beat intervals, lower is better."""

    def compute(self, generated: BeatSet, reference: object = None) -> list[MetricValue]:
        return irs_values(generated, self.bootstrap)


class CbsMetric(_Rhythm):
    """Cross-track Beat Synchronization: share of tracks beating in each window, higher is better."""

    def __init__(self, window: float = 0.07, bootstrap: int = 1000, confidence: float = 0.95, seed: int = 0,
                 paper_compat: bool = False) -> None:
        """``paper_compat``: the official scripts' float window edges; by default they are exact (whole
        microseconds), so a beat exactly on an edge always opens the later window."""
        super().__init__(bootstrap, confidence, seed)
        if not window > 0:
            raise ValueError(f"the CBS window must be positive seconds, got {window}")
        if not paper_compat:
            cbs_window_microseconds(window)  # fails here, before any beat tracking
        self.window = window
        self.paper_compat = bool(paper_compat)

    def compute(self, generated: BeatSet, reference: object = None) -> list[MetricValue]:
        return cbs_values(generated, self.window, self.bootstrap, self.paper_compat)


class CbdMetric(_Rhythm):
    """Cross-track Beat Dispersion: normalised cross-track beat errors (mean, std, median), lower is better."""

    def compute(self, generated: BeatSet, reference: object = None) -> list[MetricValue]:
        return cbd_values(generated, self.bootstrap)
