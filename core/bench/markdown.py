"""Markdown tables of a sweep's CSV, to paste into docs/benchmarks.md."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Column = tuple[str, Callable[[dict[str, Any]], str]]


def _number(key: str, form: str, measured: bool = True) -> Callable[[dict[str, Any]], str]:
    """A numeric cell; a ``measured`` one stays empty for a case that was not measured."""

    def cell(row: dict[str, Any]) -> str:
        value = row.get(key)
        return "" if value is None or (measured and row.get("status") != "ok") else format(value, form)

    return cell


def _status(row: dict[str, Any]) -> str:
    return "" if row["status"] == "ok" else f"{row['status']}: {row.get('reason') or ''}"


ATTENTION: Sequence[Column] = (
    ("mixer", lambda r: f"`{r['spec']}`"),
    ("backend", lambda r: r["backend"]),
    ("S", lambda r: str(r["tracks"])),
    ("tokens S N", lambda r: str(r["tokens"])),
    ("GFLOP", _number("attention_gflop", ".3g", measured=False)),
    ("time (ms)", _number("time_ms", ".1f")),
    ("peak (MiB)", _number("peak_mib", ".0f")),
    ("GFLOP/s", _number("gflops", ".1f")),
    ("of matmul", _number("fraction_of_matmul", ".0%")),
    ("note", _status),
)

MODEL: Sequence[Column] = (
    ("S", lambda r: str(r["tracks"])),
    ("variant", lambda r: r["variant"] + (f" (`{r['mixers']}`)" if r.get("mixers") else "")),
    ("time (ms)", _number("time_ms", ".0f")),
    ("peak (MiB)", _number("peak_mib", ".0f")),
    ("time x", _number("time_overhead", ".2f")),
    ("memory x", _number("memory_overhead", ".2f")),
    ("note", _status),
)


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[Column], skip_xformers: bool = True) -> str:
    """A GitHub-flavoured table; rows skipped only because xformers cannot run here are left out."""
    kept = [
        row for row in rows
        if not (skip_xformers and row.get("backend") == "xformers" and row["status"] == "skipped")
    ]  # fmt: skip
    lines = ["| " + " | ".join(name for name, _ in columns) + " |"]
    lines.append("|" + "|".join("---" if name in ("mixer", "backend", "variant", "note") else "---:" for name, _ in columns) + "|")
    for row in kept:
        lines.append("| " + " | ".join(cell(row) for _, cell in columns) + " |")
    return "\n".join(lines)
