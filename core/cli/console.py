"""Consoles and message helpers shared by every command."""

from __future__ import annotations

import warnings

from rich.console import Console

from ..errors import RunWarning

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def _say(label: str, message: str) -> None:
    """``label`` (rich markup) then ``message`` as it is (no markup interpretation: recipe paths contain brackets)."""
    err.print(f"{label} ", end="")
    err.print(message, markup=False, soft_wrap=True)


def error(message: str) -> None:
    """Print a user-facing error."""
    _say("[bold red]error:[/bold red]", message)


def warning(message: str) -> None:
    _say("[bold yellow]warning:[/bold yellow]", message)


def note(message: str) -> None:
    """Something the user should know that is not a problem (a file converted on reading...)."""
    _say("[bold]note:[/bold]", message)


def stopped(message: str) -> None:
    """A command stopped by a signal after saving its work (it exits 128 + the signal; the same command goes on)."""
    _say("[bold]stopped:[/bold]", message)


def install_warning_printer() -> None:
    """Show warnings (plugin failures, deprecations of ours) as one readable line each."""

    def show(message, category, filename, lineno, file=None, line=None):  # noqa: ARG001 - warnings API
        warning(str(message))

    warnings.showwarning = show
    warnings.simplefilter("always", RunWarning)  # the library's run warnings: every run hears its own
