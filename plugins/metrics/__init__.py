"""Built-in metrics: the SyncTrack rhythm metrics ``irs``, ``cbs``, ``cbd`` and ``fad``."""

from synctrack import hookimpl

from .fad import FadMetric
from .rhythm import CbdMetric, CbsMetric, IrsMetric


@hookimpl
def synctrack_register_parts(registry):
    registry.add("metric", "irs", IrsMetric)
    registry.add("metric", "cbs", CbsMetric)
    registry.add("metric", "cbd", CbdMetric)
    registry.add("metric", "fad", FadMetric)
