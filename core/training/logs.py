"""What a run reports: a JSONL log, TensorBoard when installed, and a rich progress bar."""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..files import write_failure, write_text_atomically

LOG_FILE = "log.jsonl"


class RunLog:
    """Appends one JSON object per logged step to ``<run>/log.jsonl`` (and TensorBoard scalars when possible)."""

    def __init__(self, folder: Path, tensorboard: bool = True) -> None:
        self.path = folder / LOG_FILE
        folder.mkdir(parents=True, exist_ok=True)
        self.writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard is optional
                pass
            else:
                self.writer = SummaryWriter(str(folder / "tensorboard"))

    def truncate_after(self, step: int) -> None:
        """Drop rows past ``step`` (written after the checkpoint a resumed run restarts from)."""
        if not self.path.exists():
            return
        kept = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                if json.loads(line).get("step", 0) <= step:
                    kept.append(line)
            except json.JSONDecodeError:  # a line cut by a crash
                continue
        write_text_atomically(self.path, "".join(line + "\n" for line in kept))

    def write(self, row: Mapping[str, Any]) -> None:
        try:
            with open(self.path, "a", encoding="utf-8") as file:
                file.write(json.dumps(dict(row), allow_nan=True) + "\n")
        except OSError as error:
            raise (write_failure(error, self.path, "the training log") or error) from None
        if self.writer is not None and "step" in row:
            step = int(row["step"])
            for key, value in row.items():
                if key != "step" and isinstance(value, (int, float)) and math.isfinite(value):
                    self.writer.add_scalar(key, value, step)

    def event(self, **fields: Any) -> None:
        """A row that is not a training step (a stop, an error), stamped with the time."""
        self.write({"time": time.time(), **fields})

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def progress_bar(console: Console | None, enabled: bool) -> Progress:
    """A progress bar showing step, loss, it/s and the time left."""
    return Progress(
        TextColumn("[bold]train[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"),
        TextColumn("{task.fields[rate]} it/s"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
        disable=not enabled,
        transient=False,
    )


def warn(message: str) -> None:
    warnings.warn(message, UserWarning, stacklevel=3)
