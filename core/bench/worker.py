"""The measuring process: ``python -m synctrack.bench.worker`` reads one job (JSON) on stdin, measures it,
and prints its result as one JSON line.

Each case runs in a fresh process so that its peak memory is its own (nothing cached from earlier cases,
no allocator state carried over) and a case that runs out of memory cannot take the sweep down. A job is a
mapping with ``kind`` (``matmul``, ``attention`` or ``model``), the case's parameters, and the settings
``device``, ``threads``, ``warmup``, ``repeats``, ``budget``. The result holds ``times`` (seconds per call),
``peak_bytes`` and ``memory_method``; a model whose forward refuses the inputs answers ``{"invalid": why}``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import torch

from .measure import PeakMemory, synchronizer, time_calls


def _timed(job: dict[str, Any], device: torch.device, work) -> dict[str, Any]:
    with PeakMemory(device) as peak:
        times = time_calls(
            work,
            warmup=int(job.get("warmup", 1)),
            repeats=int(job.get("repeats", 3)),
            budget=float(job.get("budget", float("inf"))),
            synchronize=synchronizer(device),
        )
    return {"times": times, "peak_bytes": peak.bytes, "memory_method": peak.method}


def run_matmul(job: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """fp32 ``size x size`` matrix products: the machine's matmul GFLOP/s (best and median of the runs)."""
    size = int(job["size"])
    generator = torch.Generator().manual_seed(0)
    a, b = (torch.randn(size, size, generator=generator).to(device) for _ in range(2))
    out = torch.empty(size, size, device=device)
    result = _timed(job, device, lambda: torch.mm(a, b, out=out))
    flops = 2 * size**3
    rates = sorted(flops / t / 1e9 for t in result["times"])
    return {**result, "gflops_best": rates[-1], "gflops_median": rates[len(rates) // 2]}


def run_attention(job: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """One mixer forward (no autograd) on ``[batch, tracks, T'*F', dim]`` tokens, all tracks present."""
    from ..attention import use_backend
    from ..interfaces import Mixer
    from ..plugin_manager import get_registry
    from ..recipe import PartSpec, build

    frames, bins, dim = job["grid"]
    batch, tracks = int(job["batch"]), int(job["tracks"])
    torch.manual_seed(0)
    mixer = build(job["mixer"], PartSpec[Mixer], get_registry())(dim=dim).to(device).eval()
    tokens = torch.randn(batch, tracks, frames * bins, dim, device=device)
    mask = torch.ones(batch, tracks, dtype=torch.bool, device=device)

    def forward() -> None:
        mixer(tokens, (frames, bins), mask)

    with torch.no_grad(), use_backend(job["backend"]):
        return _timed(job, device, forward)


def run_model(job: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """One training step's forward + backward of a recipe's denoiser (no optimizer) on random latents."""
    from ..recipe import load_recipe
    from ..tracks import TrackInfo

    torch.manual_seed(0)
    denoiser = load_recipe(job["recipe"], job.get("overrides", [])).build("model.denoiser").to(device).train()
    channels = getattr(denoiser, "in_channels", None)
    if not isinstance(channels, int):
        return {"invalid": f"the denoiser {type(denoiser).__name__} has no integer in_channels attribute"}
    frames, bins = job["grid"]
    batch, tracks = int(job["batch"]), int(job["tracks"])
    vocabulary = getattr(getattr(denoiser, "conditioner", None), "vocabulary", None)
    ids = (torch.arange(tracks) % len(vocabulary or [0])).expand(batch, tracks)  # cycle through the instruments
    info = TrackInfo(ids.contiguous(), torch.ones(batch, tracks, dtype=torch.bool)).to(device)
    latents = torch.randn(batch, tracks, channels, frames, bins, device=device)
    levels = torch.full((batch,), 500.0, device=device)
    parameters = [p for p in denoiser.parameters() if p.requires_grad]

    def step() -> None:
        denoiser(latents, levels, info).square().mean().backward()
        for parameter in parameters:
            parameter.grad = None  # every step allocates its gradients, as a training step does

    try:
        result = _timed(job, device, step)
    except ValueError as error:  # the denoiser refused the inputs (grid, channels): the user's to fix
        return {"invalid": str(error), "channels": channels}
    return {**result, "parameters": sum(p.numel() for p in denoiser.parameters()), "channels": channels}


RUNNERS = {"matmul": run_matmul, "attention": run_attention, "model": run_model}


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Measure ``job`` in this process (the sweep calls this through :func:`main` in a fresh one)."""
    if job.get("threads"):
        torch.set_num_threads(int(job["threads"]))
    device = torch.device(job.get("device", "cpu"))
    result = RUNNERS[job["kind"]](job, device)
    return {**result, "threads": torch.get_num_threads()}


def main() -> int:
    job = json.loads(sys.stdin.read())
    result = run_job(job)
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
