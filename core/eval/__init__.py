"""Evaluation: the rhythm metrics IRS/CBS/CBD, Frechet distances, folder readers, the beat cache and the
runner behind ``synctrack eval``. The metric arithmetic is pure numpy (:mod:`.rhythm`, :mod:`.frechet`);
the parts that plug into it (beat trackers, embedders, metrics) live in ``synctrack.plugins``."""

from .bootstrap import bootstrap_ci
from .frechet import frechet_audio_distance, frechet_distance, gaussian_statistics
from .layout import LayoutError, Song, SongFolder, read_folder
from .result import EvaluationResult
from .rhythm import cbd, cbs, irs
from .runner import EvaluationRequest, evaluate
from .values import Bootstrap

__all__ = [
    "Bootstrap",
    "EvaluationRequest",
    "EvaluationResult",
    "LayoutError",
    "Song",
    "SongFolder",
    "bootstrap_ci",
    "cbd",
    "cbs",
    "evaluate",
    "frechet_audio_distance",
    "frechet_distance",
    "gaussian_statistics",
    "irs",
    "read_folder",
]
