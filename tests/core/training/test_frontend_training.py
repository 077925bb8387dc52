"""Training the audio front end with ``synctrack train`` (``train.target: encoder | vocoder``): the tiny recipes
through the CLI, exact resumption, what the runs write, loading the trained parts into a diffusion recipe with
``init: {format: synctrack}``, and clear errors (exit code 2)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from safetensors.torch import load_file

import synctrack
from synctrack import load_recipe
from synctrack.cli import main
from synctrack.training import TrainSection
from synctrack.training.settings import lr_factor

REPO = Path(__file__).resolve().parents[3]
VAE = REPO / "recipes" / "frontend" / "mel-vae-tiny.yaml"
HIFIGAN = REPO / "recipes" / "frontend" / "hifigan-tiny.yaml"
TINY_MEL = "{sample_rate: 8000, n_fft: 256, win_length: 256, hop_length: 64, n_mels: 16, f_min: 0.0, f_max: 4000.0}"

# 40 steps; the discriminator joins at step 30, so both optimizers run after the resume point (20).
VAE_RUN = ["train.steps=40", "train.checkpoint_every=20", "train.sample_every=40", "train.log_every=1",
           "model.encoder.adversarial_start=30", "train.scale_factor_songs=4"]
HIFIGAN_RUN = ["train.steps=2", "train.checkpoint_every=1", "train.sample_every=2", "train.log_every=1", "train.ema_decay=0.5"]


def train(recipe: Path, out: Path, *overrides: str, resume: bool = False) -> int:
    argv = ["train", str(recipe), *overrides, "--out", str(out), "--no-progress"]
    return main(argv + (["--resume"] if resume else []))


def checkpoint(run: Path, step: int) -> Path:
    return run / "checkpoints" / f"step_{step:08d}"


def log_rows(run: Path) -> list[dict]:
    return [row for row in map(json.loads, (run / "log.jsonl").read_text().splitlines()) if "event" not in row]


def same_tensors(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny mel VAE (40 steps, adversarial from step 30) and a tiny HiFi-GAN (2 steps, EMA on), trained by the CLI."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("frontend")
    try:
        assert train(VAE, root / "vae", *VAE_RUN) == 0
        assert train(HIFIGAN, root / "hifigan", *HIFIGAN_RUN) == 0
    finally:
        torch.set_num_threads(threads)
    return root


# -- the VAE ------------------------------------------------------------------------------------------------


def reconstruction_error(encoder, songs: torch.Tensor) -> float:
    """Mean absolute log-mel error of the posterior-mean reconstruction of songs ``[K, S, L]``."""
    with torch.no_grad():
        images = encoder.training_inputs(songs.flatten(0, 1))
        reconstruction, _ = encoder.eval()(images, sample=False)
    return float((reconstruction - images).abs().mean())


def test_the_mel_vae_learns_to_reconstruct(runs):
    recipe = load_recipe(VAE)
    dataset = recipe.build("data")
    songs = torch.stack([torch.as_tensor(dataset[i]["audio"]) for i in range(4)])
    torch.manual_seed(0)  # the CLI's initialisation (train.seed)
    fresh = recipe.build("model.encoder")
    trained = load_recipe(VAE, [f"model.encoder.init={{from: {runs / 'vae'}, format: synctrack}}"]).build("model.encoder")
    before, after = reconstruction_error(fresh, songs), reconstruction_error(trained, songs)
    print(f"\nreconstruction L1 (log-mel) of 4 songs: {before:.3f} untrained -> {after:.3f} after 40 steps")
    assert after < 0.6 * before

    rows = log_rows(runs / "vae")
    assert [row["step"] for row in rows] == list(range(1, 41))
    # medians: a single step can spike once the discriminator joins (step 30), as in any GAN's training
    early = np.median([row["autoencoder/reconstruction"] for row in rows[:5]])
    late = np.median([row["autoencoder/reconstruction"] for row in rows[-5:]])
    assert late < 0.7 * early


def test_the_vae_run_saves_only_the_encoder_with_its_scale_factor_and_previews(runs):
    run = runs / "vae"
    weights = load_file(checkpoint(run, 40) / "model.safetensors")
    assert {key.split(".")[0] for key in weights} == {"encoder"}  # no denoiser: only the trained part is built
    assert any(key.startswith("encoder.discriminator.") for key in weights)
    assert not (checkpoint(run, 40) / "ema.safetensors").exists()  # the recipe trains without EMA
    meta = json.loads((checkpoint(run, 40) / "meta.json").read_text())
    assert meta["target"] == "encoder" and meta["mel"]["n_mels"] == 16 and meta["track_names"] == ["bass", "drums", "guitar", "piano"]
    assert 0.05 < meta["scale_factor"] < 20 and math.isfinite(meta["scale_factor"])

    # the scale factor is 1 / std of the (sampled) latents of the data's first songs: other noise, same value
    recipe = load_recipe(VAE, [f"model.encoder.init={{from: {run}, format: synctrack}}"])
    encoder, dataset = recipe.build("model.encoder").eval(), recipe.build("data")
    songs = torch.stack([torch.as_tensor(dataset[i]["audio"]) for i in range(4)])
    with torch.no_grad():
        latents = encoder.encode(songs, sample=True, generator=torch.Generator().manual_seed(123)) / encoder.scale_factor
    assert encoder.scale_factor == meta["scale_factor"]
    assert float(1 / latents.std()) == pytest.approx(meta["scale_factor"], rel=0.03)  # two noise draws of 16 tracks

    state = torch.load(checkpoint(run, 40) / "trainer.pt", weights_only=True)
    assert list(state["optimizers"]) == ["autoencoder", "discriminator"]
    rows = log_rows(run)
    assert all(row["discriminator/loss"] == 0.0 for row in rows[:30]) and "discriminator/logits_real" in rows[35]
    assert "autoencoder/adversarial" in rows[35] and "autoencoder/kl" in rows[0]
    # the discriminator does not move before adversarial_start, and moves after it
    torch.manual_seed(0)
    initial = load_recipe(VAE).build("model.encoder").discriminator.state_dict()
    at_20 = load_file(checkpoint(run, 20) / "model.safetensors")
    at_40 = weights
    assert all(torch.equal(initial[k], at_20[f"encoder.discriminator.{k}"]) for k in initial)
    assert not all(torch.equal(initial[k], at_40[f"encoder.discriminator.{k}"]) for k in initial)

    song = run / "samples" / "step_00000040" / "song_000"
    assert {p.name for p in song.iterdir()} == {"bass.wav", "drums.wav", "guitar.wav", "piano.wav", "mix.wav", "mels.png"}
    audio, rate = soundfile.read(song / "bass.wav")
    assert rate == 8000 and audio.shape == (4096,) and np.isfinite(audio).all()


def test_a_vae_run_resumes_exactly(runs, tmp_path):
    torch.set_num_threads(1)
    run = tmp_path / "vae"
    half = [o if o != "train.steps=40" else "train.steps=20" for o in VAE_RUN]
    assert train(VAE, run, *half) == 0
    assert train(VAE, run, *VAE_RUN, resume=True) == 0
    straight, resumed = checkpoint(runs / "vae", 40), checkpoint(run, 40)
    assert same_tensors(load_file(straight / "model.safetensors"), load_file(resumed / "model.safetensors"))
    a = torch.load(straight / "trainer.pt", weights_only=True)
    b = torch.load(resumed / "trainer.pt", weights_only=True)
    for name in ("autoencoder", "discriminator"):
        for index, slot in a["optimizers"][name]["state"].items():
            assert all(torch.equal(slot[k], b["optimizers"][name]["state"][index][k]) for k in slot)
    assert json.loads((straight / "meta.json").read_text())["scale_factor"] == json.loads((resumed / "meta.json").read_text())["scale_factor"]
    assert [row["step"] for row in log_rows(run)] == list(range(1, 41))


# -- HiFi-GAN -----------------------------------------------------------------------------------------------


def test_hifigan_trains_generator_and_discriminators(runs):
    run = runs / "hifigan"
    first, second = load_file(checkpoint(run, 1) / "model.safetensors"), load_file(checkpoint(run, 2) / "model.safetensors")
    assert {key.split(".")[0] for key in second} == {"vocoder", "discriminator"}
    for prefix in ("vocoder.", "discriminator."):  # both optimizers stepped: every weight moved
        moved = [not torch.equal(first[k], second[k]) for k in second if k.startswith(prefix) and "original" in k]
        assert moved and all(moved), prefix
    ema = load_file(checkpoint(run, 2) / "ema.safetensors")
    assert {key.split(".")[0] for key in ema} == {"vocoder"}  # the discriminators are not averaged
    state = torch.load(checkpoint(run, 2) / "trainer.pt", weights_only=True)
    assert list(state["optimizers"]) == ["discriminator", "generator"]
    row = log_rows(run)[-1]
    assert {"discriminator/loss", "discriminator/discriminator_period", "discriminator/discriminator_scale",
            "generator/loss", "generator/mel_l1", "generator/feature_matching", "generator/adversarial"} <= set(row)
    assert row["generator/loss"] == pytest.approx(row["generator/adversarial"] + 2 * row["generator/feature_matching"]
                                                  + 45 * row["generator/mel_l1"], rel=1e-4)
    assert row["generator/lr"] == pytest.approx(2e-4)
    song = run / "samples" / "step_00000002" / "song_000"
    assert {p.name for p in song.iterdir()} == {"bass.wav", "drums.wav", "guitar.wav", "piano.wav", "mix.wav", "mels.png"}
    audio, rate = soundfile.read(song / "drums.wav")
    assert rate == 8000 and audio.shape == (4096,) and np.isfinite(audio).all()


def test_a_hifigan_run_resumes_exactly(runs, tmp_path):
    torch.set_num_threads(1)
    run = tmp_path / "hifigan"
    assert train(HIFIGAN, run, *HIFIGAN_RUN, "train.steps=1") == 0
    assert train(HIFIGAN, run, *HIFIGAN_RUN, resume=True) == 0
    for name in ("model.safetensors", "ema.safetensors"):
        assert same_tensors(load_file(checkpoint(runs / "hifigan", 2) / name), load_file(checkpoint(run, 2) / name)), name


def test_segments_are_whole_frames_from_present_tracks_only():
    from synctrack.data import SongBatch
    from synctrack.tracks import TrackInfo
    from synctrack.training.vocoder_objective import VocoderObjective
    from synctrack.training.objective import StepContext

    vocoder = load_recipe(HIFIGAN).build("model.vocoder")
    objective = VocoderObjective(vocoder, segment_frames=8)
    audio = torch.arange(2 * 3 * 2000, dtype=torch.float32).reshape(2, 3, 2000)
    mask = torch.tensor([[True, False, True], [False, True, False]])
    batch = SongBatch(audio, TrackInfo(torch.zeros(2, 3, dtype=torch.long), mask))
    segments = objective.segments(batch, StepContext(0, torch.tensor([7, 8])))
    assert segments.shape == (3, 8 * 64)
    for segment, (song, slot) in zip(segments, [(0, 0), (0, 2), (1, 1)]):
        start = int(segment[0] - audio[song, slot, 0])
        assert torch.equal(segment, audio[song, slot, start : start + 512])
    again = objective.segments(batch, StepContext(0, torch.tensor([7, 8])))
    assert torch.equal(segments, again)  # drawn from the songs' seeds, not a global stream


# -- loading what was trained into a diffusion recipe ---------------------------------------------------------


def diffusion_recipe(tmp_path: Path, runs: Path, encoder_init: str, vocoder_init: str) -> Path:
    text = f"""\
name: diffusion-on-trained-front-end
model:
  encoder:
    type: mel_vae
    mel: {TINY_MEL}
    base_channels: 8
    channel_multipliers: [1, 2]
    res_blocks: 1
    latent_channels: 4
    norm_groups: 4
    init: {encoder_init}
  vocoder:
    type: hifigan
    mel: {TINY_MEL}
    upsample_rates: [4, 4, 4]
    upsample_kernel_sizes: [8, 8, 8]
    upsample_initial_channel: 32
    resblock_kernel_sizes: [3]
    resblock_dilation_sizes: [[1, 3]]
    init: {vocoder_init}
  denoiser:
    type: unet2d
    in_channels: 4
    base_channels: 16
    channel_multipliers: [1, 2]
    res_blocks: 1
    attention_levels: [2]
    head_dim: 8
    norm_groups: 4
    mixers: [{{type: global_cross_track, head_dim: 8}}]
    conditioner: {{type: instrument_prior, vocabulary: [bass, drums, guitar, piano], hidden_dim: 32, embedding_dim: 32}}
  diffusion: ddpm
  sampler: {{type: ddim, steps: 2}}
data: {{type: synthetic, sample_rate: 8000, clip_seconds: 0.512, num_songs: 4}}
train: {{steps: 1, batch_size: 2, sample_every: 1, sample_num: 1, device: cpu}}
"""
    path = tmp_path / "diffusion.yaml"
    path.write_text(text)
    return path


def test_a_diffusion_recipe_takes_the_trained_vae_and_vocoder(runs, tmp_path, capsys):
    path = diffusion_recipe(tmp_path, runs, f"{{from: {runs / 'vae'}, format: synctrack}}", f"{{from: {runs / 'hifigan'}}}")
    pipeline = synctrack.build(path)
    vae = load_file(checkpoint(runs / "vae", 40) / "model.safetensors")
    expected = {k[len("encoder."):]: v for k, v in vae.items() if not k.startswith("encoder.discriminator.")}
    assert same_tensors(pipeline.encoder.state_dict(), expected)  # the discriminator of training is left out
    meta = json.loads((checkpoint(runs / "vae", 40) / "meta.json").read_text())
    assert pipeline.encoder.scale_factor == meta["scale_factor"]
    assert pipeline.encoder.pretrained_report.notes == [f"scale_factor {meta['scale_factor']:.6g} from the checkpoint"]
    ema = load_file(checkpoint(runs / "hifigan", 2) / "ema.safetensors")  # auto: recognised; EMA weights by default
    assert same_tensors(pipeline.vocoder.state_dict(), {k[len("vocoder."):]: v for k, v in ema.items()})
    assert pipeline.vocoder.pretrained_report.format == "synctrack"

    trained = load_file(checkpoint(runs / "hifigan", 2) / "model.safetensors")
    explicit = synctrack.build(path, ["model.vocoder.init.ema=false", "model.encoder.scale_factor=1.5"])
    assert same_tensors(explicit.vocoder.state_dict(), {k[len("vocoder."):]: v for k, v in trained.items() if k.startswith("vocoder.")})
    assert explicit.encoder.scale_factor == 1.5  # a value in the recipe wins over the checkpoint's
    assert "from the recipe" in explicit.encoder.pretrained_report.notes[0]

    # and the diffusion model trains on them, its previews going through the trained VAE and vocoder
    torch.set_num_threads(1)
    assert train(path, tmp_path / "diffusion") == 0, capsys.readouterr().err
    song = tmp_path / "diffusion" / "samples" / "step_00000001" / "song_000"
    audio, rate = soundfile.read(song / "mix.wav")
    assert rate == 8000 and audio.shape == (4096,) and np.isfinite(audio).all()


def test_pretrained_check_reports_a_synctrack_load(runs, tmp_path, capsys):
    path = diffusion_recipe(tmp_path, runs, f"{{from: {checkpoint(runs / 'vae', 20)}}}", f"{{from: {runs / 'hifigan'}, ema: false}}")
    assert main(["pretrained", "check", str(path)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "step_00000020 (trained weights) (synctrack)" in out and "(ema weights)" not in out
    assert "scale_factor" in out and "from the checkpoint" in out


# -- errors -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "recipe, overrides, message",
    [
        (VAE, ["~model.encoder"], "model.encoder: missing: train.target is 'encoder', which trains the recipe's encoder"),
        (VAE, ["model.encoder=mel"], "encoder 'mel' cannot be trained with train.target: encoder: it has nothing to train"),
        (HIFIGAN, ["model.vocoder=griffin_lim"], "vocoder 'griffin_lim' cannot be trained with train.target: vocoder"),
        (HIFIGAN, ["~model.vocoder"], "model.vocoder: missing: train.target is 'vocoder'"),
        (HIFIGAN, ["train.target=decoder"], "train.target: expected one of 'diffusion', 'encoder', 'vocoder'"),
        (HIFIGAN, ["train.segment_frames=100"], "train.segment_frames = 100 needs clips of at least 6400 samples"),
    ],
    ids=["no-encoder", "untrainable-encoder", "untrainable-vocoder", "no-vocoder", "bad-target", "long-segments"],
)
def test_bad_targets_exit_2_with_a_clear_message(recipe, overrides, message, tmp_path, capsys):
    assert train(recipe, tmp_path / "run", *overrides) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_front_end_checkpoints_are_not_generative_models(runs, tmp_path, capsys):
    assert main(["sample", str(runs / "vae"), "--num", "1", "--out", str(tmp_path / "gen")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "holds a trained encoder (train.target: encoder), not a generative model" in err
    assert "format: synctrack" in err


@pytest.mark.parametrize(
    "part, init, message",
    [
        ("encoder", "{from: RUN/hifigan, format: synctrack}", "this checkpoint holds no encoder weights (it holds vocoder; the run trained train.target: vocoder)"),
        ("vocoder", "{from: RUN/vae, format: synctrack}", "the run trained train.target: encoder). Load the vocoder from a run trained with train.target: vocoder"),
        ("vocoder", "{from: RUN/hifigan, format: synctrack, strict: true}", None),  # every key loads: strict passes
        ("encoder", "{from: RUN/vae, format: synctrack, ema: true}", "init.ema is true but the run kept no EMA weights"),
        ("encoder", "{from: RUN/nowhere, format: synctrack}", "1 of the 2 init: weight path does not exist"),
    ],
    ids=["no-encoder-in-a-vocoder-run", "no-vocoder-in-an-encoder-run", "strict", "no-ema", "missing"],
)
def test_init_from_the_wrong_run_is_a_clear_error(part, init, message, runs, tmp_path, capsys):
    good = {"encoder": f"{{from: {runs / 'vae'}}}", "vocoder": f"{{from: {runs / 'hifigan'}}}"}
    good[part] = init.replace("RUN", str(runs))
    path = diffusion_recipe(tmp_path, runs, good["encoder"], good["vocoder"])
    code = main(["pretrained", "check", str(path)])
    err = " ".join(capsys.readouterr().err.split())
    if message is None:
        assert code == 0, err
    else:
        assert code == 2 and message in err, err


def test_init_refuses_another_part_type_and_other_mels(runs, tmp_path, capsys):
    path = diffusion_recipe(tmp_path, runs, f"{{from: {runs / 'vae'}}}", f"{{from: {runs / 'hifigan'}}}")
    text = path.read_text()
    other_type = text.replace("    type: mel_vae\n", "    type: mel\n").replace(
        "    base_channels: 8\n    channel_multipliers: [1, 2]\n    res_blocks: 1\n    latent_channels: 4\n    norm_groups: 4\n", "")
    (tmp_path / "type.yaml").write_text(other_type)
    assert main(["pretrained", "check", str(tmp_path / "type.yaml")]) == 2
    assert "holds a 'mel_vae' encoder, but this recipe's model.encoder is 'mel'" in " ".join(capsys.readouterr().err.split())
    (tmp_path / "mels.yaml").write_text(text.replace("f_max: 4000.0}", "f_max: 3000.0}", 1))
    assert main(["pretrained", "check", str(tmp_path / "mels.yaml")]) == 2
    assert "was trained on other mels (f_max: 4000.0 != 3000.0" in " ".join(capsys.readouterr().err.split())


# -- the exponential schedule --------------------------------------------------------------------------------


def test_exponential_schedule_decays_in_stairs_after_warmup():
    factor = lr_factor(TrainSection(schedule="exponential", lr_decay=0.5, lr_decay_every=2, warmup_steps=2))
    assert [factor(step) for step in range(8)] == [0.5, 1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25]


def test_vae_training_draws_the_posterior_noise_from_each_songs_generator():
    """The autoencoder's and the discriminator's posterior samples come from the step's per-song generators,
    not from the process's global stream (which differs per rank under torchrun): a micro-batch's losses do
    not depend on the global seed, and change with the songs' seeds."""
    from synctrack.data import collate_songs
    from synctrack.training.objective import StepContext
    from synctrack.training.targets import build_objective

    recipe = load_recipe(VAE, ["model.encoder.adversarial_start=0"]).validate()
    config = recipe.build("train")
    objective = build_objective(recipe, config)
    dataset = recipe.build("data")
    batch = collate_songs([dataset[i] for i in range(2)])

    def losses(global_seed: int, song_seeds: list[int]) -> list[float]:
        torch.manual_seed(global_seed)
        context = StepContext(step=5, noise_seeds=torch.tensor(song_seeds))
        with torch.no_grad():
            return [float(objective.loss(name, batch, context)[0]) for name in ("autoencoder", "discriminator")]

    assert losses(0, [11, 12]) == losses(1, [11, 12])
    assert losses(0, [11, 12])[0] != losses(0, [13, 14])[0]
