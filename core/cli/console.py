"""Consoles and message helpers shared by every command."""

from __future__ import annotations

import warnings

from rich.console import Console

from ..errors import RunWarning

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def error(message: str) -> None:
    """Print a user-facing error (no markup interpretation: recipe paths contain brackets)."""
    err.print("[bold red]error:[/bold red] ", end="")
    err.print(message, markup=False, soft_wrap=True)


def warning(message: str) -> None:
    err.print("[bold yellow]warning:[/bold yellow] ", end="")
    err.print(message, markup=False, soft_wrap=True)


def note(message: str) -> None:
    """Something the user should know that is not a problem (a file converted on reading...)."""
    err.print("[bold]note:[/bold] ", end="")
    err.print(message, markup=False, soft_wrap=True)


def stopped(message: str) -> None:
    """A command stopped by a signal after saving its work (it exits 128 + the signal; the same command goes on)."""
    err.print("[bold]stopped:[/bold] ", end="")
    err.print(message, markup=False, soft_wrap=True)


def install_warning_printer() -> None:
    """Show warnings (plugin failures, deprecations of ours) as one readable line each."""

    def show(message, category, filename, lineno, file=None, line=None):  # noqa: ARG001 - warnings API
        warning(str(message))

    warnings.showwarning = show
    warnings.simplefilter("always", RunWarning)  # the library's run warnings: every run hears its own
