"""The bench commands' tables: one line per case at 80 columns, reasons for skipped cases as numbered notes."""

from __future__ import annotations

from typing import Any

from rich.table import Table


def _number(value: float | None, form: str) -> str:
    return "" if value is None else format(value, form)


def note_key(row: dict[str, Any]) -> str:
    return f"{row['status']}: {row.get('reason') or ''}"


def footnotes(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Number each distinct reason a case was not measured (long reasons go below the table, once)."""
    notes: dict[str, int] = {}
    for row in rows:
        if row["status"] != "ok":
            notes.setdefault(note_key(row), len(notes) + 1)
    return notes


def attention_table(rows: list[dict[str, Any]], grid: Any, notes: dict[str, int]) -> Table:
    table = _light_table(f"mixer forward on {grid.label} tokens (T' x F' x D) per track")
    for name in ("mixer", "backend", "S", "tokens", "time ms", "min-max", "MiB", "GFLOP/s", "of mm"):
        table.add_column(name, justify="left" if name in ("mixer", "backend") else "right", overflow="fold",
                         no_wrap=name != "mixer", min_width=16 if name == "mixer" else None)
    for row in rows:
        ok = row["status"] == "ok"
        note = "" if ok else f"[{notes[note_key(row)]}]"  # the footnote below says skipped / failed and why
        table.add_row(
            row["spec"],
            row["backend"],
            str(row["tracks"]),
            str(row["tokens"]),
            _number(row.get("time_ms"), ".1f") if ok else note,
            _time_range(row) if ok else "",
            _number(row.get("peak_mib"), ".0f") if ok else "",
            _number(row.get("gflops"), ".1f") if ok else "",
            _number(row.get("fraction_of_matmul"), ".0%") if ok else "",
        )
    table.caption = ("MiB: peak memory added; of mm: the fraction of this machine's fp32 matmul rate; the work per "
                     "call (attention_gflop) is in the CSV")
    table.caption_justify = "left"
    return table


def _time_range(row: dict[str, Any]) -> str:
    """``min-max`` of a measured row's repeats in ms (empty with one repeat): the spread behind its median."""
    if (row.get("runs") or 0) < 2 or row.get("time_max_ms") is None:
        return ""
    form = ".0f" if row["time_max_ms"] >= 100 else ".1f"
    return f"{row['time_min_ms']:{form}}-{row['time_max_ms']:{form}}"


def _light_table(title: str) -> Table:
    """A table that reads at 80 columns: a rule under the header, no vertical borders, one space of padding."""
    from rich import box

    return Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False, collapse_padding=True)


def model_table(rows: list[dict[str, Any]], source: str, notes: dict[str, int]) -> Table:
    table = _light_table(f"{source}: one training step (forward + backward)")
    for name in ("S", "variant", "time ms", "min-max", "peak MiB", "time x", "memory x"):
        table.add_column(name, justify="left" if name == "variant" else "right", overflow="fold",
                         no_wrap=name != "variant")
    for row in rows:
        ok = row["status"] == "ok"
        note = "" if ok else f"[{notes[note_key(row)]}]"  # the footnote below says skipped / failed and why
        table.add_row(
            str(row["tracks"]),
            row["variant"] + (f" ({row['mixers']})" if row.get("mixers") else ""),
            _number(row.get("time_ms"), ".1f") if ok else note,
            _time_range(row) if ok else "",
            _number(row.get("peak_mib"), ".0f") if ok else "",
            _number(row.get("time_overhead"), ".2f"),
            _number(row.get("memory_overhead"), ".2f"),
        )
    return table
