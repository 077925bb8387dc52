"""What every dataset shares: the item contract, batching, clip cutting, file-backed songs, prepared caches.

Concrete datasets (``synthetic``, ``slakh``, ``slakh_msdm``) live in ``synctrack.plugins.datasets``.
"""

from .items import SongBatch, check_item, collate_songs, instrument_ids, make_item, mixdown
from .segments import SegmentIndex, clip_length, count_segments, random_shift, segment_start
from .songs import (
    DataWarning,
    DroppedSong,
    Song,
    SongDataset,
    SongSource,
    SourceFile,
    parse_splits,
)

__all__ = [
    "DataWarning",
    "DroppedSong",
    "SegmentIndex",
    "Song",
    "SongBatch",
    "SongDataset",
    "SongSource",
    "SourceFile",
    "check_item",
    "clip_length",
    "collate_songs",
    "count_segments",
    "instrument_ids",
    "make_item",
    "mixdown",
    "parse_splits",
    "random_shift",
    "segment_start",
]
