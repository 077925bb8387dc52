"""What a benchmark sweep is asked to run: track counts, token grids, mixers and backends, parsed and checked.

Every parser raises :class:`~synctrack.errors.UserError` naming the option, the bad value and an example of
a good one, so the CLI exits with code 2 before measuring anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..attention.dispatch import backend_names
from ..errors import UnknownPartError, UserError
from ..naming import closest, listing


@dataclass(frozen=True)
class Grid:
    """A per-track token grid ``T' x F'`` of width ``dim`` (the tokens a mixer sees at one U-Net level)."""

    frames: int
    bins: int
    dim: int
    name: str = ""

    @property
    def tokens(self) -> int:
        """``N = T' * F'`` tokens per track."""
        return self.frames * self.bins

    @property
    def label(self) -> str:
        return f"{self.frames}x{self.bins}x{self.dim}"


# The attention levels of SyncTrack's U-Net (MusicLDM's): a 256 x 16 latent at downsample factors 2, 4, 8,
# with channel widths 128 x [2, 3, 5].
GRIDS: dict[str, Grid] = {
    "musicldm-ds2": Grid(128, 8, 256, "musicldm-ds2"),
    "musicldm-ds4": Grid(64, 4, 384, "musicldm-ds4"),
    "musicldm-ds8": Grid(32, 2, 640, "musicldm-ds8"),
}

DEFAULT_MIXERS = "global_cross_track,time_cross_track:scope=frame,time_cross_track:scope=cell,mix_cross_track"
DEFAULT_BACKENDS = "naive,sdpa,xformers"


def parse_tracks(text: str, option: str = "--tracks") -> list[int]:
    """``"2,4,8"`` -> ``[2, 4, 8]``: positive integers, each once, in the given order."""
    items = [item.strip() for item in str(text).split(",")]
    counts = []
    for item in items:
        if not re.fullmatch(r"\d+", item) or int(item) < 1:
            raise UserError(f"{option} {text!r}: {item!r} is not a positive track count; give a list such as 2,4,8,16")
        if int(item) in counts:
            raise UserError(f"{option} {text!r}: {item} is listed twice")
        counts.append(int(item))
    return counts


def parse_grid(text: str, option: str = "--grid") -> Grid:
    """A preset name (``musicldm-ds2``) or ``TxFxD`` (frames x bins x channels), e.g. ``128x8x256``."""
    if text in GRIDS:
        return GRIDS[text]
    match = re.fullmatch(r"(\d+)x(\d+)x(\d+)", text.strip())
    if match is None or min(int(g) for g in match.groups()) < 1:
        raise UserError(
            f"{option} {text!r} is not a grid{_suggest(text, GRIDS)}; give a preset ({listing(GRIDS)}) or TxFxD "
            f"with positive integers, e.g. 128x8x256 (128 frames x 8 bins of 256-channel tokens)"
        )
    frames, bins, dim = (int(g) for g in match.groups())
    return Grid(frames, bins, dim)


def parse_latent_grid(text: str, option: str = "--grid") -> tuple[int, int]:
    """``TxF`` -> ``(T, F)``: the latent grid of a track, e.g. ``256x16``."""
    match = re.fullmatch(r"(\d+)x(\d+)", str(text).strip())
    if match is None or min(int(g) for g in match.groups()) < 1:
        raise UserError(f"{option} {text!r} is not a latent grid; give TxF with positive integers, e.g. 256x16")
    return int(match[1]), int(match[2])


def parse_backends(text: str, option: str = "--backends") -> list[str]:
    """``"naive,sdpa"`` -> ``["naive", "sdpa"]``; each one a built-in kernel or a plugin's (kind ``attention_backend``)."""
    known = [name for name in backend_names() if name != "auto"]
    names = []
    for item in (item.strip() for item in str(text).split(",")):
        if item not in known:
            raise UserError(f"{option}: unknown attention backend {item!r}{_suggest(item, known)}; choose from {listing(known)}")
        if item not in names:
            names.append(item)
    return names


@dataclass(frozen=True)
class MixerChoice:
    """A mixer to benchmark: its label as the user wrote it, its registry name and its recipe arguments."""

    label: str
    name: str
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def node(self) -> dict[str, Any]:
        """The recipe node: ``{type: name, **args}``."""
        return {"type": self.name, **self.args}


def parse_mixers(text: str, head_dim: int | None = None, registry: Any = None, option: str = "--mixers") -> list[MixerChoice]:
    """``NAME[:KEY=VALUE...]`` items separated by commas, e.g. ``global_cross_track,time_cross_track:scope=frame``.

    Values are read as YAML scalars. Each mixer is checked against its registered signature; ``head_dim``
    (when given) is set on every mixer that takes one and does not set it itself.
    """
    from ..interfaces import Mixer
    from ..plugin_manager import get_registry
    from ..recipe import PartSpec, check

    registry = registry or get_registry()
    choices: list[MixerChoice] = []
    for item in (item.strip() for item in str(text).split(",")):
        name, *pairs = item.split(":")
        args: dict[str, Any] = {}
        for pair in pairs:
            key, sep, value = pair.partition("=")
            if not sep or not key:
                raise UserError(f"{option}: {pair!r} in {item!r} is not KEY=VALUE; e.g. time_cross_track:scope=frame")
            args[key] = yaml.safe_load(value) if value else ""
        try:
            part = registry.get("mixer", name)
        except UnknownPartError as error:
            raise UserError(f"{option}: {error}") from None
        if head_dim is not None and "head_dim" not in args and "head_dim" in part.signature.parameters:
            args["head_dim"] = head_dim
        choice = MixerChoice(item, name, args)
        problems = check(choice.node, PartSpec[Mixer], registry)
        if problems:
            details = "; ".join(str(problem) for problem in problems)
            raise UserError(f"{option}: mixer {item!r}: {details}")
        if any(existing.label == item for existing in choices):
            raise UserError(f"{option}: {item!r} is listed twice")
        choices.append(choice)
    return choices


def _suggest(text: str, candidates: Any) -> str:
    match = closest(text, candidates)
    return f" (did you mean {match!r}?)" if match else ""
