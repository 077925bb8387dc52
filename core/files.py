"""Atomic file writes: a reader sees the old file or the new one, never half of either.

Everything synctrack writes for a user (checkpoints' side files, audio, figures, reports, caches) goes
through :func:`atomic_path`: the data is written to a temporary file in the same folder and renamed onto the
target, so a crash or a kill mid-write loses nothing that was there before. A folder of files that belong
together (one generated song) goes through :func:`atomic_folder` the same way.

Output folders: :func:`output_folder_problem` says why a command should not write into a folder (it is a
file, or it already holds something and ``--overwrite`` was not given), and :func:`clear_folder` empties
one for ``--overwrite``; both refuse the folders a mistyped ``--out`` could name by accident (``/``, the home
folder, the working folder or one of its parents).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import UserError

# errno values that mean "this place cannot take the write", not a bug: said in one message, exit 2
_NO_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_CANNOT_WRITE = {errno.EROFS: "the filesystem is read-only", errno.EACCES: "permission denied",
                 errno.EPERM: "permission denied", errno.ENOENT: "the folder vanished while writing"}
NEARLY_FULL = 1 << 20  # bytes: a failed write with less than this free is taken as out of space


class WriteFailure(UserError):
    """A write that failed because of where it went (no space, read-only, vanished), not because of a bug."""


def current_umask() -> int:
    """The process umask (reading it means setting it, so it is set straight back)."""
    umask = os.umask(0)
    os.umask(umask)
    return umask


def give_ordinary_mode(path: Path, folder: bool) -> None:
    """The mode the umask gives a new file or folder (``mkstemp``/``mkdtemp`` make them private: 0600/0700),
    so that a teammate can read a shared run as they can everything else it wrote."""
    os.chmod(path, (0o777 if folder else 0o666) & ~current_umask())


def _human(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def _free_bytes(path: Path) -> int | None:
    for place in (path, *path.parents):
        if place.exists():
            try:
                return shutil.disk_usage(place).free
            except OSError:
                return None
    return None


def write_failure(error: BaseException, path: str | os.PathLike, what: str, needed: int | None = None) -> WriteFailure | None:
    """A :class:`WriteFailure` saying why writing ``what`` to ``path`` failed, when the cause is the place
    (no space left, a quota, a read-only or vanished folder), else None (a bug: let it raise).

    Libraries do not all raise ``OSError(ENOSPC)`` when a disk fills (safetensors raises its own error, torch
    a zip "unexpected pos"), so a failure with under :data:`NEARLY_FULL` bytes free (or less than ``needed``)
    counts as out of space too."""
    if not isinstance(error, Exception) or isinstance(error, UserError):  # Ctrl-C, exits, messages already made
        return None
    path = Path(path)
    code = getattr(error, "errno", None)
    free = _free_bytes(path)
    text = str(error)
    out_of_space = (code in _NO_SPACE or "No space left" in text or "Disk quota exceeded" in text
                    or (free is not None and (free < NEARLY_FULL or (needed is not None and free < needed))))
    if out_of_space:
        need = f"it needed about {_human(needed)} and " if needed else ""
        have = f"{_human(free)} is free there" if free is not None else "the free space is unknown"
        return WriteFailure(f"out of space writing {what} to {path}: {need}{have}; nothing half-written was left")
    if code in _CANNOT_WRITE:
        return WriteFailure(f"cannot write {what} to {path}: {_CANNOT_WRITE[code]} ({error.strerror or error})")
    return None


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; when the block succeeds it replaces ``path``.

    ``suffix`` is the temporary file's ending (some writers pick the format from it; default: ``path``'s).
    Parent folders are created; on failure the temporary file is removed and ``path`` is untouched. The
    result gets ordinary permissions (``mkstemp`` makes files private).
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix if suffix is not None else path.suffix, dir=path.parent)
    except OSError as error:
        raise (write_failure(error, path, path.name) or error) from None
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        give_ordinary_mode(temporary, folder=False)
        os.replace(temporary, path)
    except BaseException as error:
        temporary.unlink(missing_ok=True)
        failure = write_failure(error, path, path.name)
        if failure is not None:
            raise failure from None
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


# -- folders -------------------------------------------------------------------------------------------------


@contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary folder next to ``path``; when the block succeeds it becomes ``path``.

    A folder already at ``path`` is renamed aside, the new one renamed into place, and the old one deleted,
    so ``path`` is never a mixture of old and new files; a kill leaves at most a hidden ``.tmp-*`` or
    ``.old-*`` folder beside it (readers of song folders skip hidden names). On failure the temporary folder
    is removed and ``path`` is untouched.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(prefix=f".tmp-{path.name}-", dir=path.parent))
    except OSError as error:
        raise (write_failure(error, path, path.name) or error) from None
    try:
        yield temporary
        give_ordinary_mode(temporary, folder=True)
        _move_into_place(temporary, path)
    except BaseException as error:
        shutil.rmtree(temporary, ignore_errors=True)
        failure = write_failure(error, path, path.name)
        if failure is not None:
            raise failure from None
        raise


def _move_into_place(source: Path, target: Path) -> None:
    """Rename ``source`` to ``target``, first moving an existing ``target`` aside (then deleting it)."""
    if not target.exists():
        os.replace(source, target)
        return
    stale = Path(tempfile.mkdtemp(prefix=f".old-{target.name}-", dir=target.parent))
    os.replace(target, stale / target.name)
    os.replace(source, target)
    shutil.rmtree(stale, ignore_errors=True)


def _protected(path: Path) -> str | None:
    """Why ``path`` must never be emptied by ``--overwrite`` (a mistyped ``--out``), or None."""
    resolved = path.resolve()
    if resolved == Path(resolved.anchor):
        return "it is the root of the file system"
    if resolved == Path.home().resolve():
        return "it is your home folder"
    cwd = Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents:
        return "it is the working folder or one of its parents"
    return None


def output_folder_problem(path: str | os.PathLike, overwrite: bool, option: str = "--out",
                          ignore: Collection[str] = ()) -> str | None:
    """Why a command must not write its outputs into folder ``path``, or None when it may.

    A missing or empty folder is fine; a file never is; a folder holding anything needs ``overwrite``
    (which the caller honours with :func:`clear_folder`), and even then not a protected folder. Entries
    named in ``ignore`` (a run folder's lock file) do not count.
    """
    path = Path(path)
    if not path.exists():
        return None
    if not path.is_dir():
        return f"{option} {path} is a file, not a folder: give a folder to write into (it is created when missing)"
    if overwrite:
        reason = _protected(path)
        return f"{option} {path}: refusing to delete its contents with --overwrite, since {reason}" if reason else None
    entries = sorted(entry.name for entry in path.iterdir() if entry.name not in ignore)
    if not entries:
        return None
    shown = ", ".join(entries[:4]) + (f" and {len(entries) - 4} more" if len(entries) > 4 else "")
    return f"{option} {path} is not empty (it holds {shown}): pass --overwrite to delete its contents first, or choose a new folder"


def clear_folder(path: str | os.PathLike, keep: Collection[str] = ()) -> Path:
    """Delete everything inside folder ``path`` (created when missing) but the entries named in ``keep``;
    the folder itself stays.

    Refuses (:class:`~synctrack.errors.UserError`) the root, the home folder and the working folder or its
    parents. Links inside are removed, never followed.
    """
    path = Path(path)
    reason = _protected(path) if path.exists() else None
    if reason:
        raise UserError(f"refusing to delete the contents of {path}: {reason}")
    path.mkdir(parents=True, exist_ok=True)
    for entry in path.iterdir():
        if entry.name in keep:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    return path
