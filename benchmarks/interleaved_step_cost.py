"""One denoiser training step (forward + backward, no optimizer) of several variants of a recipe, interleaved.

``synctrack bench model`` times each variant in its own process, one after another; on a shared VM their repeats
can disagree by 25%, more than the 5-10% a part like the pulse blocks costs. Here every variant is built in one
process and the rounds alternate between them, so a slow spell of the machine hits all of them alike. Random
latents, a fixed noise level, the bench grid by default. Used in docs/learning-speed.md (E19):

    python benchmarks/interleaved_step_cost.py recipes/bench/synctrack.yaml \\
        "mixers, no pulse=model.denoiser.pulse_block_levels=[]" "mixers=" \\
        "no mixers, no pulse=model.denoiser.mixers=[] model.denoiser.pulse_block_levels=[]" \\
        "no mixers=model.denoiser.mixers=[]" --threads 2

``--compile`` adds a ``torch.compile`` twin of every variant (its compile time is printed; docs/learning-speed.md,
E21).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from synctrack.recipe import load_recipe
from synctrack.tracks import TrackInfo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("recipe")
    parser.add_argument("variants", nargs="+", metavar="LABEL=OVERRIDES", help="a label, '=', then space-separated overrides")
    parser.add_argument("--tracks", type=int, default=4)
    parser.add_argument("--grid", default="160x16", help="frames x bins (default 160x16, the bench grid)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--steps-per-round", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--compile", action="store_true", help="also time a torch.compile twin of every variant")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.compile:  # each U-Net block width is its own graph: more than dynamo's default 8 recompiles
        torch._dynamo.config.recompile_limit = 64
    frames, bins = (int(v) for v in args.grid.split("x"))

    denoisers = {}
    for variant in args.variants:
        label, _, overrides = variant.partition("=")
        torch.manual_seed(0)
        denoisers[label] = load_recipe(args.recipe, overrides.split()).build("model.denoiser").train()
        if args.compile:
            torch.manual_seed(0)
            twin = load_recipe(args.recipe, overrides.split()).build("model.denoiser").train()
            # Static shapes: with dynamic shapes inductor (torch 2.14) fails on the U-Net's strides.
            denoisers[f"{label} (compiled)"] = torch.compile(twin, dynamic=False)
    ids = torch.arange(args.tracks).expand(args.batch, args.tracks).contiguous()
    info = TrackInfo(ids, torch.ones(args.batch, args.tracks, dtype=torch.bool))
    channels = next(iter(denoisers.values())).in_channels
    latents = torch.randn(args.batch, args.tracks, channels, frames, bins)
    levels = torch.full((args.batch,), 500.0)

    def step(denoiser: torch.nn.Module) -> None:
        denoiser(latents, levels, info).square().mean().backward()
        for parameter in denoiser.parameters():
            parameter.grad = None

    for label, denoiser in denoisers.items():  # warm-up: first-call allocations, and compilation
        start = time.perf_counter()
        step(denoiser)
        step(denoiser)
        print(f"{label}: first two steps {time.perf_counter() - start:.1f} s", flush=True)
    times: dict[str, list[float]] = {label: [] for label in denoisers}
    for _ in range(args.rounds):
        for label, denoiser in denoisers.items():
            start = time.perf_counter()
            for _ in range(args.steps_per_round):
                step(denoiser)
            times[label].append((time.perf_counter() - start) / args.steps_per_round * 1e3)
    print(f"{'variant':<28} {'median ms':>10} {'min':>8} {'max':>8}")
    for label, values in times.items():
        print(f"{label:<28} {statistics.median(values):>10.0f} {min(values):>8.0f} {max(values):>8.0f}")


if __name__ == "__main__":
    main()
