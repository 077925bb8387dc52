"""Built-in beat trackers: ``librosa`` (the default) and ``madmom`` (optional extra, the official tracker)."""

from synctrack import hookimpl

from .librosa_tracker import LibrosaTracker
from .madmom_tracker import MadmomTracker


@hookimpl
def synctrack_register_parts(registry):
    registry.add("beat_tracker", "librosa", LibrosaTracker)
    registry.add("beat_tracker", "madmom", MadmomTracker)
