"""One writer per run folder: a lock held for the life of the process that trains into it.

``RUN/.synctrack.lock`` is locked with ``flock`` and holds who locked it (pid, host, start time, command).
A second writer (a job submitted twice, a requeue while the first still runs) fails at once with a
:class:`RunFolderBusy` naming the holder. The kernel drops a ``flock`` when its process dies, however it
dies, so a lock left by a killed run is simply free: the next writer takes it over and says whose it was.

The file is emptied, never deleted, on release: deleting it would let a process that opened the old file
and one that creates a new one both believe they hold the lock. (A folder the lock itself created and that
holds nothing else is removed again, so a run that failed before writing leaves nothing behind.)

On a network filesystem ``flock`` is only as good as the server's lock support: Linux NFS clients map it to
NFS byte-range locks (a lock server is needed); some FUSE and SMB mounts accept it without enforcing it
across machines. Readers (``sample``, ``eval``) take no lock: checkpoints appear by atomic rename.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import UserError

LOCK_NAME = ".synctrack.lock"


class RunFolderBusy(UserError):
    """Another live process is writing into this run folder."""


def _holder_text(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}


def _describe(holder: dict) -> str:
    if not holder:
        return "a process that did not say who it is"
    return (f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, since {holder.get('started', '?')}"
            + (f": {holder['command']}" if holder.get("command") else ""))


@contextmanager
def run_lock(folder: str | os.PathLike) -> Iterator[str | None]:
    """Hold the lock of run folder ``folder`` (created when missing) for the ``with`` block.

    Yields a note when the lock was taken over from a process that is gone, else None. Raises
    :class:`RunFolderBusy` (exit 2) when a live process holds it.
    """
    folder = Path(folder)
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)  # the umask gives its mode, as for every file we write
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(handle)
        holder = _holder_text(path)
        pid = holder.get("pid")
        raise RunFolderBusy(
            f"{folder} is being written by another synctrack process ({_describe(holder)}); two writers would "
            f"interleave their logs and checkpoints. Wait for it to finish, stop it{f' (kill {pid})' if pid else ''}, "
            "or train into another --out"
        ) from None
    previous = _holder_text(path)
    note = None
    if previous.get("pid") not in (None, os.getpid()):
        note = f"took over the lock of {folder} from {_describe(previous)}, which is no longer running"
    me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
          "command": " ".join(["synctrack", *sys.argv[1:]])[:300]}
    os.ftruncate(handle, 0)
    os.pwrite(handle, (json.dumps(me) + "\n").encode("utf-8"), 0)
    try:
        yield note
    finally:
        os.ftruncate(handle, 0)  # free: an empty lock file names nobody
        if created and [entry.name for entry in folder.iterdir()] == [LOCK_NAME]:
            path.unlink(missing_ok=True)
            folder.rmdir()
        fcntl.flock(handle, fcntl.LOCK_UN)
        os.close(handle)
