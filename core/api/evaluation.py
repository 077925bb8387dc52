"""``synctrack.evaluate``: IRS / CBS / CBD, the guards and FAD of songs in memory or in folders.

    songs = synctrack.sample(run, num=16)
    result = synctrack.evaluate(songs, reference="data/held-out", metrics=["cbs", "cbd", "fad"])
    result.get("cbs").value        # the mean; .ci_low, .ci_high; result.rows() gives every number

Songs in memory are scored by the same code as folders: each track is rounded as its 16-bit WAV stores it
(``as_written=True``), so the numbers equal those of ``synctrack eval`` on the folder ``songs.write`` makes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import Problem, RecipeError, UserError
from ..eval.result import EvaluationResult
from .songs import Songs

DEFAULT_METRICS = ("irs", "cbs", "cbd")
DEFAULT_TRACKER = "librosa"
DEFAULT_EMBEDDER = "logmel_not_comparable"

SongSource = Songs | str | os.PathLike


def part_nodes(metric_names: Sequence[str], tracker: str, embedder: str, settings: Sequence[str] = (),
               bootstrap: int | None = None, confidence: float = 0.95, seed: int = 0) -> dict[str, dict[str, Any]]:
    """Recipe nodes of the tracker, the embedder and each metric, with ``settings`` (``PART.ARG=VALUE``, values
    in YAML: ``cbs.window=0.15``, ``tracker.paper_compat=true``) applied. ``tracker.paper_compat=true`` also
    sets ``cbs.paper_compat`` (the official float window edges) unless a setting names it."""
    from ..naming import did_you_mean, listing
    from ..recipe import parse_override

    nodes: dict[str, dict[str, Any]] = {"tracker": {"type": tracker}, "embedder": {"type": embedder},
                                        **{name: {"type": name} for name in metric_names}}
    for text in settings:
        override = parse_override(text)
        section, *keys = override.path
        if override.delete or not keys:
            raise RecipeError(Problem("", f"bad setting {text!r}: expected PART.ARG=VALUE, e.g. cbs.window=0.15"))
        if section not in nodes:
            choices = list(nodes)
            raise RecipeError(Problem(
                "", f"bad setting {text!r}: {section!r} is not the tracker, the embedder or a chosen metric"
                f"{did_you_mean(section, choices, f' choose from: {listing(choices)}')}"))
        target = nodes[section]
        for key in keys[:-1]:
            target = target.setdefault(key, {})
            if not isinstance(target, dict):
                raise RecipeError(Problem("", f"bad setting {text!r}: {key!r} is not a mapping"))
        target[keys[-1]] = override.value
    if "cbs" in nodes and nodes["tracker"].get("paper_compat") is True:
        nodes["cbs"].setdefault("paper_compat", True)  # the paper's numbers also need the scripts' CBS edges
    for name in metric_names:
        node = nodes[name]
        if bootstrap is not None:
            node.setdefault("bootstrap", bootstrap)
        node.setdefault("confidence", confidence)
        node.setdefault("seed", seed)
        if name == "fad":
            node.setdefault("embedder", nodes["embedder"])
    return nodes


def build_parts(metric_names: Sequence[str], tracker: str = DEFAULT_TRACKER, embedder: str = DEFAULT_EMBEDDER,
                settings: Sequence[str] = (), bootstrap: int | None = None, confidence: float = 0.95, seed: int = 0,
                source: str = "synctrack.evaluate"):
    """``(tracker or None, {name: metric}, unused)``: the beat tracker (only when a metric takes beats) and the
    metrics, built from the registry and checked first (every problem at once, as a :class:`RecipeError`);
    ``unused`` lists the ``settings`` sections that no chosen part uses."""
    from ..interfaces import BeatTracker, Embedder, Metric
    from ..plugin_manager import get_registry
    from ..recipe import build, check

    metric_names = list(metric_names)
    if not metric_names:
        raise UserError("no metrics chosen: name at least one of irs, cbs, cbd, fad")
    if len(set(metric_names)) != len(metric_names):
        raise UserError(f"metrics name a metric twice: {','.join(metric_names)}")
    registry = get_registry()
    parts = {name: registry.get("metric", name) for name in metric_names}  # an unknown name fails here
    nodes = part_nodes(metric_names, tracker, embedder, settings, bootstrap, confidence, seed)
    wants_beats = any(getattr(part.factory, "inputs", "beats") == "beats" for part in parts.values())
    wanted: dict[str, Any] = {name: Metric for name in metric_names}
    if wants_beats:
        wanted["tracker"] = BeatTracker
    if "fad" in metric_names:
        wanted.setdefault("embedder", Embedder)
    problems = []
    for section, annotation in wanted.items():
        node = nodes[section]
        if section == "fad" and node.get("embedder") is nodes["embedder"]:  # checked once, as "embedder"
            node = {key: value for key, value in node.items() if key != "embedder"}
        problems += check(node, annotation, registry, path=(section,))
    if problems:
        raise RecipeError(problems, source=source)
    unused = sorted({text.split(".", 1)[0] for text in settings} - set(wanted))
    built_tracker = build(nodes["tracker"], BeatTracker, registry, path=("tracker",)) if wants_beats else None
    metrics = {name: build(nodes[name], Metric, registry, path=(name,)) for name in metric_names}
    return built_tracker, metrics, unused


def song_set(source: SongSource, as_written: bool = True, label: str = "generated"):
    """What the evaluation runner reads: a folder path as it is, :class:`Songs` as a set in memory."""
    from ..eval.memory import memory_folder

    if isinstance(source, Songs):
        return memory_folder(source.waveforms.numpy(), source.track_names, source.sample_rate, source.names,
                             label=f"{label} (in memory)", written=as_written)
    if isinstance(source, (str, os.PathLike)):
        return Path(source)
    raise TypeError(f"evaluate() takes Songs or a folder, got {type(source).__name__}")


def evaluate(
    songs: SongSource,
    reference: SongSource | None = None,
    *,
    metrics: Sequence[str] | None = None,
    tracker: str = DEFAULT_TRACKER,
    embedder: str = DEFAULT_EMBEDDER,
    settings: Sequence[str] = (),
    bootstrap: int | None = None,
    confidence: float = 0.95,
    seed: int = 0,
    workers: int = 1,
    cache: str | os.PathLike | bool = True,
    track_names: Sequence[str] | None = None,
    as_written: bool = True,
    console: Any = None,
) -> EvaluationResult:
    """Score ``songs`` (a :class:`Songs` or a folder) and, when given, the ``reference`` set the same way.

    Args:
        metrics: metric names (default ``irs, cbs, cbd``, plus ``fad`` with a reference); ``synctrack list
            metric`` shows them all (``beating_tracks``, ``track_correlation`` ...).
        tracker, embedder: the beat tracker (``librosa``, ``madmom``) and the FAD embedder, by registry name.
        settings: ``PART.ARG=VALUE`` arguments of the tracker, the embedder or a metric (``cbs.window=0.15``).
        bootstrap, confidence, seed: the confidence intervals' resamples, level and seed.
        workers: beat-tracking processes; cache: the beat cache (True: the default folder, a path, or False).
        track_names: names of the ``stem_<k>`` folders of the official layout.
        as_written: score songs in memory as their 16-bit WAVs hold them (equal to scoring the written folder).
        console: a rich console for progress bars (default: stderr).

    Returns the :class:`~synctrack.eval.EvaluationResult` (``rows()``, ``value(metric)``, ``write(path)``).
    """
    from ..eval.cache import default_cache_root
    from ..eval.runner import EvaluationRequest, evaluate as run_evaluation

    names = list(metrics) if metrics is not None else [*DEFAULT_METRICS, *(["fad"] if reference is not None else [])]
    if workers < 1:
        raise UserError(f"workers must be at least 1, got {workers}")
    if not 0.0 < confidence < 1.0:
        raise UserError(f"confidence must lie between 0 and 1, got {confidence}")
    if bootstrap is not None and bootstrap < 0:
        raise UserError(f"bootstrap must be >= 0, got {bootstrap}")
    built_tracker, built_metrics, _ = build_parts(names, tracker, embedder, settings, bootstrap, confidence, seed)
    cache_root = default_cache_root() if cache is True else None if cache is False else Path(cache)
    request = EvaluationRequest(
        generated=song_set(songs, as_written, "generated"),
        reference=None if reference is None else song_set(reference, as_written, "reference"),
        metrics=built_metrics,
        tracker=built_tracker,
        tracker_name=tracker,
        workers=workers,
        cache_root=cache_root,
        track_names=track_names,
        confidence=confidence,
    )
    return run_evaluation(request, console=console)
