"""``synctrack ablate RECIPE... [--train-steps N] [--samples M] [--out DIR] [KEY=VALUE ...]``

For each recipe: train (the same trainer as ``synctrack train``), sample (``synctrack sample``) and evaluate
(``synctrack eval``: FD against held-out songs through the same front end, IRS, CBS, CBD, beating tracks per
song and track correlation, beats by madmom unless --tracker says otherwise), each stage skipped when it is
already done, so an interrupted ablation picks up where it stopped. Ends with a comparison table in the
paper's form (mean and 95% CI) with the sync gap closed against the baseline recipe (--baseline, default the
recipe named *no-mixers), ``comparison.csv`` and ``comparison.png`` in the output folder. Overrides apply to
every recipe. ``--start-from RUN`` is the paper's protocol: every recipe's denoiser starts from RUN's trained
weights with its mixers zero-initialised (so each starts as RUN's model), then trains --train-steps more;
with --seeds, ``{seed}`` in RUN stands for the seed's index k, so each seed has a start of its own.
``--seeds K`` trains each recipe K times and pools them; ``paired.csv`` gives every recipe minus the baseline
(else the first recipe), song by song from the same noise, with an interval over songs and seeds
(docs/results.md).
"""

from __future__ import annotations

import argparse
import shlex
import time
from pathlib import Path

from ..errors import StoppedBySignal, UserError
from ..experiments.ablation import DEFAULT_TRACKER
from ..recipe import looks_like_override
from . import console
from .arguments import positive_int


# Per-song CBS on the bench recipes has a standard deviation of about 0.2 with mixers (0.03 without): a 95%
# half-width of 0.02 takes (1.96 * 0.2 / 0.02)^2 = 384 songs (docs/results.md, "Several training seeds")
DEFAULT_SAMPLES = 384


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("ablate", help="train, sample and evaluate several recipes; compare them",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("items", nargs="+", metavar="RECIPE|KEY=VALUE", help="recipe files, then overrides for all of them")
    parser.add_argument("--train-steps", type=positive_int, default=None, help="training steps per recipe (default: each recipe's train.steps)")
    parser.add_argument("--samples", type=positive_int, default=DEFAULT_SAMPLES,
                        help=f"songs generated per recipe, and held-out songs (default {DEFAULT_SAMPLES}: enough for a CBS "
                             "interval of +-0.02 on the bench recipes, about 5 s per song on 2 CPU cores; 16 for a quick look)")
    parser.add_argument("--out", type=Path, default=Path("runs/ablate"), help="output folder (default runs/ablate)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    parser.add_argument("--sample-steps", type=positive_int, default=None, help="sampler steps (default: each recipe's sampler)")
    parser.add_argument("--workers", type=positive_int, default=None, help="beat-tracking processes for the evaluation")
    parser.add_argument("--tracker", default=DEFAULT_TRACKER, metavar="NAME",
                        help=f"beat tracker of the evaluation (default {DEFAULT_TRACKER}; librosa is the other built-in)")
    parser.add_argument("--start-from", type=Path, default=None, metavar="RUN",
                        help="the paper's protocol: start every recipe from this run's weights, mixers zero-initialised; "
                             "{seed} in RUN stands for the seed's index k (0 to K-1 of --seeds K): one start per seed")
    parser.add_argument("--baseline", default=None, metavar="NAME",
                        help="recipe name the sync gap closed is measured from (default: the one named *no-mixers)")
    parser.add_argument("--seeds", type=positive_int, default=1, metavar="K",
                        help="training seeds per recipe (train.seed + k, sampling seed + k; runs under OUT/seed-k/): "
                             "the table pools them and paired.csv gives each recipe minus the baseline with an interval "
                             "over songs and seeds (default 1)")
    parser.set_defaults(handler=run)


def training_seed(path: Path, overrides: list[str]) -> int:
    """The recipe's own ``train.seed`` (seed k of ``--seeds`` trains with it + k)."""
    from ..recipe import load_recipe

    return int(load_recipe(path, overrides).get("train.seed") or 0)


def write_paired(per_seed: list[list[tuple[str, Path]]], baseline: str, out: Path, target: Path | None = None,
                 with_gap: frozenset[str] = frozenset()) -> Path:
    """Print every recipe minus ``baseline``, paired song by song and seed by seed, and with a ``target``
    evaluation the sync gap closed, with its interval, of each recipe in ``with_gap`` (those the comparison
    table gives one: not a recipe whose beating tracks are off the data's); write ``out/paired.csv``."""
    from ..experiments.seeds import gap_closed_intervals, paired_csv, paired_differences, paired_table
    from ..files import write_text_atomically
    from ..reports.comparison import PAIRED_TABLE

    reports = {name: [dict(models)[name] for models in per_seed] for name, _ in per_seed[0]}
    differences = paired_differences(reports, baseline)
    if target is not None:
        gapped = {name: paths for name, paths in reports.items() if name in with_gap or name == baseline}
        differences += gap_closed_intervals(gapped, baseline, target)
    console.out.print(paired_table(differences, f"paired against {baseline}: the same songs (same initial noise), "
                                                f"mean difference [95% CI over songs and seeds]; * the interval excludes 0"))
    return write_text_atomically(out / PAIRED_TABLE, paired_csv(differences))


def run(args: argparse.Namespace) -> int:
    from ..experiments import comparison_rows, run_recipe, write_comparison
    from ..reports.comparison import SONG_SPREAD, write_comparison_page
    from ..experiments.ablation import check_tracker, reference_eval_stage
    from ..experiments.report import default_baseline, gap_reference, table
    from ..experiments.seeds import seeded_rows
    from ..experiments.song_spread import write_song_spread
    from ..experiments.shared_start import shared_start_overrides, start_of_seed
    from ..recipe import load_recipe

    overrides = [item for item in args.items if looks_like_override(item)]
    recipes = [Path(item) for item in args.items if not looks_like_override(item)]
    if not recipes:
        raise UserError("no recipe given: synctrack ablate RECIPE... [KEY=VALUE ...]")
    names: dict[str, Path] = {}
    # the overrides of each recipe and seed: the shared ones, then the seed's start (the paper's protocol)
    per_recipe: dict[tuple[Path, int], list[str]] = {}
    for path in recipes:  # check every recipe, and every seed's start, before spending hours on the first
        base = load_recipe(path, overrides)
        for seed in range(args.seeds):
            per_recipe[path, seed] = list(overrides)
            if args.start_from is not None:
                per_recipe[path, seed] += shared_start_overrides(base, start_of_seed(args.start_from, seed))
        recipe = load_recipe(path, per_recipe[path, 0]).validate()
        name = str(recipe.get("name") or path.stem)
        if name in names:
            raise UserError(f"{path} and {names[name]} share the name {name!r}; their outputs would collide: rename one")
        names[name] = path
    names_by_path = {path: name for name, path in names.items()}
    if args.baseline is not None and args.baseline not in names:
        raise UserError(f"--baseline {args.baseline!r} is not one of the recipes' names: {', '.join(names)}")
    check_tracker(args.tracker)  # a missing madmom fails now, not after the first recipe's training
    references_root = args.out / "references"
    per_seed: list[list[tuple[str, Path]]] = [[] for _ in range(args.seeds)]
    failures, ground_truth = [], {}
    started = time.monotonic()
    for seed in range(args.seeds):
        out = args.out if args.seeds == 1 else args.out / f"seed-{seed}"
        trained: dict[str, Path] = {}  # recipes that differ only in how they sample share one training
        for path in recipes:
            if path in failures:
                continue
            steps = args.train_steps or int(load_recipe(path, overrides).get("train.steps") or 0) or 1
            seeded = [] if args.seeds == 1 else [f"train.seed={training_seed(path, per_recipe[path, seed]) + seed}"]
            label = "" if args.seeds == 1 else f", seed {seed + 1} of {args.seeds}"
            console.out.rule(f"{path} ({steps} steps, {args.samples} songs{label})")
            try:
                run_, references = run_recipe(
                    path, out, steps, args.samples, references_root, [*per_recipe[path, seed], *seeded], args.seed + seed,
                    args.sample_steps, args.workers, tracker=args.tracker, console=console.err,
                    on_stage=lambda r, stage: console.out.print(f"[bold]{r.name}[/bold]: {stage}"), trained=trained,
                )
            except StoppedBySignal:  # a preemption stops the whole ablation (exit 143), not just this recipe
                raise
            except UserError as error:
                console.error(str(error))
                failures.append(path)
                continue
            console.out.print(f"{run_.name}: " + ", ".join(f"{k} {v}" for k, v in run_.stages.items()), markup=False)
            per_seed[seed].append((run_.name, run_.evaluation))
            for label_, folder in (("held-out songs", references.raw), ("held-out songs through the front end", references.codec)):
                ground_truth.setdefault(folder, (label_, reference_eval_stage(folder, args.workers, args.tracker)))
    failed = {names_by_path[path] for path in failures}
    per_seed = [[(name, report) for name, report in models if name not in failed] for models in per_seed]
    if per_seed[0]:
        truth = [(label if len(ground_truth) <= 2 else f"{label} ({folder.name})", report)
                 for folder, (label, report) in ground_truth.items()]
        models = [name for name, _ in per_seed[0]]
        baseline = args.baseline or default_baseline(models)
        gap, why_not = gap_reference(baseline, models, [label for label, _ in truth])
        rows = comparison_rows(per_seed[0], truth, gap) if args.seeds == 1 else seeded_rows(per_seed, truth, gap)
        seeds_note = "" if args.seeds == 1 else f" x {args.seeds} training seeds"
        title = f"ablation: {len(models)} recipe(s), {args.samples} songs each{seeds_note}, beats by {args.tracker}"
        console.out.print(table(rows, title, console.out.width))
        if why_not:
            console.out.print(f"no sync gap closed: {why_not}", markup=False)
        paths = write_comparison(rows, args.out, title)
        paths["songs"] = write_song_spread(per_seed, truth, args.out / SONG_SPREAD, title)
        if len(models) > 1:
            target = dict(truth)[gap.target] if gap is not None else None
            with_gap = frozenset(row.name for row in rows if row.kind == "model" and row.gap_closed)
            paths["paired"] = write_paired(per_seed, baseline or models[0], args.out, target, with_gap)
        page = write_comparison_page(args.out, shlex.join(["synctrack", *getattr(args, "argv", [])]))
        written = " and ".join(str(path) for path in paths.values())
        console.out.print(f"wrote {written} ({time.monotonic() - started:.0f} s); listen: {page}", markup=False)
    if failures:
        console.error(f"{len(failures)} recipe(s) failed: {', '.join(map(str, failures))}")
        return 2
    return 0
