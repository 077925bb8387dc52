"""``synctrack sample --tempo/--tags/--prompt`` on a model trained with song conditions (issue 17): the request
reaches the sampling record, and a condition the model cannot take exits 2 naming what it accepts (each value
a model refuses is tested in-process, tests/plugins/conditioners/test_song_conditioners.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import synctrack

REPO = Path(__file__).resolve().parents[3]
TINY = ["data.clip_seconds=1.28", "train.batch_size=2", "train.checkpoint_every=1", "train.log_every=1", "train.probe_every=null",
        "model.denoiser.head_dim=8", "model.sampler.steps=2", "train.steps=2"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("conditioned") / "run"
    return synctrack.train(REPO / "recipes/conditioning/bench-tempo.yaml", out, overrides=TINY, progress=False)


def test_sampling_at_a_tempo_with_tags_and_guidance(run, tmp_path, cli):
    out = tmp_path / "songs"
    result = cli("sample", str(run.out), "--num", "2", "--out", str(out), "--tempo", "128", "--tags", "style=rock,meter=4",
                     "--guidance", "2")
    assert result.returncode == 0, result.stderr
    record = json.loads((out / "sampling.json").read_text())
    assert "tempo 128 BPM, tags style=rock,meter=4, guidance 2.0" in record["sampling"]
    assert sorted(path.name for path in out.glob("song_*")) == ["song_000", "song_001"]


@pytest.mark.parametrize(("options", "message"), [
    (["--prompt", "a funk song"], "this model was not trained with a text prompt: it accepts tempo: 30 to 300 BPM; tags: key=C|"),
    (["--tags", "funk"], "--tags 'funk': 'funk' is not a tag; write name=value tags"),
])
def test_a_condition_the_model_cannot_take_exits_2_naming_what_it_accepts(run, tmp_path, cli, options, message):
    result = cli("sample", str(run.out), "--out", str(tmp_path / "songs"), *options)
    assert result.returncode == 2, result.stderr
    assert message in " ".join(result.stderr.split()) and "Traceback" not in result.stderr
    assert not (tmp_path / "songs").exists()


def test_guidance_0_is_the_unconditional_model_whatever_is_asked(run):
    """The tempo study's reference without a second training: the conditioned model's null branch."""
    asked = {bpm: synctrack.sample(run.out, 2, tempo=bpm, guidance=0.0, seed=3).waveforms for bpm in (70.0, 150.0)}
    assert torch.equal(asked[70.0], asked[150.0])
    conditioned = synctrack.sample(run.out, 2, tempo=70.0, guidance=1.0, seed=3).waveforms  # the same noise, heard
    assert conditioned.shape == asked[70.0].shape and not torch.equal(conditioned, asked[70.0])
