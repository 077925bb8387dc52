"""A beat cache on disk: one file per (audio content, tracker settings).

The key is the SHA-256 of the file's bytes (so renaming or copying a file keeps its entry, and rewriting
it invalidates the entry) together with a hash of the tracker's ``settings()`` (its name, library version
and parameters). Layout: ``<root>/<settings hash>/settings.json`` (what the hash stands for) and
``<root>/<settings hash>/<content hash>.npy``. Writes are atomic, so parallel runs may share a cache.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..files import atomic_path

CACHE_ENV = "SYNCTRACK_CACHE"


def default_cache_root() -> Path:
    """``$SYNCTRACK_CACHE/beats``, else ``$XDG_CACHE_HOME/synctrack/beats``, else ``~/.cache/synctrack/beats``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]) / "beats"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "synctrack" / "beats"


def ensure_numba_cache_dir() -> Path:
    """Point numba's compilation cache at ``<cache>/numba`` unless ``NUMBA_CACHE_DIR`` is already set.

    librosa's beat tracker is compiled by numba, which otherwise caches next to librosa's own files in
    site-packages: a folder that may be read-only, and where processes compiling at the same time were seen to
    leave entries that crash (segfault) every later run. Call before librosa is imported.
    """
    folder = Path(os.environ.get("NUMBA_CACHE_DIR") or default_cache_root().parent / "numba")
    os.environ.setdefault("NUMBA_CACHE_DIR", str(folder))
    return folder


def file_digest(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def settings_digest(settings: Mapping[str, Any]) -> str:
    """A stable hash of tracker settings (key order and formatting do not matter)."""
    canonical = json.dumps(dict(settings), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:20]


def _atomic_write(path: Path, write) -> None:
    with atomic_path(path) as temporary, open(temporary, "wb") as stream:
        write(stream)


class BeatCache:
    """Beat times by file content and tracker settings; ``root=None`` disables caching.

    ``hits`` and ``misses`` count lookups since construction.
    """

    def __init__(self, root: str | os.PathLike | None, settings: Mapping[str, Any]) -> None:
        self.root = Path(root) if root is not None else None
        self.settings = dict(settings)
        self.folder = self.root / settings_digest(self.settings) if self.root is not None else None
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.folder is not None

    def _entry(self, digest: str) -> Path:
        assert self.folder is not None
        return self.folder / f"{digest}.npy"

    def get(self, digest: str) -> np.ndarray | None:
        """The cached beats of a file with content hash ``digest``, or None (a corrupt entry is a miss)."""
        if not self.enabled:
            self.misses += 1
            return None
        entry = self._entry(digest)
        try:
            beats = np.load(entry, allow_pickle=False)
        except (OSError, ValueError):
            self.misses += 1
            return None
        self.hits += 1
        return beats.astype(np.float64, copy=False)

    def put(self, digest: str, beats: np.ndarray) -> None:
        if not self.enabled:
            return
        description = self.folder / "settings.json"
        if not description.exists():
            text = json.dumps(self.settings, indent=2, sort_keys=True, default=str).encode()
            _atomic_write(description, lambda stream: stream.write(text))
        _atomic_write(self._entry(digest), lambda stream: np.save(stream, np.asarray(beats, dtype=np.float64)))
