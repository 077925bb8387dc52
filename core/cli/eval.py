"""``synctrack eval GENERATED``: IRS / CBS / CBD (and FAD against --reference), with CIs, as a table, JSON and CSV.

Reads ``GENERATED/<song>/<track>.wav`` or the official ``GENERATED/stem_<k>/<song>.wav`` layout. Beats are
tracked once per file (cached by content hash and tracker settings) in parallel processes.

Examples:
  synctrack eval out/samples
  synctrack eval out/samples --reference data/test --metrics irs,cbs,cbd,fad
  synctrack eval out/samples --tracker madmom --set tracker.paper_compat=true
  synctrack eval out/samples --reference gt --metrics fad --embedder vggish --set embedder.weights=vggish.pth
  synctrack eval out/samples --set cbs.window=0.15 --bootstrap 2000
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from ..api.evaluation import DEFAULT_EMBEDDER, DEFAULT_TRACKER, build_parts
from ..errors import UserError
from ..eval.cache import default_cache_root
from ..eval.result import EvaluationResult
from ..eval.rhythm import MIN_RHYTHM_BEATS
from ..eval.runner import EvaluationRequest, default_workers, evaluate
from ..eval.values import BeatingSongs
from . import console

RHYTHM_DEFAULT = ("irs", "cbs", "cbd")
REPORT_NAME = "synctrack-eval.json"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="rhythm metrics (IRS, CBS, CBD) and FAD of generated songs, with confidence intervals",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("generated", type=Path, metavar="GENERATED", help="folder of generated songs")
    parser.add_argument("--reference", type=Path, default=None, metavar="REF",
                        help="folder of reference songs (ground truth): its rhythm metrics are reported too, and FAD needs it")
    parser.add_argument("--tracker", default=DEFAULT_TRACKER, metavar="NAME", help=f"beat tracker (default {DEFAULT_TRACKER})")
    parser.add_argument("--metrics", default=None, metavar="LIST",
                        help="comma-separated metrics (default irs,cbs,cbd, plus fad with --reference)")
    parser.add_argument("--embedder", default=DEFAULT_EMBEDDER, metavar="NAME",
                        help=f"embedder for fad (default {DEFAULT_EMBEDDER}, NOT comparable with published FAD; vggish needs weights)")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="PART.ARG=VALUE",
                        help="an argument of the tracker, the embedder or a metric: tracker.paper_compat=true, "
                             "embedder.weights=vggish.pth, cbs.window=0.15 (repeatable; values are YAML)")
    parser.add_argument("--out", type=Path, default=None, metavar="FILE",
                        help=f"JSON report; FILE.csv and FILE.per_song.csv go next to it (default GENERATED/{REPORT_NAME})")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help=f"beat-tracking processes (default {default_workers()} here)")
    parser.add_argument("--cache", type=Path, default=None, metavar="DIR", help=f"beat cache folder (default {default_cache_root()})")
    parser.add_argument("--no-cache", action="store_true", help="track every file again and cache nothing")
    parser.add_argument("--bootstrap", type=int, default=None, metavar="N",
                        help="bootstrap resamples for the confidence intervals (default 1000; 200 for fad)")
    parser.add_argument("--confidence", type=float, default=0.95, help="confidence level of the intervals (default 0.95)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default 0)")
    parser.add_argument("--no-page", action="store_true",
                        help="write no listening page (index.html) and no beat pictures (beats.png) next to the songs")
    parser.add_argument("--track-names", default=None, metavar="LIST",
                        help="names of the stem_0, stem_1, ... folders of the official layout, e.g. bass,drums,guitar,piano")
    parser.set_defaults(handler=run)


def _split(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _format(number: float) -> str:
    return "-" if number is None or math.isnan(number) else f"{number:.4f}"


def results_table(result: EvaluationResult) -> Table:
    percent = f"{result.confidence * 100:g}%"
    # one line per row at 80 columns: the FAD embedder and the songs whose tracks do not all beat go in the
    # caption, numbers never wrap
    lines = [f"fad: {_fad_label(result)}"] if "fad" in result.metrics else []
    lines += [beating_line(set_name, found) for set_name, found in result.beating.items()]
    caption = "\n".join(lines) or None
    table = Table(title=f"synctrack eval: {result.generated}", title_justify="left", caption=caption, caption_justify="left")
    for column, justify in (("set", "left"), ("metric", "left"), ("track", "left"), ("mean", "right"),
                            (f"{percent} CI", "right"), ("songs", "right"), ("better", "left")):
        table.add_column(column, justify=justify, no_wrap=column not in ("set", "track"))
    for set_name, value in result.rows():
        table.add_row(set_name, escape(value.metric), escape(value.track), _format(value.value),
                      f"[{_format(value.ci_low)}, {_format(value.ci_high)}]", str(value.n), value.better)
    return table


def beating_line(set_name: str, found: BeatingSongs) -> str:
    """``"generated: 2 of 16 songs: not every track beats (>= 2 beats each of 4 tracks); ..."``: the songs
    whose CBS and CBD compare fewer tracks than the set has."""
    if not found.flags:
        return f"{set_name}: all {found.tracks} tracks of every song beat (>= {MIN_RHYTHM_BEATS} beats each)"
    return (f"{set_name}: {found.summary} (>= {MIN_RHYTHM_BEATS} beats each of {found.tracks} tracks); "
            "the per-song CSV flags them")


def _fad_label(result: EvaluationResult) -> str:
    labels = []
    for embedder in result.embedders:
        comparable = embedder["comparable_to_published"]
        labels.append(embedder["label"] + ("" if comparable else ", NOT comparable with published FAD"))
    return "; ".join(labels)


def run(args: argparse.Namespace) -> int:
    metric_names = _split(args.metrics) if args.metrics is not None else [*RHYTHM_DEFAULT, *(["fad"] if args.reference else [])]
    if not metric_names:
        raise UserError("--metrics is empty: name at least one of irs, cbs, cbd, fad")
    if len(set(metric_names)) != len(metric_names):
        raise UserError(f"--metrics names a metric twice: {args.metrics}")
    if args.workers is not None and args.workers < 1:
        raise UserError(f"--workers must be at least 1, got {args.workers}")
    if not 0.0 < args.confidence < 1.0:
        raise UserError(f"--confidence must lie between 0 and 1, got {args.confidence}")
    if args.bootstrap is not None and args.bootstrap < 0:
        raise UserError(f"--bootstrap must be >= 0, got {args.bootstrap}")
    tracker, metrics, unused = build_parts(metric_names, args.tracker, args.embedder, args.settings, args.bootstrap,
                                           args.confidence, args.seed, source="synctrack eval")
    for section in unused:
        console.warning(f"--set {section}.*: no chosen metric uses the {section}; the setting is ignored")
    request = EvaluationRequest(
        generated=args.generated,
        reference=args.reference,
        metrics=metrics,
        tracker=tracker,
        tracker_name=args.tracker,
        workers=args.workers or default_workers(),
        cache_root=None if args.no_cache else (args.cache or default_cache_root()),
        track_names=_split(args.track_names) if args.track_names else None,
        confidence=args.confidence,
    )
    result = evaluate(request, console=console.err)
    console.out.print(results_table(result))
    for note in result.notes:
        console.out.print(f"note: {note}", markup=False, soft_wrap=True)
    if result.cache:
        console.out.print(
            f"beat cache: {result.cache['hits']} hit(s), {result.cache['misses']} miss(es)"
            + (f" in {result.cache['folder']}" if result.cache.get("folder") else " (disabled)"),
            markup=False,
        )
    paths = result.write(args.out or args.generated / REPORT_NAME)
    console.out.print(f"wrote {paths['json']}, {paths['csv']} and {paths['per_song_csv']}", markup=False)
    if not args.no_page and result.layouts.get("generated") == "songs":
        write_page(args.generated, result, paths["json"])
    return 0


def write_page(folder: Path, result: EvaluationResult, report: Path) -> None:
    """Each song's beat picture and the listening page next to the songs; a folder that cannot take them is
    said, and the evaluation stands."""
    from ..reports import write_report
    from ..reports.pictures import draw_beat_pictures

    try:
        if "generated" in result.beats:
            draw_beat_pictures(folder, result.beats["generated"])
        page = write_report(folder, report)
    except OSError as error:
        console.warning(f"no listening page for {folder}: {error}")
        return
    console.out.print(f"listen: {page}", markup=False)
