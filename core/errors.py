"""Exceptions that separate a user's mistakes from the project's bugs.

Anything derived from :class:`UserError` was caused by input (a recipe, a file, an argument, a plugin) and
carries a message that says what is wrong and how to fix it. The CLI prints that message and exits with
code 2, without a traceback. Every other exception is a bug and propagates normally.
"""

from __future__ import annotations

from dataclasses import dataclass


class UserError(Exception):
    """An error the user can fix; its message is complete on its own."""

    exit_code = 2


class StoppedBySignal(UserError):
    """A signal stopped a command after what it had done was saved; it exits ``128 + signal`` (143 for SIGTERM),
    as a stopped ``synctrack train`` does, so a cluster sees a preemption, not a failure."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class UnknownPartError(UserError, LookupError):
    """A name that is not in a registry kind."""


class DuplicatePartError(UserError):
    """Two registrations of the same (kind, name); ``plugins`` names the first registrant, then the second."""

    def __init__(self, message: str, kind: str = "", name: str = "", plugins: tuple[str, str] = ("", "")) -> None:
        super().__init__(message)
        self.kind, self.name, self.plugins = kind, name, plugins


class PluginError(UserError):
    """A plugin failed to import, to validate, or to register its parts (fatal in strict mode)."""


class ArgumentError(UserError, ValueError):
    """A part was given an argument value it cannot use (the message names the argument and the value)."""


class RunWarning(UserWarning):
    """Something about a run the user must hear, which does not stop it (an untrained front end, a run lock
    taken over from a process that died); the CLI prints each one, every time."""


class PluginWarning(UserWarning):
    """A plugin was skipped because it failed; the rest of the plugins still loaded."""


@dataclass(frozen=True)
class Problem:
    """One problem in a recipe: where it is and what is wrong.

    ``path`` is the recipe path (``model.denoiser.mixers[1].heads``); ``where`` the file and line that set
    the value (``recipes/x.yaml:12``) or the command-line override, when known.
    """

    path: str
    message: str
    where: str | None = None

    def __str__(self) -> str:
        if not self.path:  # a problem of the file itself reads like a compiler's: file:line:col: message
            return f"{self.where}: {self.message}" if self.where else self.message
        text = f"{self.path}: {self.message}"
        return f"{text} ({self.where})" if self.where else text


class RecipeError(UserError):
    """One or more problems in a recipe, all reported together."""

    def __init__(self, problems: list[Problem] | Problem | str, source: str | None = None):
        if isinstance(problems, str):
            problems = [Problem("", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        self.source = source
        super().__init__(self._format())

    def _format(self) -> str:
        head = f"{self.source}: " if self.source else ""
        if len(self.problems) == 1:
            return head + str(self.problems[0])
        lines = [f"{head}{len(self.problems)} problems:"]
        lines += [f"  - {problem}" for problem in self.problems]
        return "\n".join(lines)
