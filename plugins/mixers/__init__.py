"""Built-in cross-track mixers."""

from synctrack import hookimpl

from .global_cross_track import GlobalCrossTrackMixer
from .mix_cross_track import MixCrossTrackMixer
from .none import NoMixer
from .time_cross_track import TimeCrossTrackMixer


@hookimpl
def synctrack_register_parts(registry):
    registry.add("mixer", "none", NoMixer)
    registry.add("mixer", "global_cross_track", GlobalCrossTrackMixer, example={"head_dim": 16})
    registry.add("mixer", "mix_cross_track", MixCrossTrackMixer, example={"head_dim": 16})
    registry.add("mixer", "time_cross_track", TimeCrossTrackMixer, example={"head_dim": 16, "scope": "frame"})
