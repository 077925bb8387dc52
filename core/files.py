"""Atomic file writes: a reader sees the old file or the new one, never half of either.

Everything synctrack writes for a user (checkpoints' side files, audio, figures, reports, caches) goes
through :func:`atomic_path`: the data is written to a temporary file in the same folder and renamed onto the
target, so a crash or a kill mid-write loses nothing that was there before.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; when the block succeeds it replaces ``path``.

    ``suffix`` is the temporary file's ending (some writers pick the format from it; default: ``path``'s).
    Parent folders are created; on failure the temporary file is removed and ``path`` is untouched. The
    result gets ordinary permissions (``mkstemp`` makes files private).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix if suffix is not None else path.suffix, dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_bytes_atomically(path: str | os.PathLike, data: bytes, sync: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically; ``sync`` also flushes it to disk before the rename."""
    with atomic_path(path) as temporary:
        with open(temporary, "wb") as stream:
            stream.write(data)
            if sync:
                stream.flush()
                os.fsync(stream.fileno())
    return Path(path)


def write_text_atomically(path: str | os.PathLike, text: str, sync: bool = False) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return write_bytes_atomically(path, text.encode("utf-8"), sync=sync)


def write_json_atomically(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as indented, key-sorted JSON (with a final newline) atomically."""
    return write_text_atomically(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
