"""What a pretrained load did: which keys loaded, which are new, which were left unused."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rich.table import Table


def _group(keys: list[str], depth: int = 3) -> list[tuple[str, int]]:
    """Collapse keys to their first ``depth`` components with counts: readable for 1000-key models."""
    counts = Counter(".".join(key.split(".")[:depth]) for key in keys)
    return sorted(counts.items())


@dataclass
class LoadReport:
    """Keys of the target part that were loaded, keys that are new (absent from the source), source keys
    nobody used (unexpected), and notes on anything else the load set."""

    part: str
    source: str
    format: str
    loaded: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    reshaped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what else the load set (a synctrack VAE's scale_factor)

    def summary(self) -> str:
        text = (
            f"{self.part}: loaded {len(self.loaded)} tensors from {self.source} ({self.format}); "
            f"{len(self.new)} new, {len(self.unexpected)} unexpected"
        )
        return text + "".join(f"; {note}" for note in self.notes)

    def table(self, depth: int = 4) -> Table:
        table = Table(title=self.summary(), title_justify="left")
        table.add_column("status")
        table.add_column("keys (grouped)", overflow="fold")
        table.add_column("tensors", justify="right")
        for status, keys in (("loaded", self.loaded), ("new", self.new), ("unexpected", self.unexpected)):
            for prefix, count in _group(keys, depth) if status != "loaded" else [(f"{len(keys)} keys", len(keys))]:
                table.add_row(status, prefix, str(count))
        return table
