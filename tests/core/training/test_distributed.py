"""torch.distributed on CPU: a 2-process torchrun (gloo) run equals a 1-process run with the same global batch.

The recipe encodes with a mel VAE that samples its posterior, as the default recipes do: every random draw of
a step (the posterior noise, the noise level, the diffusion noise) must come from the song's own generator,
or the two runs drift apart (measured on this test: 1.3e-1 relative before the encoder took the per-song
generators, 3.2e-8 after).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from engine_toys import make_trainer
from safetensors.torch import load_file

from synctrack.training import checkpoint as ckpt
from synctrack.training.ema import flat_state

HERE = Path(__file__).parent


def test_two_processes_match_one_process_with_the_same_global_batch(toy_recipe, tmp_path):
    recipe = toy_recipe(steps=6, batch=4, checkpoint_every=3, sampling_encoder=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SYNCTRACK_TEST_DUMP": str(tmp_path / "dump")}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               str(HERE / "run_with_toys.py"), "train", str(recipe), "--out", str(tmp_path / "two"), "--no-progress"]
    result = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr

    ranks = [load_file(str(tmp_path / "dump" / f"rank{r}.safetensors")) for r in (0, 1)]
    assert ranks[0].keys() == ranks[1].keys()
    for key in ranks[0]:
        assert torch.equal(ranks[0][key], ranks[1][key]), f"{key} differs between the ranks"

    single = make_trainer(recipe, tmp_path / "one")
    single.train()
    reference = flat_state(single.modules)
    for key, value in ranks[0].items():
        error = float((value - reference[key]).norm() / reference[key].norm().clamp(min=1e-12))
        assert error <= 1e-5, f"{key}: relative error {error:.2e} against the 1-process run"

    # rank 0 alone wrote the checkpoints and the log; the checkpoint holds the final weights
    saved = ckpt.load_checkpoint(tmp_path / "two")
    assert saved["folder"].name == "step_00000006" and saved["meta"]["world_size"] == 2
    assert all(torch.equal(saved["weights"][key], ranks[0][key]) for key in ranks[0])
    logged = [json.loads(line)["step"] for line in (tmp_path / "two" / "log.jsonl").read_text().splitlines()
              if "loss" in json.loads(line)]
    assert logged == [1, 2, 3, 4, 5, 6]
