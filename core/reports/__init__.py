"""Listening pages: ``index.html`` next to a run's songs, one player per track and the mix, the beat picture
and the song's own metrics, the run's table and how it was made. Self-contained (relative paths, no CDN,
a few lines of plain JavaScript), so it works offline from ``file://``."""

from .collect import SAMPLING_RECORD, RunView, collect
from .page import PAGE, render, write_report

__all__ = ["PAGE", "SAMPLING_RECORD", "RunView", "collect", "render", "write_report"]
