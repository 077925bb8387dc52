"""One recipe through train -> sample -> evaluate, each stage skipped when already done.

Every stage calls the library functions behind the commands (:func:`synctrack.train`, :func:`synctrack.sample`,
:func:`synctrack.evaluate`), so an ablation measures exactly what a user reproduces by hand with
``synctrack train``, ``sample`` and ``eval``, and each stage leaves the files those commands leave:

    <out>/<name>/run/          the training run (checkpoints, log.jsonl, recipe.yaml)
    <out>/<name>/samples/      song_<i>/<track>.wav, mix.wav, mels.png
    <out>/<name>/eval-<tracker>.json   the evaluation with that beat tracker (and .csv, .per_song.csv)

A stage is done when its output exists and matches the request: a run whose latest checkpoint has reached
the asked steps, samples written by that checkpoint (``samples/samples.json``) with the recipe's sampler, an
evaluation newer than the samples with the asked metrics and tracker. An interrupted stage is resumed
(training) or redone (sampling, evaluation). Evaluations are kept per tracker, so scoring the same songs with
another tracker adds a report and never replaces one.

The sampler plays no part in training, so the songs come from the recipe's ``model.sampler`` even where the
run stored another. Within one ablation, a recipe that differs from another only in its name, description and
sampler (steps, mixer guidance) gets a copy (hard links) of that one's run instead of a second training.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import StoppedBySignal
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


# what names a recipe or only changes how it samples: recipes equal but for these train the same model
NOT_TRAINING = (("name",), ("description",), ("model", "sampler"))


def training_key(recipe: Recipe) -> str:
    """A key equal for two recipes (overrides applied) that train the same model: the resolved recipe without
    its name, description and sampler."""
    data = json.loads(json.dumps(recipe.data, default=str))
    for path in NOT_TRAINING:
        node = data
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(path[-1], None)
    return json.dumps(data, sort_keys=True)


def copy_run(source: Path, target: Path) -> None:
    """``target`` as a copy of run folder ``source``: hard links where the file system allows them (no space
    taken; checkpoints are never written in place), else copies; written whole under a temporary name first."""
    import os
    import shutil

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    partial = target.with_name(f".{target.name}.copying")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(source, partial, copy_function=link, ignore=shutil.ignore_patterns(".synctrack.lock"))
    partial.rename(target)


def recipe_name(recipe: Recipe, path: Path) -> str:
    return str(recipe.get("name") or path.stem)


def _latest_step(run: Path) -> int | None:
    from ..training.checkpoint import latest_checkpoint

    checkpoint = latest_checkpoint(run)
    if checkpoint is None:
        return None
    return int(checkpoint.name.rsplit("_", 1)[-1])


def train_stage(run: RecipeRun, overrides: Sequence[str], steps: int, console: Any = None,
                say: Callable[[str], None] | None = None) -> str:
    """Train ``run`` to ``steps`` (resumed from its latest checkpoint when it has one); ``say`` hears a resume."""
    from ..api.training import train

    latest = _latest_step(run.run)
    if latest is not None and latest >= steps:
        return "done"
    # an attempt stopped before its first checkpoint is started again
    result = train(run.recipe, run.run, overrides=[*overrides, f"train.steps={steps}"], resume=latest is not None,
                   overwrite=latest is None and run.run.exists(), console=console,
                   on_resume=None if say is None else lambda out, step, _: say(f"train resumed at step {step}"))
    if result.signal:  # train saved its checkpoint and stopped on a signal: stop too, with the same exit code
        raise StoppedBySignal(f"{run.recipe}: a signal stopped the train stage after it saved its checkpoint (exit "
                              f"{result.exit_code}, nothing lost); run the same command again to go on from there", result.exit_code)
    return "ran"


def sample_request(checkpoint: str, songs: int, seed: int, steps: int | None,
                   sampler: dict[str, Any] | None = None) -> dict[str, Any]:
    """What ``samples/samples.json`` records (the sampler steps in the form earlier versions wrote them; the
    recipe's sampler only where it is not the run's own, so that the records of earlier versions still match)."""
    request = {"checkpoint": checkpoint, "songs": songs, "seed": seed, "args": [] if steps is None else ["--steps", str(steps)]}
    if sampler is not None:
        request["sampler"] = sampler
    return request


def sampler_change(recipe: Recipe | None, checkpoint: Path) -> dict[str, Any] | None:
    """``recipe``'s ``model.sampler`` where it differs from the one ``checkpoint`` stores, else None."""
    import yaml

    from ..training.checkpoint import read_recipe_text

    wanted = None if recipe is None else recipe.get("model.sampler")
    if wanted is None:
        return None
    stored = ((yaml.safe_load(read_recipe_text(checkpoint)) or {}).get("model") or {}).get("sampler")
    wanted = json.loads(json.dumps(wanted))  # plain dicts and lists, as the stored recipe reads
    return None if wanted == stored else wanted


def sample_stage(run: RecipeRun, songs: int, seed: int, steps: int | None = None, recipe: Recipe | None = None) -> str:
    """Sample ``songs`` songs from the run's latest checkpoint with ``recipe``'s sampler (default: the run's)."""
    from ..api.sampling import sample_batches
    from ..files import clear_folder, write_text_atomically
    from ..training.checkpoint import latest_checkpoint

    checkpoint = latest_checkpoint(run.run)
    sampler = sampler_change(recipe, checkpoint)
    request = sample_request(checkpoint.name, songs, seed, steps, sampler)
    marker = run.samples / SAMPLES_MARKER
    if marker.is_file() and json.loads(marker.read_text()) == request:
        return "done"
    if run.samples.exists():  # other songs, or an interrupted attempt: replaced whole
        clear_folder(run.samples)
    overrides = [] if sampler is None else [f"model.sampler={json.dumps(sampler)}"]
    for batch in sample_batches(checkpoint, songs, seed=seed, steps=steps, overrides=overrides):
        batch.write(run.samples)
    write_sampling_record(run, checkpoint, request)
    write_text_atomically(marker, json.dumps(request, indent=2))
    return "ran"


def write_sampling_record(run: RecipeRun, checkpoint: Path, request: dict[str, Any]) -> None:
    """``samples/sampling.json``, the record ``synctrack sample`` writes too: the listening page shows the
    checkpoint and the resolved recipe that made these songs."""
    from ..files import write_text_atomically
    from ..reports import SAMPLING_RECORD
    from ..training.checkpoint import read_recipe_text

    record = {
        "title": f"{run.name}: {request['songs']} song(s) from {checkpoint.name}",
        "checkpoint": str(checkpoint),
        "seed": request["seed"],
        "recipe": read_recipe_text(checkpoint),
    }
    if "sampler" in request:  # the run's recipe above, sampled with the ablation recipe's sampler
        record["sampling"] = f"the recipe's sampler: {json.dumps(request['sampler'])}"
    write_text_atomically(run.samples / SAMPLING_RECORD, json.dumps(record, indent=2) + "\n")


def _evaluate(folder: Path, report: Path, metrics: Sequence[str], tracker: str, workers: int | None,
              reference: Path | None = None) -> None:
    from ..api.evaluation import evaluate
    from ..eval.runner import default_workers

    result = evaluate(folder, reference, metrics=list(metrics), tracker=tracker, workers=workers or default_workers())
    result.write(report)


def eval_stage(run: RecipeRun, reference: Path, workers: int | None = None) -> str:
    if _report_matches(run.evaluation, MODEL_METRICS, run.tracker, newer_than=run.samples / SAMPLES_MARKER):
        return "done"
    _evaluate(run.samples, run.evaluation, MODEL_METRICS, run.tracker, workers, reference)
    return "ran"


def reference_eval_stage(folder: Path, workers: int | None = None, tracker: str = DEFAULT_TRACKER) -> Path:
    """Rhythm metrics of a reference folder itself (the ground-truth rows); returns its report."""
    report = evaluation_path(folder, tracker)
    if not _report_matches(report, RHYTHM_METRICS, tracker):
        _evaluate(folder, report, RHYTHM_METRICS, tracker, workers)
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
    sample_steps: int | None = None,
    workers: int | None = None,
    on_stage: Callable[[RecipeRun, str], None] | None = None,
    tracker: str = DEFAULT_TRACKER,
    console: Any = None,
    trained: dict[str, Path] | None = None,
) -> tuple[RecipeRun, References]:
    """Train, sample and evaluate one recipe under ``out/<name>``; returns the run and its references.

    The references (held-out songs, raw and through the recipe's front end) are rendered once per front end
    and shared by every recipe that has the same one. ``trained`` maps :func:`training_key` to the runs
    trained so far in this ablation: a recipe whose twin is there starts from a copy of its run, and a
    recipe's run is added once trained.
    """
    recipe = load_recipe(path, overrides).validate()
    name = recipe_name(recipe, path)
    run = RecipeRun(recipe=path, name=name, folder=out / name, tracker=tracker)
    key = training_key(recipe)
    twin = None if trained is None else trained.get(key)
    if twin is not None and twin != run.run and not run.run.exists() and (_latest_step(twin) or 0) >= steps:
        run.folder.mkdir(parents=True, exist_ok=True)
        copy_run(twin, run.run)
        if on_stage is not None:
            on_stage(run, f"trains exactly as {twin.parent.name}: its run copied (hard links), not trained again")

    def stage(label: str, action: Callable[[], str]) -> None:
        if on_stage is not None:
            on_stage(run, label)
        run.stages[label] = action()

    stage("train", lambda: train_stage(run, overrides, steps, console, None if on_stage is None else
                                       lambda text: on_stage(run, text)))
    references = render_references(recipe, songs, references_root)
    if trained is not None:
        trained.setdefault(key, run.run)
    stage("sample", lambda: sample_stage(run, songs, seed, sample_steps, recipe))
    stage("eval", lambda: eval_stage(run, references.codec, workers))
    return run, references
