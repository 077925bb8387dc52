"""Where one training step of a recipe spends its time: data, encoding, forward + backward + AdamW, attention.

    python benchmarks/training_step_profile.py recipes/bench/synctrack.yaml [--threads 2] [--batch 8] [KEY=VALUE ...]

Prints, for ``--batch`` songs of the recipe's dataset: the time to render one item, to encode a batch, one
optimizer step (the mean of ``--repeats`` after ``--warmup``), and the operators that took most of the
step under ``torch.profiler``. The numbers are wall-clock on a shared machine: quote ratios from one run
(with vs without mixers), not absolute seconds from different runs. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.profiler import ProfilerActivity, profile

from synctrack.data import collate_songs
from synctrack.noise import generators_from_seeds
from synctrack.pipeline import build
from synctrack.recipe import load_recipe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe")
    parser.add_argument("overrides", nargs="*")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--operators", type=int, default=8, help="profiler rows to print (0: no profile)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    recipe = load_recipe(args.recipe, args.overrides).validate()
    pipeline, dataset = build(recipe), recipe.build("data")
    started = time.perf_counter()
    items = [dataset[i] for i in range(args.batch)]
    item_ms = (time.perf_counter() - started) / args.batch * 1e3
    batch = collate_songs(items)
    started = time.perf_counter()
    with torch.no_grad():
        latents = pipeline.latents(batch)
    encode_ms = (time.perf_counter() - started) * 1e3

    optimizer = torch.optim.AdamW(pipeline.denoiser.parameters(), lr=1e-4)
    pipeline.train()
    seeds = list(range(args.batch))

    def step() -> None:
        loss = pipeline.training_loss(batch, generators_from_seeds(seeds)).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    for _ in range(args.warmup):
        step()
    started = time.perf_counter()
    for _ in range(args.repeats):
        step()
    step_ms = (time.perf_counter() - started) / args.repeats * 1e3
    print(f"{recipe.get('name')}: latents {tuple(latents.shape)}, {args.threads} thread(s), batch {args.batch}")
    print(f"  render one item {item_ms:.1f} ms (x{args.batch} = {item_ms * args.batch:.0f} ms per step)")
    print(f"  encode the batch {encode_ms:.1f} ms")
    print(f"  forward + backward + AdamW {step_ms:.0f} ms -> {1e3 / (step_ms + item_ms * args.batch + encode_ms):.2f} steps/s")
    if args.operators:
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            step()
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.operators))


if __name__ == "__main__":
    main()
