"""Running measurement jobs one after another, each in a fresh process, behind a progress bar.

With ``rounds`` > 1 the whole list runs that many times, the cases alternating, and each case's timed calls are
pooled over its rounds: on a shared machine a slow spell then hits every case alike, instead of whichever case
happened to run during it (docs/benchmarks.md, "Repeat rounds").
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

Launcher = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Settings:
    """How every case of a sweep is measured."""

    device: str = "cpu"
    threads: int | None = None
    warmup: int = 1
    repeats: int = 3
    budget: float = 30.0  # seconds of timed calls per case before it stops repeating
    timeout: float | None = 1800.0  # seconds a worker may take before it is killed
    rounds: int = 1  # passes over the whole sweep, cases alternating (each pass a fresh process per case)

    def job(self, kind: str, **fields: Any) -> dict[str, Any]:
        """A worker job of ``kind`` with these settings."""
        return {
            "kind": kind,
            "device": self.device,
            "threads": self.threads,
            "warmup": self.warmup,
            "repeats": self.repeats,
            "budget": self.budget,
            **fields,
        }


def describe_failure(returncode: int, stderr: str) -> str:
    """One line saying why a worker died: the signal, or the last line it printed (the exception)."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"killed by {name}" + (" (out of memory?)" if -returncode == signal.SIGKILL else "")
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else f"exit code {returncode}"


def subprocess_launcher(timeout: float | None = None) -> Launcher:
    """Run each job in ``python -m synctrack.bench.worker``; failures come back as ``{"error": why}``."""

    def launch(job: dict[str, Any]) -> dict[str, Any]:
        try:
            done = subprocess.run(
                [sys.executable, "-m", "synctrack.bench.worker"],
                input=json.dumps(job),
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout:g} s"}
        if done.returncode != 0:
            return {"error": describe_failure(done.returncode, done.stderr)}
        lines = done.stdout.strip().splitlines()
        try:
            return json.loads(lines[-1])
        except (IndexError, json.JSONDecodeError):
            return {"error": f"the worker printed no result: {done.stdout[-200:]!r}"}

    return launch


def in_process_launcher(job: dict[str, Any]) -> dict[str, Any]:
    """Run a job in this process (tests, and debugging a case). Its memory figure is not the case's own:
    memory this process freed earlier is reused without showing in the resident size."""
    import torch

    from .worker import run_job

    threads = torch.get_num_threads()
    try:
        return run_job(job)
    finally:
        torch.set_num_threads(threads)  # the job's --threads must not outlive it


def _failed(result: dict[str, Any]) -> bool:
    return "error" in result or "invalid" in result or "times" not in result


def merge_rounds(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One case's results from several rounds as one: the timed calls of every round (in round order) and the
    largest peak memory. A round that failed makes the case failed, with that round's reason."""
    for result in results:
        if _failed(result):
            return result
    if len(results) == 1:
        return results[0]
    merged = dict(results[0])
    merged["times"] = [seconds for result in results for seconds in result["times"]]
    merged["peak_bytes"] = max(result["peak_bytes"] for result in results)
    merged["rounds"] = len(results)
    return merged


def run_jobs(
    jobs: Sequence[tuple[str, dict[str, Any] | None]],
    launch: Launcher,
    console: Console,
    title: str = "measuring",
    stop: Callable[[dict[str, Any]], bool] = lambda result: False,
    rounds: int = 1,
) -> list[dict[str, Any] | None]:
    """Run ``(description, job)`` pairs in order (a None job is a skipped case); results in the same order.

    ``rounds`` passes run the whole list again, cases alternating; each result pools its case's rounds
    (:func:`merge_rounds`), and a case that failed is not run again. ``stop(result)`` True ends the sweep early
    (e.g. the model refused its inputs: every case would).
    """
    per_job: list[list[dict[str, Any]] | None] = [None if job is None else [] for _, job in jobs]
    stopped_at = len(jobs)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(title, total=len(jobs) * rounds)
        for round_index in range(rounds):
            for index, (description, job) in enumerate(jobs[:stopped_at]):
                done = per_job[index]
                if done is not None and not any(_failed(result) for result in done):
                    suffix = f" (round {round_index + 1} of {rounds})" if rounds > 1 else ""
                    progress.update(task, description=f"{title}: {description}{suffix}")
                    done.append(launch(job))
                    if stop(done[-1]):
                        stopped_at = index + 1
                        break
                progress.advance(task)
            if stopped_at < len(jobs):
                break
    return [None if done is None else merge_rounds(done) for done in per_job[:stopped_at]]
