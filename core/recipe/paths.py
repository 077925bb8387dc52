"""Recipe paths: ``("model", "denoiser", "mixers", 1, "heads")`` <-> ``model.denoiser.mixers[1].heads``."""

from __future__ import annotations

import re

Path = tuple[str | int, ...]

_SEGMENT = re.compile(r"(?P<key>[A-Za-z_][\w\-]*|\d+)(?P<indices>(\[\d+\])*)")


def format_path(path: Path) -> str:
    """The readable form of a path; the root is the empty string."""
    text = ""
    for item in path:
        if isinstance(item, int):
            text += f"[{item}]"
        else:
            text += f".{item}" if text else str(item)
    return text


def parse_path(text: str) -> Path:
    """Parse ``a.b[1].c`` or ``a.b.1.c`` (bare digits index lists). Raises ValueError on bad syntax."""
    if not text:
        raise ValueError("empty key")
    path: list[str | int] = []
    for segment in text.split("."):
        match = _SEGMENT.fullmatch(segment)
        if match is None:
            raise ValueError(f"bad key segment {segment!r} in {text!r}")
        key = match["key"]
        path.append(int(key) if key.isdigit() else key)
        path.extend(int(index) for index in re.findall(r"\[(\d+)\]", match["indices"] or ""))
    return tuple(path)


def is_under(path: Path, prefix: Path) -> bool:
    return path[: len(prefix)] == prefix
