"""Result tables: the CSV columns of each sweep, atomic writing, and reading back for reports."""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..files import atomic_path

MIB = 2**20
GIB = 2**30

ATTENTION_COLUMNS = (
    "mixer", "spec", "backend", "tracks", "frames", "bins", "dim", "heads", "head_dim", "batch", "tokens",
    "status", "reason", "time_ms", "time_min_ms", "time_max_ms", "runs", "peak_mib", "memory_method", "attention_gflop",
    "gflops", "matmul_gflops", "fraction_of_matmul", "device", "threads",
)  # fmt: skip

MODEL_COLUMNS = (
    "recipe", "variant", "mixers", "tracks", "frames", "bins", "channels", "batch", "parameters", "status",
    "reason", "time_ms", "time_min_ms", "time_max_ms", "runs", "peak_mib", "memory_method", "time_overhead",
    "memory_overhead", "device", "threads",
)  # fmt: skip

OPTIONAL_COLUMNS = {"time_max_ms"}  # added after sweeps were committed: older CSVs lack it
UNSTEADY = 0.2  # repeats whose (max - min) / median exceeds this disagree: the figure is not to be trusted

INTEGER_COLUMNS = {"tracks", "frames", "bins", "dim", "heads", "head_dim", "batch", "tokens", "runs", "channels", "parameters", "threads"}
FLOAT_COLUMNS = {
    "time_ms", "time_min_ms", "time_max_ms", "peak_mib", "attention_gflop", "gflops", "matmul_gflops", "fraction_of_matmul",
    "time_overhead", "memory_overhead",
}  # fmt: skip


def timing_fields(result: dict[str, Any]) -> dict[str, Any]:
    """The measured columns of a worker's result: median, best and worst time (ms), runs, peak memory (MiB)."""
    times = result["times"]
    return {
        "time_ms": 1e3 * statistics.median(times),
        "time_min_ms": 1e3 * min(times),
        "time_max_ms": 1e3 * max(times),
        "runs": len(times),
        "peak_mib": result["peak_bytes"] / MIB,
        "memory_method": result["memory_method"],
        "threads": result.get("threads"),
    }


def time_spread(row: dict[str, Any]) -> float | None:
    """``(max - min) / median`` of a measured row's repeats; None without at least two runs or a maximum."""
    low, middle, high = row.get("time_min_ms"), row.get("time_ms"), row.get("time_max_ms")
    if row.get("status") != "ok" or (row.get("runs") or 0) < 2 or None in (low, middle, high) or not middle:
        return None
    return (high - low) / middle


def unsteady_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The measured rows whose repeats disagree by more than :data:`UNSTEADY`."""
    return [row for row in rows if (time_spread(row) or 0.0) > UNSTEADY]


def _atomic_write(path: Path, write) -> None:
    with atomic_path(path) as temporary, open(temporary, "wb") as stream:
        write(stream)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def write_csv(path: Path, rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> None:
    """Write rows (missing keys empty) to ``path`` atomically."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: _cell(row.get(column)) for column in columns})
    _atomic_write(path, lambda stream: stream.write(text.getvalue().encode()))


def write_json(path: Path, data: dict[str, Any]) -> None:
    _atomic_write(path, lambda stream: stream.write((json.dumps(data, indent=2) + "\n").encode()))


def _check_exists(path: Path) -> None:
    if not path.is_file():
        raise UserError(f"results file not found: {path}; run `synctrack bench attention --out DIR` to make one")


def read_sweep(path: str | Path) -> tuple[str, list[dict[str, Any]]]:
    """``("attention" | "model", rows)`` of either kind of sweep CSV, told apart by its columns."""
    path = Path(path)
    _check_exists(path)
    with path.open(newline="") as stream:
        header = set(next(csv.reader(stream), []))
    kind = "model" if set(MODEL_COLUMNS) - OPTIONAL_COLUMNS <= header else "attention"
    return kind, read_csv(path, MODEL_COLUMNS if kind == "model" else ATTENTION_COLUMNS)


def read_csv(path: str | Path, required: Sequence[str] = ATTENTION_COLUMNS) -> list[dict[str, Any]]:
    """Rows of a sweep's CSV with numbers parsed (empty cells None); a missing file or column is a UserError."""
    path = Path(path)
    _check_exists(path)
    with path.open(newline="") as stream:
        reader = csv.DictReader(stream)
        missing = [column for column in required if column not in (reader.fieldnames or []) and column not in OPTIONAL_COLUMNS]
        if missing:
            raise UserError(f"{path} is not a benchmark CSV of this kind: columns {missing} are missing")
        rows = []
        for row in reader:
            parsed: dict[str, Any] = {}
            for key, value in row.items():
                if value == "" or value is None:
                    parsed[key] = None
                elif key in INTEGER_COLUMNS:
                    parsed[key] = int(float(value))
                elif key in FLOAT_COLUMNS:
                    parsed[key] = float(value)
                else:
                    parsed[key] = value
            rows.append(parsed)
    return rows
