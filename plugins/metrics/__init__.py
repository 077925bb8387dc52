"""Built-in metrics: the SyncTrack rhythm metrics ``irs``, ``cbs``, ``cbd``, ``fad``, and the guards
``beating_tracks`` and ``track_correlation``."""

from synctrack import hookimpl

from .fad import FadMetric
from .rhythm import CbdMetric, CbsMetric, IrsMetric
from .tracks import BeatingTracksMetric, TrackCorrelationMetric


@hookimpl
def synctrack_register_parts(registry):
    registry.add("metric", "irs", IrsMetric)
    registry.add("metric", "cbs", CbsMetric)
    registry.add("metric", "cbd", CbdMetric)
    registry.add("metric", "fad", FadMetric)
    registry.add("metric", "beating_tracks", BeatingTracksMetric)
    registry.add("metric", "track_correlation", TrackCorrelationMetric)
