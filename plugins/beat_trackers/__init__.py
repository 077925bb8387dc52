"""Built-in beat trackers: ``librosa`` (the default), ``madmom`` (optional extra, the official tracker) and
``onsets`` (exact on click tracks, for synthetic data)."""

from synctrack import hookimpl

from .librosa_tracker import LibrosaTracker
from .madmom_tracker import MadmomTracker
from .onsets import OnsetTracker


@hookimpl
def synctrack_register_parts(registry):
    registry.add("beat_tracker", "librosa", LibrosaTracker)
    registry.add("beat_tracker", "madmom", MadmomTracker)
    registry.add("beat_tracker", "onsets", OnsetTracker)
