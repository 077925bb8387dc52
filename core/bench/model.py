"""The whole-model sweep: a recipe's denoiser, forward + backward, against the track count, with and
without its mixers (the same recipe with ``model.denoiser.mixers=[]``, and the mixer blocks' list emptied too)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import UserError
from .results import timing_fields
from .runner import Launcher, Settings, run_jobs

WITH_MIXERS = "with mixers"
WITHOUT_MIXERS = "without mixers"


@dataclass(frozen=True)
class ModelCase:
    """One training step of the recipe's denoiser on ``batch`` songs of ``tracks`` tracks of a latent grid."""

    recipe: str
    variant: str
    mixers: str
    overrides: tuple[str, ...]
    tracks: int
    grid: tuple[int, int]
    batch: int

    @property
    def description(self) -> str:
        return f"{self.variant} / S={self.tracks}"

    def job(self, settings: Settings) -> dict[str, Any]:
        return settings.job(
            "model",
            recipe=self.recipe,
            overrides=list(self.overrides),
            tracks=self.tracks,
            grid=list(self.grid),
            batch=self.batch,
        )


MIXER_KEYS = ("model.denoiser.mixers", "model.denoiser.mixer_block_mixers")  # unet2d's mixer blocks: the second


def mixer_names(recipe: Any) -> list[str]:
    """The mixers of a resolved recipe's denoiser, by name (``[]`` when it has none); those of unet2d's mixer
    blocks carry a ``(block)`` suffix."""
    names = []
    for key, suffix in zip(MIXER_KEYS, ("", " (block)")):
        names += [(m if isinstance(m, str) else str(m.get("type"))) + suffix for m in recipe.get(key) or []]
    return names


def no_mixer_overrides(recipe: Any) -> tuple[str, ...]:
    """The overrides that take every mixer out of the recipe's denoiser."""
    return tuple(f"{key}=[]" for key in MIXER_KEYS if key == MIXER_KEYS[0] or recipe.get(key))


def plan(recipe_path: str, recipe: Any, overrides: Sequence[str], tracks: Sequence[int], grid: tuple[int, int], batch: int) -> list[ModelCase]:
    """Per track count, the recipe without its mixers, then with them (when it has any)."""
    if recipe.get("model.denoiser") is None:
        raise UserError(f"{recipe_path} has no model.denoiser to benchmark")
    names = mixer_names(recipe)
    variants = [(WITHOUT_MIXERS, "", (*overrides, *no_mixer_overrides(recipe)))]
    if names:
        variants.append((WITH_MIXERS, "+".join(names), tuple(overrides)))
    return [
        ModelCase(recipe_path, variant, mixers, variant_overrides, count, grid, batch)
        for count in tracks
        for variant, mixers, variant_overrides in variants
    ]


def case_row(case: ModelCase, result: dict[str, Any] | None, device: str) -> dict[str, Any]:
    row: dict[str, Any] = {
        "recipe": case.recipe,
        "variant": case.variant,
        "mixers": case.mixers,
        "tracks": case.tracks,
        "frames": case.grid[0],
        "bins": case.grid[1],
        "batch": case.batch,
        "device": device,
    }
    if result is None:
        return {**row, "status": "not run", "reason": "the sweep stopped before this case"}
    if "error" in result or "invalid" in result:
        return {**row, "status": "failed", "reason": result.get("error") or result.get("invalid")}
    measured = {"parameters": result.get("parameters"), "channels": result.get("channels"), **timing_fields(result)}
    return {**row, "status": "ok", **measured}


def add_overheads(rows: list[dict[str, Any]]) -> None:
    """Give each measured with-mixers row its time and memory ratios to the without-mixers row of its S."""
    baseline = {row["tracks"]: row for row in rows if row["variant"] == WITHOUT_MIXERS and row["status"] == "ok"}
    for row in rows:
        base = baseline.get(row["tracks"])
        if row["variant"] != WITH_MIXERS or row["status"] != "ok" or base is None:
            continue
        row["time_overhead"] = row["time_ms"] / base["time_ms"] if base["time_ms"] else None
        row["memory_overhead"] = row["peak_mib"] / base["peak_mib"] if base["peak_mib"] else None


def sweep(cases: Sequence[ModelCase], settings: Settings, launch: Launcher, console: Any) -> list[dict[str, Any]]:
    """Measure every case in a fresh process. A denoiser that refuses the inputs is a UserError (exit 2)."""
    jobs = [(case.description, case.job(settings)) for case in cases]
    results = run_jobs(jobs, launch, console, title="model", stop=lambda result: "invalid" in result, rounds=settings.rounds)
    for case, result in zip(cases, results):
        if result is not None and "invalid" in result:
            raise UserError(
                f"{case.recipe}: the denoiser refused a [B, S, C, T, F] = [{case.batch}, {case.tracks}, {result.get('channels', 'C')}, "
                f"{case.grid[0]}, {case.grid[1]}] input: {result['invalid']}; choose another --grid"
            )
    results += [None] * (len(cases) - len(results))
    rows = [case_row(case, result, settings.device) for case, result in zip(cases, results)]
    add_overheads(rows)
    return rows
