"""The audio parts at the paper's size: they build on the meta device (as ``synctrack recipe show --params``
builds them), with MusicLDM's parameter counts, and the CLI counts them from the documented recipe."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from synctrack import get_registry

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "kind, name, low, high",
    [("encoder", "mel_vae", 55.0e6, 55.8e6), ("encoder", "mel", 0, 0), ("encoder", "waveform", 0, 0),
     ("vocoder", "hifigan", 55.0e6, 55.6e6), ("vocoder", "griffin_lim", 0, 0)],
)
def test_paper_size_parts_build_on_the_meta_device(kind, name, low, high):
    with torch.device("meta"):
        part = get_registry().get(kind, name).factory()
    assert low <= sum(p.numel() for p in part.parameters()) <= high


def test_recipe_show_counts_the_documented_paper_front_end(tmp_path, cli):
    text = (REPO / "docs" / "audio.md").read_text()
    paper = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)[0]  # names weight files that do not exist here
    recipe = tmp_path / "front_end.yaml"
    recipe.write_text(paper)
    result = cli("recipe", "show", str(recipe), "--params")
    assert result.returncode == 0, result.stderr
    totals = {part: int(count.replace(",", "")) for part, count in re.findall(r"(\w+)\s*│\s*total\s*│\s*([\d,]+)", result.stdout)}
    assert 55.0e6 <= totals["encoder"] <= 55.8e6, result.stdout
    assert 55.0e6 <= totals["vocoder"] <= 55.6e6, result.stdout  # weight norm folded (remove_weight_norm: true)
