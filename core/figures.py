"""Saving matplotlib figures: Agg backend, atomic writes, the figure closed afterwards."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .files import atomic_path


def pyplot() -> Any:
    """matplotlib.pyplot on the non-interactive Agg backend (no display on servers and CI)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure: Any, path: str | os.PathLike, dpi: int = 80) -> Path:
    """Write ``figure`` to ``path`` (PNG) through a temporary file and a rename, then close it."""
    plt = pyplot()
    path = Path(path)
    try:
        with atomic_path(path, suffix=path.suffix or ".png") as temporary:
            figure.savefig(temporary, dpi=dpi)
    finally:
        plt.close(figure)
    return path
