"""One recipe through train -> sample -> evaluate, each stage skipped when already done.

Every stage calls the command-line code itself (``synctrack train``, ``sample``, ``eval``), so an ablation
measures exactly what a user reproduces by hand, and each stage leaves the files those commands leave:

    <out>/<name>/run/          the training run (checkpoints, log.jsonl, recipe.yaml)
    <out>/<name>/samples/      song_<i>/<track>.wav, mix.wav, mels.png
    <out>/<name>/eval-<tracker>.json   the evaluation with that beat tracker (and .csv, .per_song.csv)

A stage is done when its output exists and matches the request: a run whose latest checkpoint has reached
the asked steps, samples written by that checkpoint (``samples/samples.json``), an evaluation newer than the
samples with the asked metrics and tracker. An interrupted stage is resumed (training) or redone (sampling,
evaluation). Evaluations are kept per tracker, so scoring the same songs with another tracker adds a report
and never replaces one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import StoppedBySignal, UserError
from ..recipe import Recipe, load_recipe
from .reference import References, render_references

SAMPLES_MARKER = "samples.json"
DEFAULT_TRACKER = "madmom"  # reads the synthetic world right, where librosa misplaces piano and bass beats
# what every report of an experiment holds: the paper's rhythm metrics and the two that expose a model that
# silences or copies tracks; models add the Frechet distance against the front-end references
RHYTHM_METRICS = ("irs", "cbs", "cbd", "beating_tracks", "track_correlation")
MODEL_METRICS = (*RHYTHM_METRICS, "fad")


@dataclass
class RecipeRun:
    """Where one recipe's stages write, and what they found or did."""

    recipe: Path
    name: str
    folder: Path
    tracker: str = DEFAULT_TRACKER
    stages: dict[str, str] = field(default_factory=dict)  # stage -> "done" | "ran" | "skipped"

    @property
    def run(self) -> Path:
        return self.folder / "run"

    @property
    def samples(self) -> Path:
        return self.folder / "samples"

    @property
    def evaluation(self) -> Path:
        return evaluation_path(self.folder, self.tracker)


def evaluation_path(folder: Path, tracker: str) -> Path:
    return folder / f"eval-{tracker}.json"


def _report_matches(report: Path, metrics: Sequence[str], tracker: str, newer_than: Path | None = None) -> bool:
    """Whether ``report`` exists, holds exactly ``metrics`` scored with ``tracker`` (and is newer than a file)."""
    if not report.is_file() or (newer_than is not None and report.stat().st_mtime < newer_than.stat().st_mtime):
        return False
    try:
        found = json.loads(report.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return found.get("metrics") == list(metrics) and (found.get("tracker") or {}).get("name") == tracker


def recipe_name(recipe: Recipe, path: Path) -> str:
    return str(recipe.get("name") or path.stem)


def _cli(argv: Sequence[str], stage: str, recipe: Path) -> None:
    from ..cli.main import main

    code = main(list(argv))
    if code > 128:  # train saved its checkpoint and stopped on a signal: stop too, with the same exit code
        raise StoppedBySignal(f"{recipe}: the {stage} stage was stopped by a signal (exit {code}) after saving what it "
                              "had done; run the same command again to go on from there", code)
    if code != 0:
        raise UserError(f"{recipe}: the {stage} stage failed (synctrack {' '.join(map(str, argv))} exited {code})")


def _latest_step(run: Path) -> int | None:
    from ..training.checkpoint import latest_checkpoint

    checkpoint = latest_checkpoint(run)
    if checkpoint is None:
        return None
    return int(checkpoint.name.rsplit("_", 1)[-1])


def train_stage(run: RecipeRun, overrides: Sequence[str], steps: int) -> str:
    latest = _latest_step(run.run)
    if latest is not None and latest >= steps:
        return "done"
    argv = ["train", str(run.recipe), *overrides, f"train.steps={steps}", "--out", str(run.run)]
    if latest is not None:
        argv.append("--resume")
    elif run.run.exists():  # an attempt stopped before its first checkpoint: start it again
        argv.append("--overwrite")
    _cli(argv, "train", run.recipe)
    return "ran"


def sample_stage(run: RecipeRun, songs: int, seed: int, sample_args: Sequence[str]) -> str:
    from ..files import write_text_atomically
    from ..training.checkpoint import latest_checkpoint

    checkpoint = latest_checkpoint(run.run)
    request = {"checkpoint": checkpoint.name, "songs": songs, "seed": seed, "args": list(sample_args)}
    marker = run.samples / SAMPLES_MARKER
    if marker.is_file() and json.loads(marker.read_text()) == request:
        return "done"
    redo = ["--overwrite"] if run.samples.exists() else []  # other songs, or an interrupted attempt: replaced whole
    _cli(["sample", str(run.run), "--num", str(songs), "--seed", str(seed), "--out", str(run.samples), *redo, *sample_args],
         "sample", run.recipe)
    write_text_atomically(marker, json.dumps(request, indent=2))
    return "ran"


def _eval_argv(folder: Path, report: Path, metrics: Sequence[str], tracker: str, eval_args: Sequence[str]) -> list[str]:
    return ["eval", str(folder), "--tracker", tracker, "--metrics", ",".join(metrics), "--out", str(report), *eval_args]


def eval_stage(run: RecipeRun, reference: Path, eval_args: Sequence[str]) -> str:
    if _report_matches(run.evaluation, MODEL_METRICS, run.tracker, newer_than=run.samples / SAMPLES_MARKER):
        return "done"
    _cli([*_eval_argv(run.samples, run.evaluation, MODEL_METRICS, run.tracker, eval_args), "--reference", str(reference)],
         "eval", run.recipe)
    return "ran"


def reference_eval_stage(folder: Path, eval_args: Sequence[str], tracker: str = DEFAULT_TRACKER) -> Path:
    """Rhythm metrics of a reference folder itself (the ground-truth rows); returns its report."""
    report = evaluation_path(folder, tracker)
    if not _report_matches(report, RHYTHM_METRICS, tracker):
        _cli(_eval_argv(folder, report, RHYTHM_METRICS, tracker, eval_args), "reference eval", folder)
    return report


def check_tracker(name: str) -> None:
    """Fail before any training when the beat tracker ``name`` is unknown or its library is missing."""
    from ..interfaces import BeatTracker
    from ..plugin_manager import get_registry
    from ..recipe import build

    build(name, BeatTracker, get_registry()).settings()  # settings() imports the tracker's library


def run_recipe(
    path: Path,
    out: Path,
    steps: int,
    songs: int,
    references_root: Path,
    overrides: Sequence[str] = (),
    seed: int = 0,
    sample_args: Sequence[str] = (),
    eval_args: Sequence[str] = (),
    on_stage: Callable[[RecipeRun, str], None] | None = None,
    tracker: str = DEFAULT_TRACKER,
) -> tuple[RecipeRun, References]:
    """Train, sample and evaluate one recipe under ``out/<name>``; returns the run and its references.

    The references (held-out songs, raw and through the recipe's front end) are rendered once per front end
    and shared by every recipe that has the same one.
    """
    recipe = load_recipe(path, overrides).validate()
    name = recipe_name(recipe, path)
    run = RecipeRun(recipe=path, name=name, folder=out / name, tracker=tracker)

    def stage(label: str, action: Callable[[], str]) -> None:
        if on_stage is not None:
            on_stage(run, label)
        run.stages[label] = action()

    stage("train", lambda: train_stage(run, overrides, steps))
    references = render_references(recipe, songs, references_root)
    stage("sample", lambda: sample_stage(run, songs, seed, sample_args))
    stage("eval", lambda: eval_stage(run, references.codec, eval_args))
    return run, references
