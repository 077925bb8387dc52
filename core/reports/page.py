"""Rendering a listening page: :class:`~.collect.RunView` through the Jinja2 template, written atomically."""

from __future__ import annotations

import os
from pathlib import Path

from ..files import write_text_atomically
from .collect import RunView, collect

PAGE = "index.html"


def number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def environment():
    """The Jinja2 environment of the page templates (beside this module)."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent)),
        autoescape=True,  # song names, notes, recipes and commands come from files: never markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(run: RunView, folder_name: str) -> str:
    """The page's HTML; every value from a file or a recipe is escaped (autoescape)."""
    return environment().get_template("index.html.j2").render(run=run, number=number, folder_name=folder_name)


def write_report(folder: str | os.PathLike, evaluation: str | os.PathLike | None = None) -> Path:
    """Write ``folder/index.html`` for the songs in ``folder`` and their ``evaluation`` report (default: the
    first found in the folder; see :mod:`.collect`); returns its path."""
    folder = Path(folder)
    run = collect(folder, None if evaluation is None else Path(evaluation))
    return write_text_atomically(folder / PAGE, render(run, folder.name))
